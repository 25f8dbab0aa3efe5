"""What the checkout holds for the mapped files, as ``kamsync watch`` compares it: HEAD, and the staged entries
themselves (``git ls-files --stage``: mode, blob, stage, path). Editors run ``git status`` constantly, which
rewrites ``.git/index`` without changing a single entry; comparing entries, never the index file's events or
timestamps, tells a real stash, reset or add from that. Read with ``--no-optional-locks``: watching never takes
``index.lock`` from the git commands the developer runs meanwhile."""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from kamsync.core.watching import Checkout
from kamsync.git.repo import GitRepo


def checkout_state(repo: GitRepo, top_paths: Collection[str]) -> Checkout:
    """HEAD, a digest of the staged entries of ``top_paths`` (relative to the work-tree top, as git names them)
    and the stash; other files may be staged and unstaged freely without the watcher noticing."""
    wanted = set(top_paths)
    raw = repo.run_bytes("--no-optional-locks", "ls-files", "--stage", "-z")
    entries = sorted(
        entry
        for entry in raw.split(b"\0")
        if entry and entry.split(b"\t", 1)[-1].decode("utf-8", "surrogateescape") in wanted
    )
    refs = _head_and_stash(repo)
    return Checkout(refs.get("HEAD"), hashlib.sha256(b"\0".join(entries)).hexdigest(), refs.get("refs/stash"))


def _head_and_stash(repo: GitRepo) -> dict[str, str]:
    """HEAD's commit and the stash's, in one git process (neither, on an unborn branch with no stash)."""
    out = repo.try_run("--no-optional-locks", "show-ref", "--head", "refs/stash") or ""
    refs: dict[str, str] = {}
    for line in out.splitlines():
        commit, _, name = line.partition(" ")
        if name in ("HEAD", "refs/stash"):  # the pattern also matches refs/heads/refs/stash: names compared whole
            refs[name] = commit
    return refs
