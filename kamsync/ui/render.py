"""The pieces every family's renderer shares (pure: values in, strings and JSON members out): a field's JSON
entry, a write's, a refusal's; a field's status line; the unified diffs; the count per state."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from kamsync.core.model import Entity, FieldRef
from kamsync.core.plan import Refusal, Write, describe_base
from kamsync.core.states import EDITED_REMOTELY, FieldStatus, State


def ids(ref: FieldRef) -> dict[str, object]:
    """Which object a field belongs to, in every JSON entry: its kind and id, its experiment or personalization
    (the other one null), its variation (null where there is none); the site's entity id is null, its code
    says which it is."""
    named: dict[str, object] = {
        "kind": ref.entity.value,
        "entity_id": None if ref.entity is Entity.SITE else ref.entity_id,
        "experiment_id": ref.root_id_of(Entity.EXPERIMENT),
        "personalization_id": ref.root_id_of(Entity.PERSONALIZATION),
        "variation_id": ref.variation_id,
    }
    if ref.entity is Entity.SITE:
        named["site_code"] = ref.site_code
    return named


def entry(status: FieldStatus) -> dict[str, object]:
    ref = status.mapped.ref
    return {
        **ids(ref),
        "field": ref.field,
        "path": status.path,
        "state": status.state.value,
        "live": status.live,
        "commit": status.seen.commit if status.seen else None,
        "base": status.base.payload() if status.base else None,
        "uncommitted": status.uncommitted,
    }


def write_entry(write: Write) -> dict[str, object]:
    """A planned write; one of a personalization, its variations or the site also says which (an experiment's
    entry stays as it always was)."""
    root = write.fields[0].mapped.ref.root if write.fields else Entity.EXPERIMENT
    named: dict[str, object] = {
        "entity": write.entity.value,
        "id": write.entity_id,
        "experiment_id": write.root_id if root is Entity.EXPERIMENT else None,
        "fields": [f.mapped.ref.field for f in write.fields],
        "paths": [f.path for f in write.fields],
    }
    if root is not Entity.EXPERIMENT:
        named["id"] = None if write.entity is Entity.SITE else write.entity_id
        named["personalization_id"] = write.root_id if root is Entity.PERSONALIZATION else None
    if write.entity is Entity.SITE:
        named["site_code"] = write.fields[0].mapped.ref.site_code
    return named


def refusal_entry(refusal: Refusal) -> dict[str, object]:
    return {**entry(refusal.status), "reason": refusal.reason, "fix": refusal.fix}


def unified_diff(status: FieldStatus) -> str:
    """Remote → local, as `git diff` shows it."""
    return _diff(status.remote, status.local, f"kameleoon/{status.path}", f"local/{status.path}")


def base_diff(status: FieldStatus) -> str | None:
    """For a field edited in Kameleoon: what changed there since the base (base → Kameleoon); else ``None``."""
    if status.state not in EDITED_REMOTELY or status.base is None:
        return None
    return _diff(status.base.text, status.remote, f"base/{status.path}", f"kameleoon/{status.path}")


def _diff(before: str | None, after: str | None, before_name: str, after_name: str) -> str:
    lines = difflib.unified_diff(
        (before or "").splitlines(keepends=False),
        (after or "").splitlines(keepends=False),
        fromfile=before_name,
        tofile=after_name,
        lineterm="",
    )
    return "\n".join(lines)


def status_line(status: FieldStatus) -> tuple[str, str]:
    """(state, rest) so the caller can colour the state."""
    detail = status.mapped.ref.describe()
    if status.state is State.REMOTE_AHEAD and status.seen:
        detail += f"; Kameleoon holds commit {status.seen.commit[:12]}"
    if status.state in EDITED_REMOTELY and status.base is not None:
        detail += f"; base: {describe_base(status.base)}"
    if status.live and status.state is not State.IN_SYNC:
        detail += "; live"
    marker = " (uncommitted)" if status.uncommitted else ""
    return status.state.value, f"{status.path}{marker}  ({detail})"


def summary(statuses: Iterable[FieldStatus]) -> str:
    counts: dict[str, int] = {}
    total = 0
    for status in statuses:
        counts[status.state.value] = counts.get(status.state.value, 0) + 1
        total += 1
    if not total:
        return "no mapped field"
    parts = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    return f"{total} field{'s' if total != 1 else ''}: {parts}"
