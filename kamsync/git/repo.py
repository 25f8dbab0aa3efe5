"""The git edge: every git command kamsync runs goes through ``_git`` in this module.

Git runs with ``-C <top>`` and without the variables git exports to hooks (``GIT_DIR``, ``GIT_INDEX_FILE``…),
so a pre-push hook that calls kamsync gets the same answers as a terminal does.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import tempfile
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from kamsync.core.errors import GitError
from kamsync.core.paths import GitPathRules, git_paths_among

# Variables that make git look at another repository, index, object store or pathspec syntax. Git sets several
# of them while running hooks (githooks(5), git(1) "ENVIRONMENT VARIABLES"); kamsync always names its repo.
_REPO_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_QUARANTINE_PATH",
    "GIT_SHALLOW_FILE",
    "GIT_INTERNAL_SUPER_PREFIX",
    "GIT_LITERAL_PATHSPECS",
    "GIT_GLOB_PATHSPECS",
    "GIT_NOGLOB_PATHSPECS",
    "GIT_ICASE_PATHSPECS",
)
# Status must not take `index.lock` (to refresh stat data): git itself may hold the index while a hook runs.
_EXTRA_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
# Git matches every pathspec against every tree entry it looks at: 2,000 exact paths make `git log` take
# seconds where their common folder takes milliseconds. Beyond this many paths, ask for folders and filter.
_EXACT_PATHSPECS = 16
_SHOWN_COMMAND_CHARS = 200


def git_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default ``os.environ``) without the variables that would point git elsewhere."""
    env = {k: v for k, v in (os.environ if environ is None else environ).items() if k not in _REPO_ENV}
    env.update(_EXTRA_ENV)
    return env


def _git(
    cwd: Path,
    args: Iterable[str],
    stdin: bytes | None = None,
    *,
    extra: Mapping[str, str] | None = None,
    literal: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git -C cwd --literal-pathspecs <args>``; the only place kamsync starts git. ``extra``: variables
    kamsync sets itself (an index file of its own, the identity of a commit it makes). ``literal`` False: the
    caller spells out each pathspec's magic (``:(literal,icase)path``) itself."""
    argv = ["git", "-C", str(cwd), *(["--literal-pathspecs"] if literal else []), *args]
    env = git_env()
    env.update(extra or {})
    try:
        return subprocess.run(argv, input=stdin, capture_output=True, env=env, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH; install git and try again") from None


def git_version() -> str:
    """What ``git --version`` says (``GitError`` when git cannot be run)."""
    proc = _git(Path.cwd(), ["--version"])
    if proc.returncode != 0:
        raise GitError(f"`git --version` failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout.decode("utf-8", "replace").strip()


def _failure(cwd: Path, args: Iterable[str], proc: subprocess.CompletedProcess[bytes]) -> GitError:
    shown = " ".join(args)
    if len(shown) > _SHOWN_COMMAND_CHARS:
        shown = shown[:_SHOWN_COMMAND_CHARS] + "…"
    err = proc.stderr.decode("utf-8", "replace").strip() or f"exit status {proc.returncode}"
    return GitError(f"`git {shown}` failed in {cwd}: {err}")


class GitRepo:
    """A git work tree: ``top`` is its top-level folder, ``git_dir`` the git dir its worktrees share, and
    ``own_git_dir`` this work tree's own (``.git/worktrees/<name>`` for a linked worktree, else ``git_dir``)."""

    def __init__(self, top: Path, git_dir: Path, own_git_dir: Path | None = None) -> None:
        self.top = top
        self.git_dir = git_dir
        self.own_git_dir = git_dir if own_git_dir is None else own_git_dir
        # Full ids git named as commits: a commit id names that commit for good, so resolving one again (a
        # command reads HEAD's commit, D and F several times) needs no git process.
        self._commits: set[str] = set()

    @property
    def git_dirs(self) -> tuple[Path, ...]:
        """Every folder of git's own this work tree uses, resolved: no manifest may map a file inside one."""
        return tuple(dict.fromkeys((self.own_git_dir, self.git_dir)))

    def __repr__(self) -> str:
        return f"GitRepo({str(self.top)!r})"

    @classmethod
    def discover(cls, start: Path) -> GitRepo:
        """The repository whose work tree contains ``start`` (a folder or a file)."""
        start = Path(start).absolute()
        cwd = start if start.is_dir() else start.parent
        args = ("rev-parse", "--show-toplevel", "--git-common-dir", "--absolute-git-dir")
        proc = _git(cwd, args) if cwd.is_dir() else None
        if proc is None or proc.returncode != 0:
            raise GitError(
                f"{start} is not inside a git repository; run `git init` (kamsync keeps its knowledge in git history)"
            )
        top, git_dir, own = proc.stdout.decode("utf-8", "surrogateescape").splitlines()[:3]
        # --git-common-dir may be relative to the folder git ran in; --show-toplevel is always absolute. Both git
        # dirs are where git really keeps them: behind a `.git` file (`gitdir:`), a symlink or core.worktree.
        return cls(Path(top), (cwd / git_dir).resolve(), Path(own).resolve())

    def state_dir(self) -> Path:
        """Where kamsync keeps this clone's private state (never committed). Created when it can be: a user
        without write access to ``.git`` still reads through it, and whatever writes there names the file it
        could not write."""
        path = self.git_dir / "kamsync"
        with contextlib.suppress(OSError):
            path.mkdir(parents=True, exist_ok=True)
        return path

    def run_bytes(
        self, *args: str, input: bytes | None = None, extra: Mapping[str, str] | None = None, literal: bool = True
    ) -> bytes:
        """Run git in this repository and return its raw standard output (``extra``, ``literal``: see ``_git``)."""
        proc = _git(self.top, args, input, extra=extra, literal=literal)
        if proc.returncode != 0:
            raise _failure(self.top, args, proc)
        return proc.stdout

    def run(self, *args: str, input: str | None = None, extra: Mapping[str, str] | None = None) -> str:
        """Run git in this repository and return its standard output as text."""
        data = None if input is None else input.encode("utf-8", "surrogateescape")
        out = self.run_bytes(*args, input=data, extra=extra)
        return out.decode("utf-8", "surrogateescape")

    def try_run(self, *args: str) -> str | None:
        """Standard output, or None when git exits non-zero (for questions whose answer may be "no")."""
        proc = _git(self.top, args)
        return proc.stdout.decode("utf-8", "surrogateescape") if proc.returncode == 0 else None

    def head(self) -> str | None:
        """The commit HEAD points at, or None on an unborn branch."""
        return self.commit_or_none("HEAD")

    def commit_or_none(self, rev: str) -> str | None:
        """The commit id ``rev`` names, or None when it names none (``rev`` must not start with ``-``)."""
        if rev in self._commits:
            return rev
        out = self.try_run("rev-parse", "-q", "--verify", f"{rev}^{{commit}}")
        if not out:
            return None
        self._commits.add(out.strip())
        return out.strip()

    def resolve(self, rev: str) -> str:
        """The commit id ``rev`` names."""
        out = None if rev.startswith("-") else self.commit_or_none(rev)
        if not out:
            raise GitError(f"`{rev}` is not a commit in {self.top}; check the name with `git log --oneline`")
        return out

    def is_shallow(self) -> bool:
        return self.run("rev-parse", "--is-shallow-repository").strip() == "true"

    @functools.cached_property
    def path_rules(self) -> GitPathRules:
        """How git compares this repository's paths (``core.ignorecase``, ``core.precomposeUnicode``, the OS)."""
        out = self.try_run("config", "--bool", "--get-regexp", r"^core\.(ignorecase|precomposeunicode)$") or ""
        settings = dict(line.partition(" ")[::2] for line in out.splitlines())
        return GitPathRules(
            ignore_case=settings.get("core.ignorecase") == "true",
            precompose_unicode=settings.get("core.precomposeunicode") == "true",
            backslash_separates=os.name == "nt",
        )

    def uncommitted(self, paths: Iterable[str]) -> set[str]:
        """Those of ``paths`` (POSIX, relative to ``top``) whose index or work-tree content differs from HEAD,
        or that are untracked and not ignored. Where git ignores case, ``A.js`` in ``paths`` is the ``a.js`` git
        tracks: the same file on disk, whose changes must not go unseen."""
        wanted = set(paths)
        if not wanted:
            return set()
        rules = self.path_rules
        specs = covering_pathspecs(wanted)
        if rules.ignore_case:  # git matches pathspecs by case even then, unless told otherwise
            specs = [f":(literal,icase){spec}" for spec in specs]
        out = self.run_bytes(
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--no-renames",
            "--",
            *specs,
            literal=not rules.ignore_case,
        )
        entries = (entry[3:].decode("utf-8", "surrogateescape") for entry in out.split(b"\0"))
        return git_paths_among(wanted, entries, rules)

    def show(self, rev: str, path: str) -> bytes | None:
        """The content of ``path`` at commit ``rev``, or None when the commit has no such file."""
        commit = self.resolve(rev)
        proc = _git(self.top, ("cat-file", "blob", f"{commit}:{path}"))
        return proc.stdout if proc.returncode == 0 else None

    def read_blobs(self, blob_ids: Iterable[str]) -> dict[str, bytes]:
        """The content of each blob, read by one ``git cat-file --batch``; missing objects are left out."""
        ids = list(dict.fromkeys(blob_ids))
        if not ids:
            return {}
        out = self.run_bytes("cat-file", "--batch", input="".join(f"{i}\n" for i in ids).encode("ascii"))
        blobs: dict[str, bytes] = {}
        pos = 0
        while pos < len(out):
            eol = out.index(b"\n", pos)
            header = out[pos:eol].split()
            pos = eol + 1
            if len(header) == 3:  # "<id> <type> <size>", then the content and a newline
                size = int(header[2])
                if header[1] == b"blob":
                    blobs[header[0].decode("ascii")] = out[pos : pos + size]
                pos += size + 1
            # otherwise "<id> missing" (or "ambiguous"): no content follows
        return blobs

    def merge_file(self, ours: bytes, base: bytes, theirs: bytes, labels: tuple[str, str, str]) -> tuple[bytes, int]:
        """Merge three versions of a file as ``git merge-file --diff3`` does: the result, and how many
        conflicts it marked (0: a clean merge)."""
        with tempfile.TemporaryDirectory(prefix="kamsync-merge-") as folder:
            names = []
            for name, data in zip(("ours", "base", "theirs"), (ours, base, theirs), strict=True):
                path = Path(folder) / name
                path.write_bytes(data)
                names.append(str(path))
            args = ("merge-file", "-p", "--diff3", *(f for label in labels for f in ("-L", label)), *names)
            proc = _git(self.top, args)
        if not 0 <= proc.returncode <= 127:
            raise _failure(self.top, args, proc)
        return proc.stdout, proc.returncode

    # --- ranges, ancestry and hooks (for `--from/--to` and the pre-push hook) ---------------------------------

    def changed_paths(self, from_rev: str | None, to_rev: str) -> set[str]:
        """The paths (POSIX, relative to ``top``) whose content differs between the commits ``from_rev`` and
        ``to_rev``: added, modified, deleted or retyped files, renames seen as a deletion plus an addition.
        ``from_rev`` None: every file in ``to_rev``'s tree (a history that starts with ``to_rev``)."""
        # Plumbing, so that no user setting (diff.relative, diff.renames…) changes the answer.
        if from_rev is None:
            args: tuple[str, ...] = ("ls-tree", "-r", "-z", "--name-only", "--full-tree", self._commit_arg(to_rev))
        else:
            revs = (self._commit_arg(from_rev), self._commit_arg(to_rev))
            args = ("diff-tree", "-r", "-z", "--name-only", "--no-renames", *revs)
        proc = _git(self.top, args)
        if proc.returncode != 0:
            for rev in (from_rev, to_rev):
                if rev is not None:
                    self.resolve(rev)  # names the revision that is not a commit
            raise _failure(self.top, args, proc)
        return {p.decode("utf-8", "surrogateescape") for p in proc.stdout.split(b"\0") if p}

    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor of commits ``a`` and ``b``, or None when their histories never meet."""
        args = ("merge-base", self._commit_arg(a), self._commit_arg(b))
        proc = _git(self.top, args)
        if proc.returncode == 1 and not proc.stderr.strip():
            return None
        if proc.returncode != 0:
            self.resolve(a)
            self.resolve(b)
            raise _failure(self.top, args, proc)
        return proc.stdout.decode("ascii").strip()

    def commit_exists(self, rev: str) -> bool:
        """Whether ``rev`` names a commit present in this repository (a pushed remote id may be unknown here)."""
        if rev in self._commits:
            return True
        if rev.startswith("-"):
            return False
        return _git(self.top, ("cat-file", "-e", f"{rev}^{{commit}}")).returncode == 0

    def default_branch(self) -> str:
        """The branch this repository treats as its default: the one ``origin/HEAD`` names, else the
        ``init.defaultBranch`` setting, else ``main``."""
        origin = self.try_run("symbolic-ref", "-q", "refs/remotes/origin/HEAD")
        prefix = "refs/remotes/origin/"
        if origin and origin.strip().startswith(prefix) and origin.strip() != prefix:
            return origin.strip()[len(prefix) :]
        configured = self.try_run("config", "--get", "init.defaultBranch")
        return configured.strip() if configured and configured.strip() else "main"

    def git_path(self, name: str) -> Path:
        """Where git keeps ``name`` (``MERGE_HEAD``, ``rebase-merge``…) for this work tree."""
        out = self.run("rev-parse", "--git-path", name).rstrip("\n")
        return Path(os.path.normpath(self.top / out))

    def hooks_dir(self) -> Path:
        """The folder git runs this work tree's hooks from (``core.hooksPath`` if set, relative ones taken from
        the work-tree top as git does; the shared ``hooks`` folder of the main git dir for a linked worktree)."""
        return self.git_path("hooks")  # an absolute answer stays as it is

    def _commit_arg(self, rev: str) -> str:
        """``rev`` as an argument naming its commit; a name git would take for an option is refused."""
        if rev.startswith("-"):
            self.resolve(rev)  # raises, naming it
        return f"{rev}^{{commit}}"


def covering_pathspecs(paths: Collection[str]) -> list[str]:
    """Few pathspecs that cover ``paths`` (POSIX, relative to the top): the paths themselves when there are
    few, else their folders at the deepest level that still has few distinct folders (``.`` at worst)."""
    unique = set(paths)
    if len(unique) <= _EXACT_PATHSPECS:
        return sorted(unique)
    best = ["."]
    depth = 1
    while depth <= max(p.count("/") for p in unique):
        folders = {"/".join(p.split("/")[:depth]) for p in unique}
        if len(folders) > _EXACT_PATHSPECS:
            break
        best = sorted(folders)
        depth += 1
    return best
