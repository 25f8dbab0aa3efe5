"""Manifest paths: relative, POSIX, never leading out of the repository; folder names from display names; and
comparing a path git names with one from the manifest or the file system as git itself would."""

from __future__ import annotations

import functools
import os
import posixpath
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

SLUG_MAX = 60


class PathProblem(ValueError):
    """A manifest path that kamsync refuses; ``str()`` says why, in words that fit after the path's name."""


def clean_relative(raw: str) -> str:
    """``raw`` as a normalised POSIX relative path (no ``./``, no ``a/..``), or ``PathProblem``.

    Only the text is checked here; whether it stays inside the repository is ``escape_problem``'s job.
    """
    if not raw or not raw.strip():
        raise PathProblem("is empty")
    if "\x00" in raw:
        raise PathProblem("contains a NUL character")
    if "\\" in raw:
        raise PathProblem("contains a backslash; write paths with forward slashes (a/b.js)")
    # "C:/x" is absolute on Windows even though posixpath does not know it.
    if raw.startswith("/") or (len(raw) >= 2 and raw[1] == ":" and raw[0].isalpha()):
        raise PathProblem("is an absolute path; write it relative to the manifest's folder")
    if raw.startswith("~"):
        raise PathProblem("starts with '~'; write it relative to the manifest's folder")
    return posixpath.normpath(raw)


def is_within(path: Path, top: Path) -> bool:
    if os.name != "nt":  # POSIX paths compare as their text, as ``relative_to`` would (and much faster)
        return _within(str(path), str(top))
    try:
        path.relative_to(top)
    except ValueError:
        return False
    return True


def relative_posix(full: str, start: str) -> str:
    """``os.path.relpath(full, start)`` as POSIX text, both absolute and normalised: the common case (``full``
    below ``start``) without relpath's work, which counts at thousands of mapped paths."""
    prefix = start.rstrip(os.sep) + os.sep
    rel = full[len(prefix) :] if full.startswith(prefix) else "." if full == start else os.path.relpath(full, start)
    return rel.replace(os.sep, "/")


class Resolver:
    """``Path.resolve()`` for many paths, sharing the work on the folders they have in common: each folder is
    looked at once (one ``lstat``) instead of once per path below it. Only links are resolved in full, so the
    answers are ``Path.resolve()``'s. Use one per batch of paths: it remembers what the disk was.

    On Windows (drive letters, junctions, case) it is ``Path.resolve()`` itself."""

    __slots__ = ("_folders", "_real", "_tops")

    def __init__(self) -> None:
        self._real: dict[str, str] = {}  # a path as written (".." kept, as realpath reads it) -> resolved
        self._folders: dict[str, tuple[str, str]] = {}  # a folder as given -> its key in _real, resolved
        self._tops: dict[Path, tuple[str, str]] = {}

    def tops(self, repo_top: Path) -> tuple[str, str]:
        """The work tree's top as written (absolute, normalised) and resolved, as POSIX text."""
        known = self._tops.get(repo_top)
        if known is None:
            known = posixpath.normpath(repo_top.absolute().as_posix()), self.resolve(repo_top).as_posix()
            self._tops[repo_top] = known
        return known

    def resolve(self, path: Path) -> Path:
        return Path(self.resolve_text(str(path)))

    def resolve_text(self, path: str) -> str:
        """``resolve`` for a path given and answered as text (the way ``escape_problem`` asks)."""
        if os.name == "nt" or not path.startswith("/"):
            return str(Path(path).resolve())
        # Files of one folder share it whole: its walk is made once, then each file is one step from it.
        folder, _, name = path.rpartition("/")
        return self._step(self._folder(folder), name)[1]

    def _folder(self, folder: str) -> tuple[str, str]:
        """A folder's key in ``_real`` and its resolved form, stepping down from its nearest folder known."""
        below: list[tuple[str, str]] = []  # (folder, its last name), deepest first
        walked = self._folders.get(folder)
        while walked is None:
            if not folder:
                walked = ("/", "/")
                break
            parent, _, name = folder.rpartition("/")
            below.append((folder, name))
            folder = parent
            walked = self._folders.get(folder)
        for folder, name in reversed(below):
            walked = self._step(walked, name)
            self._folders[folder] = walked
        return walked

    def _step(self, walked: tuple[str, str], part: str) -> tuple[str, str]:
        """From a folder (its key, resolved) to ``part`` in it."""
        key, real = walked
        if not part or part == ".":
            return walked
        key = f"{key}\0{part}"
        known = self._real.get(key)
        if known is None:
            if part == "..":
                known = os.path.dirname(real)
            else:
                candidate = os.path.join(real, part)
                known = str(Path(candidate).resolve()) if os.path.islink(candidate) else candidate
            self._real[key] = known
        return key, known


_INSIDE = "use a path inside the repository"
_WORK_TREE = "kamsync never reads or writes there: map a file of the work tree"


def escape_problem(
    base: Path, rel: str, repo_top: Path, git_dirs: Collection[Path] = (), resolver: Resolver | None = None
) -> str | None:
    """What makes ``base / rel`` no place for code, with the way out; ``None`` when it is fine.

    It may not leave ``repo_top`` (by ``..`` or a symlink), nor be inside a git directory: under a ``.git``
    component or inside one of ``git_dirs`` (the resolved git dirs of the work tree, which may have any name
    behind a ``gitdir:`` file), as written or once symlinks are followed. ``base`` must be absolute. Paths that
    do not exist yet are checked as far as they exist. ``resolver``: one shared by a batch of checks.
    """
    # Text, not Path operations: this runs for every mapped path, twice.
    resolver = Resolver() if resolver is None else resolver
    lexical_top, top = resolver.tops(repo_top)
    written = os.path.join(base, rel)
    lexical = posixpath.normpath(_posix(written))
    if not _within(lexical, lexical_top) and not _within(lexical, top):
        return f"leaves the repository ({repo_top}); {_INSIDE}"
    problem = _git_dir_problem(lexical, (lexical_top, top), git_dirs)
    if problem is not None:
        return problem
    try:
        resolved = resolver.resolve_text(written)
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop, before Python 3.13
        return "goes through a symlink loop; fix or remove the link"
    if not _within(_posix(resolved), top):
        return f"goes through a symlink that resolves outside the repository (to {resolved}); {_INSIDE}"
    problem = _git_dir_problem(_posix(resolved), (top,), git_dirs)
    return None if problem is None else f"goes through a symlink (to {resolved}) and {problem}"


def _posix(path: str) -> str:
    return path.replace("\\", "/") if os.name == "nt" else path


def _within(path: str, top: str) -> bool:
    """``is_within`` for absolute, normalised POSIX text."""
    if os.name == "nt":
        return is_within(Path(path), Path(top))
    return path == top or path.startswith(top.rstrip("/") + "/")


def git_dir_problem(path: Path, tops: Collection[Path], git_dirs: Collection[Path]) -> str | None:
    """Why ``path`` (absolute, normalised, under one of ``tops``) is inside a git directory, or ``None``.

    Compared without regard to case: on macOS and Windows ``.GIT/config`` is git's config.
    """
    return _git_dir_problem(path.as_posix(), tuple(top.as_posix() for top in tops), git_dirs)


def _git_dir_problem(text: str, tops: Collection[str], git_dirs: Collection[Path]) -> str | None:
    rel = text
    for top in tops:
        prefix = top.rstrip("/") + "/"
        if text.startswith(prefix):
            rel = text[len(prefix) :]
            break
    # Every name is_dot_git takes holds "git" once case-folded: a path without it needs no look at its parts.
    if "git" in rel.casefold() and any(is_dot_git(part) for part in rel.split("/")):
        return f"is inside a .git folder (git's hooks, config and objects); {_WORK_TREE}"
    folded = text.casefold()
    for git_dir in git_dirs:
        inside = _folded(git_dir)
        if folded == inside or folded.startswith(inside + "/"):
            return f"is inside the repository's git directory ({git_dir}); {_WORK_TREE}"
    return None


@functools.lru_cache(maxsize=32)
def _folded(git_dir: Path) -> str:
    """A git dir as ``_git_dir_problem`` compares it (asked for every mapped path, twice)."""
    return git_dir.as_posix().casefold().rstrip("/")


def is_dot_git(name: str) -> bool:
    """Whether a path component names a ``.git``: in any case, and as Windows also reads it (trailing dots
    and spaces dropped, the short name ``GIT~1``) — the names git itself refuses in a tree."""
    folded = name.casefold()
    return folded.rstrip(". ") == ".git" or folded == "git~1"


@dataclass(frozen=True, slots=True)
class GitPathRules:
    """How git tells two paths of one repository apart.

    ``ignore_case``: ``core.ignorecase``, which git sets when it creates a repository on a case-insensitive file
    system (macOS and Windows by default). ``precompose_unicode``: ``core.precomposeUnicode`` (macOS), git names
    files in composed (NFC) form whatever form the file system returns. ``backslash_separates``: Windows, where
    ``a\\b`` is the folder ``a`` and the file ``b``; elsewhere a backslash is an ordinary character of a name.
    """

    ignore_case: bool = False
    precompose_unicode: bool = False
    backslash_separates: bool = False


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def git_path_key(path: str, rules: GitPathRules) -> str:
    """``path`` (relative to the work-tree top) reduced so that two paths git takes for one have the same key.
    Git folds case in ASCII only (``strcasecmp``), so ``É.js`` and ``é.js`` stay apart as they do for git."""
    key = path.replace("\\", "/") if rules.backslash_separates else path
    if rules.precompose_unicode:
        key = unicodedata.normalize("NFC", key)
    return key.translate(_ASCII_LOWER) if rules.ignore_case else key


def git_paths_among(wanted: Iterable[str], named: Iterable[str], rules: GitPathRules) -> set[str]:
    """Those of ``wanted`` (as spelled there) that git names in ``named``, compared as git compares paths."""
    keys = {git_path_key(path, rules) for path in named}
    return {path for path in wanted if git_path_key(path, rules) in keys}


def slugify(name: str) -> str:
    """A folder name from a display name: ``"Red button!"`` → ``"red-button"`` (ASCII, lowercase, hyphens).

    Empty when nothing usable remains; at most ``SLUG_MAX`` characters.
    """
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-")


# Names Windows keeps for devices, in any case and whatever follows a dot: no folder may be called so.
_WINDOWS_DEVICES = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)


def is_device_name(name: str) -> bool:
    """Whether Windows reserves ``name`` for a device (``CON``, ``nul.js``, ``com1``…)."""
    return _WINDOWS_DEVICES.fullmatch(name.rstrip(". ")) is not None


def unique_dir(name: str | None, fallback: str, taken: Collection[str]) -> str:
    """``slugify(name)``, or ``fallback`` when empty, suffixed ``-2``, ``-3`` … until not in ``taken`` (compared
    ignoring case, as macOS and Windows compare names); a Windows device name (``con``) gets ``-<fallback>``."""
    base = slugify(name or "") or fallback
    if is_device_name(base):
        base = f"{base}-{fallback}"
    folded = {t.casefold() for t in taken}
    candidate, n = base, 1
    while candidate.casefold() in folded:
        n += 1
        candidate = f"{base}-{n}"
    return candidate
