"""Three-way merges of a field's code (base, local, Kameleoon), and the markers a conflicted merge leaves."""

from __future__ import annotations

from dataclasses import dataclass

from kamsync.gitrepo import GitRepo
from kamsync.normalize import file_text

LABELS = ("local", "base", "Kameleoon")
_MARKER_PREFIXES = ("<<<<<<< ", ">>>>>>> ", "||||||| ")


def has_markers(text: str) -> bool:
    """Whether ``text`` holds a line of an unresolved merge (``<<<<<<< ``, ``=======``, ``>>>>>>> ``)."""
    return any(line.startswith(_MARKER_PREFIXES) or line.rstrip() == "=======" for line in text.splitlines())


@dataclass(frozen=True, slots=True)
class Merged:
    text: str  # what to write: normalised, with git-style markers where the edits overlap
    conflicts: int  # how many regions are marked; 0 for a clean merge


def merge3(repo: GitRepo, base: str, local: str, remote: str) -> Merged:
    """Merge Kameleoon's edit and the local one, both made since ``base`` (all compared normalised)."""
    data, conflicts = repo.merge_file(
        file_text(local).encode("utf-8"),
        file_text(base).encode("utf-8"),
        file_text(remote).encode("utf-8"),
        LABELS,
    )
    return Merged(data.decode("utf-8", "surrogateescape"), conflicts)
