"""Survey: read local files, remote state and git history, and give every mapped field its verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kamsync.api.remote import read_remote
from kamsync.core.model import Manifest, MappedFile, RemoteState, RemoteVariation
from kamsync.core.normalize import normalize
from kamsync.core.states import FieldStatus, State
from kamsync.git.lineage import uncommitted
from kamsync.git.workspace import Workspace
from kamsync.state.record import Record
from kamsync.sync.judge import judge, save_quietly

UNKNOWN = object()  # the API did not return this field: nothing can be said about it


@dataclass(frozen=True, slots=True)
class Survey:
    statuses: tuple[FieldStatus, ...]
    remote: RemoteState
    # Variations Kameleoon lists under a surveyed experiment that the manifest does not map yet.
    new_variations: Mapping[int, tuple[RemoteVariation, ...]]
    warnings: tuple[str, ...]


def remote_value(mapped: MappedFile, remote: RemoteState) -> str | object | None:
    """The normalised remote value of a mapped field; ``None`` when its entity is missing remotely."""
    ref = mapped.ref
    experiment = remote.experiments.get(ref.experiment_id)
    if experiment is None:
        return None
    code: Mapping[str, str] = experiment.code
    if ref.variation_id is not None:
        variation = remote.variations.get(ref.variation_id)
        if variation is None or not belongs(variation, ref.experiment_id, experiment.variation_ids):
            return None
        code = variation.code
    if ref.field not in code:
        return UNKNOWN
    return normalize(code[ref.field])


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def belongs(variation: RemoteVariation, experiment_id: int, listed: Sequence[int] | None) -> bool:
    if variation.experiment_id is not None:
        return variation.experiment_id == experiment_id
    return listed is None or variation.id in listed


def unmapped_variations(
    manifest: Manifest, remote: RemoteState, experiment_ids: set[int]
) -> dict[int, tuple[RemoteVariation, ...]]:
    mapped = set(manifest.variation_ids())
    found: dict[int, list[RemoteVariation]] = {}
    for variation in sorted(remote.variations.values(), key=lambda v: v.id):
        if variation.id in mapped:
            continue
        for experiment_id in experiment_ids:
            experiment = remote.experiments.get(experiment_id)
            listed = experiment.variation_ids if experiment else None
            if variation.experiment_id == experiment_id or (
                variation.experiment_id is None and listed is not None and variation.id in listed
            ):
                found.setdefault(experiment_id, []).append(variation)
    return {k: tuple(v) for k, v in found.items()}


def survey(ws: Workspace, files: Sequence[MappedFile], client: object, *, from_rev: str | None = None) -> Survey:
    """Verdicts for ``files``: one remote read (lists filtered by id), one history walk, no per-field request.

    Local files are read from the workspace's source (the work tree, or the ``--to`` commit), and that commit
    plays HEAD's part in the drift rules; ``from_rev`` (``--from``, the hook's remote sha) is the deployed
    commit when given. Values seen equal on both sides become the fields' recorded base."""
    manifest = ws.manifest
    raw_local = ws.source.read_codes(manifest, files)
    experiment_ids = {mf.ref.experiment_id for mf in files}
    variation_ids = {mf.ref.variation_id for mf in files if mf.ref.variation_id is not None}
    remote = read_remote(client, sorted(experiment_ids), sorted(variation_ids))  # type: ignore[arg-type]
    warnings: list[str] = []
    values = _remote_values(files, remote, warnings)
    local = {mf: (None if raw is None else normalize(raw)) for mf, raw in raw_local.items()}
    record = Record.load(ws.repo.state_dir())
    verdicts = judge(ws, local, values, record, from_rev)
    dirty: set[str] = set()
    if ws.tree is None:
        dirty = uncommitted(ws.repo, {ws.top_relative(mf.path): raw_local[mf] for mf in values})
    statuses: list[FieldStatus] = []
    for mf, value in values.items():
        judged = verdicts.get(mf)
        if judged is None:
            continue
        verdict, seen, base = judged
        committed = ws.top_relative(mf.path) not in dirty  # a value only the working tree holds is no base yet
        if verdict.state is State.IN_SYNC and value is not None and committed and not record.knows(mf.ref, value):
            record.remember(mf.ref, value)
        experiment = remote.experiments.get(mf.ref.experiment_id)
        live = bool(experiment and experiment.is_live)
        raw = raw_local[mf]
        statuses.append(
            FieldStatus(mf, verdict.state, local[mf], value, live, seen, raw, base, uncommitted=not committed)
        )
    if not ws.read_only:
        save_quietly(record, warnings)
    if ws.repo.is_shallow():
        warnings.append(
            "this is a shallow clone: values from commits it lacks look like edits made in Kameleoon, so verdicts "
            "may be wrong; run `git fetch --unshallow`"
        )
    new = unmapped_variations(manifest, remote, _whole_experiments(manifest, files))
    return Survey(tuple(statuses), remote, new, tuple(warnings))


def _remote_values(
    files: Sequence[MappedFile], remote: RemoteState, warnings: list[str]
) -> dict[MappedFile, str | None]:
    """The remote value of each field that can be judged; a warning for each one Kameleoon did not return
    usably."""
    values: dict[MappedFile, str | None] = {}
    for mf in files:
        value = remote_value(mf, remote)
        if value is UNKNOWN:
            warnings.append(f"Kameleoon did not return {mf.ref.describe()}; {mf.path} is left out")
            continue
        if isinstance(value, str) and not _encodable(value):
            warnings.append(
                f"Kameleoon returned {mf.ref.describe()} as text that is not valid Unicode (a lone surrogate); "
                f"{mf.path} is left out: fix the field in the Kameleoon app"
            )
            continue
        values[mf] = value  # type: ignore[assignment]
    return values


def _whole_experiments(manifest: Manifest, files: Sequence[MappedFile]) -> set[int]:
    """The experiments every file of which is surveyed: new variations are only looked for under those (PATHS
    may restrict a command to part of one)."""
    chosen = set(files)
    return {
        e.id
        for e in manifest.experiments
        if all(f in chosen for f in (*e.files, *(f for v in e.variations for f in v.files)))
    }
