"""Prices in requests: what a run will spend, whether the rate budget has it, and when it will (pure).

Kameleoon counts every request of a credential against its windows (``50/10s,1000/1h`` by default). The
shortest windows only pace a run: waiting a few seconds between requests is normal. The longest window is the
quota: a run needing more of it than is left would stop half-way or wait for most of an hour, so it is refused
before any write unless the user asked to wait.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from kamsync.budget.windows import Window, describe_windows, next_send_time
from kamsync.core.durations import clock_time, in_words
from kamsync.core.errors import LongWait

__all__ = ["PER_PAGE", "Quote", "cap_problem", "long_wait", "quote", "read_cost", "refusal_text"]

PER_PAGE = 200  # the largest page the API serves: one list request reads up to 200 objects


def read_cost(experiments: int, variations: int, *, token: bool, personalizations: int = 0, sites: int = 0) -> int:
    """Requests to read ``experiments``, ``personalizations`` and ``variations`` by id: one list request per 200
    of each kind (the variations of both share their lists), and one for the ``sites`` (by code). Reading an
    experiment or a personalization also reads the variations it lists, so they alone still cost one
    variation list."""
    owners = math.ceil(experiments / PER_PAGE) + math.ceil(personalizations / PER_PAGE)
    variation_lists = max(math.ceil(variations / PER_PAGE), 1 if owners else 0)
    return owners + variation_lists + (1 if sites else 0) + (1 if token else 0)


@dataclass(frozen=True, slots=True)
class Quote:
    """What ``needed`` more requests cost against the windows, given the requests already counted."""

    needed: int
    quota: Window  # the longest window
    used: int  # requests inside the quota window now
    fits: bool  # the quota window has room for all of them now
    runnable_at: float | None  # when it will have room (``None``: never, they exceed a whole window)
    finish_at: float  # when the last of them can leave, pacing included, if nobody else sends

    @property
    def left(self) -> int:
        return max(0, self.quota.limit - self.used)

    @property
    def windows_needed(self) -> int:
        """How many whole quota windows the run spans (1 when it fits in one)."""
        return max(1, math.ceil(self.needed / self.quota.limit))


def quote(needed: int, arrivals: Sequence[float], windows: Sequence[Window], now: float) -> Quote:
    """Price ``needed`` requests at ``now``; ``arrivals`` are the counted requests (in-flight ones included)."""
    quota = max(windows, key=lambda w: (w.seconds, -w.limit))
    inside = sorted(t for t in arrivals if t > now - quota.seconds)
    used = len(inside)
    fits = needed <= quota.limit - used
    runnable_at: float | None
    if fits:
        runnable_at = now
    elif needed > quota.limit:
        runnable_at = None
    else:
        # The oldest requests must leave the window until only ``limit - needed`` remain in it.
        runnable_at = inside[used - (quota.limit - needed) - 1] + quota.seconds
    return Quote(needed, quota, used, fits, runnable_at, finish_time(needed, arrivals, windows, now))


def finish_time(needed: int, arrivals: Sequence[float], windows: Sequence[Window], now: float) -> float:
    """When the last of ``needed`` requests can be sent, each one counted the moment it leaves."""
    horizon = max((w.seconds for w in windows), default=0.0)
    counted = sorted(t for t in arrivals if t > now - horizon)
    at = now
    for _ in range(needed):
        at = next_send_time(counted[-_depth(windows) :], windows, at)
        bisect.insort(counted, at)
    return at


def _depth(windows: Sequence[Window]) -> int:
    return max((w.limit for w in windows), default=1)


def cap_problem(spent: int, needed: int, cap: int | None) -> str | None:
    """Why ``--max-requests`` forbids spending ``needed`` more after ``spent``; ``None`` when it allows it."""
    if cap is None or spent + needed <= cap:
        return None
    already = f" ({spent} already used)" if spent else ""
    return (
        f"this run needs {spent + needed} requests{already}, more than --max-requests {cap}; "
        f"raise the cap, or give fewer paths"
    )


def refusal_text(what: str, q: Quote, windows: Sequence[Window], wall_now: float) -> str:
    """Why ``what`` is refused for lack of budget, with the numbers and when it could run."""
    head = (
        f"{what} needs {q.needed} requests but only {q.left} of the {q.quota} budget are left for this credential "
        f"({q.used} used in the last {in_words(q.quota.seconds)})"
    )
    if q.runnable_at is None:
        return (
            f"{head}; {q.needed} requests exceed a whole window ({describe_windows(windows)}): pass --wait to pace "
            f"them across {q.windows_needed} windows (finishing about {clock_time(q.finish_at)}), or push fewer "
            "paths at a time"
        )
    return (
        f"{head}; it could run at {clock_time(q.runnable_at)} (in {in_words(q.runnable_at - wall_now)}): "
        "run it again then, or pass --wait to wait here"
    )


def long_wait(wait: float, reason: str, *, imposed: bool, wall_now: float) -> LongWait:
    """The error stopping a run whose next request would wait ``wait`` seconds, longer than it may without
    ``--wait``; ``imposed``: the wait is one Kameleoon imposed (which ``kamsync quota --reset`` can forget)."""
    way_out = ", or, if that wait is wrong, forget it with kamsync quota --reset" if imposed else ""
    return LongWait(
        f"the rate budget has no room until {clock_time(wall_now + wait)} (in {in_words(wait)}): {reason}; "
        f"run the same command again then, or pass --wait to wait here{way_out}"
    )
