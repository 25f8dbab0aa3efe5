"""The console of ``--format github``: every line on stdout, human text made inert for the runner.

Human text holds what Kameleoon sent (names, server messages), so it is printed only inside a
``::stop-commands::TOKEN`` block, TOKEN fresh and random each time. kamsync's own workflow commands — masking
a token the moment it is obtained, annotations — close the block first, so the runner obeys them and only them.
One stream, so the runner sees the lines in the order they were written.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import click

from kamsync.ui.console import Console, Part
from kamsync.ui.github import mask_line, resume_line, stop_line

__all__ = ["ActionsConsole"]


def _echo(line: str) -> None:
    click.echo(line)


def _token() -> str:
    return secrets.token_hex(16)


@dataclass(slots=True)
class ActionsConsole(Console):
    write: Callable[[str], None] = _echo
    new_token: Callable[[], str] = _token
    masked: set[str] = field(default_factory=set)
    _stopped: str | None = None  # the token of the open stop-commands block

    def out(self, *parts: Part) -> None:
        self.text(self.line(parts))

    def _say(self, parts: tuple[Part, ...]) -> None:
        self.text(self.line(parts, err=True))

    def text(self, text: str) -> None:
        """Lines the runner must only show: inside a stop-commands block."""
        if self._stopped is None:
            self._stopped = self.new_token()
            self.write(stop_line(self._stopped))
        self.write(text)

    def command(self, line: str) -> None:
        """One of kamsync's own workflow commands: outside any block, so the runner obeys it."""
        self.close()
        self.write(line)

    def close(self) -> None:
        if self._stopped is not None:
            self.write(resume_line(self._stopped))
            self._stopped = None

    def secret(self, value: str) -> None:
        if value and value not in self.masked:
            self.masked.add(value)
            self.command(mask_line(value))
