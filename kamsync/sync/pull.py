"""Pull: bring remote code into the repository without ever losing local work."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from kamsync.core.errors import GitError, UsageError
from kamsync.core.model import (
    EXPERIMENTS,
    PERSONALIZATIONS,
    Campaign,
    ExperimentSpec,
    FieldRef,
    Manifest,
    RemoteExperiment,
    RemoteVariation,
)
from kamsync.core.normalize import file_text, normalize
from kamsync.core.paths import escape_problem
from kamsync.core.reports import PulledFile, PullResult
from kamsync.core.states import FieldStatus, State
from kamsync.git.pulled import check_can_merge
from kamsync.git.repo import GitRepo
from kamsync.git.workspace import Workspace
from kamsync.manifest.parse import slugify, unique_dir
from kamsync.state.files import write_atomic
from kamsync.sync.merge import merge3
from kamsync.sync.survey import Survey

if TYPE_CHECKING:
    from kamsync.manifest.edit import ManifestEditor  # ruamel: imported by the commands that edit

ADOPT = frozenset({State.REMOTE_CHANGED, State.REMOTE_ONLY})
ADOPT_FORCED = ADOPT | {State.LOCAL_CHANGED, State.REMOTE_AHEAD, State.CONFLICT}


def _write_code(repo: GitRepo, root: Path, path: str, code: str) -> str:
    return _write_file(repo, root, path, file_text(code))


def _write_file(repo: GitRepo, root: Path, path: str, text: str) -> str:
    """Write a pulled field's file, checked first as the manifest is: whatever a folder name from Kameleoon
    or a symlink swapped in since says, nothing is written outside the work tree or into git's own files.
    A mapped symlink is written through (its target changes, the link stays). Returns the file written."""
    problem = escape_problem(root, path, repo.top, repo.git_dirs)
    if problem is not None:
        raise UsageError(f"kamsync pull does not write '{path}': it {problem}")
    target = Path(os.path.realpath(root / path))
    write_atomic(target, text)
    return str(target)


def pull_survey(ws: Workspace, found: Survey, *, force: bool, editor: ManifestEditor) -> PullResult:
    """Adopt remote values field by field, merge fields changed on both sides three ways, refuse files with
    uncommitted changes, map new variations. Never writes Kameleoon."""
    result = PullResult()
    adopt = ADOPT_FORCED if force else ADOPT | {State.CONFLICT}
    candidates = [s for s in found.statuses if s.state in adopt]
    for status in found.statuses:
        if status.state in {State.LOCAL_CHANGED, State.REMOTE_AHEAD} and status.state not in adopt:
            result.left_alone.append(status)
    if candidates or found.new_variations or found.new_personalization_variations:
        check_can_merge(ws.repo)
    planned = _planned_files(ws, candidates, result, force=force)  # every merge is made before any file is written
    for status, text, pulled in planned:
        disk = _write_file(ws.repo, ws.root, status.path, text)
        result.written.append(replace(pulled, disk=disk))
    _map_new_variations(ws, EXPERIMENTS, found.new_variations, editor, result)
    _map_new_variations(ws, PERSONALIZATIONS, found.new_personalization_variations, editor, result)
    for kind in (EXPERIMENTS, PERSONALIZATIONS):
        _follow_renames(ws.manifest, found, kind, editor, result)
    result.missing.extend(s for s in found.statuses if s.state is State.REMOTE_MISSING)
    return result


def _planned_files(
    ws: Workspace, candidates: list[FieldStatus], result: PullResult, *, force: bool
) -> list[tuple[FieldStatus, str, PulledFile]]:
    """What each field to adopt becomes on disk (Kameleoon's value, or a three-way merge); the ones that cannot
    be taken are refused in ``result``."""
    planned: list[tuple[FieldStatus, str, PulledFile]] = []
    for status in candidates:
        if status.uncommitted:
            what = "merged" if status.state is State.CONFLICT and not force else "overwritten"
            reason = f"the file has uncommitted changes, which would be {what}; commit them, then pull again"
            result.refused.append((status, reason))
            continue
        remote = file_text(status.remote).encode("utf-8")
        if status.state is not State.CONFLICT or force:
            pulled = PulledFile(status.path, status.mapped.ref, status.state.value, remote=remote)
            planned.append((status, file_text(status.remote), pulled))
            continue
        base = (status.base.text if status.base else None) or ""
        try:
            merged = merge3(ws.repo, base, status.local or "", status.remote or "")
        except GitError as error:
            result.refused.append((status, f"cannot be merged ({error}); resolve it by hand, then pull again"))
            continue
        pulled = PulledFile(
            status.path,
            status.mapped.ref,
            status.state.value,
            merge="conflicted" if merged.conflicts else "clean",
            remote=remote,
            base=file_text(base).encode("utf-8") if merged.conflicts else None,
            written=merged.text.encode("utf-8"),
        )
        planned.append((status, merged.text, pulled))
    return planned


def _map_new_variations(
    ws: Workspace,
    kind: Campaign,
    new: Mapping[int, Sequence[RemoteVariation]],
    editor: ManifestEditor,
    result: PullResult,
) -> None:
    """Map each variation created in Kameleoon under a mapped experiment (or personalization), in a folder of its
    own, with its files."""
    added = result.added_variations if kind is EXPERIMENTS else result.added_personalization_variations
    for experiment_id, variations in sorted(new.items()):
        spec = _entries(ws.manifest, kind).get(experiment_id)
        if spec is None:
            continue
        taken = {v.dir for v in spec.variations} | _existing_dirs(ws.root / spec.dir / "variations")
        for variation in variations:
            folder = unique_dir(variation.name, str(variation.id), taken)
            taken.add(folder)
            editor.add_variation(experiment_id, variation.id, variation.name, folder, key=kind.manifest_key)
            added.append((experiment_id, variation.id, folder))
            files = _write_variation(ws.repo, ws.root, spec.dir, folder, experiment_id, variation, kind)
            result.written.extend(files)
            result.manifest_changed = True


def _entries(manifest: Manifest, kind: Campaign) -> dict[int, ExperimentSpec]:
    return {e.id: e for e in (manifest.experiments if kind is EXPERIMENTS else manifest.personalizations)}


def _follow_renames(
    manifest: Manifest, found: Survey, kind: Campaign, editor: ManifestEditor, result: PullResult
) -> None:
    """Record the new names of variations renamed in Kameleoon; their folders stay where they are."""
    renamed = _renames(manifest, found, kind)
    for variation_id, name in renamed:
        owner = next(e for e in _entries(manifest, kind).values() for v in e.variations if v.id == variation_id)
        mapped = next(v for v in owner.variations if v.id == variation_id)
        editor.set_variation_name(owner.id, variation_id, name, keep_dir=mapped.dir, key=kind.manifest_key)
        result.manifest_changed = True
    result.renamed.extend(renamed)


def _renames(manifest: Manifest, found: Survey, kind: Campaign) -> list[tuple[int, str]]:
    """Variations renamed in Kameleoon, among those the survey covered."""
    surveyed = {s.mapped.ref.variation_id for s in found.statuses}
    renamed = []
    for experiment in _entries(manifest, kind).values():
        for spec in experiment.variations:
            if spec.id not in surveyed:
                continue
            remote = found.remote.variations.get(spec.id)
            if remote is not None and remote.name and remote.name != spec.name:
                renamed.append((spec.id, remote.name))
    return renamed


def _existing_dirs(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()


def _write_variation(
    repo: GitRepo,
    root: Path,
    experiment_dir: str,
    folder: str,
    experiment_id: int,
    variation: RemoteVariation,
    kind: Campaign = EXPERIMENTS,
) -> list[PulledFile]:
    """Write a variation's files; ``kind`` says whether it belongs to an experiment or a personalization."""
    written = []
    for code_field in kind.variation_fields:
        path = f"{experiment_dir}/variations/{folder}/{code_field.default_file}"
        code = normalize(variation.code.get(code_field.api_name, ""))
        disk = _write_code(repo, root, path, code)
        ref = FieldRef(code_field.entity, variation.id, code_field.api_name, experiment_id)
        written.append(PulledFile(path, ref, "new", remote=file_text(code).encode("utf-8"), disk=disk))
    return written


def experiment_dir_for(
    root: Path, experiment: RemoteExperiment, taken_dirs: Collection[str], campaign: Campaign = EXPERIMENTS
) -> str:
    """``experiments/<id>-<slug of its name>`` (``personalizations/…`` for one): readable, and unique by its id;
    suffixed when that folder is taken or already holds files."""
    slug = slugify(experiment.name)
    top = campaign.manifest_key
    base = f"{top}/{experiment.id}-{slug}" if slug else f"{top}/{experiment.id}"
    experiment_dir = base
    suffix = 2
    folded = {t.casefold() for t in taken_dirs}
    while experiment_dir.casefold() in folded or (
        (root / experiment_dir).exists() and any((root / experiment_dir).iterdir())
    ):
        experiment_dir = f"{base}-{suffix}"
        suffix += 1
    return experiment_dir


def add_experiment(
    repo: GitRepo,
    root: Path,
    editor: ManifestEditor,
    experiment: RemoteExperiment,
    variations: Sequence[RemoteVariation],
    taken_dirs: set[str],
    experiment_dir: str | None = None,
    campaign: Campaign = EXPERIMENTS,
) -> PullResult:
    """Map a Kameleoon experiment (or, by ``campaign``, a personalization) that the manifest does not know yet,
    and write all its files (empty ones too), in ``experiment_dir`` when given (else as ``experiment_dir_for``
    picks it)."""
    personalization = campaign is PERSONALIZATIONS
    result = PullResult(manifest_changed=True)
    (result.added_personalizations if personalization else result.added_experiments).append(experiment.id)
    if experiment_dir is None:
        experiment_dir = experiment_dir_for(root, experiment, taken_dirs, campaign)
    for code_field in campaign.fields:
        path = f"{experiment_dir}/{code_field.default_file}"
        code = normalize(experiment.code.get(code_field.api_name, ""))
        disk = _write_code(repo, root, path, code)
        ref = FieldRef(campaign.entity, experiment.id, code_field.api_name)
        result.written.append(PulledFile(path, ref, "new", remote=file_text(code).encode("utf-8"), disk=disk))
    entries: list[tuple[int, str, str]] = []
    folders: set[str] = set()
    added = result.added_personalization_variations if personalization else result.added_variations
    for variation in variations:
        folder = unique_dir(variation.name, str(variation.id), folders)
        folders.add(folder)
        entries.append((variation.id, variation.name, folder))
        result.written.extend(_write_variation(repo, root, experiment_dir, folder, experiment.id, variation, campaign))
        added.append((experiment.id, variation.id, folder))
    editor.add_experiment(experiment.id, experiment_dir, entries, key=campaign.manifest_key)
    return result
