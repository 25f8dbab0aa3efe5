"""The repository a command works on: its git checkout, its manifest, and the files a command is restricted to."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kamsync.errors import GitError, UsageError
from kamsync.gitrepo import GitRepo
from kamsync.manifest import MANIFEST_NAME, find_manifest, load_manifest
from kamsync.model import Manifest, MappedFile


@dataclass(frozen=True, slots=True)
class Workspace:
    repo: GitRepo
    manifest: Manifest
    cwd: Path

    @classmethod
    def open(cls, manifest_option: str | None, environ: Mapping[str, str], cwd: Path) -> Workspace:
        manifest_path = find_manifest(manifest_option, environ, cwd, stop_at=_git_top_or_none(cwd))
        repo = GitRepo.discover(manifest_path.parent)
        return cls(repo, load_manifest(manifest_path, repo.top), cwd)

    @property
    def root(self) -> Path:
        return Path(self.manifest.root)

    def absolute(self, path: str) -> Path:
        return self.root / path

    def top_relative(self, path: str) -> str:
        """A manifest-relative path as git names it (relative to the work-tree top, POSIX)."""
        return self.absolute(path).relative_to(self.repo.top).as_posix()

    def select(self, paths: Sequence[str]) -> tuple[MappedFile, ...]:
        """The mapped files under ``paths`` (relative to the current folder); every mapped file when none given."""
        files = self.manifest.files()
        if not paths:
            return files
        chosen: list[MappedFile] = []
        for given in paths:
            target = Path(os.path.abspath(self.cwd / given))
            matched = [mf for mf in files if _is_within(self.absolute(mf.path), target)]
            if not matched:
                raise UsageError(
                    f"{given}: no file mapped in {MANIFEST_NAME} is there; "
                    "give a mapped file or a folder holding some (see `kamsync status`)"
                )
            chosen.extend(mf for mf in matched if mf not in chosen)
        return tuple(sorted(chosen, key=files.index))


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _git_top_or_none(cwd: Path) -> Path | None:
    try:
        return GitRepo.discover(cwd).top
    except GitError:  # outside git the manifest search simply stops at the filesystem root
        return None
