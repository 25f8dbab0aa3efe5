"""The sandbox's time, which tests can move forward instead of sleeping through a token lifetime or a rate window.

One clock drives token expiry, the rate windows and the times in the request and fault logs, so advancing it
makes all of them agree that the time has passed. Durations come from ``now()`` (monotonic), dates from
``wall()``; both move by the same advances.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

__all__ = ["Clock"]


class Clock:
    """Real time (by default) plus every ``advance`` so far. Thread-safe."""

    def __init__(self, source: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self._source = source
        self._wall = wall
        self._offset = 0.0
        self._lock = threading.Lock()

    @classmethod
    def stopped(cls) -> Clock:
        """A clock that only moves when advanced: tests then know exactly what time the sandbox sees."""
        started = time.time()
        return cls(lambda: 0.0, lambda: started)

    def now(self) -> float:
        """Monotonic seconds, for token lifetimes and rate windows."""
        with self._lock:
            return self._source() + self._offset

    def wall(self) -> float:
        """Seconds since the epoch, for the times the logs record."""
        with self._lock:
            return self._wall() + self._offset

    @property
    def advanced(self) -> float:
        """The seconds all advances so far added to the source."""
        with self._lock:
            return self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock ``seconds`` forward and return the total advanced; time never runs backwards."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(
                f"the sandbox clock only moves forward: advance it by a finite 0 or more seconds, not {seconds!r}"
            )
        with self._lock:
            self._offset += float(seconds)
            return self._offset
