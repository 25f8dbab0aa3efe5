"""Normalisation of code, so that whitespace round-trips through Kameleoon never show as changes."""

from __future__ import annotations

import hashlib


def normalize(code: str | None) -> str:
    """The comparable form of ``code``: LF line ends, no trailing whitespace per line, no trailing blank lines.

    ``None`` (a field the API left empty) normalises like the empty string.
    """
    if not code:
        return ""
    text = code.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def file_text(code: str | None) -> str:
    """What kamsync writes to disk for ``code``: normalised, LF, ending with exactly one newline (empty stays empty)."""
    norm = normalize(code)
    return norm + "\n" if norm else ""


def fingerprint(code: str | None) -> str:
    """A short stable identity of the normalised code, used to remember values without storing them."""
    return hashlib.sha256(normalize(code).encode("utf-8")).hexdigest()
