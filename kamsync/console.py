"""Where kamsync's words go: results on stdout (text or JSON), messages and progress on stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TextIO

import click

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


def wants_color(no_color_flag: bool, environ: Mapping[str, str], stream: TextIO) -> bool:
    if no_color_flag or environ.get("NO_COLOR", "") != "":
        return False
    return stream.isatty()


@dataclass(slots=True)
class Console:
    json_mode: bool = False
    color: bool = False
    err_color: bool = False
    # While a live progress line is on stderr, messages go above it through this instead.
    above: Callable[[str], None] | None = None

    @classmethod
    def create(cls, *, json_mode: bool, no_color: bool) -> Console:
        environ = os.environ
        return cls(json_mode, wants_color(no_color, environ, sys.stdout), wants_color(no_color, environ, sys.stderr))

    def style(self, text: str, key: str, *, err: bool = False) -> str:
        enabled = self.err_color if err else self.color
        return click.style(text, **STYLES.get(key, {})) if enabled else text  # type: ignore[arg-type]

    def out(self, text: str = "") -> None:
        """A line of the human result (stdout); silent in JSON mode."""
        if not self.json_mode:
            click.echo(text)

    def info(self, text: str) -> None:
        """A message for the person at the terminal (stderr), in every mode."""
        if self.above is not None:
            self.above(text)
        else:
            click.echo(text, err=True)

    def warn(self, text: str) -> None:
        self.info(f"{self.style('warning:', 'warning', err=True)} {text}")

    def error(self, text: str) -> None:
        self.info(f"{self.style('error:', 'error', err=True)} {text}")

    def emit_json(self, payload: object) -> None:
        if self.json_mode:
            click.echo(json.dumps(payload, indent=2, sort_keys=False))
