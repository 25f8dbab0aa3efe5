"""The repository a command works on: its git checkout, its manifest, and the files a command is restricted to.

A workspace reads the work tree, or, opened with ``rev``, one commit (``--to REV``, the pre-push hook): then
the manifest and the mapped files are read from that commit, and that commit plays the part of HEAD.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kamsync.core.errors import GitError, UsageError
from kamsync.core.model import ExperimentSpec, Manifest, MappedFile, NewVariationSpec
from kamsync.git.repo import GitRepo
from kamsync.git.tree import CommitTree, Source, WorkTree, find_manifest_at, top_relative
from kamsync.manifest.parse import MANIFEST_ENV, MANIFEST_NAME, find_manifest, load_manifest


@dataclass(frozen=True, slots=True)
class Workspace:
    repo: GitRepo
    manifest: Manifest
    cwd: Path
    tree: CommitTree | None = None  # the commit files are read from; None: the work tree
    read_only: bool = False  # kamsync cannot write .git here: a command that only reads goes on, keeping no record

    @classmethod
    def open(
        cls, manifest_option: str | None, environ: Mapping[str, str], cwd: Path, *, rev: str | None = None
    ) -> Workspace:
        """The workspace of the manifest found as ``find_manifest`` does; at commit ``rev`` when given (the
        manifest is then looked for in that commit, so it need not be checked out)."""
        if rev is None:
            here = _git_repo_or_none(cwd)
            top = None if here is None else here.top
            try:
                manifest_path = find_manifest(manifest_option, environ, cwd, stop_at=top)
            except UsageError:
                if top is None and not (manifest_option or environ.get(MANIFEST_ENV)):
                    # Outside git the first thing to fix is that (`pull --experiment` would fail for it too).
                    GitRepo.discover(cwd)
                raise
            # The manifest's folder is usually the current one or the top: the repository found there already.
            same = here is not None and manifest_path.parent in (cwd.absolute(), here.top)
            repo = here if same and here is not None else GitRepo.discover(manifest_path.parent)
            return cls(repo, load_manifest(manifest_path, repo.top, repo.git_dirs), cwd)
        explicit = manifest_option or environ.get(MANIFEST_ENV) or None
        repo = GitRepo.discover(_nearest_folder(cwd / Path(explicit).expanduser()) if explicit else cwd)
        tree = CommitTree(repo, rev)
        manifest_path = find_manifest_at(tree, manifest_option, environ, cwd)
        return cls(repo, tree.load_manifest(manifest_path), cwd, tree)

    @property
    def source(self) -> Source:
        """Where mapped files are read from."""
        return WorkTree(self.repo.top, self.repo.git_dirs) if self.tree is None else self.tree

    @property
    def head(self) -> str:
        """The revision that plays HEAD's part in the drift rules: the commit read from, else ``HEAD``."""
        return "HEAD" if self.tree is None else self.tree.commit

    @property
    def root(self) -> Path:
        return Path(self.manifest.root)

    def absolute(self, path: str) -> Path:
        return self.root / path

    def top_relative(self, path: str) -> str:
        """A manifest-relative path as git names it (relative to the work-tree top, POSIX)."""
        return top_relative(self.repo.top, self.manifest, path)

    def select(self, paths: Sequence[str]) -> tuple[MappedFile, ...]:
        """The mapped files under ``paths`` (relative to the current folder); every mapped file when none given."""
        files = self.manifest.files()
        if not paths:
            return files
        chosen: list[MappedFile] = []
        for given in paths:
            target = Path(os.path.abspath(self.cwd / given))
            matched = [mf for mf in files if _is_within(self.absolute(mf.path), target)]
            if not matched and not self._creates_under(target):
                raise UsageError(
                    f"{given}: no file mapped in {MANIFEST_NAME} is there; "
                    "give a mapped file or a folder holding some (see `kamsync status`)"
                )
            chosen.extend(mf for mf in matched if mf not in chosen)
        return tuple(sorted(chosen, key=files.index))

    def _creates_under(self, target: Path) -> bool:
        """Whether a new variation (an entry without id, which push creates) has a file under ``target``."""
        return any(self._creates_under_one(new, target) for _, new in self.manifest.creations())

    def select_new(self, paths: Sequence[str]) -> tuple[tuple[ExperimentSpec, NewVariationSpec], ...]:
        """The new variations with a file under ``paths`` (relative to the current folder); all when none given."""
        found = self.manifest.creations()
        if not paths:
            return found
        targets = [Path(os.path.abspath(self.cwd / given)) for given in paths]
        return tuple((exp, new) for exp, new in found if any(self._creates_under_one(new, t) for t in targets))

    def _creates_under_one(self, new: NewVariationSpec, target: Path) -> bool:
        return any(_is_within(self.absolute(f.path), target) for f in new.files)


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _nearest_folder(path: Path) -> Path:
    """``path`` or its nearest ancestor that is a folder on disk (a manifest named at a commit may be absent)."""
    path = Path(os.path.normpath(path.absolute()))
    while not path.is_dir() and path.parent != path:
        path = path.parent
    return path


def _git_repo_or_none(cwd: Path) -> GitRepo | None:
    try:
        return GitRepo.discover(cwd)
    except GitError:  # outside git the manifest search simply stops at the filesystem root
        return None
