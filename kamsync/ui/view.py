"""The console side of a use case's ``Report`` port: shows each value it is handed as its renderer says, and
owns the live progress line (drawn above by messages while it shows)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from kamsync.ui.console import Console
from kamsync.ui.progress import Progress
from kamsync.ui.show import show

__all__ = ["View"]


class _Result(Protocol):
    @property
    def code(self) -> int: ...


@dataclass(slots=True)
class View:
    console: Console
    environ: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, said: object) -> None:
        show(self.console, said)

    def result(self, value: _Result) -> int:
        """Show a command's result; its exit code."""
        show(self.console, value)
        return int(value.code)

    def live_line(self) -> Progress:
        # -q: no live line either
        return Progress.create(json_mode=self.console.json_mode or self.console.quiet, environ=self.environ)

    @contextmanager
    def showing(self, line: object) -> Iterator[object]:
        """Route the console's messages above the progress line while it is shown; erase it at the end."""
        progress = line if isinstance(line, Progress) else None
        if progress is not None and progress.enabled:
            self.console.above = progress.note
        try:
            yield line
        finally:
            self.console.above = None
            if progress is not None:
                progress.close()
