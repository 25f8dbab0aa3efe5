"""The everyday commands, as plain functions: options in, a report value out (``kamsync.ui`` shows it). The CLI
only parses, dispatches and renders."""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from kamsync.api.client import KameleoonClient
from kamsync.api.remote import read_remote
from kamsync.api.settings import describe_credential
from kamsync.budget.quota import QuotaResult, read_quota
from kamsync.core.errors import CredentialsError, Exit, GitError, KamsyncError, RefusedError, UsageError
from kamsync.core.events import NothingChanged, Unfinished, Warned
from kamsync.core.model import Entity, RemoteState
from kamsync.core.reports import DiffReport, PullReport, PullResult, StatusReport
from kamsync.core.states import DIFFERING, State
from kamsync.git.pulled import PulledValue, check_can_merge, record_pulled
from kamsync.git.ranges import pick_files
from kamsync.git.repo import GitRepo
from kamsync.git.workspace import Workspace
from kamsync.manifest.parse import MANIFEST_NAME, find_manifest, load_manifest
from kamsync.state.journal import Journal
from kamsync.state.lock import repo_lock
from kamsync.state.record import Record
from kamsync.sync.apply import run_apply
from kamsync.sync.pull import add_experiment, pull_survey
from kamsync.sync.push import run_push
from kamsync.sync.report import Report
from kamsync.sync.session import Options, Run, connected, locked, rate_limit_spec, running
from kamsync.sync.survey import belongs, survey

if TYPE_CHECKING:
    from kamsync.manifest.edit import ManifestEditor


def run_quota(opts: Options, report: Report, *, reset: bool = False) -> QuotaResult:
    """Requests used and left in each window for this credential, from the ledger; ``reset`` first forgets the
    wait a server imposed on it. Sends nothing."""
    url = opts.api_url_resolved()
    client_id = opts.client_id
    if not client_id:
        raise CredentialsError(
            "set KAMELEOON_CLIENT_ID (or log in with kamsync login): the quota is kept per API client"
        )
    login = not opts.environ.get("KAMELEOON_CLIENT_ID", "").strip()
    manifest_rate_limit = None
    # Outside a kamsync repository the environment or the default spec applies.
    with suppress(UsageError, GitError):
        manifest_rate_limit = Workspace.open(opts.manifest, opts.environ, Path.cwd()).manifest.rate_limit
    result = read_quota(
        url,
        client_id,
        rate_limit_spec(opts, manifest_rate_limit),
        reset=reset,
        location=opts.ledger_location(),
        fallback_local=opts.ledger_fallback_local,
        warn=lambda text: report(Warned(text)),
    )
    kind = "login" if login else "client_credentials"
    return replace(result, credential=describe_credential(client_id, login=login), credential_kind=kind)


def _unfinished(ws: Workspace) -> Unfinished | None:
    interrupted = Journal.at(ws.repo.state_dir()).load()
    if interrupted is None:
        return None
    return Unfinished(str(interrupted.command), interrupted.started_at, interrupted.done, len(interrupted.writes))


def run_status(
    opts: Options, report: Report, paths: Sequence[str], exit_code: bool, *, changed_only: bool = False
) -> StatusReport:
    with locked(opts, "kamsync status", reader=report) as ws:
        files = pick_files(ws, paths, opts.from_rev)
        if opts.ranged and not files:
            return StatusReport((), {}, (), int(Exit.OK), skipped=NothingChanged(opts.from_rev, ws.head))
        with connected(opts, ws, report) as run:
            run.charge_reads(files, "kamsync status")
            found = survey(ws, files, run.client, from_rev=run.opts.from_rev)
        interrupted = _unfinished(ws)
        to_create = tuple(
            f"new variation {new.name!r} of experiment {exp.id} ({new.dir}) has no id yet: "
            "`kamsync push --allow-traffic-change` creates it"
            for exp, new in ws.select_new(paths)
        )
    changed = any(s.state is not State.IN_SYNC for s in found.statuses)
    code = int(Exit.DIFFERENCES) if exit_code and changed else int(Exit.OK)
    return StatusReport(
        found.statuses,
        found.new_variations,
        (*found.warnings, *to_create),
        code,
        interrupted,
        changed_only,
        new_personalization_variations=found.new_personalization_variations,
    )


def run_diff(opts: Options, report: Report, paths: Sequence[str], exit_code: bool) -> DiffReport:
    with locked(opts, "kamsync diff", reader=report) as ws:
        files = pick_files(ws, paths, opts.from_rev)
        if opts.ranged and not files:
            return DiffReport((), (), int(Exit.OK), NothingChanged(opts.from_rev, ws.head))
        with connected(opts, ws, report) as run:
            run.charge_reads(files, "kamsync diff")
            found = survey(ws, files, run.client, from_rev=run.opts.from_rev)
    shown = any(s.state in DIFFERING or s.state is State.REMOTE_MISSING for s in found.statuses)
    return DiffReport(found.statuses, found.warnings, int(Exit.DIFFERENCES) if exit_code and shown else int(Exit.OK))


def run_pull(
    opts: Options, report: Report, paths: Sequence[str], *, experiments: Sequence[int], force: bool
) -> PullReport:
    cwd = Path.cwd()
    repo = GitRepo.discover(cwd)
    manifest_path = _manifest_for_pull(opts, repo, cwd, creating=bool(experiments))
    if opts.to_rev is not None and repo.resolve(opts.to_rev) != repo.head():
        raise UsageError(
            f"--to {opts.to_rev}: pull writes into the working tree, so --to must be the checked-out commit; "
            f"run `git checkout {opts.to_rev}` first, or leave --to out"
        )
    if opts.ranged and not experiments and manifest_path.exists():
        ws = Workspace(repo, load_manifest(manifest_path, repo.top, repo.git_dirs), cwd)
        if not pick_files(ws, paths, opts.from_rev):  # nothing to pull: no credentials needed, no request sent
            report(NothingChanged(opts.from_rev, ws.head))
            return _pulled(PullResult(), 0, manifest_path)
    with repo_lock(repo.state_dir(), "kamsync pull", opts.lock_wait):
        pull = _Pull(opts, report, repo, manifest_path, cwd)
        result, requests = pull.run(paths, experiments, force=force)
        result.pulled_commit = _into_history(report, repo, manifest_path, result)
    return _pulled(result, requests, manifest_path)


def _pulled(result: PullResult, requests: int, manifest_path: Path) -> PullReport:
    conflicted = any(f.merge == "conflicted" for f in result.written)
    code = int(Exit.REFUSED) if result.refused or conflicted else int(Exit.OK)
    return PullReport(result, requests, manifest_path.name, code)


@dataclass(slots=True)
class _Pull:
    """One pull under the repository lock: map the experiments asked for, then bring in what changed."""

    opts: Options
    report: Report
    repo: GitRepo
    manifest_path: Path
    cwd: Path
    result: PullResult = field(default_factory=PullResult)

    def run(self, paths: Sequence[str], experiments: Sequence[int], *, force: bool) -> tuple[PullResult, int]:
        from kamsync.manifest.edit import ManifestEditor  # ruamel, only for the commands that edit the manifest

        mapped: set[int] = set()
        maps_any = False  # the manifest maps a field (of an experiment, a personalization or the site)
        rate_limit = None
        if self.manifest_path.exists():
            manifest = self._workspace().manifest
            mapped = {e.id for e in manifest.experiments}
            maps_any = bool(manifest.files())
            editor = ManifestEditor.open(self.manifest_path)
            rate_limit = manifest.rate_limit
        else:
            editor = ManifestEditor.create(self.manifest_path)
        with running(self.opts, rate_limit, self.report) as run:
            client = run.client
            new_ids = [i for i in dict.fromkeys(experiments) if i not in mapped]
            if new_ids:
                # One experiment list and one variation list per 200 ids (their variations are listed).
                run.charge(run.read_cost(len(new_ids), len(new_ids)), "mapping the experiments")
                _add_experiments(client, self.manifest_path.parent, editor, self.repo, new_ids, self.result)
            mapped_asked = [i for i in experiments if i in mapped]
            if maps_any and (not experiments or mapped_asked):
                self._bring_in(run, editor, paths, mapped_asked if experiments else None, force=force)
            if self.result.manifest_changed:
                editor.save()
            return self.result, client.requests_sent

    def _workspace(self) -> Workspace:
        return Workspace(self.repo, load_manifest(self.manifest_path, self.repo.top, self.repo.git_dirs), self.cwd)

    def _bring_in(
        self, run: Run, editor: ManifestEditor, paths: Sequence[str], only: list[int] | None, *, force: bool
    ) -> None:
        """Survey the mapped fields (of the experiments in ``only``, when given) and take Kameleoon's news."""
        ws = self._workspace()
        files = pick_files(ws, paths, self.opts.from_rev)
        if only is not None:
            files = tuple(f for f in files if f.ref.root_id_of(Entity.EXPERIMENT) in only)
        if self.opts.ranged and not files:
            self.report(NothingChanged(self.opts.from_rev, ws.head))
            return
        run.charge_reads(files, "kamsync pull")
        found = survey(ws, files, run.client, from_rev=self.opts.from_rev)
        for warning in found.warnings:
            self.report(Warned(warning))
        _merge(self.result, pull_survey(ws, found, force=force, editor=editor))


def _into_history(report: Report, repo: GitRepo, manifest_path: Path, result: PullResult) -> str | None:
    """Make the values this pull brought in part of the next commit's history (see ``kamsync.git.pulled``), and
    record them as pending until that commit is in HEAD's history."""
    if not result.written:
        return None
    top = repo.top.resolve()

    def in_git(path: str | Path) -> str:
        return Path(os.path.relpath(os.path.realpath(path), top)).as_posix()

    values = [
        PulledValue(in_git(f.disk or manifest_path.parent / f.path), f.remote, f.base, None if f.base else f.written)
        for f in result.written
    ]
    if result.manifest_changed:  # the entries that map new files go into the same merge as the files
        values.append(PulledValue(in_git(manifest_path), manifest_path.read_bytes()))
    commit = None
    try:
        commit = record_pulled(repo, values, [f"{f.ref.describe()} ({f.path})" for f in result.written])
    except (GitError, OSError) as error:
        report(
            Warned(
                f"could not record Kameleoon's values in git ({error}); commit the pulled files exactly as "
                "written, or other clones and CI will see them as edited outside git"
            )
        )
    record = Record.load(repo.state_dir())
    unborn = repo.head() is None  # no history yet: the first commit is the only place the values can go
    for f in result.written:
        remote = f.remote.decode("utf-8")
        if unborn:
            record.remember(f.ref, remote)
        else:
            record.remember_pulled(f.ref, remote, remote if f.written is None else f.written.decode("utf-8"), commit)
    warning = record.save()
    if warning is not None:
        report(Warned(warning))
    return commit


def _manifest_for_pull(opts: Options, repo: GitRepo, cwd: Path, *, creating: bool) -> Path:
    try:
        return find_manifest(opts.manifest, opts.environ, cwd, stop_at=repo.top)
    except UsageError:
        if not creating:
            raise
        explicit = opts.manifest_given
        path = (cwd / explicit).resolve() if explicit else repo.top / MANIFEST_NAME
        if path.is_dir():
            path = path / MANIFEST_NAME
        if not path.parent.is_relative_to(repo.top.resolve()):
            raise UsageError(
                f"{path}: the manifest must be inside the git repository {repo.top}, where its code lives; "
                "run kamsync from that repository, or give a --manifest path inside it"
            ) from None
        return path


def _add_experiments(
    client: KameleoonClient,
    root: Path,
    editor: ManifestEditor,
    repo: GitRepo,
    ids: list[int],
    result: PullResult,
) -> None:
    remote = read_remote(client, ids, [])
    missing = [i for i in ids if i not in remote.experiments]
    if missing:
        # A wrong id on the command line is a usage error (exit 2), whatever the request that revealed it.
        raise UsageError(
            f"--experiment {', '.join(map(str, missing))}: not found in Kameleoon (or not visible to these "
            "credentials); check the id in the Kameleoon app (its URL shows it); nothing was written"
        )
    for experiment_id in ids:  # all refused before anything is written
        _refuse_code_elsewhere(remote, experiment_id)
    check_can_merge(repo)
    taken: set[str] = set()
    for experiment_id in ids:
        experiment = remote.experiments[experiment_id]
        variations = sorted(
            (v for v in remote.variations.values() if belongs(v, experiment_id, experiment.variation_ids)),
            key=lambda v: v.id,
        )
        added = add_experiment(repo, root, editor, experiment, variations, taken)
        _merge(result, added)


def _refuse_code_elsewhere(remote: RemoteState, experiment_id: int) -> None:
    """An experiment whose variation holds code Kameleoon makes (the graphic editor, a widget) or a redirect has
    no code to keep in git: files for it would later be pushed over what the editor made (as ``pull --site``
    leaves it out)."""
    experiment = remote.experiments[experiment_id]
    for variation in sorted(remote.variations.values(), key=lambda v: v.id):
        if belongs(variation, experiment_id, experiment.variation_ids) and variation.code_elsewhere is not None:
            raise RefusedError(
                f"--experiment {experiment_id}: {variation.code_elsewhere}; kamsync maps experiments whose code is "
                "written by hand (the code editor); nothing was written"
            )


def _merge(into: PullResult, other: PullResult) -> None:
    into.written.extend(other.written)
    into.refused.extend(other.refused)
    into.left_alone.extend(other.left_alone)
    into.added_experiments.extend(other.added_experiments)
    into.added_variations.extend(other.added_variations)
    into.added_personalization_variations.extend(other.added_personalization_variations)
    into.renamed.extend(other.renamed)
    into.missing.extend(other.missing)
    into.added_personalizations.extend(other.added_personalizations)
    into.manifest_changed = into.manifest_changed or other.manifest_changed


__all__ = ["KamsyncError", "Options", "run_apply", "run_diff", "run_pull", "run_push", "run_status"]
