"""``kamsync hook install`` / ``uninstall``: say what was done to the hooks folder, in the user's words."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from kamsync.core.errors import Exit, KamsyncError, UsageError
from kamsync.git.repo import GitRepo
from kamsync.git.tree import CommitTree, find_manifest_at, mapped_paths_at
from kamsync.hook.install import HookSettings, install, installed, uninstall
from kamsync.manifest.parse import find_manifest
from kamsync.sync.options import Options
from kamsync.ui.console import Console

__all__ = ["hook_state", "install_hook", "uninstall_hook"]


def _shown(path: Path, top: Path) -> str:
    try:
        return os.path.relpath(path, Path.cwd()) if path.is_relative_to(top) else str(path)
    except ValueError:
        return str(path)


def install_hook(
    opts: Options, *, mode: str, branches: Sequence[str], allow_live: bool, require_credentials: bool
) -> int:
    console = Console.create(json_mode=False, no_color=opts.no_color, environ=opts.environ)
    repo = GitRepo.discover(Path.cwd())
    manifest = _manifest_of_the_hook(repo, opts)
    if mode == "check" and allow_live:
        console.warn("--allow-live only matters in push mode; a check never writes")
    if mode == "push" and require_credentials:
        console.warn("--require-credentials only matters in check mode; push mode always needs credentials")
    result = install(
        repo,
        mode=mode,
        branches=tuple(branches),
        allow_live=allow_live,
        require_credentials=require_credentials,
        manifest=manifest,
    )
    _remember_mapped_paths(repo, manifest)
    where = _shown(result.path, repo.top)
    verb = "updated" if result.updated else "installed"
    console.out(f"{verb} the kamsync pre-push hook in {where}: {_described(result.settings, manifest)}")
    if result.chained is not None:
        moved = "the pre-push hook that was there is now" if result.moved_aside else "the replaced hook,"
        console.out(f"{moved} {_shown(result.chained, repo.top)}, still runs first")
    console.out("skip it once with KAMSYNC_SKIP=1 git push, or git push --no-verify")
    if result.path.resolve().is_relative_to(repo.top.resolve()) and not result.path.resolve().is_relative_to(
        repo.git_dir.resolve()
    ):
        console.warn(
            f"{where} is inside the work tree (core.hooksPath) and names this machine's Python; do not commit "
            "it: each clone runs `kamsync hook install` itself"
        )
    return int(Exit.OK)


def uninstall_hook(opts: Options) -> int:
    console = Console.create(json_mode=False, no_color=opts.no_color, environ=opts.environ)
    repo = GitRepo.discover(Path.cwd())
    result = uninstall(repo)
    where = _shown(result.path, repo.top)
    if result.nothing_installed:
        other = " (the hook there is another tool's, left alone)" if os.path.lexists(result.path) else ""
        console.out(f"no kamsync pre-push hook in {where}{other}: nothing to remove")
    elif result.restored:
        console.out(f"removed the kamsync pre-push hook; {where} is the hook it had replaced again")
    else:
        console.out(f"removed the kamsync pre-push hook from {where}")
    return int(Exit.OK)


def _manifest_of_the_hook(repo: GitRepo, opts: Options) -> str:
    """The manifest the hook will read in each pushed commit, found as every command finds it (``--manifest``,
    ``$KAMSYNC_MANIFEST``, else walking up from here), as a path from the top (where git runs hooks)."""
    try:
        found = find_manifest(opts.manifest, opts.environ, Path.cwd(), stop_at=repo.top)
    except UsageError as exc:
        raise UsageError(
            f"{exc}; the hook checks the files a manifest maps, so install it from the folder of kamsync.yaml "
            "(or below it)"
        ) from None
    given = found.parent.resolve() / found.name
    if not given.is_relative_to(repo.top.resolve()):
        raise UsageError(
            f"the manifest {found} is outside this repository ({repo.top}); the hook reads the manifest "
            "of the commits pushed, so it must be in the repository"
        )
    return given.relative_to(repo.top.resolve()).as_posix()


def _remember_mapped_paths(repo: GitRepo, manifest: str) -> None:
    """Parse HEAD's manifest now, so the first push does not pay for it (the hook remembers it per manifest)."""
    with contextlib.suppress(KamsyncError):
        tree = CommitTree(repo, "HEAD")
        mapped_paths_at(tree, find_manifest_at(tree, manifest, {}, repo.top))  # the manifest is named explicitly


def hook_state(repo: GitRepo) -> tuple[Path, str | None]:
    """For ``kamsync doctor``: where the pre-push hook is, and how kamsync's is set there (None: not kamsync's)."""
    path, settings = installed(repo)
    return path, None if settings is None else _described(settings)


def _described(settings: HookSettings, manifest: str | None = None) -> str:
    return (
        f"mode {settings.mode}, branches {', '.join(settings.branches)}"
        + (f", manifest {manifest}" if manifest is not None else "")
        + (", live experiments allowed" if settings.allow_live else "")
        + (", credentials required" if settings.require_credentials else "")
    )
