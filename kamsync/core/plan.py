"""The push plan: which writes to send, and which fields are refused and why (pure).

A write is one PATCH of an experiment, personalization or variation with only its changed code fields; the site
is written by replacing the whole object, read again just before (so it costs two requests).

A plan is a value: ``push --dry-run`` renders it, ``push`` executes it, ``--exit-code`` asks whether it is empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kamsync.core.merge import has_markers
from kamsync.core.model import Entity, describe_entity
from kamsync.core.states import Base, FieldStatus, State

FORCEABLE = frozenset({State.REMOTE_CHANGED, State.CONFLICT, State.REMOTE_AHEAD})


@dataclass(frozen=True, slots=True)
class Write:
    """One write: the changed code fields of one experiment, personalization, variation or site."""

    entity: Entity
    entity_id: int
    root_id: int  # the experiment or personalization it is or belongs to (the entity's own id for those)
    fields: tuple[FieldStatus, ...]

    @property
    def requests(self) -> int:
        """A site is found and read whole again right before its whole object is replaced; the others are one
        PATCH."""
        return 3 if self.entity is Entity.SITE else 1

    @property
    def body(self) -> dict[str, str]:
        """Only the changed code fields, with the files' content exactly as on disk."""
        return {f.mapped.ref.field: f.raw_local or "" for f in self.fields}

    @property
    def overwrites(self) -> tuple[FieldStatus, ...]:
        """Fields whose remote value is not from this branch's history (only planned under ``--force``)."""
        return tuple(f for f in self.fields if f.state in FORCEABLE)

    def describe(self) -> str:
        if self.fields:
            return self.fields[0].mapped.ref.describe_object()
        return describe_entity(self.entity, self.entity_id, self.root_id)


@dataclass(frozen=True, slots=True)
class Refusal:
    status: FieldStatus
    reason: str
    fix: str


@dataclass(frozen=True, slots=True)
class Plan:
    writes: tuple[Write, ...]
    refusals: tuple[Refusal, ...]

    @property
    def requests(self) -> int:
        return sum(w.requests for w in self.writes)

    @property
    def is_empty(self) -> bool:
        return not self.writes


def _short(commit: str) -> str:
    return commit[:12]


def describe_base(base: Base | None) -> str:
    """How messages name the base a verdict rests on."""
    if base is None:
        return "the last sync"
    if base.commit is None:
        return "the value kamsync last saw in Kameleoon (its record in this clone)"
    return f"commit {_short(base.commit)}"


def refusal_for(status: FieldStatus, *, force: bool, allow_live: bool) -> Refusal | None:
    """Why pushing this field must not happen (``None`` when it may)."""
    ref = status.mapped.ref
    if status.state is State.REMOTE_MISSING:
        what = ref.entity.label
        return Refusal(
            status,
            f"the {what} no longer exists in Kameleoon (deleted, or moved to another {ref.root.value})",
            f"remove it from the manifest, or leave {status.path} out of the paths pushed",
        )
    if status.state in {State.LOCAL_CHANGED, *FORCEABLE} and has_markers(status.raw_local or ""):
        return Refusal(
            status,
            "the file holds unresolved merge markers (<<<<<<<, =======, >>>>>>>); it is never pushed so, "
            "not even with --force",
            f"resolve the conflict in {status.path} (keep what each side needs, delete the markers), then push",
        )
    if status.state is State.CONFLICT and not force:
        return Refusal(
            status,
            f"changed both here and in Kameleoon since {describe_base(status.base)}",
            "run `kamsync pull` to merge Kameleoon's edit into your file, resolve it if needed, commit, then "
            "push; or `kamsync push --force` to overwrite Kameleoon's edit",
        )
    if status.state is State.REMOTE_CHANGED and not force:
        return Refusal(
            status,
            "edited in Kameleoon outside git (the remote value is in no commit)",
            "run `kamsync pull` to adopt the remote edit, commit it, then push; "
            "or `kamsync push --force` to overwrite it",
        )
    if status.state is State.REMOTE_AHEAD and not force:
        commit = _short(status.seen.commit) if status.seen else "another commit"
        return Refusal(
            status,
            f"Kameleoon holds the code of commit {commit}, which this branch does not contain: pushing would revert it",
            "update your branch (git pull / git merge) and push again; or `kamsync push --force` to revert it anyway",
        )
    if status.live and not allow_live and status.state in {State.LOCAL_CHANGED, *FORCEABLE}:
        return live_refusal(status)
    return None


def live_refusal(status: FieldStatus) -> Refusal:
    """A live field pushed without ``--allow-live``: the site's global script always is."""
    if status.mapped.ref.entity is Entity.SITE:
        return Refusal(
            status,
            "the site's global script runs on every page for every visitor of the site: a push of it is always live",
            "pass --allow-live to push it",
        )
    return Refusal(
        status,
        f"the {status.mapped.ref.root.value} is live (status active): visitors would run the new code at once",
        "pause it in Kameleoon first, or pass --allow-live",
    )


def plan_push(statuses: Iterable[FieldStatus], *, force: bool = False, allow_live: bool = False) -> Plan:
    """Group the pushable fields into one write per entity; collect every refusal."""
    pushable = {State.LOCAL_CHANGED} | (FORCEABLE if force else set())
    groups: dict[tuple[Entity, int], list[FieldStatus]] = {}
    refusals: list[Refusal] = []
    for status in statuses:
        refusal = refusal_for(status, force=force, allow_live=allow_live)
        if refusal is not None:
            refusals.append(refusal)
        elif status.state in pushable:
            ref = status.mapped.ref
            groups.setdefault((ref.entity, ref.entity_id), []).append(status)
    writes = tuple(
        Write(entity, entity_id, fields[0].mapped.ref.root_id, tuple(fields))
        for (entity, entity_id), fields in groups.items()
    )
    return Plan(writes, tuple(refusals))


def kameleoon_edits(statuses: Iterable[FieldStatus]) -> tuple[Refusal, ...]:
    """The refusals a plain push would meet that guard what Kameleoon holds and git does not (an edit made in
    its UI, or code from commits outside this history): what the pre-push check blocks on. A live experiment
    is left to the push itself, so these are planned as if live experiments were allowed."""
    return tuple(r for r in plan_push(statuses, allow_live=True).refusals if r.status.state in FORCEABLE)


def forced_overwrites(writes: Sequence[Write]) -> tuple[FieldStatus, ...]:
    return tuple(f for w in writes for f in w.overwrites)
