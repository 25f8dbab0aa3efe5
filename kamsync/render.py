"""How results look: JSON payloads (documented in the README) and human text (pure: values in, strings out)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from kamsync.plan import Refusal, Write
from kamsync.pull import PullResult
from kamsync.states import FieldStatus, State


def entry(status: FieldStatus) -> dict[str, object]:
    ref = status.mapped.ref
    return {
        "experiment_id": ref.experiment_id,
        "variation_id": ref.variation_id,
        "field": ref.field,
        "path": status.path,
        "state": status.state.value,
        "live": status.live,
        "commit": status.seen.commit if status.seen else None,
    }


def write_entry(write: Write) -> dict[str, object]:
    return {
        "entity": write.entity.value,
        "id": write.entity_id,
        "experiment_id": write.experiment_id,
        "fields": [f.mapped.ref.field for f in write.fields],
        "paths": [f.path for f in write.fields],
    }


def refusal_entry(refusal: Refusal) -> dict[str, object]:
    return {**entry(refusal.status), "reason": refusal.reason, "fix": refusal.fix}


def unified_diff(status: FieldStatus) -> str:
    """Remote → local, as `git diff` shows it."""
    before = (status.remote or "").splitlines(keepends=False)
    after = (status.local or "").splitlines(keepends=False)
    lines = difflib.unified_diff(
        before,
        after,
        fromfile=f"kameleoon/{status.path}",
        tofile=f"local/{status.path}",
        lineterm="",
    )
    return "\n".join(lines)


def status_line(status: FieldStatus) -> tuple[str, str]:
    """(state, rest) so the caller can colour the state."""
    detail = status.mapped.ref.describe()
    if status.state is State.REMOTE_AHEAD and status.seen:
        detail += f"; Kameleoon holds commit {status.seen.commit[:12]}"
    if status.live and status.state is not State.IN_SYNC:
        detail += "; live"
    return status.state.value, f"{status.path}  ({detail})"


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


def pull_payload(result: PullResult, requests: int) -> dict[str, object]:
    return {
        "written": [
            {
                "path": f.path,
                "experiment_id": f.ref.experiment_id,
                "variation_id": f.ref.variation_id,
                "field": f.ref.field,
                "state": f.state,
            }
            for f in result.written
        ],
        "refused": [{**entry(s), "reason": reason} for s, reason in result.refused],
        "left_alone": [entry(s) for s in result.left_alone],
        "added_experiments": result.added_experiments,
        "added_variations": [{"experiment_id": e, "variation_id": v, "dir": d} for e, v, d in result.added_variations],
        "renamed": [{"variation_id": v, "name": n} for v, n in result.renamed],
        "missing": [entry(s) for s in result.missing],
        "manifest_changed": result.manifest_changed,
        "requests": requests,
    }
