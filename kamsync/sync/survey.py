"""Survey: read local files, remote state and git history, and give every mapped field its verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kamsync.api.client import KameleoonClient
from kamsync.api.remote import read_remote
from kamsync.core.model import Entity, Manifest, MappedFile, RemoteState, RemoteVariation, Wanted
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
    # The same under a surveyed personalization.
    new_personalization_variations: Mapping[int, tuple[RemoteVariation, ...]] = field(default_factory=dict)


def remote_value(mapped: MappedFile, remote: RemoteState) -> str | object | None:
    """The normalised remote value of a mapped field; ``None`` when its entity is missing remotely."""
    ref = mapped.ref
    if ref.entity is Entity.SITE:
        site = remote.sites.get(ref.site_code or "")
        if site is None:
            return None
        return UNKNOWN if site.tracking_script is None else normalize(site.tracking_script)
    owner = remote.campaign(ref.root, ref.root_id)
    if owner is None:
        return None
    code: Mapping[str, str] = owner.code
    if ref.variation_id is not None:
        variation = remote.variations.get(ref.variation_id)
        if variation is None or not belongs(variation, ref.root_id, owner.variation_ids, ref.root):
            return None
        code = variation.code
    if ref.field not in code:
        return UNKNOWN
    return normalize(code[ref.field])


def is_live(mapped: MappedFile, remote: RemoteState) -> bool:
    """Whether visitors run this field's code now: its experiment or personalization is active; the site's
    global script runs for every visitor of the site, always."""
    ref = mapped.ref
    if ref.entity is Entity.SITE:
        return True
    owner = remote.campaign(ref.root, ref.root_id)
    return bool(owner and owner.is_live)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def belongs(
    variation: RemoteVariation, owner_id: int, listed: Sequence[int] | None, kind: Entity = Entity.EXPERIMENT
) -> bool:
    """Whether ``variation`` is one of experiment ``owner_id``'s (or, by ``kind``, personalization's): as it
    says itself, else as its owner lists it."""
    mine, other = variation.experiment_id, variation.personalization_id
    if kind is Entity.PERSONALIZATION:
        mine, other = other, mine
    if mine is not None:
        return mine == owner_id
    if other is not None:
        return False
    return listed is None or variation.id in listed


def unmapped_variations(
    manifest: Manifest, remote: RemoteState, experiment_ids: set[int], kind: Entity = Entity.EXPERIMENT
) -> dict[int, tuple[RemoteVariation, ...]]:
    """The variations of these experiments (or, by ``kind``, personalizations) the manifest does not map: those
    that name one as theirs, or that it lists without naming an owner."""
    mapped = set(manifest.variation_ids())
    found: dict[int, list[RemoteVariation]] = {}
    for variation in sorted(remote.variations.values(), key=lambda v: v.id):
        if variation.id in mapped:
            continue
        owner = variation.personalization_id if kind is Entity.PERSONALIZATION else variation.experiment_id
        for experiment_id in experiment_ids:
            experiment = remote.campaign(kind, experiment_id)
            listed = experiment.variation_ids if experiment else None
            if owner == experiment_id or (owner is None and listed is not None and variation.id in listed):
                found.setdefault(experiment_id, []).append(variation)
    return {k: tuple(v) for k, v in found.items()}


def survey(ws: Workspace, files: Sequence[MappedFile], client: object, *, from_rev: str | None = None) -> Survey:
    """Verdicts for ``files``: one remote read (lists filtered by id), one history walk, no per-field request.

    Local files are read from the workspace's source (the work tree, or the ``--to`` commit), and that commit
    plays HEAD's part in the drift rules; ``from_rev`` (``--from``, the hook's remote sha) is the deployed
    commit when given. Values seen equal on both sides become the fields' recorded base."""
    manifest = ws.manifest
    raw_local = ws.source.read_codes(manifest, files)
    remote = _read(client, files)  # type: ignore[arg-type]
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
        live = is_live(mf, remote)
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
    whole = _whole_experiments(manifest, files, Entity.PERSONALIZATION)
    new_p = unmapped_variations(manifest, remote, whole, Entity.PERSONALIZATION)
    return Survey(tuple(statuses), remote, new, tuple(warnings), new_p)


def _read(client: KameleoonClient, files: Sequence[MappedFile]) -> RemoteState:
    """One read of everything ``files`` map: a filtered list per kind."""
    wanted = Wanted.of(files)
    return read_remote(
        client,
        wanted.experiments,
        wanted.variations,
        personalization_ids=wanted.personalizations,
        site_codes=wanted.sites,
    )


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


def _whole_experiments(manifest: Manifest, files: Sequence[MappedFile], kind: Entity = Entity.EXPERIMENT) -> set[int]:
    """The experiments (or, by ``kind``, personalizations) every file of which is surveyed: new variations are
    only looked for under those (PATHS may restrict a command to part of one)."""
    chosen = set(files)
    entries = manifest.personalizations if kind is Entity.PERSONALIZATION else manifest.experiments
    return {e.id for e in entries if all(f in chosen for f in e.all_files())}
