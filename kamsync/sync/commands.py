"""The everyday commands, as plain functions: options in, exit code out. The CLI only parses and dispatches."""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from kamsync.api.client import KameleoonClient
from kamsync.api.remote import read_remote
from kamsync.budget.pricing import clock_time
from kamsync.budget.quota import run_quota as quota_report_for
from kamsync.core.errors import CredentialsError, Exit, GitError, KamsyncError, UsageError
from kamsync.core.model import Entity
from kamsync.core.plan import describe_base
from kamsync.core.reports import PullResult
from kamsync.core.states import DIFFERING, State
from kamsync.git.pulled import PulledValue, check_can_merge, record_pulled
from kamsync.git.ranges import nothing_changed, pick_files
from kamsync.git.repo import GitRepo
from kamsync.git.workspace import Workspace
from kamsync.manifest.parse import MANIFEST_NAME, find_manifest, load_manifest
from kamsync.state.journal import Journal
from kamsync.state.lock import repo_lock
from kamsync.state.record import Record
from kamsync.sync.apply import run_apply
from kamsync.sync.pull import add_experiment, pull_survey
from kamsync.sync.push import run_push
from kamsync.sync.session import Options, connected, locked, open_run, rate_limit_spec, showing
from kamsync.sync.survey import Survey, belongs, survey
from kamsync.ui.console import Console, Styled
from kamsync.ui.render import base_diff, entry, pull_payload, status_line, summary, unified_diff

if TYPE_CHECKING:
    from kamsync.manifest.edit import ManifestEditor


def run_quota(opts: Options, console: Console, *, reset: bool = False) -> int:
    """Requests used and left in each window for this credential, from the ledger; ``reset`` first forgets the
    wait a server imposed on it. Sends nothing."""
    url = opts.api_url_resolved()
    client_id = opts.client_id
    if not client_id:
        raise CredentialsError("set KAMELEOON_CLIENT_ID: the quota is kept per API client")
    manifest_rate_limit = None
    # Outside a kamsync repository the environment or the default spec applies.
    with suppress(UsageError, GitError):
        manifest_rate_limit = Workspace.open(opts.manifest, opts.environ, Path.cwd()).manifest.rate_limit
    text, payload = quota_report_for(url, client_id, rate_limit_spec(opts, manifest_rate_limit), reset=reset)
    console.emit_json(payload)
    console.out(text)
    return int(Exit.OK)


def _nothing(console: Console, ws: Workspace, opts: Options, payload: dict[str, object]) -> int:
    console.info(nothing_changed(ws, opts.from_rev))
    console.emit_json({**payload, "requests": 0})
    return int(Exit.OK)


def _warn_all(console: Console, found: Survey) -> None:
    for warning in found.warnings:
        console.warn(warning)


def run_status(
    opts: Options, console: Console, paths: Sequence[str], exit_code: bool, *, changed_only: bool = False
) -> int:
    with locked(opts, "kamsync status", reader=console) as ws:
        files = pick_files(ws, paths, opts.from_rev)
        if opts.ranged and not files:
            return _nothing(console, ws, opts, {"entries": [], "new_variations": [], "warnings": []})
        with connected(opts, ws, console) as run:
            run.charge_reads(files, "kamsync status")
            found = survey(ws, files, run.client, from_rev=run.opts.from_rev)
        interrupted = Journal.at(ws.repo.state_dir()).load()
    _warn_all(console, found)
    if interrupted is not None:
        console.warn(
            f"the {interrupted.command} started at {clock_time(interrupted.started_at)} did not finish "
            f"({interrupted.done} of {len(interrupted.writes)} writes confirmed); run it again to resume it"
        )
    console.emit_json(
        {
            "entries": [entry(s) for s in found.statuses],
            "new_variations": [
                {"experiment_id": experiment_id, "variation_id": v.id, "name": v.name}
                for experiment_id, variations in found.new_variations.items()
                for v in variations
            ]
            + [
                {"experiment_id": None, "personalization_id": owner, "variation_id": v.id, "name": v.name}
                for owner, variations in found.new_personalization_variations.items()
                for v in variations
            ],
            "warnings": list(found.warnings),
        }
    )
    shown = [s for s in found.statuses if not (changed_only and s.state is State.IN_SYNC)]
    width = max((len(s.state.value) for s in shown), default=0)
    for status in shown:
        state, rest = status_line(status)
        console.out(Styled(state.ljust(width), state), f"  {rest}")
    news = [("experiment", found.new_variations), ("personalization", found.new_personalization_variations)]
    for kind, new in news:
        for owner_id, variations in new.items():
            for variation in variations:
                console.out(
                    f"new in Kameleoon: variation {variation.id} {variation.name!r} of {kind} {owner_id}; "
                    "`kamsync pull` maps it"
                )
    if not opts.json:  # the JSON holds every entry: its stderr stays for problems
        console.summary(summary(found.statuses))
    changed = any(s.state is not State.IN_SYNC for s in found.statuses)
    return int(Exit.DIFFERENCES) if exit_code and changed else int(Exit.OK)


def run_diff(opts: Options, console: Console, paths: Sequence[str], exit_code: bool) -> int:
    with locked(opts, "kamsync diff", reader=console) as ws:
        files = pick_files(ws, paths, opts.from_rev)
        if opts.ranged and not files:
            return _nothing(console, ws, opts, {"entries": []})
        with connected(opts, ws, console) as run:
            run.charge_reads(files, "kamsync diff")
            found = survey(ws, files, run.client, from_rev=run.opts.from_rev)
    _warn_all(console, found)
    differing = [s for s in found.statuses if s.state in DIFFERING]
    console.emit_json(
        {"entries": [{**entry(s), "diff": unified_diff(s), "base_diff": base_diff(s)} for s in differing]}
    )
    for status in differing:
        console.out(Styled(f"# {status.state.value}: {status.mapped.ref.describe()}", status.state.value))
        _show_diff(console, unified_diff(status))
        since = base_diff(status)
        if since is not None:
            assert status.base is not None
            console.out(f"# what changed in Kameleoon since {describe_base(status.base)}:")
            _show_diff(console, since)
    missing = [s for s in found.statuses if s.state is State.REMOTE_MISSING]
    for status in missing:
        console.info(f"{status.path}: {status.mapped.ref.describe()} no longer exists in Kameleoon")
    if not differing and not missing and not opts.json:
        console.summary(f"nothing to show: Kameleoon and the local files agree ({summary(found.statuses)})")
    return int(Exit.DIFFERENCES) if exit_code and (differing or missing) else int(Exit.OK)


def _show_diff(console: Console, diff: str) -> None:
    for line in diff.splitlines():
        key = "@" if line.startswith("@@") else line[:1] if line[:1] in "+-" and line[:3] not in ("---", "+++") else ""
        console.out(Styled(line, key) if key else line)


def run_pull(opts: Options, console: Console, paths: Sequence[str], *, experiments: Sequence[int], force: bool) -> int:
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
            console.info(nothing_changed(ws, opts.from_rev))
            return _report_pull(console, PullResult(), 0, manifest_path)
    from kamsync.manifest.edit import ManifestEditor  # ruamel, only for the commands that edit the manifest

    with repo_lock(repo.state_dir(), "kamsync pull", opts.lock_wait):
        result = PullResult()
        mapped: set[int] = set()
        maps_any = False  # the manifest maps a field (of an experiment, a personalization or the site)
        if manifest_path.exists():
            ws = Workspace(repo, load_manifest(manifest_path, repo.top, repo.git_dirs), cwd)
            mapped = {e.id for e in ws.manifest.experiments}
            maps_any = bool(ws.manifest.files())
            editor = ManifestEditor.open(manifest_path)
            rate_limit = ws.manifest.rate_limit
        else:
            editor = ManifestEditor.create(manifest_path)
            rate_limit = None
        run = open_run(opts, rate_limit, console)
        with run.client as client, showing(run.progress, console):
            new_ids = [i for i in dict.fromkeys(experiments) if i not in mapped]
            if new_ids:
                # One experiment list and one variation list per 200 ids (their variations are listed).
                run.charge(run.read_cost(len(new_ids), len(new_ids)), "mapping the experiments")
                _add_experiments(client, manifest_path.parent, editor, repo, new_ids, result)
            mapped_asked = [i for i in experiments if i in mapped]
            if maps_any and (not experiments or mapped_asked):
                ws = Workspace(repo, load_manifest(manifest_path, repo.top, repo.git_dirs), cwd)
                files = pick_files(ws, paths, opts.from_rev)
                if experiments:
                    files = tuple(f for f in files if f.ref.root_id_of(Entity.EXPERIMENT) in mapped_asked)
                if opts.ranged and not files:
                    console.info(nothing_changed(ws, opts.from_rev))
                else:
                    run.charge_reads(files, "kamsync pull")
                    found = survey(ws, files, client, from_rev=opts.from_rev)
                    _warn_all(console, found)
                    _merge(result, pull_survey(ws, found, force=force, editor=editor))
            if result.manifest_changed:
                editor.save()
            requests = client.requests_sent
        result.pulled_commit = _into_history(console, repo, manifest_path, result)
    return _report_pull(console, result, requests, manifest_path)


def _into_history(console: Console, repo: GitRepo, manifest_path: Path, result: PullResult) -> str | None:
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
        console.warn(
            f"could not record Kameleoon's values in git ({error}); commit the pulled files exactly as written, "
            "or other clones and CI will see them as edited outside git"
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
        console.warn(warning)
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


def _report_pull(console: Console, result: PullResult, requests: int, manifest_path: Path) -> int:
    console.emit_json(pull_payload(result, requests))
    for experiment_id in result.added_experiments:
        console.detail(f"mapped experiment {experiment_id} in {manifest_path.name}")
    for experiment_id, variation_id, folder in result.added_variations:
        console.detail(f"mapped variation {variation_id} of experiment {experiment_id} as {folder}/")
    for owner_id, variation_id, folder in result.added_personalization_variations:
        console.detail(f"mapped variation {variation_id} of personalization {owner_id} as {folder}/")
    for variation_id, name in result.renamed:
        console.detail(f"variation {variation_id} is now named {name!r} in Kameleoon (files stay where they are)")
    for pulled in result.written:
        if pulled.merge == "clean":
            console.detail(f"merged {pulled.path} ({pulled.state}): your edit and Kameleoon's are both kept")
        elif pulled.merge == "conflicted":
            console.error(
                f"conflict: {pulled.path} ({pulled.ref.describe()}): your edit and Kameleoon's overlap; the file "
                "now holds both between <<<<<<< local and >>>>>>> Kameleoon markers: resolve them, then commit"
            )
        else:
            console.detail(f"wrote {pulled.path} ({pulled.state})")
    if result.pulled_commit is not None:
        console.info(
            f"Kameleoon's values are recorded as commit {result.pulled_commit[:12]} and merged into your next "
            "commit (git shows a merge in progress): `git commit` makes them part of history, so other clones "
            "and CI know them"
        )
    for status in result.left_alone:
        if status.state is State.REMOTE_AHEAD:
            console.info(
                f"left alone: {status.path} is remote-ahead: Kameleoon holds code of a commit this branch lacks; "
                "merge that branch (git merge / git pull), or `kamsync pull --force` takes Kameleoon's value"
            )
            continue
        console.info(
            f"left alone: {status.path} is {status.state.value}: its news is in git; "
            "`kamsync push` sends it (or `kamsync pull --force` takes Kameleoon's value)"
        )
    for status, reason in result.refused:
        console.error(f"refused: {status.path} ({status.mapped.ref.describe()}): {reason}")
    for status in result.missing:
        console.warn(
            f"{status.path}: {status.mapped.ref.describe()} no longer exists in Kameleoon; "
            "remove it from the manifest if that is intended"
        )
    if not result.written and not result.manifest_changed and not result.refused:
        console.out("nothing to pull: no remote change to bring in")
    console.out(f"{requests} requests used")
    conflicted = any(f.merge == "conflicted" for f in result.written)
    return int(Exit.REFUSED) if result.refused or conflicted else int(Exit.OK)


__all__ = ["KamsyncError", "Options", "run_apply", "run_diff", "run_pull", "run_push", "run_status"]
