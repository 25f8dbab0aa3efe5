"""The live status line on stderr: which item of how many, and what a wait is for and how long it still lasts.

Long runs are mostly waiting for the rate limit, and a silent terminal looks hung. The line is drawn only on a
terminal, never with ``--json``, never when ``KAMSYNC_PROGRESS=0``, and only once the run has lasted
``KAMSYNC_PROGRESS_AFTER`` seconds (2 by default), so a quick command prints nothing extra.

Rendering is pure (``render_line``, ``fit``); ``Progress`` is the edge holding the stream,
the clocks and the sleep. A wait shows a countdown and the wall-clock time it ends ("until 10:42:13"): that time is
exact, while an estimate of the whole run's end would jump about, because the budget is shared with every other
kamsync process using the credential and their requests are not known in advance.

Waits reach the line through the two hooks the ledger (and the client's retries) already call, one after the
other: ``on_wait=progress.waiting`` announces a wait and ``sleep=progress.sleeper()`` sleeps it while the
countdown runs. ``progress.wait`` does both in one call, for code that wants a single ``(seconds, reason)`` hook.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import tzinfo
from types import TracebackType
from typing import TextIO

from kamsync.core.durations import clock_time, countdown

__all__ = [
    "DEFAULT_AFTER",
    "ERASE",
    "Progress",
    "Status",
    "Wait",
    "fit",
    "progress_delay",
    "render_line",
    "wants_progress",
]

DEFAULT_AFTER = 2.0
ERASE = "\r\x1b[K"  # carriage return, then clear to the end of the line
_FALLBACK_COLUMNS = 80
_SEPARATOR = " — "
# Below this many columns a reason is dropped rather than cut to a stub nobody can read.
_MIN_REASON = 12


@dataclass(frozen=True, slots=True)
class Wait:
    """A wait in progress: why, and when it ends on the progress clock and on the wall clock."""

    reason: str
    ends: float
    ends_wall: float  # seconds since the epoch, for the "until" time


@dataclass(frozen=True, slots=True)
class Status:
    """What the status line shows: item ``n`` of ``total`` (``n == 0``: none started yet, ``label`` shows)."""

    total: int = 0
    label: str = ""
    n: int = 0
    what: str = ""
    wait: Wait | None = None


# -- pure rendering ----------------------------------------------------------------------------------------


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the cut marked with an ellipsis."""
    if len(text) <= width:
        return text
    return text[: width - 1] + "…" if width > 0 else ""


def _one_line(text: str) -> str:
    # A name with a newline or an escape sequence must not break the line or drive the terminal.
    return "".join(c if c.isprintable() else " " for c in text)


def _prefix(status: Status) -> str:
    if status.n <= 0:
        return _one_line(status.label)
    return f"[{status.n}/{status.total}]" if status.total > 0 else f"[{status.n}]"


def render_line(status: Status, now: float, *, width: int = _FALLBACK_COLUMNS, tz: tzinfo | None = None) -> str:
    """The status line at ``now`` (on the clock ``status.wait.ends`` uses), at most ``width`` characters.

    ``[3/12] variation 200001 (experiment 100001)``, or while waiting
    ``[3/12] waiting 0:42 — rate limit 50/10s,1000/1h, … — until 10:42:13`` (the wait's end in ``tz``, local
    time by default). A line too wide loses the middle of the reason first, so the countdown and the end stay.
    """
    prefix = _prefix(status)
    if status.wait is None:
        what = _one_line(status.what) if status.n > 0 else ""
        return fit(" ".join(p for p in (prefix, what) if p), width)
    waiting = f"waiting {countdown(status.wait.ends - now)}"
    head = f"{prefix}{':' if status.n <= 0 else ''} {waiting}" if prefix else waiting
    tail = "until " + clock_time(status.wait.ends_wall, tz)
    reason = _one_line(status.wait.reason)
    room = width - len(head) - len(tail) - 2 * len(_SEPARATOR)
    if len(reason) > room:
        reason = fit(reason, room) if room >= _MIN_REASON else ""
    return fit(_SEPARATOR.join(p for p in (head, reason, tail) if p), width)


def wants_progress(*, json_mode: bool, environ: Mapping[str, str], isatty: bool) -> bool:
    """A status line only for a person at a terminal that understands it, unless they said no."""
    if json_mode or not isatty:
        return False
    if environ.get("KAMSYNC_PROGRESS", "").strip() == "0":
        return False
    return environ.get("TERM", "") != "dumb"  # a dumb terminal prints escape sequences literally


def progress_delay(environ: Mapping[str, str]) -> float:
    """``KAMSYNC_PROGRESS_AFTER`` in seconds; the default when unset or not a number (a cosmetic setting must not
    stop a push)."""
    raw = environ.get("KAMSYNC_PROGRESS_AFTER", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_AFTER
    except ValueError:
        return DEFAULT_AFTER
    return max(0.0, value) if math.isfinite(value) else DEFAULT_AFTER


def _slice(remaining: float) -> float:
    """At most 1 s, ending on a whole second of the countdown so each redraw shows the next reading."""
    return remaining - math.floor(remaining - 1e-9) if remaining > 1e-9 else remaining


# -- the edge -----------------------------------------------------------------------------------------------


class Progress:
    """The status line on one terminal stream; every method is a no-op when disabled, except that waits sleep.

    Call ``item(n, what)`` when item ``n`` begins, so a wait that follows is shown as the wait before it.
    """

    def __init__(
        self,
        stream: TextIO | None,
        *,
        after: float = DEFAULT_AFTER,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        tz: tzinfo | None = None,
    ) -> None:
        self._stream = stream
        self._after = after
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._tz = tz
        self._born = clock()
        self._status = Status()
        self._drawn = False  # a status line is on the screen now
        self._shown = ""  # the line drawn last, not drawn again while nothing changes
        self._closed = False
        self._announced: str | None = None  # the reason given to ``waiting``, for the sleep that follows

    @classmethod
    def create(
        cls,
        stream: TextIO | None = None,
        *,
        json_mode: bool,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        tz: tzinfo | None = None,
    ) -> Progress:
        """A status line on ``stream`` (stderr) when ``wants_progress`` says so, else a disabled one."""
        out = sys.stderr if stream is None else stream
        env = {} if environ is None else environ
        try:
            isatty = out.isatty()
        except (OSError, ValueError):  # a closed or detached stream
            isatty = False
        enabled = wants_progress(json_mode=json_mode, environ=env, isatty=isatty)
        return cls(
            out if enabled else None,
            after=progress_delay(env),
            clock=clock,
            wall=wall,
            sleep=sleep,
            tz=tz,
        )

    @property
    def enabled(self) -> bool:
        return self._stream is not None

    def start(self, total: int, label: str) -> None:
        """A new run of ``total`` items (0: unknown), described by ``label`` until the first item begins."""
        self._status = Status(total=max(0, total), label=label)
        self._draw()

    def item(self, n: int, what: str) -> None:
        """Item ``n`` (1-based) begins; ``what`` names it, e.g. ``variation 200001 (experiment 100001)``."""
        self._status = replace(self._status, n=n, what=what, wait=None)
        self._draw()

    def waiting(self, seconds: float, reason: str) -> None:
        """The ``on_wait`` hook: a wait of ``seconds`` starts now; the sleep that follows shows its countdown."""
        if not self.enabled:
            return
        self._announced = reason
        self._status = replace(self._status, wait=self._wait(seconds, reason))
        self._draw()

    def sleeper(self) -> Callable[[float], None]:
        """The ``sleep`` hook: sleeps as asked; after ``waiting`` it counts the wait down on the status line.
        Sleeps nobody announced (the ledger's short polls) pass straight through."""
        return self._sleep_hook

    def wait(self, seconds: float, reason: str, sleep: Callable[[float], None] | None = None) -> None:
        """Sleep ``seconds`` (with ``sleep``, default the one given at creation), counting down meanwhile.
        Also usable as a single ``(seconds, reason)`` hook."""
        nap = self._sleep if sleep is None else sleep
        if not self.enabled:
            nap(seconds)
            return
        self._announced = None
        self._countdown(seconds, reason, nap)

    def note(self, text: str) -> None:
        """Print ``text`` as a permanent line above the status line (route stderr messages here while enabled)."""
        if not self.enabled:
            return
        redraw = self._drawn
        self._write((ERASE if redraw else "") + text + "\n")
        self._drawn = False
        if redraw:
            self._draw()

    def close(self) -> None:
        """Erase the status line; nothing is drawn afterwards (notes still print)."""
        if self._drawn:
            self._write(ERASE)
        self._drawn = False
        self._closed = True

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- inside ----------------------------------------------------------------------------------------------

    def _wait(self, seconds: float, reason: str) -> Wait:
        return Wait(reason, self._clock() + seconds, self._wall() + seconds)

    def _sleep_hook(self, seconds: float) -> None:
        reason, self._announced = self._announced, None
        if reason is None or not self.enabled:
            self._sleep(seconds)
        else:
            self._countdown(seconds, reason, self._sleep)

    def _countdown(self, seconds: float, reason: str, sleep: Callable[[float], None]) -> None:
        # Sleep to a deadline in slices, so the total is what was asked however long each slice really took.
        wait = self._wait(seconds, reason)
        self._status = replace(self._status, wait=wait)
        while (remaining := wait.ends - self._clock()) > 0:
            self._draw()
            sleep(_slice(remaining))
        self._status = replace(self._status, wait=None)
        self._draw()

    def _draw(self) -> None:
        if self._stream is None or self._closed:
            return
        now = self._clock()
        if not self._drawn and now - self._born < self._after:
            return
        line = render_line(self._status, now, width=self._columns(), tz=self._tz)
        if self._drawn and line == self._shown:
            return
        self._write("\r" + line + "\x1b[K")
        self._drawn, self._shown = True, line

    def _columns(self) -> int:
        try:
            columns = os.get_terminal_size(self._stream.fileno()).columns if self._stream else 0
        except (OSError, ValueError, AttributeError):
            columns = 0
        # One column short of the edge: writing the last column makes some terminals wrap.
        return (columns or _FALLBACK_COLUMNS) - 1

    def _write(self, text: str) -> None:
        if self._stream is None:
            return
        # The display must never be what breaks a run (a closed or vanished terminal).
        with contextlib.suppress(OSError, ValueError):
            self._stream.write(text)
            self._stream.flush()
