"""Merge markers: how a conflicted three-way merge marks overlapping edits, and how kamsync spots them (pure)."""

from __future__ import annotations

from dataclasses import dataclass

LABELS = ("local", "base", "Kameleoon")
_MARKER_PREFIXES = ("<<<<<<< ", ">>>>>>> ", "||||||| ")


def has_markers(text: str) -> bool:
    """Whether ``text`` holds a line of an unresolved merge (``<<<<<<< ``, ``=======``, ``>>>>>>> ``)."""
    return any(line.startswith(_MARKER_PREFIXES) or line.rstrip() == "=======" for line in text.splitlines())


@dataclass(frozen=True, slots=True)
class Merged:
    text: str  # what to write: normalised, with git-style markers where the edits overlap
    conflicts: int  # how many regions are marked; 0 for a clean merge
