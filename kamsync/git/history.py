"""Which values of mapped files git history knows, and whether HEAD's own line of history knows them.

A value is known when some commit reachable from HEAD, a branch, a tag or a remote-tracking ref had it as the
(normalised) content of the file. Only the commits that *introduce* a blob at a path are looked at: a commit
that keeps a file unchanged has the blob of an ancestor that introduced it, so "known from an ancestor of
HEAD" is decided by the introducing commits alone.

The work is two ``git log`` walks that split the commits into HEAD's ancestors and the rest (together one walk
of the reachable history; the split is the ancestry computation), then one ``git cat-file --batch``.
"""

from __future__ import annotations

from collections.abc import Collection, Container, Iterator, Mapping
from dataclasses import dataclass

from kamsync.core.normalize import normalize
from kamsync.core.states import Seen
from kamsync.git.repo import GitRepo, covering_pathspecs

_OTHER_REFS = ("--branches", "--tags", "--remotes")
_GITLINK_MODE = "160000"


# Where a value was seen: ``commit`` had it; ``in_head``: that commit is HEAD or an ancestor of it.
Sighting = Seen


@dataclass(frozen=True, slots=True)
class _Introduction:
    commit: str
    path: str
    blob: str
    in_head: bool


class History:
    """The committed history of a repository, seen from ``head`` (a revision; HEAD by default)."""

    def __init__(self, repo: GitRepo, head: str = "HEAD") -> None:
        self._repo = repo
        self._head = head

    def find(self, wanted: Mapping[str, Collection[str]]) -> dict[tuple[str, str], Sighting]:
        """For each ``(path, value)`` some commit had, the best sighting: from HEAD's ancestry if any (the
        newest such commit), else the newest commit elsewhere. Values compare normalised; absent = unknown."""
        targets: dict[str, dict[str, list[str]]] = {}
        for path, values in wanted.items():
            for value in values:
                targets.setdefault(path, {}).setdefault(normalize(value), []).append(value)
        if not targets:
            return {}

        head = self._repo.head() if self._head == "HEAD" else self._repo.resolve(self._head)
        if head is not None:
            intros = [*self._introductions([head], targets, True)]
            intros += self._introductions([*_OTHER_REFS, "--not", head], targets, False)
        elif self._has_other_refs():  # an unborn branch beside others (e.g. after `checkout --orphan`)
            intros = [*self._introductions(list(_OTHER_REFS), targets, False)]
        else:
            return {}

        blobs = self._repo.read_blobs(i.blob for i in intros)
        texts = {blob: normalize(data.decode("utf-8", "replace")) for blob, data in blobs.items()}

        found: dict[tuple[str, str], Sighting] = {}
        # Each walk lists the newest commits first, and HEAD's ancestors come before the rest.
        for intro in intros:
            text = texts.get(intro.blob)
            originals = targets[intro.path].get(text) if text is not None else None
            for value in originals or ():
                found.setdefault((intro.path, value), Sighting(intro.commit, intro.in_head))
        return found

    def _has_other_refs(self) -> bool:
        out = self._repo.run(
            "for-each-ref", "--count=1", "--format=%(refname)", "refs/heads", "refs/tags", "refs/remotes"
        )
        return bool(out.strip())

    def _introductions(self, revs: list[str], wanted: Collection[str], in_head: bool) -> Iterator[_Introduction]:
        """The (commit, path, blob) triples where a commit reachable from ``revs`` gave a ``wanted`` path
        a new content."""
        out = self._repo.run_bytes(
            "-c",
            "log.diffMerges=separate",  # `-m` compares a merge with each parent, whatever the user configured
            "log",
            *revs,
            "--raw",
            "--no-abbrev",
            "--no-renames",
            "-m",
            "--full-history",  # keep side branches even where a merge took the other side's content
            "--root",
            "-z",
            "--no-color",
            "--no-show-signature",
            "--format=%x01%H",
            "--",
            *covering_pathspecs(wanted),  # a few paths or folders; the parser drops paths not wanted
        )
        yield from _parse_raw_log(out, in_head, wanted)


def _parse_raw_log(out: bytes, in_head: bool, wanted: Container[str]) -> Iterator[_Introduction]:
    """Parse ``git log -z --raw --format=%x01%H``: ``\\x01<id>`` per commit, then ``:<meta>``/path pairs."""
    tokens = out.split(b"\0")
    commit = ""
    i = 0
    while i < len(tokens):
        token = tokens[i].lstrip(b"\n")
        i += 1
        if token.startswith(b"\x01"):
            commit = token[1:].decode("ascii")
        elif token.startswith(b":") and i < len(tokens):
            path = tokens[i].decode("utf-8", "surrogateescape")
            i += 1
            if path not in wanted:  # under a covering folder, but not asked for
                continue
            _old_mode, new_mode, _old_blob, new_blob, _status = token[1:].decode("ascii").split(" ")
            if new_mode != _GITLINK_MODE and new_blob.strip("0"):  # not a submodule, not a deletion
                yield _Introduction(commit, path, new_blob, in_head)
