"""Install and remove kamsync's pre-push hook: pure helpers that write and read the script, thin file edges.

The hook is a POSIX sh script in the folder git runs hooks from (``git rev-parse --git-path hooks``, so
``core.hooksPath`` and linked worktrees work). A marker line makes it recognisable, and a comment line holds
its settings as JSON, so that ``kamsync hook install`` can tell "installed" from "updated".

A hook that was there before (another tool's) is moved aside to ``pre-push.kamsync-chained`` and run first,
with the same arguments and standard input; if it fails, the push stops there, before kamsync runs (so a
``push``-mode hook never writes to Kameleoon for a push that another hook blocks). Like git, the script runs
it only if it is executable; a symlink is moved as the link itself and still points where it did.
``kamsync hook uninstall`` puts it back.

When kamsync is gone (its Python no longer exists and no ``kamsync`` is on ``PATH``) the hook fails the push
and says how to skip it: a check that silently stops running is worse than a push that needs
``KAMSYNC_SKIP=1`` once.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

from kamsync.core.errors import UsageError
from kamsync.git.repo import GitRepo
from kamsync.state.files import write_atomic

__all__ = [
    "CHAINED_NAME",
    "HOOK_NAME",
    "MARKER",
    "MODES",
    "HookMode",
    "HookSettings",
    "InstallResult",
    "UninstallResult",
    "hook_command",
    "install",
    "installed",
    "is_kamsync_hook",
    "read_installed",
    "render_hook",
    "settings_for",
    "sh_path",
    "skip_requested",
    "uninstall",
]

HOOK_NAME = "pre-push"
CHAINED_NAME = "pre-push.kamsync-chained"
MARKER = "# kamsync pre-push hook v1"
SKIP_ENV = "KAMSYNC_SKIP"


class HookMode(str, Enum):
    """What the installed hook does on a push that changes mapped files (a contract: ``--mode`` takes these)."""

    def __str__(self) -> str:  # f-strings show the value on every Python version
        return str(self.value)

    CHECK = "check"  # block the push when Kameleoon holds an edit it would hide
    PUSH = "push"  # send the pushed code to Kameleoon before git pushes it


MODES = tuple(m.value for m in HookMode)
_SETTINGS_PREFIX = "# kamsync-settings: "
# `python -c` puts "" (the current folder) first on sys.path; drop it before importing anything.
ENTRY = "import sys; sys.path[:1] = [p for p in sys.path[:1] if p]; from kamsync.cli import main; main()"
# What git refuses in a branch name (git-check-ref-format(1)), checked here so the hook never carries one.
_BAD_BRANCH = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|^[-/.]|[/.]$|\.lock$|^@$|/\.")


@dataclass(frozen=True, slots=True)
class HookSettings:
    """How the installed hook calls kamsync."""

    mode: HookMode
    branches: tuple[str, ...]  # the branches whose pushes are checked
    allow_live: bool = False
    require_credentials: bool = False
    python: str = ""  # the interpreter that runs kamsync; `kamsync` on PATH when it no longer exists
    manifest: str | None = None  # passed as `--manifest` (relative to the work-tree top, where hooks run)


@dataclass(frozen=True, slots=True)
class InstallResult:
    path: Path  # the hook written
    settings: HookSettings
    updated: bool  # kamsync's hook was already there (and is rewritten with ``settings``)
    previous: HookSettings | None  # its settings then (None if fresh, or if its settings line was damaged)
    chained: Path | None  # another tool's hook that runs first, if there is one
    moved_aside: bool  # whether this install moved that hook aside


@dataclass(frozen=True, slots=True)
class UninstallResult:
    path: Path  # where the hook was (and where a chained one is restored)
    removed: bool  # kamsync's hook was there and is gone
    restored: bool  # the hook it had moved aside is back at ``path``

    @property
    def nothing_installed(self) -> bool:
        return not self.removed and not self.restored


# --- pure: settings, the script, recognising it ----------------------------------------------------------


def skip_requested(environ: Mapping[str, str]) -> bool:
    """``KAMSYNC_SKIP=1``: skip kamsync's pre-push check (the hook script applies the same rule)."""
    return environ.get(SKIP_ENV, "") == "1"


def settings_for(
    mode: str,
    branches: Sequence[str],
    *,
    allow_live: bool,
    require_credentials: bool,
    python: str,
    manifest: str | None,
) -> HookSettings:
    """Validated settings; branch names may be given as ``refs/heads/NAME``."""
    if mode not in MODES:
        raise UsageError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
    chosen = HookMode(mode)
    names: list[str] = []
    for given in branches:
        name = given.removeprefix("refs/heads/")
        if not name or _BAD_BRANCH.search(name):
            raise UsageError(f"--branch {given!r} is not a valid branch name; give a name like main or release/2")
        if name not in names:
            names.append(name)
    if not names:
        raise UsageError("the hook needs at least one branch to check; pass --branch NAME")
    if manifest is not None and ("\n" in manifest or not manifest.strip()):
        raise UsageError(f"--manifest {manifest!r} is not a usable path")
    return HookSettings(chosen, tuple(names), allow_live, require_credentials, python, manifest)


def hook_command(settings: HookSettings) -> list[str]:
    """The arguments the hook gives kamsync (after ``kamsync``), before git's ``REMOTE URL``."""
    args = ["--manifest", settings.manifest] if settings.manifest is not None else []
    args += ["hook", "run", "pre-push", "--mode", settings.mode.value]
    for branch in settings.branches:
        args += ["--branch", branch]
    if settings.allow_live:
        args.append("--allow-live")
    if settings.require_credentials:
        args.append("--require-credentials")
    return [*args, "--"]


def sh_path(path: str, *, windows: bool) -> str:
    """``path`` as the hook's ``sh`` must see it. Git for Windows' ``sh`` takes ``C:/x`` and ``//server/share``
    but may read a backslash as an escape; on other systems a backslash is an ordinary character of a name."""
    return path.replace("\\", "/") if windows else path


def render_hook(settings: HookSettings, *, windows: bool = os.name == "nt") -> str:
    """The hook script for ``settings``, for ``sh`` (Git for Windows' too when ``windows``), with LF line ends."""
    kamsync_args = " ".join(shlex.quote(a) for a in hook_command(settings))
    settings_json = json.dumps(asdict(settings), ensure_ascii=True, sort_keys=True)
    return f"""\
#!/bin/sh
{MARKER}
# Written by `kamsync hook install` (run it again to change the settings; edits here are lost).
# `kamsync hook uninstall` removes it and puts back the hook it replaced (kept as {CHAINED_NAME},
# and run first).
# Skip once: {SKIP_ENV}=1 git push (skips kamsync only), or git push --no-verify (skips every pre-push hook).
{_SETTINGS_PREFIX}{settings_json}

# git writes the refs being pushed on standard input; the chained hook and kamsync both read them.
refs=$(cat)
feed() {{
    if [ -n "$refs" ]; then printf '%s\\n' "$refs"; fi
}}

chained="$(dirname -- "$0")/{CHAINED_NAME}"
if [ -x "$chained" ]; then
    feed | "$chained" "$@" || {{
        status=$?
        echo "kamsync pre-push hook: the hook it chains ($chained) failed (exit $status); the push stops there" >&2
        exit $status
    }}
fi

if [ "${{{SKIP_ENV}:-}}" = 1 ]; then
    echo "kamsync: {SKIP_ENV}=1, this push is not checked" >&2
    exit 0
fi

python={shlex.quote(sh_path(settings.python, windows=windows))}
if [ -x "$python" ]; then
    # Not `-m kamsync`: that puts the work tree first on the import path, so a file of the repository named
    # like a standard module would run on every push.
    feed | "$python" -c {shlex.quote(ENTRY)} {kamsync_args} "$@"
elif command -v kamsync >/dev/null 2>&1; then
    feed | kamsync {kamsync_args} "$@"
else
    echo "kamsync pre-push hook: kamsync is not installed ($python is gone, no kamsync on PATH)." >&2
    echo "  Install kamsync and run \\`kamsync hook install\\` again; or push unchecked once:" >&2
    echo "  {SKIP_ENV}=1 git push; or remove this hook: rm $0" >&2
    exit 1
fi
"""


def is_kamsync_hook(text: str) -> bool:
    """Whether a hook's text is kamsync's (any version)."""
    return any(line.startswith("# kamsync pre-push hook") for line in text.splitlines()[:3])


def read_installed(text: str) -> HookSettings | None:
    """The settings of kamsync's hook ``text``; None when it is not kamsync's hook. ``UsageError`` when it is,
    but its settings line was damaged (``kamsync hook install`` rewrites it)."""
    if not is_kamsync_hook(text):
        return None
    line = next((ln for ln in text.splitlines() if ln.startswith(_SETTINGS_PREFIX)), None)
    try:
        if line is None:
            raise ValueError("no settings line")
        return _settings_from(json.loads(line[len(_SETTINGS_PREFIX) :]))
    except ValueError:  # JSONDecodeError is one
        raise UsageError(
            "the kamsync pre-push hook has a damaged settings line; run `kamsync hook install` to rewrite it"
        ) from None


def _settings_from(raw: object) -> HookSettings:
    if not isinstance(raw, dict):
        raise ValueError("not an object")
    mode, branches, allow_live, require_credentials, python, manifest = (
        raw.get(key) for key in ("mode", "branches", "allow_live", "require_credentials", "python", "manifest")
    )
    if not (
        isinstance(mode, str)
        and isinstance(branches, list)
        and all(isinstance(b, str) for b in branches)
        and isinstance(allow_live, bool)
        and isinstance(require_credentials, bool)
        and isinstance(python, str)
        and (manifest is None or isinstance(manifest, str))
        and mode in MODES
    ):
        raise ValueError("a setting has the wrong type")
    return HookSettings(HookMode(mode), tuple(branches), allow_live, require_credentials, python, manifest)


# --- edges: the hook files ---------------------------------------------------------------------------------


def install(
    repo: GitRepo,
    *,
    mode: str = "check",
    branches: Sequence[str] = (),
    allow_live: bool = False,
    require_credentials: bool = False,
    python: str = sys.executable,
    manifest: str | None = None,
) -> InstallResult:
    """Write kamsync's pre-push hook; with no ``branches``, it checks pushes to the repository's default
    branch. Over kamsync's own hook: rewrite it (a chained hook stays). Over another hook: move that one aside
    to ``pre-push.kamsync-chained``, where the new hook runs it first."""
    settings = settings_for(
        mode,
        list(branches) or [repo.default_branch()],
        allow_live=allow_live,
        require_credentials=require_credentials,
        python=os.path.abspath(python),
        manifest=manifest,
    )
    hooks = repo.hooks_dir()
    path, chained = hooks / HOOK_NAME, hooks / CHAINED_NAME
    previous: HookSettings | None = None
    updated = moved = False
    if os.path.lexists(path):
        text = _read_hook(path)
        if text is not None and is_kamsync_hook(text):
            updated = True
            with contextlib.suppress(UsageError):  # a damaged settings line: still ours, rewritten below
                previous = read_installed(text)
        elif os.path.lexists(chained):
            raise UsageError(
                f"{path} is another hook, and {chained} (where kamsync keeps the hook it replaces) is taken "
                f"too; move one of them away, then run `kamsync hook install` again"
            )
        else:
            os.rename(path, chained)
            moved = True
    try:
        write_atomic(path, render_hook(settings), mode=0o755)
    except BaseException:
        if moved:
            os.rename(chained, path)
        raise
    return InstallResult(path, settings, updated, previous, chained if os.path.lexists(chained) else None, moved)


def installed(repo: GitRepo) -> tuple[Path, HookSettings | None]:
    """Where the pre-push hook is, and kamsync's settings if the hook there is kamsync's (``kamsync doctor``)."""
    path = repo.hooks_dir() / HOOK_NAME
    text = _read_hook(path) if os.path.lexists(path) else None
    return path, None if text is None else read_installed(text)


def uninstall(repo: GitRepo) -> UninstallResult:
    """Remove kamsync's pre-push hook and put back the hook it had moved aside. Another tool's hook is left
    alone: nothing to do when kamsync's is not there, a ``UsageError`` when it stands where kamsync's chained
    hook expects kamsync's."""
    hooks = repo.hooks_dir()
    path, chained = hooks / HOOK_NAME, hooks / CHAINED_NAME
    removed = restored = False
    if os.path.lexists(path):
        text = _read_hook(path)
        if text is None or not is_kamsync_hook(text):
            if not os.path.lexists(chained):
                return UninstallResult(path, False, False)  # another tool's hook, and none of kamsync's: nothing to do
            raise UsageError(f"{path} is not kamsync's hook; kamsync leaves it alone (remove it yourself if needed)")
        os.unlink(path)
        removed = True
    if os.path.lexists(chained):
        os.rename(chained, path)
        restored = True
    return UninstallResult(path, removed, restored)


def _read_hook(path: Path) -> str | None:
    """A hook's text (undecodable bytes replaced); None when it cannot be read (a dangling symlink)."""
    if path.is_dir():
        raise UsageError(f"{path} is a folder, not a hook; move it away, then try again")
    try:
        return path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return None
