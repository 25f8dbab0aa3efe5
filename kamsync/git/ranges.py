"""Git ranges: the mapped files a range of commits touches (``--from REV --to REV``, the pre-push hook).

A mapped file counts when its content changed between the two commits, or when the manifest at the later
commit maps it and the manifest at the earlier one did not map it there (a newly mapped file is news too).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from kamsync.core.errors import KamsyncError, UsageError
from kamsync.core.model import FieldRef, Manifest, MappedFile
from kamsync.core.paths import git_paths_among
from kamsync.git.repo import GitRepo
from kamsync.git.tree import CommitTree
from kamsync.git.workspace import Workspace

__all__ = [
    "GitRange",
    "RangeChanges",
    "in_range",
    "pick_files",
    "range_changes",
    "short",
]


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


@dataclass(frozen=True, slots=True)
class RangeChanges:
    """What a range changed of the files a manifest maps at its later commit."""

    content: frozenset[str]  # the mapped paths (as git names them) whose content changed, through symlinks too
    before: frozenset[tuple[FieldRef, str]] | None  # the mapping at the earlier commit; None: same manifest

    def touches(self, ref: FieldRef, path: str, rel: str) -> bool:
        """Whether the file mapped to ``ref`` at ``path`` (``rel`` as git names it) is news in the range."""
        return rel in self.content or (self.before is not None and (ref, path) not in self.before)

    def maps_new(self, manifest: Manifest) -> bool:
        """Whether ``manifest`` (the later one) maps a file to a field the earlier one did not."""
        return self.before is not None and any((mf.ref, mf.path) not in self.before for mf in manifest.files())


def range_changes(repo: GitRepo, span: GitRange, manifest_path: Path, mapped: Collection[str]) -> RangeChanges:
    """What changed from ``span.from_rev`` (not None) to ``span.to_rev`` of the ``mapped`` paths (relative to
    the top, as the manifest at ``manifest_path`` maps them at ``span.to_rev``)."""
    assert span.from_rev is not None
    # As git compares paths: where it ignores case, the manifest's A.js is the a.js a commit changed.
    changed = git_paths_among(mapped, repo.changed_paths(span.from_rev, span.to_rev), repo.path_rules)
    # A mapped path may be a symlink (or lie under a symlinked folder), and so may the manifest: what it leads
    # to can change while the path itself does not, so compare what the other paths lead to in both commits
    # too (one `git cat-file` per commit, whatever the number of files).
    manifest = CommitTree(repo, span.to_rev).top_path(manifest_path)
    others = [*(rel for rel in mapped if rel not in changed), manifest]
    old, new = (CommitTree(repo, rev).blob_ids_at(others) for rev in (span.from_rev, span.to_rev))
    content = frozenset(rel for rel in mapped if rel in changed or old[rel] != new[rel])
    before = _mapping_at(repo, span.from_rev, manifest_path) if old[manifest] != new[manifest] else None
    return RangeChanges(content, before)


def _mapping_at(repo: GitRepo, rev: str, manifest_path: Path) -> frozenset[tuple[FieldRef, str]]:
    """Which file maps which field in the manifest at ``rev``: nothing when it is not there or cannot be read."""
    try:
        manifest = CommitTree(repo, rev).load_manifest(manifest_path)
    except KamsyncError:
        return frozenset()
    return frozenset((mf.ref, mf.path) for mf in manifest.files())


def in_range(ws: Workspace, files: Sequence[MappedFile], from_rev: str | None) -> tuple[MappedFile, ...]:
    """The ``files`` (mapped at the workspace's commit) that changed since ``from_rev``."""
    if from_rev is None:
        return tuple(files)
    rels = {mf: ws.top_relative(mf.path) for mf in files}
    # In its folder as resolved when loaded: the path it was named by may go through a symlink.
    manifest_path = Path(ws.manifest.root) / Path(ws.manifest.path).name
    found = range_changes(ws.repo, GitRange(from_rev, ws.head), manifest_path, set(rels.values()))
    return tuple(mf for mf in files if found.touches(mf.ref, mf.path, rels[mf]))


def pick_files(ws: Workspace, paths: Sequence[str], from_rev: str | None) -> tuple[MappedFile, ...]:
    """The mapped files under ``paths``; with ``from_rev``, only those changed since that commit."""
    files = ws.select(paths)
    if from_rev is None:
        return files
    if not ws.repo.commit_exists(from_rev):
        raise UsageError(f"--from {from_rev}: no such commit in this repository; give a commit, branch or tag")
    return in_range(ws, files, from_rev)
