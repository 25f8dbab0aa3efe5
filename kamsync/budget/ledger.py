"""A request budget shared by every kamsync process on this machine that uses one credential.

Kameleoon counts requests per user, whoever sends them: a push, the pre-push hook and ``watch`` running at once
must stay inside the windows together. Each (API URL, client id) has a small JSON ledger in the user's state
folder holding the arrival times (wall clock: monotonic clocks differ between processes) of recent responses,
the requests in flight, and a server-imposed ``not_before``. An OS lock (``kamsync.state.oslock``) on a sibling
lock file serialises the read-modify-write; the lock is never held while sleeping or sending.

A process reserves its slot by adding a *pending* entry before sending, so two processes never take the same
slot; the response replaces it with its arrival time. A pending request's arrival is unknown, so it counts as
arriving in the future (nothing that depends on it may be sent) until it settles. A pending entry whose process
died, or that is older than ``pending_timeout``, counts as arrived at its reservation time plus the timeout: later
than the server can have counted it, which is the safe side.

The decisions are pure functions over ``LedgerState``; ``Ledger`` is the edge holding the file, clock and sleep.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import platformdirs

from kamsync.budget.pricing import long_wait
from kamsync.budget.windows import (
    BLIND_REASON,
    POLL,
    BlindStreak,
    Window,
    describe_windows,
    earliest_send,
    full_window_wait,
    server_wait,
)
from kamsync.core.errors import LocalWriteError, UsageError
from kamsync.state.files import write_atomic
from kamsync.state.oslock import exclusive
from kamsync.state.process import pid_alive

__all__ = [
    "PENDING_TIMEOUT",
    "Ledger",
    "LedgerState",
    "Pending",
    "Snapshot",
    "credential_digest",
    "default_state_dir",
    "dump_state",
    "ledger_path",
    "parse_state",
    "pid_alive",
    "read_arrivals",
    "send_time",
    "settle",
]

_FORMAT = 1
# Longer than any request takes (by default the client gives one request 30 s, connect to last byte).
PENDING_TIMEOUT = 120.0
_INFINITY = float("inf")
_L = TypeVar("_L", bound="Ledger")


def default_state_dir() -> Path:
    """``platformdirs.user_state_dir("kamsync")``: ``$XDG_STATE_HOME/kamsync`` or ``~/.local/state/kamsync``."""
    return Path(platformdirs.user_state_dir("kamsync"))


def credential_digest(api_url: str, client_id: str) -> str:
    """What names one credential's ledger, file or key: a hash of the API URL and client id (never the secret)."""
    raw = json.dumps(["ratelimit", api_url.rstrip("/"), client_id]).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()[:24]


def ledger_path(state_dir: Path, api_url: str, client_id: str) -> Path:
    """The ledger file of one credential, named by ``credential_digest``."""
    return state_dir / "ratelimit" / f"{credential_digest(api_url, client_id)}.json"


@dataclass(frozen=True, slots=True)
class Pending:
    """A request sent (or about to be) whose response has not arrived yet."""

    ticket: str
    pid: int
    at: float  # when the slot was reserved


# What every ledger keeps at least: Kameleoon's own hour and its 1000 requests. Processes may run with other
# (smaller or larger) windows; none may forget arrivals another one still counts, so a ledger keeps the longest
# span and the largest count any of its writers asked for, and never less than these.
KEEP_SECONDS = 3600.0
KEEP_COUNT = 1000


@dataclass(frozen=True, slots=True)
class LedgerState:
    arrivals: tuple[float, ...] = ()  # sorted
    pending: tuple[Pending, ...] = ()
    not_before: float | None = None  # the server asked everyone to wait until then
    reason: str = ""
    keep_seconds: float = KEEP_SECONDS  # arrivals younger than this are kept…
    keep_count: int = KEEP_COUNT  # …up to this many


# -- pure decisions ----------------------------------------------------------------------------------------


def settle(
    state: LedgerState,
    windows: Sequence[Window],
    now: float,
    alive: Callable[[int], bool],
    pending_timeout: float = PENDING_TIMEOUT,
) -> LedgerState:
    """``state`` with dead or overdue pending entries turned into arrivals at reservation + timeout, arrivals
    no window can still need dropped, and a past ``not_before`` forgotten."""
    keep: list[Pending] = []
    arrivals = list(state.arrivals)
    for entry in state.pending:
        if now - entry.at > pending_timeout or not alive(entry.pid):
            arrivals.append(entry.at + pending_timeout)
        else:
            keep.append(entry)
    # Only the last ``max limit`` arrivals inside the longest window can matter to next_send_time.
    keep_seconds = max(state.keep_seconds, *(w.seconds for w in windows), KEEP_SECONDS)
    keep_count = max(state.keep_count, *(w.limit for w in windows), KEEP_COUNT)
    recent = sorted(t for t in arrivals if t > now - keep_seconds)[-keep_count:]
    expired = state.not_before is not None and state.not_before <= now
    return LedgerState(
        tuple(recent),
        tuple(keep),
        None if expired else state.not_before,
        "" if expired else state.reason,
        keep_seconds,
        keep_count,
    )


def send_time(state: LedgerState, windows: Sequence[Window], now: float, *, in_flight_at: float) -> float:
    """The earliest time (>= ``now``) the next request may be sent, counting each pending request as arriving at
    ``in_flight_at``: ``inf`` gives the exact answer (``inf`` while it depends on a response still awaited),
    ``now`` a lower bound worth sleeping until."""
    at = earliest_send(state.arrivals, len(state.pending), 0, windows, now, in_flight_at)
    return max(at, state.not_before) if state.not_before is not None else at


def parse_state(text: str, api_url: str, client_id: str) -> LedgerState:
    """A ledger file's content; ``ValueError`` when it is not one written for this credential."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("api_url") != api_url or data.get("client_id") != client_id:
        raise ValueError("not a ledger of this credential")
    arrivals = data.get("arrivals")
    pending = data.get("pending")
    not_before = data.get("not_before")
    reason = data.get("reason", "")
    if not isinstance(arrivals, list) or not isinstance(pending, list) or not isinstance(reason, str):
        raise ValueError("malformed ledger")
    entries: list[Pending] = []
    for entry in pending:
        if not isinstance(entry, dict):
            raise ValueError("malformed pending entry")
        entries.append(Pending(_text(entry.get("ticket")), _integer(entry.get("pid")), _number(entry.get("at"))))
    return LedgerState(
        tuple(sorted(_number(t) for t in arrivals)),
        tuple(entries),
        None if not_before is None else _number(not_before),
        reason,
        max(KEEP_SECONDS, _number(data.get("keep_seconds", KEEP_SECONDS))),
        max(KEEP_COUNT, _integer(data.get("keep_count", KEEP_COUNT))),
    )


def dump_state(state: LedgerState, api_url: str, client_id: str) -> str:
    data = {
        "format": _FORMAT,
        "api_url": api_url,
        "client_id": client_id,
        "arrivals": list(state.arrivals),
        "pending": [{"ticket": p.ticket, "pid": p.pid, "at": p.at} for p in state.pending],
        "not_before": state.not_before,
        "reason": state.reason,
        "keep_seconds": state.keep_seconds,
        "keep_count": state.keep_count,
    }
    return json.dumps(data, allow_nan=False) + "\n"


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"not a time: {value!r}")
    return float(value)


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not a pid: {value!r}")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not a ticket: {value!r}")
    return value


# -- reading, for `kamsync quota` ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the ledger says now: arrivals (in-flight requests at their reservation time) and any server wait."""

    arrivals: tuple[float, ...]
    not_before: float | None
    reason: str


def read_arrivals(
    state_dir: Path,
    api_url: str,
    client_id: str,
    windows: Sequence[Window],
    *,
    now: float | None = None,
    alive: Callable[[int], bool] = pid_alive,
) -> Snapshot:
    """The ledger of a credential, without locking or changing it; a missing or corrupt one reads as empty."""
    url = api_url.rstrip("/")
    at = time.time() if now is None else now
    try:
        state = parse_state(ledger_path(state_dir, url, client_id).read_text(encoding="utf-8"), url, client_id)
    except (OSError, UnicodeDecodeError, ValueError):
        state = LedgerState()
    state = settle(state, windows, at, alive)
    arrivals = sorted([*state.arrivals, *(p.at for p in state.pending)])
    return Snapshot(tuple(arrivals), state.not_before, state.reason)


# -- the edge ------------------------------------------------------------------------------------------------


class Ledger:
    """A file-backed ``RequestBudget`` shared by every kamsync process using one (API URL, client id)."""

    def __init__(
        self,
        path: Path,
        api_url: str,
        client_id: str,
        windows: Sequence[Window],
        *,
        on_wait: Callable[[float, str], None] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        pending_timeout: float = PENDING_TIMEOUT,
        alive: Callable[[int], bool] = pid_alive,
        max_wait: float | None = None,
    ) -> None:
        self.path = path
        self.max_wait = max_wait  # a longer wait raises LongWait instead (None: wait as long as it takes)
        self.lock_path = path.with_suffix(".lock")
        self.api_url = api_url.rstrip("/")
        self.client_id = client_id
        self.windows = tuple(windows)
        self._on_wait = on_wait
        self._clock = clock
        self._sleep = sleep
        self._pending_timeout = pending_timeout
        self._alive = alive
        self._tickets = itertools.count(1)
        self._ticket: str | None = None
        self._blind = BlindStreak()

    @classmethod
    def open(
        cls: type[_L],
        state_dir: Path,
        api_url: str,
        client_id: str,
        windows: Sequence[Window],
        *,
        on_wait: Callable[[float, str], None] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        pending_timeout: float = PENDING_TIMEOUT,
        max_wait: float | None = None,
    ) -> _L:
        path = ledger_path(state_dir, api_url, client_id)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(
                f"cannot create {path.parent} for the shared rate-limit ledger ({exc.strerror or exc}); "
                "make it writable, or point XDG_STATE_HOME at a writable folder"
            ) from None
        return cls(
            path,
            api_url,
            client_id,
            windows,
            on_wait=on_wait,
            clock=clock,
            sleep=sleep,
            pending_timeout=pending_timeout,
            max_wait=max_wait,
        )

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r}, {describe_windows(self.windows)!r})"

    def before_send(self) -> None:
        while True:
            with self._locked() as (state, now):
                if send_time(state, self.windows, now, in_flight_at=_INFINITY) <= now:
                    self._ticket = f"{os.getpid()}-{next(self._tickets)}-{os.urandom(4).hex()}"
                    pending = (*state.pending, Pending(self._ticket, os.getpid(), now))
                    self._write(replace(state, pending=pending))
                    return
                # The true arrival of a request in flight is no earlier than now: sleep to the bound this
                # gives, or poll briefly when only an awaited response stands in the way.
                at = send_time(state, self.windows, now, in_flight_at=now)
                imposed = state.not_before == at  # by the server, not by the windows
                reason = state.reason if imposed else self._window_reason()
            if at > now:
                if self.max_wait is not None and at - now > self.max_wait:
                    raise long_wait(at - now, reason, imposed=imposed, wall_now=now)
                if self._on_wait is not None:
                    self._on_wait(at - now, reason)
                self._sleep(at - now)
            else:
                self._sleep(POLL)

    def after_response(self) -> None:
        with self._locked() as (state, now):
            ticket, self._ticket = self._ticket, None
            pending = tuple(p for p in state.pending if p.ticket != ticket)
            # If our entry was already settled as overdue, it is counted twice: the safe side.
            arrivals = tuple(sorted((*state.arrivals, now)))
            self._write(replace(state, arrivals=arrivals, pending=pending))
        self._blind.answered()

    def note_server_wait(self, seconds: float | None) -> None:
        with self._locked() as (state, now):
            if seconds is None:
                wait = full_window_wait(state.arrivals, self.windows, now, self._blind.blind())
                reason = BLIND_REASON
            else:
                wait, reason = server_wait(seconds, self.windows)
            if state.not_before is None or now + wait > state.not_before:
                reason += f" (seen by kamsync process {os.getpid()})"
                self._write(replace(state, not_before=now + wait, reason=reason))

    def forget_server_wait(self) -> tuple[float, str] | None:
        """Forget the wait a server imposed (``kamsync quota --reset``); what it was, (until, reason), if any."""
        with self._locked() as (state, _now):
            if state.not_before is None:
                return None
            self._write(replace(state, not_before=None, reason=""))
            return state.not_before, state.reason

    def _window_reason(self) -> str:
        return f"rate limit {describe_windows(self.windows)}, shared by every kamsync process on this machine"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[tuple[LedgerState, float]]:
        """Hold the lock; yield the settled state and the time. A change is saved with ``_write``."""
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise LocalWriteError(self.lock_path, exc, "the lock of the shared rate-limit ledger") from exc
        try:
            with exclusive(fd, self.lock_path):  # held only for a read and a write, never across a sleep
                now = self._clock()
                yield settle(self._read(), self.windows, now, self._alive, self._pending_timeout), now
        finally:
            os.close(fd)

    def _read(self) -> LedgerState:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return LedgerState()
        try:
            return parse_state(raw.decode("utf-8"), self.api_url, self.client_id)
        except (UnicodeDecodeError, ValueError):
            # Keep the damaged file for inspection and start afresh: waiting a little too little once is
            # better than refusing to work (the server's 429 handling still applies).
            with contextlib.suppress(OSError):
                os.replace(self.path, self.path.with_name(self.path.name + ".corrupt"))
            return LedgerState()

    def _write(self, state: LedgerState) -> None:
        write_atomic(
            self.path, dump_state(state, self.api_url, self.client_id), mode=0o600, what="the shared rate-limit ledger"
        )
