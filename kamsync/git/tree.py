"""Where a command reads the manifest and the files it maps: the work tree, or a commit.

``--to REV`` and the pre-push hook judge what a commit holds, whatever is checked out. ``CommitTree`` reads
a commit the way ``manifest.read_code`` reads the disk (same limits, same messages), with a fixed number of
git processes however many files are asked for: one ``git cat-file --batch-check --follow-symlinks`` to find
them, one ``git cat-file --batch`` to read them. Symlinks are followed inside the commit; one that leads out of
it is refused, as on disk.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kamsync import __version__
from kamsync.core.errors import LocalWriteError, ManifestError, UsageError
from kamsync.core.model import Manifest, MappedFile
from kamsync.core.paths import git_dir_problem, is_within, relative_posix
from kamsync.git.repo import GitRepo
from kamsync.manifest.parse import (
    MANIFEST_ENV,
    MANIFEST_NAME,
    MAX_CODE_BYTES,
    Kind,
    code_too_large,
    decode_code,
    decode_manifest,
    describe_mapped,
    parse_manifest,
    read_code,
    read_codes,
)
from kamsync.state.files import write_atomic

__all__ = [
    "CommitTree",
    "Source",
    "WorkTree",
    "find_manifest_at",
    "mapped_paths_at",
    "top_relative",
]

_FULL_ID = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
_SHORT_ID = 12
_CACHE_FILE = "mapped-paths.json"
_CACHE_FORMAT = 1  # bump when the mapping rules change within a kamsync version
_CACHE_ENTRIES = 8


class Source(Protocol):
    """Where the code of mapped files is read from."""

    def read_code(self, manifest: Manifest, mapped: MappedFile) -> str | None:
        """The text of a mapped file exactly as stored, or ``None`` when there is no such file."""
        ...

    def read_codes(self, manifest: Manifest, files: Iterable[MappedFile]) -> dict[MappedFile, str | None]:
        """``read_code`` for many files at once."""
        ...


@dataclass(frozen=True, slots=True)
class WorkTree:
    """The files as they are on disk."""

    repo_top: Path
    git_dirs: tuple[Path, ...] = ()

    def read_code(self, manifest: Manifest, mapped: MappedFile) -> str | None:
        return read_code(manifest, mapped, self.repo_top, self.git_dirs)

    def read_codes(self, manifest: Manifest, files: Iterable[MappedFile]) -> dict[MappedFile, str | None]:
        return read_codes(manifest, files, self.repo_top, self.git_dirs)


def top_relative(repo_top: Path, manifest: Manifest, path: str) -> str:
    """A manifest-relative path as git names it: POSIX, relative to the work-tree top (``..`` if outside)."""
    return _top_relative(str(repo_top), manifest.root, path)


@functools.lru_cache(maxsize=1 << 16)
def _top_relative(repo_top: str, root: str, path: str) -> str:
    """``top_relative``, remembered: a command asks it for each mapped path several times."""
    full = os.path.normpath(os.path.join(root, path))
    return relative_posix(full, _resolved(repo_top))


@functools.lru_cache(maxsize=8)
def _resolved(top: str) -> str:
    """The work tree's top, resolved once per process (every mapped path is made relative to it)."""
    return str(Path(top).resolve())


@dataclass(frozen=True, slots=True)
class _Entry:
    """What ``<commit>:<path>`` names, as ``git cat-file --batch-check --follow-symlinks`` says."""

    kind: str  # blob, tree, commit (a submodule), missing, dangling, loop, notdir, or symlink (leads outside)
    oid: str = ""
    size: int = 0
    target: str = ""  # for "symlink": the part of the link that leads outside the commit


class CommitTree:
    """The files of one commit. Also the ``PathView`` that validates a manifest against that commit."""

    def __init__(self, repo: GitRepo, rev: str) -> None:
        self.repo = repo
        self.commit = repo.resolve(rev)
        # How messages name the commit: as the user did, a bare commit id shortened.
        self.label = self.commit[:_SHORT_ID] if _FULL_ID.fullmatch(rev) else rev
        self._folders: frozenset[str] | None = None
        self._tops: tuple[Path, Path] | None = None  # the top as written and resolved

    def __repr__(self) -> str:
        return f"CommitTree({self.repo!r}, {self.commit[:_SHORT_ID]!r})"

    def shown(self, path: Path) -> str:
        """How errors name a file of this commit: ``<rev>:<path from the top>``, as git spells it."""
        return f"{self.label}:{self.top_path(path)}"

    # --- the PathView of a manifest validated at this commit ---------------------------------------------

    def escape(self, base: Path, rel: str) -> str | None:
        """Paths are checked by their text (symlinks in the commit are judged when files are read, inside the
        commit, which holds no git directory)."""
        top = self.repo.top
        lexical = Path(posixpath.normpath((base / rel).as_posix()))
        if self._tops is None:  # resolved once: a manifest asks for every folder and file it maps
            self._tops = (Path(posixpath.normpath(top.absolute().as_posix())), top.resolve())
        inside = self._tops
        if not any(is_within(lexical, t) for t in inside):
            return f"leaves the repository ({top}); use a path inside the repository"
        return git_dir_problem(lexical, inside, self.repo.git_dirs)

    def kind(self, path: Path) -> Kind:
        rel = self.top_path(path)
        if rel == "." or rel in self._all_folders():
            return "folder"
        entry = self._lookup([rel])[rel]  # not a plain folder: maybe a symlink to one, or a file
        return "folder" if entry.kind == "tree" else "missing" if entry.kind in _ABSENT else "other"

    # --- reading -----------------------------------------------------------------------------------------

    def read_code(self, manifest: Manifest, mapped: MappedFile) -> str | None:
        return self.read_codes(manifest, [mapped])[mapped]

    def read_codes(self, manifest: Manifest, files: Iterable[MappedFile]) -> dict[MappedFile, str | None]:
        """Like ``manifest.read_code`` for each file, read at this commit with two git processes in all."""
        shown = self.shown(Path(manifest.path))
        wanted: dict[MappedFile, str] = {}
        for mf in files:
            escape = self.escape(Path(manifest.root), mf.path)
            if escape is not None:
                raise ManifestError(shown, mf.line, f"{describe_mapped(mf)} {escape}")
            path = top_relative(self.repo.top, manifest, mf.path)
            if "\n" in path:
                raise ManifestError(
                    shown, mf.line, f"{describe_mapped(mf)} has a line break in its name; rename the file"
                )
            wanted[mf] = path
        found = self._lookup(wanted.values())
        out: dict[MappedFile, str | None] = {}
        blob_of: dict[MappedFile, str] = {}
        for mf, path in wanted.items():
            entry = found[path]
            if entry.kind in _ABSENT:
                out[mf] = None
            elif entry.kind == "blob":
                if entry.size > MAX_CODE_BYTES:
                    raise code_too_large(shown, mf, entry.size)
                blob_of[mf] = entry.oid
            else:
                raise ManifestError(shown, mf.line, _unreadable(describe_mapped(mf), entry))
        blobs = self.repo.read_blobs(blob_of.values())
        for mf, oid in blob_of.items():
            out[mf] = decode_code(blobs[oid], shown, mf)
        return {mf: out[mf] for mf in wanted}

    def load_manifest(self, manifest_path: Path, *, blob: str | None = None, fast: bool = False) -> Manifest:
        """The manifest as this commit holds it at ``manifest_path`` (a work-tree path), validated against
        the commit's files; ``blob``: its id, when already known. ``UsageError`` when the commit has none."""
        blob = self.manifest_blob(manifest_path) if blob is None else blob
        shown = self.shown(manifest_path)
        text = decode_manifest(self.repo.read_blobs([blob])[blob], shown)
        return parse_manifest(text, manifest_path.absolute(), self.repo.top, shown=shown, view=self, fast=fast)

    def manifest_blob(self, manifest_path: Path) -> str:
        """The blob id of the manifest at ``manifest_path``; ``UsageError`` when the commit has no file there."""
        rel = self.top_path(manifest_path)
        entry = self._lookup([rel])[rel]
        if entry.kind != "blob":
            what = "is a folder" if entry.kind == "tree" else "does not exist"
            raise UsageError(
                f"{rel} {what} in commit {self.label}; commit the manifest there, or name one that commit "
                f"holds with --manifest PATH"
            )
        return entry.oid

    def blob_ids(self, paths: Iterable[Path]) -> dict[Path, str | None]:
        """The blob id of the file at each path (work-tree paths) in this commit, None where it holds none."""
        rels = {path: self.top_path(path) for path in paths}
        found = self.blob_ids_at(rels.values())
        return {path: found[rel] for path, rel in rels.items()}

    def blob_ids_at(self, rels: Iterable[str]) -> dict[str, str | None]:
        """``blob_ids`` for paths already named as git names them (relative to the top, POSIX).

        Many paths are first looked up in one listing of the commit's files (``git cat-file --follow-symlinks``
        walks the trees again for every path: seconds for thousands); only those the listing cannot settle (a
        symlink or a submodule is on the way) are asked of ``cat-file``."""
        unique = list(dict.fromkeys(rels))
        listed: dict[str, str] = {}
        others: set[str] | None = None  # None: nothing listed, cat-file decides for every path
        if len(unique) > _LIST_ABOVE:
            listed, others = self._listing()
        out: dict[str, str | None] = {}
        ask: list[str] = []
        for rel in unique:
            if rel in listed:
                out[rel] = listed[rel]
            elif others is None or rel == ".." or rel.startswith("../") or _behind(rel, others):
                ask.append(rel)
            else:
                out[rel] = None  # no file, and no symlink or submodule on the way that could lead to one
        found = self._lookup(ask)
        out.update({rel: entry.oid if entry.kind == "blob" else None for rel, entry in found.items()})
        return out

    def top_path(self, path: Path) -> str:
        """``path`` (in the work tree) as git names it in a commit: relative to the top, POSIX."""
        full = os.path.normpath(path.absolute())
        for top in (self.repo.top, self.repo.top.resolve()):
            rel = os.path.relpath(full, top)
            if rel != ".." and not rel.startswith("../"):
                return Path(rel).as_posix()
        raise UsageError(f"{path} is outside the repository {self.repo.top}; name a path inside it")

    # --- git ---------------------------------------------------------------------------------------------

    def _all_folders(self) -> frozenset[str]:
        if self._folders is None:
            out = self.repo.run_bytes("ls-tree", "-r", "-d", "-z", "--name-only", "--full-tree", self.commit)
            self._folders = frozenset(p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p)
        return self._folders

    def _listing(self) -> tuple[dict[str, str], set[str]]:
        """Every regular file of the commit (path -> blob id; below trees only, so no symlink is on the way),
        and the paths of everything else it lists (symlinks, submodules)."""
        out = self.repo.run_bytes("ls-tree", "-r", "-z", "--full-tree", self.commit)
        files: dict[str, str] = {}
        others: set[str] = set()
        for entry in out.split(b"\0"):
            if not entry:
                continue
            meta, _, raw = entry.partition(b"\t")
            mode, _, rest = meta.partition(b" ")
            path = raw.decode("utf-8", "surrogateescape")
            if mode in _REGULAR_MODES:
                files[path] = rest.partition(b" ")[2].decode("ascii")
            else:
                others.add(path)
        return files, others

    def _lookup(self, paths: Iterable[str]) -> dict[str, _Entry]:
        """What each path names in this commit, symlinks followed; one git process for all of them."""
        unique = list(dict.fromkeys(paths))
        if not unique:
            return {}
        if any("\n" in p for p in unique):
            raise UsageError("a path with a line break in its name cannot be read from a commit; rename it")
        request = "".join(f"{self.commit}:{p}\n" for p in unique).encode("utf-8", "surrogateescape")
        out = self.repo.run_bytes("cat-file", "--batch-check", "--follow-symlinks", input=request)
        return dict(zip(unique, _parse_batch_check(out, len(unique)), strict=True))


_ABSENT = ("missing", "dangling")
_REGULAR_MODES = (b"100644", b"100755")
_LIST_ABOVE = 64  # paths: from there, listing the whole commit once is cheaper than walking to each
_LINK_ANSWERS = (b"symlink", b"dangling", b"loop", b"notdir")


def _behind(rel: str, others: set[str]) -> bool:
    """Whether ``rel`` or one of its folders is among ``others``."""
    at = len(rel)
    while at > 0:
        if rel[:at] in others:
            return True
        at = rel.rfind("/", 0, at)
    return False


def _parse_batch_check(out: bytes, count: int) -> list[_Entry]:
    """Parse ``cat-file --batch-check --follow-symlinks`` output: one answer per request, in order."""
    entries: list[_Entry] = []
    pos = 0
    while len(entries) < count:
        eol = out.index(b"\n", pos)
        header = out[pos:eol]
        pos = eol + 1
        words = header.split(b" ")
        if len(words) == 2 and words[0] in _LINK_ANSWERS and words[1].isdigit():
            # "<kind> <size>" then <size> bytes (the link target, or the name asked for) and a newline
            size = int(words[1])
            detail = out[pos : pos + size].decode("utf-8", "surrogateescape")
            pos += size + 1
            entries.append(_Entry(words[0].decode("ascii"), target=detail))
        elif header.endswith((b" missing", b" ambiguous")):
            entries.append(_Entry("missing"))
        else:
            oid, kind, size_text = header.decode("ascii").split(" ")
            entries.append(_Entry(kind, oid=oid, size=int(size_text)))
    return entries


def _unreadable(where: str, entry: _Entry) -> str:
    """Why a mapped path that is not a plain file cannot be read, in ``read_code``'s words."""
    if entry.kind in ("tree", "commit"):
        return f"{where} is a folder; map a file instead"
    if entry.kind == "symlink":
        return (
            f"{where} goes through a symlink that resolves outside the repository (to {entry.target}); "
            f"map a file inside the repository"
        )
    if entry.kind == "loop":
        return f"cannot read {where}: Too many levels of symbolic links"
    if entry.kind == "notdir":
        return f"cannot read {where}: Not a directory"
    return f"{where} is not a regular file; map a regular file"


def find_manifest_at(tree: CommitTree, option: str | None, environ: Mapping[str, str], cwd: Path) -> Path:
    """``manifest.find_manifest``, looking in a commit instead of on disk: ``--manifest PATH``, else
    ``$KAMSYNC_MANIFEST``, else the nearest ``kamsync.yaml`` the commit holds from ``cwd`` up to the top."""
    top = tree.repo.top
    for explicit, origin in ((option, "--manifest"), (environ.get(MANIFEST_ENV) or None, MANIFEST_ENV)):
        if explicit is None:
            continue
        path = Path(explicit).expanduser()
        path = Path(os.path.normpath(path if path.is_absolute() else cwd / path))
        if path.parent.is_dir():  # named through a symlinked folder: as git names it, inside the repository
            path = path.parent.resolve() / path.name
        if tree.kind(path) == "folder":
            path = path / MANIFEST_NAME
        if tree.blob_ids([path])[path] is None:
            raise UsageError(
                f"{origin} names {path}, which does not exist in commit {tree.label}; fix the path, or commit "
                f"the manifest there"
            )
        return path
    looked: list[Path] = []
    folder = Path(os.path.normpath(cwd.absolute()))
    while True:
        looked.append(folder)
        if folder in (top, top.resolve()) or folder.parent == folder:
            break
        folder = folder.parent
    candidates = [f / MANIFEST_NAME for f in looked if is_within(f, top) or is_within(f, top.resolve())]
    blobs = tree.blob_ids(candidates)
    found = next((c for c in candidates if blobs[c] is not None), None)
    if found is not None:
        return found
    where = f"in {looked[0]}" if len(looked) == 1 else f"in {looked[0]} and its parents up to {looked[-1]}"
    raise UsageError(f"commit {tree.label} has no {MANIFEST_NAME} {where}; pass --manifest PATH")


# --- the mapped paths of a commit, remembered per manifest (the pre-push hook's fast path) ------------------


def mapped_paths_at(tree: CommitTree, manifest_path: Path) -> frozenset[str]:
    """The paths (relative to the top) of every file the manifest at ``manifest_path`` maps in this commit.

    Parsing a large manifest costs more than the hook's time budget, so the answer is remembered in
    ``.git/kamsync/mapped-paths.json`` under the manifest's blob id and place (and kamsync's version): the
    mapping is a function of those alone. A remembered answer skips the checks a manifest needs against the
    commit's files (a missing experiment folder); whatever reads the files afterwards loads it in full.
    """
    blob = tree.manifest_blob(manifest_path)
    key = f"{__version__}/{_CACHE_FORMAT}:{tree.top_path(manifest_path)}:{blob}"
    remembered = _read_cache(tree.repo.git_dir / "kamsync" / _CACHE_FILE)
    if key in remembered:
        return remembered[key]
    manifest = tree.load_manifest(manifest_path, blob=blob, fast=True)
    paths = frozenset(top_relative(tree.repo.top, manifest, mf.path) for mf in manifest.files())
    older = [(k, v) for k, v in remembered.items() if k != key]
    kept = [*older[max(0, len(older) - _CACHE_ENTRIES + 1) :], (key, paths)]
    payload = {"version": _CACHE_FORMAT, "entries": [{"key": k, "paths": sorted(v)} for k, v in kept]}
    with contextlib.suppress(OSError, LocalWriteError):  # a read-only clone gets its answer, not remembered
        write_atomic(tree.repo.state_dir() / _CACHE_FILE, json.dumps(payload) + "\n")
    return paths


def _read_cache(path: Path) -> dict[str, frozenset[str]]:
    """The remembered answers, oldest first; none when the file is missing or not as written."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
        entries = data["entries"]
        out = {}
        for item in entries:
            key, paths = item["key"], item["paths"]
            if not isinstance(key, str) or not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
                return {}
            out[key] = frozenset(paths)
        return out
    except (OSError, ValueError, KeyError, TypeError):
        return {}
