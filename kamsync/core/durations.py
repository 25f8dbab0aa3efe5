"""How time reads (pure): a length of time as a countdown on the status line or as words in a message, and a
moment as a clock time.

Lengths round up to whole seconds, so that a wait that still lasts never reads as nothing left.
"""

from __future__ import annotations

import math
from datetime import datetime, tzinfo

__all__ = ["clock_time", "countdown", "in_words"]


def _split(seconds: float) -> tuple[int, int, int]:
    """Hours, minutes and seconds of ``seconds`` rounded up (to the millisecond first: float noise such as
    ``42.0000001`` is 42 s, not 43)."""
    total = max(0, math.ceil(round(seconds, 3)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return hours, minutes, secs


def countdown(seconds: float) -> str:
    """``0:42``, ``9:59``, ``1:02:03``: what the status line counts down."""
    hours, minutes, secs = _split(seconds)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def in_words(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``1 h 2 min``: how messages say it."""
    hours, minutes, secs = _split(seconds)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def clock_time(wall: float, tz: tzinfo | None = None) -> str:
    """A moment (seconds since the epoch) as ``HH:MM:SS`` in ``tz``, the user's local time by default."""
    return datetime.fromtimestamp(wall, tz).strftime("%H:%M:%S")
