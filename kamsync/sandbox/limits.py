"""Server-side rate windows: a sliding log of counted requests per client, as Kameleoon counts them per user.

The spec syntax (``50/10s,1000/1h``) is parsed by ``kamsync.budget.windows`` so the client and the sandbox never
disagree on what a limit means.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from kamsync.budget.windows import Window, parse_rate_limit

__all__ = ["ServerRateLimiter", "parse_windows", "refusal_wait"]

_OFF = {"", "off", "none", "0"}


def parse_windows(spec: str | None) -> tuple[Window, ...]:
    """The windows of ``spec``; ``None``, ``""`` or ``"off"`` mean no limit (for tests that flood the API)."""
    if spec is None or spec.strip().lower() in _OFF:
        return ()
    return parse_rate_limit(spec)


def refusal_wait(logs: Sequence[Sequence[float]], windows: Sequence[Window], now: float) -> float | None:
    """``None`` when a request at ``now`` fits every window, else the seconds until full windows free a slot.

    ``logs[i]`` holds the counted request times still inside ``windows[i]``, oldest first. A window (N, D) is
    full when it holds N times in (now-D, now]; it frees a slot when its (len-N)-th oldest time leaves.
    """
    wait: float | None = None
    for window, log in zip(windows, logs, strict=True):
        if len(log) >= window.limit:
            frees_at = log[len(log) - window.limit] + window.seconds
            # max(…, 0.0): float rounding must never turn a refusal into a negative wait.
            wait = max(wait or 0.0, frees_at - now, 0.0)
    return wait


class ServerRateLimiter:
    """Counts admitted requests per client id; refused ones do not count (as Kameleoon says)."""

    def __init__(self, windows: Sequence[Window], clock: Callable[[], float] = time.monotonic) -> None:
        self.windows = tuple(windows)
        self._clock = clock
        self._logs: dict[str, list[deque[float]]] = {}
        self._lock = threading.Lock()

    def admit(self, client_id: str) -> float | None:
        """Count a request of ``client_id`` and return ``None``, or refuse it: the wait in seconds."""
        if not self.windows:
            return None
        now = self._clock()
        with self._lock:
            logs = self._logs.setdefault(client_id, [deque() for _ in self.windows])
            for window, log in zip(self.windows, logs, strict=True):
                while log and log[0] <= now - window.seconds:
                    log.popleft()
            wait = refusal_wait(logs, self.windows, now)
            if wait is None:
                for log in logs:
                    log.append(now)
            return wait
