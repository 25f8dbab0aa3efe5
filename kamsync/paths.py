"""Manifest paths: relative, POSIX, never leading out of the repository; folder names from display names."""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Collection
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
    try:
        path.relative_to(top)
    except ValueError:
        return False
    return True


def escape_problem(base: Path, rel: str, repo_top: Path) -> str | None:
    """Why ``base / rel`` leaves ``repo_top`` (by ``..`` or a symlink), or ``None`` when it stays inside.

    ``base`` must be absolute. Paths that do not exist yet are checked as far as they exist.
    """
    top = repo_top.resolve()
    lexical = Path(posixpath.normpath((base / rel).as_posix()))
    if not is_within(lexical, Path(posixpath.normpath(repo_top.absolute().as_posix()))) and not is_within(lexical, top):
        return f"leaves the repository ({repo_top})"
    resolved = (base / rel).resolve()
    if not is_within(resolved, top):
        return f"goes through a symlink that resolves outside the repository (to {resolved})"
    return None


def slugify(name: str) -> str:
    """A folder name from a display name: ``"Red button!"`` → ``"red-button"`` (ASCII, lowercase, hyphens).

    Empty when nothing usable remains; at most ``SLUG_MAX`` characters.
    """
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-")


def unique_dir(name: str | None, fallback: str, taken: Collection[str]) -> str:
    """``slugify(name)``, or ``fallback`` when empty, suffixed ``-2``, ``-3`` … until not in ``taken``."""
    base = slugify(name or "") or fallback
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate
