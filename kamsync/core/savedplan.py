"""Saved plans: ``push --dry-run --out plan.json`` writes one, ``kamsync apply plan.json`` executes exactly it.

A saved plan holds, per field, the remote value it saw and the local file content it will send. Applying it
checks both again first: if a remote value or a local file changed since, the plan no longer describes what
would happen, and nothing is written (exit 3). A field whose remote value already is the planned one was
written by an earlier, interrupted apply and is skipped, so applying the same plan twice is safe.

Turning a plan into a document and back, and checking it against the present, are pure; ``app`` does the I/O.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass

from kamsync.core.model import Entity, FieldRef, describe_entity
from kamsync.core.normalize import normalize
from kamsync.core.plan import Plan
from kamsync.core.states import State

__all__ = ["Check", "SavedField", "SavedPlan", "SavedWrite", "check", "from_document", "to_document"]

FORMAT = 1


@dataclass(frozen=True, slots=True)
class SavedField:
    field: str
    path: str  # relative to the manifest's folder
    state: str
    remote: str | None  # normalised, as seen when planning
    local: str  # the file's content exactly, as it will be sent


@dataclass(frozen=True, slots=True)
class SavedWrite:
    entity: Entity
    id: int
    experiment_id: int  # the experiment or personalization it is or belongs to (the document's key is older)
    fields: tuple[SavedField, ...]
    site_code: str | None = None  # the site's, as the manifest names it

    def ref(self, f: SavedField) -> FieldRef:
        owner = None if self.entity.owner is None else self.experiment_id
        return FieldRef(self.entity, self.id, f.field, owner, self.site_code)

    @property
    def root(self) -> tuple[Entity, int]:
        """The experiment or personalization (or the site) whose status says whether this write is live."""
        return (self.entity.owner or self.entity, self.experiment_id)

    def describe(self) -> str:
        if self.site_code:
            return f"site {self.site_code}"
        return describe_entity(self.entity, self.id, self.experiment_id)


@dataclass(frozen=True, slots=True)
class SavedPlan:
    created_at: str
    api_url: str
    head: str | None
    manifest: str  # relative to the repository top
    force: bool
    allow_live: bool
    writes: tuple[SavedWrite, ...]


def to_document(
    plan: Plan, *, api_url: str, head: str | None, manifest: str, force: bool, allow_live: bool, reads: int
) -> dict[str, object]:
    return {
        "kamsync_plan": FORMAT,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "api_url": api_url,
        "head": head,
        "manifest": manifest,
        "force": force,
        "allow_live": allow_live,
        # What `kamsync apply` will spend: the same reads to check the remote values again, then the writes.
        "requests": {"reads": reads, "writes": plan.requests, "total": reads + plan.requests},
        "writes": [
            {
                "entity": w.entity.value,
                "id": w.entity_id,
                "experiment_id": w.root_id,
                **({"site_code": w.fields[0].mapped.ref.site_code} if w.entity is Entity.SITE and w.fields else {}),
                "fields": [
                    {
                        "field": f.mapped.ref.field,
                        "path": f.path,
                        "state": f.state.value,
                        "remote": f.remote,
                        "local": f.raw_local or "",
                    }
                    for f in w.fields
                ],
            }
            for w in plan.writes
        ],
    }


def from_document(text: str) -> SavedPlan:
    """Parse a saved plan; ``ValueError`` saying what is wrong when it is not one."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(data, dict) or "kamsync_plan" not in data:
        raise ValueError("not a kamsync plan (no `kamsync_plan` key); make one with `kamsync push --dry-run --out`")
    if data["kamsync_plan"] != FORMAT:
        raise ValueError(f"plan format {data['kamsync_plan']!r} is not {FORMAT}; make the plan again with this kamsync")
    try:
        writes = tuple(_write(w) for w in data["writes"])
        return SavedPlan(
            created_at=str(data["created_at"]),
            api_url=str(data["api_url"]),
            head=None if data.get("head") is None else str(data["head"]),
            manifest=str(data["manifest"]),
            force=_flag(data["force"]),
            allow_live=_flag(data["allow_live"]),
            writes=writes,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"the plan is damaged ({type(exc).__name__}: {exc}); make it again") from None


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, not {value!r}")
    return value


def _write(raw: object) -> SavedWrite:
    if not isinstance(raw, dict) or not isinstance(raw["fields"], list):
        raise TypeError("a write must be an object with a list of fields")
    fields = []
    for f in raw["fields"]:
        if not isinstance(f["local"], str) or not (f["remote"] is None or isinstance(f["remote"], str)):
            raise TypeError("field values must be strings")
        state = State(f["state"]).value  # ValueError for an unknown one
        fields.append(SavedField(str(f["field"]), str(f["path"]), state, f["remote"], f["local"]))
    code = raw.get("site_code")
    if code is not None and not isinstance(code, str):
        raise TypeError("site_code must be a string")
    return SavedWrite(Entity(raw["entity"]), _int(raw["id"]), _int(raw["experiment_id"]), tuple(fields), code)


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an id, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Check:
    """A saved plan against the present: what is still to send, what was already applied, what changed."""

    to_send: tuple[SavedWrite, ...]
    applied: tuple[SavedWrite, ...]
    problems: tuple[str, ...]


def check(
    saved: SavedPlan,
    remote: Mapping[FieldRef, str | None],
    local: Mapping[str, str | None],
    live: Mapping[tuple[Entity, int], bool],
) -> Check:
    """``remote``: normalised remote values now (``None``: gone); ``local``: files' content now, by path;
    ``live``: (kind, id) of each experiment or personalization -> active now. Every problem is one sentence
    naming the field."""
    problems: list[str] = []
    to_send: list[SavedWrite] = []
    applied: list[SavedWrite] = []
    for write in saved.writes:
        pending: list[SavedField] = []
        for f in write.fields:
            ref = write.ref(f)
            where = f"{ref.describe()} ({f.path})"
            if local.get(f.path) != f.local:
                problems.append(f"{where}: the local file changed since the plan was made")
            now = remote.get(ref)
            if now is None:
                problems.append(f"{where}: no longer exists in Kameleoon")
            elif now == normalize(f.local):
                continue  # already holds the planned value (an earlier apply got this far)
            elif now != f.remote:
                problems.append(f"{where}: changed in Kameleoon since the plan was made")
            else:
                pending.append(f)
        if pending:
            if live.get(write.root) and not saved.allow_live:
                kind, ident = write.root
                problems.append(
                    f"{write.describe()}: {kind.value} {ident} went live (status active) since the plan "
                    "was made; visitors would run the new code at once (pause it, or make the plan again with "
                    "--allow-live)"
                )
            to_send.append(SavedWrite(write.entity, write.id, write.experiment_id, tuple(pending), write.site_code))
        else:
            applied.append(write)
    return Check(tuple(to_send), tuple(applied), tuple(problems))
