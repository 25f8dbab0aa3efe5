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
    "DEFAULT_RATE_LIMIT",
    "RequestBudget",
    "Window",
    "describe_windows",
    "full_window_wait",
    "next_send_time",
    "parse_rate_limit",
    "server_wait",
]

DEFAULT_RATE_LIMIT = "50/10s,1000/1h"

# The shortest wait after a 429 that came without Retry-After: the server saw something our arrivals do not
# (another process, clock skew), so waiting "0 s" would just earn another 429.
MIN_BLIND_WAIT = 1.0

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
