"""The port a use case reports through while it runs; ``kamsync.ui.show`` implements it.

A use case prints nothing. What it finds is the value it returns; what happens while it runs (a wait, a write
done, a lock it went on without, a warning that must be seen before an error that may follow) it hands to its
``Report`` as a value of ``kamsync.core.events``, at the moment it happens. The live progress line is part of the
same port: the use case says which item it is on, the ui decides whether and how a line is drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

__all__ = ["LiveLine", "Report"]


class LiveLine(Protocol):
    """The progress of a long run: which item of how many, and the waits between them."""

    @property
    def enabled(self) -> bool: ...

    def start(self, total: int, label: str) -> None: ...

    def item(self, n: int, what: str) -> None: ...

    def waiting(self, seconds: float, reason: str) -> None: ...

    def sleeper(self) -> Callable[[float], None]: ...


class Report(Protocol):
    """Where a use case says what happens: an event or a result value, shown as the ui shows that type."""

    def __call__(self, said: object) -> None: ...

    def live_line(self) -> LiveLine: ...

    def showing(self, line: LiveLine) -> AbstractContextManager[object]: ...
