"""The verdict for one mapped field: how its local file relates to the remote value, and from which base (pure).

The inputs are the local value L, the remote value R, kamsync's recorded base B (the last value it saw in
Kameleoon for the field in this clone that git holds too) and what git history knows. First match wins:

1. R = L: ``in-sync``.
2. R is the file's content only in commits outside HEAD's history: ``remote-ahead``.
3. B known: R = B ``local-changed``; L = B ``remote-changed``; otherwise ``conflict`` (base B).
4. B absent, R empty and L not: ``local-changed`` when the file is empty or absent at the deployed commit D
   (never deployed yet), else ``remote-changed`` (cleared in the UI).
5. B absent, R is the file's content in HEAD or an ancestor: ``local-changed``.
6. B absent, R unknown: ``conflict`` when the file differs between the fork point F and HEAD (local work the
   shared line lacks; base: the file at F) or between D and HEAD (committed, not deployed yet; base: the file
   at D); otherwise ``remote-changed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from kamsync.core.model import MappedFile
from kamsync.core.normalize import fingerprint


class State(str, Enum):
    """Field states (a contract: ``status --json`` prints these values)."""

    IN_SYNC = "in-sync"
    LOCAL_CHANGED = "local-changed"
    REMOTE_AHEAD = "remote-ahead"
    REMOTE_CHANGED = "remote-changed"
    CONFLICT = "conflict"
    REMOTE_ONLY = "remote-only"
    REMOTE_MISSING = "remote-missing"


DIFFERING = frozenset(
    {State.LOCAL_CHANGED, State.REMOTE_AHEAD, State.REMOTE_CHANGED, State.CONFLICT, State.REMOTE_ONLY}
)
# Kameleoon holds something this branch would lose: refused unless forced, blocked by the pre-push hook.
EDITED_REMOTELY = frozenset({State.REMOTE_CHANGED, State.CONFLICT})


class Basis(str, Enum):
    """Which rule gave the verdict, and so where its base comes from."""

    RECORD = "record"  # rule 3: kamsync's own record of the last value seen in Kameleoon
    DEPLOYED = "deployed"  # rule 4: the file at the deployed commit D
    SEEN = "seen"  # rules 2 and 5: the commit that holds the remote value
    FORK = "fork"  # rule 6: the file at the fork point F (or HEAD when there is none)


@dataclass(frozen=True, slots=True)
class Seen:
    """Where a remote value is known from: a commit (``in_head`` when it is HEAD or an ancestor)."""

    commit: str
    in_head: bool


@dataclass(frozen=True, slots=True)
class Base:
    """What both sides started from: its normalised text when known, and the commit it was read at
    (``None``: kamsync's record in this clone)."""

    text: str | None
    commit: str | None

    def payload(self) -> dict[str, object]:
        """``status --json``'s ``base``: ``{"commit": sha}`` or ``{"record": true}``."""
        return {"record": True} if self.commit is None else {"commit": self.commit}


@dataclass(frozen=True, slots=True)
class Evidence:
    """What git and the record say about one differing field (everything ``classify`` needs beyond L and R).

    ``recorded``: the fingerprint of the recorded base B, ``None`` when absent. ``deployed_empty``: the file is
    empty or absent at D. ``forked``: the file differs between the fork point F and HEAD (False without F)."""

    seen: Seen | None = None
    recorded: str | None = None
    deployed_empty: bool = True
    forked: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    state: State
    basis: Basis | None  # None for in-sync, remote-only and remote-missing


@dataclass(frozen=True, slots=True)
class FieldStatus:
    """One mapped field with its verdict. ``local``/``remote`` are normalised; ``None`` means absent."""

    mapped: MappedFile
    state: State
    local: str | None
    remote: str | None
    live: bool  # the experiment is active: visitors run this code
    seen: Seen | None = None  # where the remote value is known from, when a commit has it
    raw_local: str | None = None  # the file exactly as on disk, for sending
    base: Base | None = None  # what both sides started from, when the verdict rests on one
    uncommitted: bool = False  # the local file differs from HEAD's (its value is in no commit yet)

    @property
    def path(self) -> str:
        return self.mapped.path


def classify(local: str | None, remote: str | None, evidence: Evidence) -> Verdict | None:
    """The verdict for a field, or ``None`` when it is not worth listing (no file, nothing remote).

    ``local`` and ``remote`` are normalised values; ``remote`` is ``None`` when the entity does not exist
    remotely. Commits take precedence over the record (rule 2 before rule 3)."""
    if remote is None:
        return Verdict(State.REMOTE_MISSING, None)
    if local is None:
        return Verdict(State.REMOTE_ONLY, None) if remote else None
    if local == remote:
        return Verdict(State.IN_SYNC, None)
    seen = evidence.seen
    if seen is not None and not seen.in_head:
        return Verdict(State.REMOTE_AHEAD, Basis.SEEN)
    if evidence.recorded is not None:
        if fingerprint(remote) == evidence.recorded:
            return Verdict(State.LOCAL_CHANGED, Basis.RECORD)
        if fingerprint(local) == evidence.recorded:
            return Verdict(State.REMOTE_CHANGED, Basis.RECORD)
        return Verdict(State.CONFLICT, Basis.RECORD)
    if not remote:
        state = State.LOCAL_CHANGED if evidence.deployed_empty else State.REMOTE_CHANGED
        return Verdict(state, Basis.DEPLOYED)
    if seen is not None:
        return Verdict(State.LOCAL_CHANGED, Basis.SEEN)
    return Verdict(State.CONFLICT if evidence.forked else State.REMOTE_CHANGED, Basis.FORK)
