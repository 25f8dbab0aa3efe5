"""Three-way merges of a field's code (base, local, Kameleoon), as ``git merge-file`` does them."""

from __future__ import annotations

from kamsync.core.merge import LABELS, Merged
from kamsync.core.normalize import file_text
from kamsync.git.repo import GitRepo


def merge3(repo: GitRepo, base: str, local: str, remote: str) -> Merged:
    """Merge Kameleoon's edit and the local one, both made since ``base`` (all compared normalised)."""
    data, conflicts = repo.merge_file(
        file_text(local).encode("utf-8"),
        file_text(base).encode("utf-8"),
        file_text(remote).encode("utf-8"),
        LABELS,
    )
    return Merged(data.decode("utf-8"), conflicts)
