"""GitHub Actions workflow commands, as text (pure: values in, lines out).

The runner reads every line a step prints: a line starting with ``::`` (``::add-mask::``, ``::error``,
``::set-output``…), or holding ``##[`` (the older form), is obeyed as a command. Text from Kameleoon — code,
names, server messages — can hold such lines, so everything kamsync prints in ``--format github`` except its own
commands goes between ``::stop-commands::TOKEN`` and ``::TOKEN::`` (with a fresh random TOKEN that remote text
cannot guess), and the commands it does send carry their data escaped so that a value is one line whatever it
holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "ANNOTATIONS_PER_LEVEL",
    "Annotation",
    "annotation_lines",
    "escape_data",
    "escape_property",
    "mask_line",
    "output_entry",
    "resume_line",
    "stop_line",
]

# GitHub shows at most 10 annotations of each level per step and drops the rest silently.
ANNOTATIONS_PER_LEVEL = 10


def escape_data(text: str) -> str:
    """A command's message: ``%``, CR and LF escaped as the runner unescapes them, so it stays one line."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A command's property value (``file=…,line=…``): also ``:`` and ``,``, which end a property."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def mask_line(value: str) -> str:
    """Hide ``value`` in the rest of the job's log (each line of it, as the runner masks line by line)."""
    return f"::add-mask::{escape_data(value)}"


def stop_line(token: str) -> str:
    """From here on the runner obeys no command until ``resume_line(token)``."""
    return f"::stop-commands::{token}"


def resume_line(token: str) -> str:
    return f"::{token}::"


@dataclass(frozen=True, slots=True)
class Annotation:
    """One annotation: ``level`` is ``error``, ``warning`` or ``notice``; ``file`` is relative to the top of the
    repository (GitHub places it on that file's ``line``)."""

    level: str
    message: str
    title: str | None = None
    file: str | None = None
    line: int | None = None

    def command(self) -> str:
        props = ",".join(
            f"{name}={escape_property(str(value))}" for name, value in self._properties() if value is not None
        )
        head = f"{self.level} {props}" if props else self.level
        return f"::{head}::{escape_data(self.message)}"

    def _properties(self) -> Iterable[tuple[str, object]]:
        yield "file", self.file
        yield "line", self.line if self.file is not None else None
        yield "title", self.title


def annotation_lines(annotations: Sequence[Annotation]) -> tuple[list[str], dict[str, int]]:
    """The commands for at most ``ANNOTATIONS_PER_LEVEL`` annotations of each level, in order, and how many of
    each level were left out (GitHub would drop them without a word; the summary lists every field)."""
    lines: list[str] = []
    shown: dict[str, int] = {}
    left_out: dict[str, int] = {}
    for annotation in annotations:
        count = shown.get(annotation.level, 0)
        if count < ANNOTATIONS_PER_LEVEL:
            shown[annotation.level] = count + 1
            lines.append(annotation.command())
        else:
            left_out[annotation.level] = left_out.get(annotation.level, 0) + 1
    return lines, left_out


def output_entry(name: str, value: str, delimiter: str) -> str:
    """One entry of the ``GITHUB_OUTPUT`` file: ``name=value`` for one line, else a heredoc whose
    ``delimiter`` (random, from the caller) cannot occur in the value."""
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    if delimiter in value:
        raise ValueError("the delimiter occurs in the value")
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"
