"""What a pull did, as a value the CLI renders (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kamsync.core.catalog import NotMapped
from kamsync.core.model import FieldRef
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
