"""Where kamsync's words go: results on stdout (text or JSON), messages and progress on stderr.

Human text often holds what Kameleoon sent (code, names, server messages), and a UI edit can hold terminal
escapes: ``ESC[8m`` conceals what follows, ``ESC[1A ESC[2K`` erases the line above, so a diff could hide its own
lines from the reviewer. Every human line is therefore passed through ``visible`` before it is written; colour
is added afterwards, to ``Styled`` parts only. JSON output is left alone (its encoding escapes controls), and so
are files written to disk.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TextIO

import click

from kamsync.ui.jsontext import dumps_indented

STYLES = {
    "in-sync": {"fg": "green"},
    "local-changed": {"fg": "yellow"},
    "remote-ahead": {"fg": "red", "bold": True},
    "remote-changed": {"fg": "red", "bold": True},
    "remote-only": {"fg": "cyan"},
    "remote-missing": {"fg": "magenta", "bold": True},
    "error": {"fg": "red", "bold": True},
    "warning": {"fg": "yellow"},
    "+": {"fg": "green"},
    "-": {"fg": "red"},
    "@": {"fg": "cyan"},
}


# C0 controls but tab and newline, DEL, and the C1 controls (U+0080-U+009F; U+009B is a one-character CSI).
# C0 and C1 controls but tab and newline, and the bidirectional controls that can make code display in
# another order than it runs ("Trojan Source": embeddings, overrides, isolates, marks); and lone surrogates
# (half an emoji in a name, a path git gave undecodable), which no UTF-8 output could write.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def visible(text: str) -> str:
    """``text`` with every control character but tab and newline shown as a ``\\xNN`` escape (ESC as ``\\x1b``),
    so it reaches the terminal as characters to read, never as commands to obey."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


@dataclass(frozen=True, slots=True)
class Styled:
    """A part of a line coloured as ``STYLES[key]`` says (when colour is on), after it is made visible."""

    text: str
    key: str


Part = str | Styled


def wants_color(no_color_flag: bool, environ: Mapping[str, str], stream: TextIO) -> bool:
    if no_color_flag or environ.get("NO_COLOR", "") != "":
        return False
    return stream.isatty()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):  # a closed or detached stream
        return False


@dataclass(slots=True)
class Console:
    json_mode: bool = False
    color: bool = False
    err_color: bool = False
    quiet: bool = False  # -q: only errors and the final summary
    # While a live progress line is on stderr, messages go above it through this instead.
    above: Callable[[str], None] | None = None

    @classmethod
    def create(cls, *, json_mode: bool, no_color: bool, environ: Mapping[str, str], quiet: bool = False) -> Console:
        color, err_color = wants_color(no_color, environ, sys.stdout), wants_color(no_color, environ, sys.stderr)
        return cls(json_mode, color, err_color, quiet)

    def line(self, parts: tuple[Part, ...], *, err: bool = False) -> str:
        """The parts joined as one line for stdout (or stderr with ``err``): all made visible, styled ones
        coloured when colour is on there."""
        enabled = self.err_color if err else self.color
        shown = []
        for part in parts:
            if isinstance(part, Styled):
                text = visible(part.text)
                shown.append(click.style(text, **STYLES.get(part.key, {})) if enabled else text)  # type: ignore[arg-type]
            else:
                shown.append(visible(part))
        return "".join(shown)

    def out(self, *parts: Part) -> None:
        """A line of the human result (stdout); silent in JSON mode."""
        if self.json_mode:
            return
        text = self.line(parts)
        if self.above is not None and _is_terminal(sys.stdout):
            self.above(text)  # the same screen as the progress line: print above it, not through it
        else:
            click.echo(text)

    def detail(self, *parts: Part) -> None:
        """A line of the human result that reports one item as it happens (stdout); silent with ``-q``."""
        if not self.quiet:
            self.out(*parts)

    def summary(self, *parts: Part) -> None:
        """The one-line summary at the end of a command (stderr), kept with ``-q``."""
        self._say(parts)

    def info(self, *parts: Part) -> None:
        """A message for the person at the terminal (stderr), in every mode; silent with ``-q``."""
        if not self.quiet:
            self._say(parts)

    def _say(self, parts: tuple[Part, ...]) -> None:
        text = self.line(parts, err=True)
        if self.above is not None:
            self.above(text)
        else:
            click.echo(text, err=True)

    def warn(self, text: str) -> None:
        self.info(Styled("warning:", "warning"), " ", text)

    def error(self, text: str) -> None:
        """An error (stderr), in every mode, ``-q`` included."""
        self._say((Styled("error:", "error"), " ", text))

    def secret(self, value: str) -> None:
        """A secret kamsync just obtained (an access token): a console that can hide it from its log does so."""

    def emit_json(self, payload: object) -> None:
        if self.json_mode:
            click.echo(dumps_indented(payload))
