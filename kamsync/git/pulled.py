"""Kameleoon's values that a pull brings in, made part of git history, so that every clone and CI know them.

A value that exists only in Kameleoon and in one clone's working tree makes every other clone see an edit made
in the Kameleoon UI. So a pull records the values it wrote as a commit K (parent: HEAD, or the previous K of a
pull not yet committed; tree: the parent's with the files as Kameleoon holds them), keeps it on
``refs/kamsync/pulled/<id>``, and starts a merge of K as ``git merge --no-commit`` would: ``MERGE_HEAD`` names K,
cleanly pulled files are staged, and a conflicted file is left unmerged (stages 1, 2, 3), so ``git commit``
refuses it until it is resolved. The user's next commit is then a merge whose history holds Kameleoon's values.

Commits reachable only from ``refs/kamsync/`` or ``MERGE_HEAD`` are never taken for another branch's code:
history looks at branches, tags and remote-tracking refs only.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kamsync.core.errors import RefusedError
from kamsync.git.repo import GitRepo

PULLED_REFS = "refs/kamsync/pulled/"  # one ref per commit of pulled values, so worktrees never take each other's
_IN_PROGRESS = {
    "MERGE_HEAD": "a merge",
    "CHERRY_PICK_HEAD": "a cherry-pick",
    "REVERT_HEAD": "a revert",
    "rebase-merge": "a rebase",
    "rebase-apply": "a rebase or `git am`",
}
# K holds Kameleoon's values, so it is signed as theirs; the user's own merge commit carries the user's identity.
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Kameleoon (pulled by kamsync)",
    "GIT_AUTHOR_EMAIL": "kamsync@localhost",
    "GIT_COMMITTER_NAME": "kamsync",
    "GIT_COMMITTER_EMAIL": "kamsync@localhost",
}


@dataclass(frozen=True, slots=True)
class PulledValue:
    """One file as Kameleoon holds it (``path``: relative to the top, POSIX)."""

    path: str
    data: bytes
    base: bytes | None = None  # set for a conflicted merge: the base, staged as stage 1
    staged: bytes | None = None  # what the working tree got when it is not ``data`` (a clean merge), staged


def check_can_merge(repo: GitRepo) -> None:
    """Refuse (before anything is written) while git is in the middle of an operation kamsync must not join,
    or while the index holds work a later ``git merge --abort`` would throw away, as ``git merge`` itself does."""
    pending = _pending_pull(repo)
    for name, what in _IN_PROGRESS.items():
        if not repo.git_path(name).exists():
            continue
        if name == "MERGE_HEAD" and pending is not None:
            continue  # an earlier pull's merge, not committed yet: this pull adds to it
        raise RefusedError(
            f"git is in the middle of {what}: finish it (or abort it) first, then pull again; nothing was written"
        )
    if repo.head() is None:
        return
    if repo.run_bytes("ls-files", "-u", "-z").strip(b"\0"):
        raise RefusedError(
            "the index holds unmerged files: resolve them (then `git add` them) first, then pull again; nothing was "
            "written"
        )
    if pending is None and repo.run_bytes("diff-index", "--cached", "--name-only", "-z", "HEAD", "--").strip(b"\0"):
        raise RefusedError(
            "the index holds staged changes, which a `git merge --abort` of the pull would throw away: commit them "
            "(or unstage them with `git restore --staged .`) first, then pull again; nothing was written"
        )


def pulled_commits(repo: GitRepo, commits: Iterable[str]) -> set[str]:
    """Those of ``commits`` that hold values pulled from Kameleoon (made by ``record_pulled``, here or in any
    clone): their value was merged into the history that contains them."""
    wanted = sorted(set(commits))
    if not wanted:
        return set()
    out = repo.run("log", "--no-walk=unsorted", "--format=%H%x00%an%x00%ae", *wanted, "--")
    found = set()
    for line in out.splitlines():
        sha, _, rest = line.partition("\0")
        if rest == f"{_IDENTITY['GIT_AUTHOR_NAME']}\0{_IDENTITY['GIT_AUTHOR_EMAIL']}":
            found.add(sha)
    return found


def record_pulled(repo: GitRepo, values: Sequence[PulledValue], fields: Sequence[str]) -> str | None:
    """Commit ``values`` as K and start merging it into the working tree's next commit. Returns K, or ``None``
    on an unborn branch (the next commit simply holds the files)."""
    head = repo.head()
    if head is None or not values:
        return None
    parent = _pending_pull(repo) or head
    with tempfile.TemporaryDirectory(prefix="kamsync-pull-") as folder:
        index = Path(folder) / "index"
        repo.run_bytes("read-tree", parent, extra=_index(index))
        blobs = _store(repo, Path(folder), [v.data for v in values])
        modes = _modes(repo, index, [v.path for v in values])
        lines = "".join(
            f"{modes.get(v.path, '100644')} {oid}\t{v.path}\0" for v, oid in zip(values, blobs, strict=True)
        )
        repo.run_bytes("update-index", "-z", "--add", "--index-info", input=_encode(lines), extra=_index(index))
        tree = repo.run("write-tree", extra=_index(index)).strip()
    message = "Values pulled from Kameleoon\n\n" + "".join(f"- {f}\n" for f in fields)
    commit = repo.run("commit-tree", tree, "-p", parent, "-m", message, extra=_IDENTITY).strip()
    repo.run("update-ref", "-m", "kamsync pull", PULLED_REFS + commit, commit)
    _start_merge(repo, head, commit, values, blobs, fields)
    return commit


def _start_merge(
    repo: GitRepo, head: str, commit: str, values: Sequence[PulledValue], blobs: Sequence[str], fields: Sequence[str]
) -> None:
    clean = [(v, oid) for v, oid in zip(values, blobs, strict=True) if v.base is None]
    merged = [v for v, _ in clean if v.staged is not None]
    merged_blobs = dict(
        zip((v.path for v in merged), _store_plain(repo, [v.staged or b"" for v in merged]), strict=True)
    )
    clean = [(v, merged_blobs.get(v.path, oid)) for v, oid in clean]
    if clean:  # by blob id: a file git hides (skip-worktree, assume-unchanged) is staged all the same
        modes = _modes(repo, None, [v.path for v, _ in clean])
        lines = "".join(f"{modes.get(v.path, '100644')} {oid}\t{v.path}\0" for v, oid in clean)
        repo.run_bytes("update-index", "-z", "--add", "--index-info", input=_encode(lines))
        # Entries staged by id carry no file stat: refresh them, or `git merge --abort` takes them for changed.
        repo.try_run("update-index", "-q", "--refresh")
    conflicted = [(v, oid) for v, oid in zip(values, blobs, strict=True) if v.base is not None]
    if conflicted:
        ours = repo.run_bytes("ls-tree", "-z", "--full-tree", head, "--", *(v.path for v, _ in conflicted))
        head_entries = _parse_ls_tree(ours)
        base_blobs = _store_plain(repo, [v.base or b"" for v, _ in conflicted])
        entries: list[str] = []
        for (value, theirs), base in zip(conflicted, base_blobs, strict=True):
            mode, our_oid = head_entries.get(value.path, ("100644", None))
            entries.append(f"0 {'0' * len(head)}\t{value.path}\0")
            entries.append(f"{mode} {base} 1\t{value.path}\0")
            if our_oid is not None:
                entries.append(f"{mode} {our_oid} 2\t{value.path}\0")
            entries.append(f"{mode} {theirs} 3\t{value.path}\0")
        repo.run_bytes("update-index", "-z", "--index-info", input=_encode("".join(entries)))
    repo.git_path("MERGE_HEAD").write_text(commit + "\n", encoding="ascii")
    repo.git_path("MERGE_MODE").write_text("no-ff", encoding="ascii")
    message = "Merge values pulled from Kameleoon\n\n" + "".join(f"- {f}\n" for f in fields)
    merge_msg = repo.git_path("MERGE_MSG")
    if merge_msg.exists():  # a pull adding to an earlier one: keep its lines
        message = (
            merge_msg.read_text(encoding="utf-8", errors="replace").rstrip("\n")
            + "\n"
            + "".join(f"- {f}\n" for f in fields)
        )
    merge_msg.write_text(message, encoding="utf-8")


def _index(path: Path) -> dict[str, str]:
    return {"GIT_INDEX_FILE": str(path)}


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def merge_head(repo: GitRepo) -> str | None:
    """The one commit ``MERGE_HEAD`` names in this work tree (a merge in progress), if any."""
    try:
        merging = repo.git_path("MERGE_HEAD").read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return None
    return merging[0] if len(merging) == 1 else None


def _pending_pull(repo: GitRepo) -> str | None:
    """The K of an earlier pull that ``MERGE_HEAD`` still names (its merge not committed yet), if any."""
    merging = merge_head(repo)
    if merging is None:
        return None
    ours = repo.try_run("rev-parse", "-q", "--verify", f"{PULLED_REFS}{merging}^{{commit}}")
    return merging if ours and ours.strip() == merging else None


def _store(repo: GitRepo, folder: Path, contents: Sequence[bytes]) -> list[str]:
    """Write each content as a blob (one git process for all) and return their ids, in order."""
    paths = []
    for i, data in enumerate(contents):
        path = folder / f"blob-{i}"
        path.write_bytes(data)
        paths.append(str(path))
    out = repo.run("hash-object", "-w", "--no-filters", "--stdin-paths", input="".join(p + "\n" for p in paths))
    return out.split()


def _store_plain(repo: GitRepo, contents: Sequence[bytes]) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="kamsync-pull-") as folder:
        return _store(repo, Path(folder), contents)


def _modes(repo: GitRepo, index: Path | None, paths: Sequence[str]) -> dict[str, str]:
    """The file mode each path has in the index (an executable file stays executable); ``index``: another
    index file than the repository's. The whole index is listed and filtered here: thousands of paths on a
    command line would pass the argument limit (32 K characters on Windows)."""
    wanted = set(paths)
    out = repo.run_bytes("ls-files", "-s", "-z", extra=None if index is None else _index(index))
    modes = {}
    for entry in out.split(b"\0"):
        if entry:
            meta, _, raw = entry.partition(b"\t")
            mode, path = meta.split(b" ")[0].decode("ascii"), raw.decode("utf-8", "surrogateescape")
            if path in wanted and mode in ("100644", "100755"):
                modes[path] = mode
    return modes


def _parse_ls_tree(out: bytes) -> dict[str, tuple[str, str]]:
    entries = {}
    for entry in out.split(b"\0"):
        if entry:
            meta, _, path = entry.partition(b"\t")
            mode, kind, oid = meta.decode("ascii").split(" ")
            if kind == "blob" and mode in ("100644", "100755"):
                entries[path.decode("utf-8", "surrogateescape")] = (mode, oid)
    return entries
