"""The two commits the drift rules fall back on when kamsync has no record of a field (a fresh clone, CI).

- The **fork point** F: the merge-base of HEAD with its upstream, else with the default branch's
  remote-tracking ref (none when neither exists, e.g. a detached CI checkout with no such ref).
- The **deployed commit** D: ``--from`` when a range is given (the hook's remote sha, the Action's event
  ``before``); else F when HEAD has commits F lacks; else HEAD's first parent.

Also: which mapped files of the work tree hold a value that is in no commit (uncommitted), judged by content
against HEAD, so that files git does not report (``--skip-worktree``, ``--assume-unchanged``, ignored) count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from kamsync.core.normalize import normalize
from kamsync.git.repo import GitRepo
from kamsync.git.tree import CommitTree


@dataclass(frozen=True, slots=True)
class Lineage:
    head: str | None  # the commit playing HEAD, None on an unborn branch
    fork: str | None  # F
    deployed: str | None  # D; None when there is none (HEAD is a root commit)


def lineage(repo: GitRepo, head_rev: str, from_rev: str | None) -> Lineage:
    head = repo.head() if head_rev == "HEAD" else repo.resolve(head_rev)
    if head is None:
        return Lineage(None, None, None)
    fork = _fork_point(repo, head)
    if from_rev is not None and repo.commit_exists(from_rev):
        deployed: str | None = repo.resolve(from_rev)
    elif fork is not None and fork != head:
        deployed = fork
    else:
        deployed = _first_parent(repo, head)
    return Lineage(head, fork, deployed)


def _fork_point(repo: GitRepo, head: str) -> str | None:
    for ref in _shared_lines(repo):
        base = repo.merge_base(head, ref)
        if base is not None:
            return base
    return None


def _shared_lines(repo: GitRepo) -> list[str]:
    """The upstream of the checked-out branch, then the default branch's remote-tracking ref, when they exist."""
    found: list[str] = []
    upstream = repo.try_run("rev-parse", "-q", "--verify", "--symbolic-full-name", "@{upstream}")
    if upstream and upstream.strip():
        found.append(upstream.strip())
    for remote in _remotes(repo):
        ref = f"refs/remotes/{remote}/{repo.default_branch()}"
        if repo.try_run("rev-parse", "-q", "--verify", f"{ref}^{{commit}}") is not None and ref not in found:
            found.append(ref)
    return found


def _remotes(repo: GitRepo) -> list[str]:
    out = repo.try_run("remote") or ""
    names = [n for n in out.split() if n]
    return sorted(names, key=lambda n: (n != "origin", n))


def _first_parent(repo: GitRepo, head: str) -> str | None:
    return repo.commit_or_none(f"{head}^1")


def blob_id(data: bytes, *, length: int) -> str:
    """The id git gives a blob with this content (SHA-1, or SHA-256 in repositories of that format)."""
    algorithm = hashlib.sha256 if length == 64 else hashlib.sha1
    return algorithm(b"blob %d\0" % len(data) + data).hexdigest()


def uncommitted(repo: GitRepo, texts: Mapping[str, str | None]) -> set[str]:
    """Those of ``texts`` (top-relative path -> the work tree's text, ``None`` when absent) whose work-tree
    content is not HEAD's: changed (staged or not), untracked, deleted, or hidden from ``git status`` by a flag
    or an ignore rule. Contents equal after normalising count as committed (kamsync compares normalised values).
    A staged version the work tree does not show is pull's own check (``pulled.check_can_merge``)."""
    if not texts:
        return set()
    head = repo.head()
    if head is None:
        return {path for path, text in texts.items() if text is not None}
    blobs = CommitTree(repo, head).blob_ids_at(texts)
    out: set[str] = set()
    pending: dict[str, str] = {}
    for path, text in texts.items():
        oid = blobs.get(path)
        if oid is None or text is None:
            if (oid is None) != (text is None):
                out.add(path)
            continue
        if blob_id(text.encode("utf-8"), length=len(oid)) != oid:
            pending[path] = oid
    stored = repo.read_blobs(pending.values())
    for path, oid in pending.items():
        committed = stored.get(oid)
        if committed is None or normalize(committed.decode("utf-8", "replace")) != normalize(texts[path]):
            out.add(path)
    return out
