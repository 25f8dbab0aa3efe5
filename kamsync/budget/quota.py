"""`kamsync quota`: how much of each rate window the credential has used, from the shared request ledger.

``quota_report`` is pure (arrivals, windows, now → numbers); ``render_text`` and ``render_json`` present it;
``run_quota`` is the edge that reads the ledger, and with ``reset`` forgets the wait a server imposed on the
credential (an absurd ``Retry-After`` must have a way out other than deleting a file). The ledger only knows
the requests of kamsync processes on this machine: the server may count more (another machine, another tool),
and the text says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from kamsync.budget.backend import LocalLedger, SharedLedger, Spent, reading_ledger
from kamsync.budget.ledger import default_state_dir
from kamsync.budget.ledgerurl import LedgerUrl
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
    ledger: tuple[str, str] | None = None  # (kind, where) of the ledger read: ("redis", masked URL)
    spent: tuple[Spent, ...] = ()  # in the quota window, per machine and command
    reserved: int = 0  # requests priced runs hold in the quota window, not sent yet


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
        **_ledger_json(report),
    }


def _ledger_json(report: QuotaReport) -> dict[str, object]:
    if report.ledger is None:
        return {}
    kind, where = report.ledger
    return {
        "ledger": {"kind": kind, "where": where},
        "spent": [{"machine": s.machine, "command": s.command, "requests": s.requests} for s in report.spent],
        "reserved": report.reserved,
    }


def render_text(report: QuotaReport, api_url: str, client_id: str) -> str:
    shared = report.ledger is not None and report.ledger[0] == "redis"
    who = f"every machine sharing the ledger at {report.ledger[1]}" if shared and report.ledger else "this machine"
    lines = [f"Requests of client {client_id} to {api_url}, by kamsync on {who}:"]
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
    lines += _ledger_lines(report)
    others = "Other tools" if shared else "Other machines and tools"
    lines.append(f"{others} using the same credential count too, but are not shown.")
    return "\n".join(lines) + "\n"


def _ledger_lines(report: QuotaReport) -> list[str]:
    if report.ledger is None:
        return []
    kind, where = report.ledger
    lines = [f"Ledger: {'Redis at ' if kind == 'redis' else 'this machine' + chr(39) + 's file '}{where}"]
    quota = max(report.windows, key=lambda row: (row.seconds, -row.limit), default=None)
    span = f"the last {in_words(quota.seconds)}" if quota else "the quota window"
    lines.append(f"Spent in {span}:" if report.spent else f"Spent in {span}: nothing")
    for spent in report.spent:
        lines.append(f"  {spent.machine}{f' ({spent.command})' if spent.command else ''}: {spent.requests}")
    if report.reserved:
        lines.append(f"Reserved by runs under way: {report.reserved}")
    return lines


# -- quota --reset ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Forgotten:
    """The server-imposed wait ``quota --reset`` forgot: until when (wall clock), and why it was imposed."""

    until: float
    reason: str


def forget_server_wait(ledger: SharedLedger, now: float) -> Forgotten | None:
    """Forget the wait a server imposed on this credential, in the shared ledger; None when there was none.

    A credential without a ledger file has nothing to forget, and gets no ledger file from asking."""
    if isinstance(ledger, LocalLedger) and not ledger.path.exists():
        return None
    forgot = ledger.forget_server_wait()
    return None if forgot is None else Forgotten(*forgot)


def render_forgotten(forgot: Forgotten | None, now: float) -> tuple[str, dict[str, object]]:
    """What ``--reset`` says it forgot, as text and as the ``reset`` member of the JSON payload."""
    if forgot is None:
        return "No wait imposed by Kameleoon to forget: runs were not held back.\n", {"forgot": None}
    left = max(0.0, forgot.until - now)
    text = (
        f"Forgot the wait imposed on this credential: no request before {clock_time(time.time() + left)} (in "
        f"{in_words(left)}), because {forgot.reason or 'Kameleoon asked to wait'}. Runs may send again now.\n"
    )
    return text, {"forgot": {"in": round(left, 3), "reason": forgot.reason}}


@dataclass(frozen=True, slots=True)
class QuotaResult:
    """What `kamsync quota` found (and, with ``--reset``, forgot); ``credential`` says which one is in use and
    ``credential_kind`` how it is given (``client_credentials`` or ``login``)."""

    report: QuotaReport
    api_url: str
    client_id: str
    now: float
    reset: bool = False
    forgot: Forgotten | None = None
    code: int = 0
    credential: str = ""
    credential_kind: str = ""


def read_quota(
    api_url: str,
    client_id: str,
    spec: str,
    *,
    state_dir: Path | None = None,
    now: float | None = None,
    reset: bool = False,
    location: LedgerUrl | None = None,
    fallback_local: bool = False,
    warn: Callable[[str], None] = lambda _text: None,
) -> QuotaResult:
    """The use of each window from the ledger at ``location`` (``None``: this machine's file; ``reset`` first
    forgets the server's wait). ``UsageError`` for a bad ``spec``, ``LedgerUnavailable`` for a ledger that cannot
    be read; sends nothing to Kameleoon."""
    windows = parse_rate_limit(spec)
    url = api_url.rstrip("/")
    folder = default_state_dir() if state_dir is None else state_dir
    clock = time.time if now is None else (lambda: now)
    ledger = reading_ledger(
        location, url, client_id, windows, state_dir=folder, fallback_local=fallback_local, warn=warn, clock=clock
    )
    try:
        forgot = forget_server_wait(ledger, ledger.view().now) if reset else None
        view = ledger.view()
    finally:
        ledger.close()
    report = quota_report(view.arrivals, windows, view.now, not_before=view.not_before, reason=view.reason)
    report = replace(report, ledger=(ledger.kind, ledger.where), spent=view.spent, reserved=view.reserved)
    return QuotaResult(report, url, client_id, view.now, reset, forgot)


def render_result(result: QuotaResult) -> tuple[str, dict[str, object]]:
    """The text and the JSON document of `kamsync quota`."""
    said, reset_payload = "", {}
    if result.reset:
        said, forgot = render_forgotten(result.forgot, result.now)
        reset_payload = {"reset": forgot}
    document = {**render_json(result.report, result.api_url, result.client_id), **reset_payload}
    text = said + render_text(result.report, result.api_url, result.client_id)
    if result.credential:
        document["credential"] = {"kind": result.credential_kind, "id": result.client_id}
        text += f"Credential: {result.credential}\n"
    return text, document


def run_quota(
    api_url: str,
    client_id: str,
    spec: str,
    *,
    state_dir: Path | None = None,
    now: float | None = None,
    reset: bool = False,
) -> tuple[str, dict[str, object]]:
    """The text and the JSON payload of `kamsync quota` from this machine's file (``--reset`` first forgets the
    server's wait, and says what it forgot). ``UsageError`` for a bad ``spec``; sends nothing."""
    return render_result(read_quota(api_url, client_id, spec, state_dir=state_dir, now=now, reset=reset))
