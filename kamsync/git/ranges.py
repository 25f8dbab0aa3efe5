"""Git ranges: the mapped files a range of commits touches (``--from REV --to REV``, the pre-push hook).

A mapped file counts when its content changed between the two commits, or when the manifest at the later
commit maps it and the manifest at the earlier one did not map it there (a newly mapped file is news too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kamsync.core.errors import KamsyncError, UsageError
from kamsync.core.model import FieldRef, MappedFile
from kamsync.core.paths import git_paths_among
from kamsync.git.repo import GitRepo
from kamsync.git.tree import CommitTree
from kamsync.git.workspace import Workspace

__all__ = ["GitRange", "in_range", "nothing_changed", "pick_files", "short"]


@dataclass(frozen=True, slots=True)
class GitRange:
    """``from_rev`` None: every mapped file at ``to_rev`` (a new branch with no merge-base)."""

    from_rev: str | None
    to_rev: str

    def describe(self) -> str:
        if self.from_rev is None:
            return f"commit {short(self.to_rev)}"
        return f"{short(self.from_rev)}..{short(self.to_rev)}"


def short(rev: str) -> str:
    is_id = len(rev) in (40, 64) and all(c in "0123456789abcdef" for c in rev)
    return rev[:12] if is_id else rev


def in_range(ws: Workspace, files: Sequence[MappedFile], from_rev: str | None) -> tuple[MappedFile, ...]:
    """The ``files`` (mapped at the workspace's commit) that changed since ``from_rev``."""
    if from_rev is None:
        return tuple(files)
    # In its folder as resolved when loaded: the path it was named by may go through a symlink.
    manifest_path = Path(ws.manifest.root) / Path(ws.manifest.path).name
    manifest_name = ws.top_relative(manifest_path.name)
    mapped = [ws.top_relative(mf.path) for mf in files]
    # As git compares paths: where it ignores case, the manifest's A.js is the a.js a commit changed.
    named = ws.repo.changed_paths(from_rev, ws.head)
    changed = git_paths_among([*mapped, manifest_name], named, ws.repo.path_rules)
    # A mapped path may be a symlink (or lie under a symlinked folder): the file it leads to can change while
    # the path itself does not, so compare what the other paths lead to in both commits too.
    others = [path for path in mapped if path not in changed]
    old, new = (CommitTree(ws.repo, rev).blob_ids_at(others) for rev in (from_rev, ws.head))
    retargeted = {path for path in others if old[path] != new[path]}
    before: set[tuple[FieldRef, str]] | None = None
    if manifest_name in changed:
        before = _mapped_at(ws.repo, from_rev, manifest_path)
    return tuple(
        mf
        for mf in files
        if ws.top_relative(mf.path) in changed
        or ws.top_relative(mf.path) in retargeted
        or (before is not None and (mf.ref, mf.path) not in before)
    )


def _mapped_at(repo: GitRepo, rev: str, manifest_path: Path) -> set[tuple[FieldRef, str]]:
    """What the manifest mapped at ``rev``: nothing when it did not exist there or cannot be read."""
    try:
        manifest = CommitTree(repo, rev).load_manifest(manifest_path)
    except KamsyncError:
        return set()
    return {(mf.ref, mf.path) for mf in manifest.files()}


def pick_files(ws: Workspace, paths: Sequence[str], from_rev: str | None) -> tuple[MappedFile, ...]:
    """The mapped files under ``paths``; with ``from_rev``, only those changed since that commit."""
    files = ws.select(paths)
    if from_rev is None:
        return files
    if not ws.repo.commit_exists(from_rev):
        raise UsageError(f"--from {from_rev}: no such commit in this repository; give a commit, branch or tag")
    return in_range(ws, files, from_rev)


def nothing_changed(ws: Workspace, from_rev: str | None) -> str:
    """What to say when a range holds no mapped change (no request is sent)."""
    span = GitRange(from_rev, ws.head).describe()
    return f"no mapped file changed in {span}: nothing to do, no request sent"
