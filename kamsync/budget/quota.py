"""`kamsync quota`: how much of each rate window the credential has used, from the shared request ledger.

``quota_report`` is pure (arrivals, windows, now → numbers); ``render_text`` and ``render_json`` present it;
``run_quota`` is the edge that reads the ledger, and with ``reset`` forgets the wait a server imposed on the
credential (an absurd ``Retry-After`` must have a way out other than deleting a file). The ledger only knows
the requests of kamsync processes on this machine: the server may count more (another machine, another tool),
and the text says so.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kamsync.budget.ledger import Ledger, default_state_dir, ledger_path, read_arrivals
from kamsync.budget.windows import Window, next_send_time, parse_rate_limit
from kamsync.core.durations import clock_time, in_words

__all__ = [
    "Forgotten",
    "QuotaReport",
    "QuotaResult",
    "WindowQuota",
    "forget_server_wait",
    "quota_report",
    "read_quota",
    "render_forgotten",
    "render_json",
    "render_result",
    "render_text",
    "run_quota",
]


@dataclass(frozen=True, slots=True)
class WindowQuota:
    limit: int
    seconds: float
    used: int  # responses that arrived inside the last ``seconds``
    left: int
    next_free_in: float  # seconds until a request may be sent as far as this window goes; 0 when one may now
    # seconds until the oldest request counted in the window leaves it and frees its slot (None: none counted)
    oldest_leaves_in: float | None = field(default=None, compare=False)

    @property
    def spec(self) -> str:
        return str(Window(self.limit, self.seconds))


@dataclass(frozen=True, slots=True)
class QuotaReport:
    windows: tuple[WindowQuota, ...]
    not_before_in: float | None = None  # seconds until the wait a 429 imposed ends; None when there is none
    reason: str = ""


def quota_report(
    arrivals: Sequence[float],
    windows: Sequence[Window],
    now: float,
    *,
    not_before: float | None = None,
    reason: str = "",
) -> QuotaReport:
    """Per window: the arrivals in ``(now - seconds, now]`` (later ones too: in-flight requests count), what is
    left, and when ``next_send_time`` lets the next request go."""
    rows = []
    for window in windows:
        inside = [t for t in arrivals if t > now - window.seconds]
        used = len(inside)
        free_at = next_send_time(arrivals, [window], now)
        leaves = min(inside) + window.seconds - now if inside else None
        rows.append(
            WindowQuota(
                window.limit, window.seconds, used, max(0, window.limit - used), max(0.0, free_at - now), leaves
            )
        )
    pending = not_before is not None and not_before > now
    return QuotaReport(
        tuple(rows),
        not_before - now if not_before is not None and pending else None,
        reason if pending else "",
    )


def render_json(report: QuotaReport, api_url: str, client_id: str) -> dict[str, object]:
    return {
        "api_url": api_url,
        "client_id": client_id,
        "windows": [
            {
                "spec": row.spec,
                "limit": row.limit,
                "seconds": int(row.seconds) if row.seconds.is_integer() else row.seconds,
                "used": row.used,
                "left": row.left,
                "next_free_in": round(row.next_free_in, 3),
                "oldest_leaves_in": None if row.oldest_leaves_in is None else round(row.oldest_leaves_in, 3),
            }
            for row in report.windows
        ],
        "not_before": None
        if report.not_before_in is None
        else {"in": round(report.not_before_in, 3), "reason": report.reason},
    }


def render_text(report: QuotaReport, api_url: str, client_id: str) -> str:
    lines = [f"Requests of client {client_id} to {api_url}, by kamsync on this machine:"]
    width = max((len(row.spec) for row in report.windows), default=0)
    for row in report.windows:
        line = f"  {row.spec + ':':<{width + 1}} {row.used} used, {row.left} left"
        if row.next_free_in > 0:
            line += f", next slot in {row.next_free_in:.1f} s"
        elif row.oldest_leaves_in is not None:
            line += f", the oldest frees its slot in {in_words(row.oldest_leaves_in)}"
        lines.append(line)
    if report.not_before_in is not None:
        lines.append(f"No request before {report.not_before_in:.1f} s from now: {report.reason}")
    lines.append("Other machines and tools using the same credential count too, but are not shown.")
    return "\n".join(lines) + "\n"


# -- quota --reset ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Forgotten:
    """The server-imposed wait ``quota --reset`` forgot: until when (wall clock), and why it was imposed."""

    until: float
    reason: str


def forget_server_wait(
    state_dir: Path, api_url: str, client_id: str, windows: Sequence[Window], now: float
) -> Forgotten | None:
    """Forget the wait a server imposed on this credential, in the shared ledger; None when there was none.

    A credential without a ledger has nothing to forget, and gets no ledger file from asking."""
    if not ledger_path(state_dir, api_url, client_id).exists():
        return None
    forgot = Ledger.open(state_dir, api_url, client_id, windows, clock=lambda: now).forget_server_wait()
    return None if forgot is None else Forgotten(*forgot)


def render_forgotten(forgot: Forgotten | None, now: float) -> tuple[str, dict[str, object]]:
    """What ``--reset`` says it forgot, as text and as the ``reset`` member of the JSON payload."""
    if forgot is None:
        return "No wait imposed by Kameleoon to forget: runs were not held back.\n", {"forgot": None}
    left = max(0.0, forgot.until - now)
    text = (
        f"Forgot the wait imposed on this credential: no request before {clock_time(forgot.until)} (in "
        f"{in_words(left)}), because {forgot.reason or 'Kameleoon asked to wait'}. Runs may send again now.\n"
    )
    return text, {"forgot": {"in": round(left, 3), "reason": forgot.reason}}


@dataclass(frozen=True, slots=True)
class QuotaResult:
    """What `kamsync quota` found (and, with ``--reset``, forgot)."""

    report: QuotaReport
    api_url: str
    client_id: str
    now: float
    reset: bool = False
    forgot: Forgotten | None = None
    code: int = 0


def read_quota(
    api_url: str,
    client_id: str,
    spec: str,
    *,
    state_dir: Path | None = None,
    now: float | None = None,
    reset: bool = False,
) -> QuotaResult:
    """The use of each window from the ledger (``reset`` first forgets the server's wait). ``UsageError`` for a
    bad ``spec``; sends nothing."""
    windows = parse_rate_limit(spec)
    url = api_url.rstrip("/")
    at = time.time() if now is None else now
    folder = default_state_dir() if state_dir is None else state_dir
    forgot = forget_server_wait(folder, url, client_id, windows, at) if reset else None
    snapshot = read_arrivals(folder, url, client_id, windows, now=at)
    report = quota_report(snapshot.arrivals, windows, at, not_before=snapshot.not_before, reason=snapshot.reason)
    return QuotaResult(report, url, client_id, at, reset, forgot)


def render_result(result: QuotaResult) -> tuple[str, dict[str, object]]:
    """The text and the JSON document of `kamsync quota`."""
    said, reset_payload = "", {}
    if result.reset:
        said, forgot = render_forgotten(result.forgot, result.now)
        reset_payload = {"reset": forgot}
    document = {**render_json(result.report, result.api_url, result.client_id), **reset_payload}
    return said + render_text(result.report, result.api_url, result.client_id), document


def run_quota(
    api_url: str,
    client_id: str,
    spec: str,
    *,
    state_dir: Path | None = None,
    now: float | None = None,
    reset: bool = False,
) -> tuple[str, dict[str, object]]:
    """The text and the JSON payload of `kamsync quota` (``--reset`` first forgets the server's wait, and says
    what it forgot). ``UsageError`` for a bad ``spec``; sends nothing."""
    return render_result(read_quota(api_url, client_id, spec, state_dir=state_dir, now=now, reset=reset))
