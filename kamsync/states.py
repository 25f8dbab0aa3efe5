"""The verdict for one mapped field: how its local file relates to the remote value (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from kamsync.model import MappedFile


class State(str, Enum):
    """Field states (a contract: ``status --json`` prints these values)."""

    IN_SYNC = "in-sync"
    LOCAL_CHANGED = "local-changed"
    REMOTE_AHEAD = "remote-ahead"
    REMOTE_CHANGED = "remote-changed"
    REMOTE_ONLY = "remote-only"
    REMOTE_MISSING = "remote-missing"


DIFFERING = frozenset({State.LOCAL_CHANGED, State.REMOTE_AHEAD, State.REMOTE_CHANGED, State.REMOTE_ONLY})


@dataclass(frozen=True, slots=True)
class Seen:
    """Where a remote value is known from: a commit (``in_head`` when it is HEAD or an ancestor)."""

    commit: str
    in_head: bool


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

    @property
    def path(self) -> str:
        return self.mapped.path


def classify(local: str | None, remote: str | None, *, seen: Seen | None, recorded: bool) -> State | None:
    """The state of a field, or ``None`` when it is not worth listing (no file, nothing remote).

    ``local`` and ``remote`` are normalised values; ``remote`` is ``None`` when the entity does not exist
    remotely. ``seen`` is the best commit holding the remote value; ``recorded`` says kamsync itself wrote or
    pulled that value in this clone. Commits take precedence over the record.
    """
    if remote is None:
        return State.REMOTE_MISSING
    if local is None:
        return State.REMOTE_ONLY if remote else None
    if local == remote:
        return State.IN_SYNC
    if seen is not None:
        return State.LOCAL_CHANGED if seen.in_head else State.REMOTE_AHEAD
    if recorded:
        return State.LOCAL_CHANGED
    return State.REMOTE_CHANGED
