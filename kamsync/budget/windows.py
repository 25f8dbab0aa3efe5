"""Client-side rate limiting, so that a run stays inside Kameleoon's windows instead of collecting 429s.

The arithmetic is pure (``parse_rate_limit``, ``next_send_time``, ``full_window_wait``, ``server_wait``); the
stateful edge that owns a clock and a sleep is the ledger every kamsync process shares (``budget.ledger``).
The HTTP client only talks to the ``RequestBudget`` protocol.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from kamsync.core.errors import UsageError

__all__ = [
    "BLIND_REASON",
    "DEFAULT_RATE_LIMIT",
    "POLL",
    "BlindStreak",
    "Grant",
    "RequestBudget",
    "Window",
    "describe_windows",
    "earliest_send",
    "full_window_wait",
    "grant",
    "next_send_time",
    "parse_rate_limit",
    "quota_index",
    "server_wait",
]

DEFAULT_RATE_LIMIT = "50/10s,1000/1h"

# The shortest wait after a 429 that came without Retry-After: the server saw something our arrivals do not
# (another process, clock skew), so waiting "0 s" would just earn another 429.
MIN_BLIND_WAIT = 1.0

# How long to wait before asking again when only a response still awaited (or a reservation) stands in the way.
POLL = 0.02
_INFINITY = float("inf")

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*([smh])\s*$")


@dataclass(frozen=True, slots=True)
class Window:
    """At most ``limit`` requests in any ``seconds``-long interval."""

    limit: int
    seconds: float

    def __str__(self) -> str:
        for unit, size in (("h", 3600.0), ("m", 60.0)):
            if self.seconds >= size and self.seconds % size == 0:
                return f"{self.limit}/{self.seconds / size:g}{unit}"
        return f"{self.limit}/{self.seconds:g}s"


def parse_rate_limit(spec: str) -> tuple[Window, ...]:
    """Parse ``"50/10s,1000/1h"``: comma-separated ``N/DURATION``, DURATION a number with s, m or h."""
    windows: list[Window] = []
    for part in spec.split(","):
        match = _PART.match(part)
        limit = int(match.group(1)) if match else 0
        amount = float(match.group(2) or 1) if match else 0.0
        if not match or limit < 1 or amount <= 0:
            raise UsageError(
                f"bad rate limit {spec!r}: expected a comma-separated list of N/DURATION, where N is a "
                "positive number of requests and DURATION a number followed by s, m or h, "
                f"e.g. {DEFAULT_RATE_LIMIT!r}"
            )
        windows.append(Window(limit, amount * _UNITS[match.group(3)]))
    return tuple(windows)


def describe_windows(windows: Sequence[Window]) -> str:
    return ",".join(str(w) for w in windows)


def next_send_time(arrivals: Sequence[float], windows: Sequence[Window], now: float) -> float:
    """The earliest time (>= ``now``) the next request may be sent.

    ``arrivals`` are the times the responses to earlier requests arrived. For each window (N, D), request
    n+N waits until D has passed since response n arrived. A server counts request n before its response
    leaves, so it sees request n+N more than D after request n: never more than N requests in any D-long
    interval, hence no 429.
    """
    ordered = sorted(arrivals)
    earliest = now
    for window in windows:
        if len(ordered) >= window.limit:
            earliest = max(earliest, ordered[-window.limit] + window.seconds)
    return earliest


def quota_index(windows: Sequence[Window]) -> int:
    """The position of the quota window, the longest one (of two as long, the stricter): the hour's budget."""
    return max(range(len(windows)), key=lambda i: (windows[i].seconds, -windows[i].limit))


def earliest_send(
    arrivals: Sequence[float], in_flight: int, reserved: int, windows: Sequence[Window], now: float, at: float
) -> float:
    """``next_send_time`` with ``in_flight`` requests awaiting their response and ``reserved`` requests other runs
    have reserved in the quota window (``quota_index``), all counted as arriving at ``at``: ``inf`` gives the exact
    answer (``inf`` while it depends on them), ``now`` a lower bound worth sleeping until.

    The shared ledger's script on the Redis server (``budget.redisscript``) mirrors this function line by line."""
    ordered = sorted(arrivals)
    quota = quota_index(windows) if windows else -1
    earliest = now
    for position, window in enumerate(windows):
        total = len(ordered) + in_flight + (reserved if position == quota else 0)
        if total >= window.limit:
            index = total - window.limit  # of the entry ``limit`` from the newest
            earliest = max(earliest, (ordered[index] if index < len(ordered) else at) + window.seconds)
    return earliest


@dataclass(frozen=True, slots=True)
class Grant:
    """Whether one more request may leave now: ``wait`` 0, or the seconds to wait before asking again."""

    wait: float
    imposed: bool = False  # the wait is one the server imposed (a 429), not the windows'

    @property
    def granted(self) -> bool:
        return self.wait <= 0


def grant(
    arrivals: Sequence[float],
    in_flight: int,
    reserved: int,
    windows: Sequence[Window],
    now: float,
    not_before: float | None,
) -> Grant:
    """One atomic decision of the shared ledger: send now, or wait. A wait that depends only on responses still
    awaited (or on reservations) is at least ``POLL``, to ask again soon; otherwise the bound they allow."""
    exact = earliest_send(arrivals, in_flight, reserved, windows, now, _INFINITY)
    if not_before is not None:
        exact = max(exact, not_before)
    if exact <= now:
        return Grant(0.0)
    bound = earliest_send(arrivals, in_flight, reserved, windows, now, now)
    imposed = not_before is not None and not_before >= bound
    if imposed:
        assert not_before is not None
        bound = not_before
    return Grant(max(bound - now, POLL), imposed)


def full_window_wait(arrivals: Sequence[float], windows: Sequence[Window], now: float, streak: int = 1) -> float:
    """How long to wait after the ``streak``-th 429 in a row that did not say how long.

    The server counted more than we did (someone else uses the credential), so assume a window is full, starting
    with the shortest: the first blind 429 waits for the shortest window to free up, a second one in a row for
    the next longer window, and so on. A window holding none of our arrivals is waited out whole. At least
    ``MIN_BLIND_WAIT`` seconds.
    """
    if not windows:
        return MIN_BLIND_WAIT
    ordered = sorted(windows, key=lambda w: w.seconds)
    window = ordered[min(max(streak, 1), len(ordered)) - 1]
    inside = [t for t in arrivals if t > now - window.seconds]
    wait = min(inside) + window.seconds - now if inside else window.seconds
    return max(wait, MIN_BLIND_WAIT)


BLIND_REASON = "Kameleoon answered 429 (too many requests) without saying how long to wait"


@dataclass(slots=True)
class BlindStreak:
    """Counts one process's consecutive blind 429s (no other answer in between): they escalate to longer windows."""

    responses: int = 0
    at: int = -2  # the response count at the last blind 429
    streak: int = 0

    def answered(self) -> None:
        self.responses += 1

    def blind(self) -> int:
        """Note a blind 429; its place in the current streak (1 for the first)."""
        self.streak = self.streak + 1 if self.at == self.responses - 1 else 1
        self.at = self.responses
        return self.streak


def server_wait(seconds: float, windows: Sequence[Window]) -> tuple[float, str]:
    """The wait to keep after a 429 that asked for ``seconds`` (finite), and the reason to show for it.

    No window is longer than the longest one, so a longer wait cannot be about the rate limit: one absurd
    ``Retry-After`` must not lock every later run out for years. It is capped to that window, and the reason
    says so.
    """
    asked = max(0.0, seconds)
    reason = "Kameleoon answered 429 (too many requests) and asked to wait"
    longest = max(windows, key=lambda w: w.seconds, default=None)
    if longest is None or asked <= longest.seconds:
        return asked, reason
    return longest.seconds, (
        f"{reason} {asked:.0f} s; kamsync waits at most {longest.seconds:g} s, its longest rate window ({longest})"
    )


class RequestBudget(Protocol):
    """What the HTTP client needs from its rate budget (``budget.ledger.Ledger``)."""

    def before_send(self) -> None:
        """Block until one more request may be sent."""

    def after_response(self) -> None:
        """Record that a response (or a failure) arrived for the request just sent."""

    def note_server_wait(self, seconds: float | None) -> None:
        """The server answered 429: do not send before ``seconds`` from now (``None``: it did not say, or said
        something unusable), but never longer than the longest window (``server_wait``)."""
