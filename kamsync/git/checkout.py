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
    """HEAD and a digest of the staged entries of ``top_paths`` (relative to the work-tree top, as git names
    them); other files may be staged and unstaged freely without the watcher noticing."""
    wanted = set(top_paths)
    raw = repo.run_bytes("--no-optional-locks", "ls-files", "--stage", "-z")
    entries = sorted(
        entry
        for entry in raw.split(b"\0")
        if entry and entry.split(b"\t", 1)[-1].decode("utf-8", "surrogateescape") in wanted
    )
    stash = repo.try_run("rev-parse", "-q", "--verify", "refs/stash")
    return Checkout(repo.head(), hashlib.sha256(b"\0".join(entries)).hexdigest(), stash.strip() if stash else None)
