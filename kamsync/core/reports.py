"""What each command found or did, as the value its use case returns and ``kamsync.ui`` renders (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kamsync.core.catalog import NotMapped
from kamsync.core.checks import Check
from kamsync.core.errors import ApiError
from kamsync.core.events import NothingChanged, Unfinished
from kamsync.core.model import FieldRef, RemoteVariation
from kamsync.core.plan import Plan, Write
from kamsync.core.states import FieldStatus


@dataclass(frozen=True, slots=True)
class PulledFile:
    path: str
    ref: FieldRef
    state: str  # the state before the pull ("new" for files of entities added to the manifest)
    merge: str | None = None  # "clean" or "conflicted" for a field merged three ways; None when adopted
    remote: bytes = b""  # the file as Kameleoon holds it (what git history records)
    base: bytes | None = None  # for a conflicted merge: the base it was merged from
    written: bytes | None = None  # what was written, when it is not ``remote`` (a merge)
    disk: str = ""  # the file actually written (a mapped symlink's target), absolute


@dataclass(slots=True)
class PullResult:
    written: list[PulledFile] = field(default_factory=list)
    pulled_commit: str | None = None  # the commit holding Kameleoon's values, merged into the next commit
    refused: list[tuple[FieldStatus, str]] = field(default_factory=list)
    left_alone: list[FieldStatus] = field(default_factory=list)
    added_experiments: list[int] = field(default_factory=list)
    added_variations: list[tuple[int, int, str]] = field(default_factory=list)  # experiment, variation, dir
    added_personalization_variations: list[tuple[int, int, str]] = field(default_factory=list)  # the same
    renamed: list[tuple[int, str]] = field(default_factory=list)  # variation id, new name
    missing: list[FieldStatus] = field(default_factory=list)  # gone from Kameleoon: reported, never deleted here
    manifest_changed: bool = False
    not_mapped: list[NotMapped] = field(default_factory=list)  # what `pull --site` left out, and why
    added_personalizations: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Outcome:
    """What became of a plan's writes, in order."""

    written: list[Write] = field(default_factory=list)
    # Locked in the Kameleoon app (423): left alone, the rest went on.
    skipped: list[tuple[Write, ApiError]] = field(default_factory=list)
    failed: list[tuple[Write, ApiError]] = field(default_factory=list)
    not_attempted: list[Write] = field(default_factory=list)
    # Set when Ctrl-C arrived while this write was in flight: Kameleoon may or may not have applied it.
    interrupted: Write | None = None
    cancelled: bool = False  # Ctrl-C stopped the run (in flight or between writes)
    warnings: list[str] = field(default_factory=list)  # each once

    @property
    def complete(self) -> bool:
        """Every write went through."""
        return not (self.skipped or self.failed or self.not_attempted or self.interrupted or self.cancelled)


# -- what each command returns: ``kamsync.ui`` renders it as text and JSON, the CLI returns its ``code`` --------


@dataclass(frozen=True, slots=True)
class StatusReport:
    statuses: tuple[FieldStatus, ...]
    new_variations: Mapping[int, tuple[RemoteVariation, ...]]
    warnings: tuple[str, ...]
    code: int
    interrupted: Unfinished | None = None
    changed_only: bool = False
    skipped: NothingChanged | None = None  # a range without mapped change: nothing was read
    # Variations Kameleoon lists under a surveyed personalization that the manifest does not map yet.
    new_personalization_variations: Mapping[int, tuple[RemoteVariation, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DiffReport:
    statuses: tuple[FieldStatus, ...]
    warnings: tuple[str, ...]
    code: int
    skipped: NothingChanged | None = None


@dataclass(frozen=True, slots=True)
class PlanReport:
    """A push (``--dry-run`` or not) or an apply: the plan, and what became of it."""

    command: str
    dry_run: bool
    plan: Plan
    requests: int
    code: int
    skipped: NothingChanged | None = None
    problems: tuple[str, ...] | None = None  # an apply refused: how the saved plan no longer matches
    finished: bool = False  # an empty plan that finished an interrupted push
    out: str | None = None  # the saved plan's file
    backup: str | None = None
    outcome: Outcome | None = None  # the writes, once executed


@dataclass(frozen=True, slots=True)
class PullReport:
    result: PullResult
    requests: int
    manifest_name: str
    code: int


@dataclass(frozen=True, slots=True)
class LoginReport:
    """``kamsync login`` stored a partner login (``logged_in``), or ``kamsync logout`` deleted one (``client_id``
    ``None``: there was none)."""

    api_url: str
    client_id: str | None
    logged_in: bool
    code: int = 0


@dataclass(frozen=True, slots=True)
class DoctorReport:
    checks: tuple[Check, ...]
    code: int


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The pre-push hook's check of a range (``check`` mode)."""

    statuses: tuple[FieldStatus, ...]
    warnings: tuple[str, ...]
    blocking: tuple[FieldStatus, ...]
    to_rev: str | None
    head: str | None
    code: int
