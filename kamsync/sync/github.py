"""The use cases behind ``--format github``: plan, push and status as one ``RunReport`` each, built from the
same survey, planner and writer as ``push --dry-run --out``, ``push`` and ``status``.

Decisions stay where they are (``core.plan`` refuses, ``sync.push`` writes); this module only gathers what the
summary, the comment and the outputs show: names, diffs, refusals and outcomes per field, and the request cost.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from kamsync.core.errors import Exit, KamsyncError, ManifestError, RefusedError
from kamsync.core.events import NothingChanged, PlanSaved
from kamsync.core.model import MappedFile
from kamsync.core.plan import Plan, Write, plan_push
from kamsync.core.reports import Outcome
from kamsync.core.runreport import FieldRow, Problem, RunReport, kameleoon_to_local
from kamsync.core.savedplan import to_document
from kamsync.core.states import FieldStatus, State
from kamsync.git.ranges import pick_files
from kamsync.git.workspace import Workspace
from kamsync.state.files import write_atomic
from kamsync.state.journal import Command, Journal
from kamsync.sync.options import Options
from kamsync.sync.push import execute_plan, refuse_creation_here
from kamsync.sync.report import Report
from kamsync.sync.session import Run, connected, locked
from kamsync.sync.survey import Survey, survey

__all__ = ["failed_report", "manifest_name", "plan_report", "push_report", "status_report"]

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)")


def manifest_name(ws: Workspace) -> str:
    """The manifest relative to the top of the repository (it names the sticky comment)."""
    return _in_repo(ws, Path(ws.manifest.path))


def _in_repo(ws: Workspace, path: Path) -> str:
    return Path(os.path.relpath(os.path.realpath(path), os.path.realpath(ws.repo.top))).as_posix()


def _first_line(diff: str) -> int:
    """The first line of the local file a diff changes (where an annotation points)."""
    for line in diff.splitlines():
        found = _HUNK.match(line)
        if found:
            return max(1, int(found[1]))
    return 1


def _rows(ws: Workspace, found: Survey, plan: Plan, outcomes: Mapping[str, str]) -> tuple[FieldRow, ...]:
    refusals = {id(r.status): r for r in plan.refusals}
    rows = []
    for status in found.statuses:
        refusal = refusals.get(id(status))
        if status.state is State.IN_SYNC and refusal is None:
            continue
        rows.append(_row(ws, found, status, refusal.reason if refusal else None, refusal.fix if refusal else None,
                         outcomes.get(status.path)))  # fmt: skip
    return tuple(rows)


def _row(
    ws: Workspace, found: Survey, status: FieldStatus, refused: str | None, fix: str | None, outcome: str | None
) -> FieldRow:
    ref = status.mapped.ref
    experiment = found.remote.experiments.get(ref.experiment_id)
    variation = found.remote.variations.get(ref.variation_id) if ref.variation_id is not None else None
    missing = status.state is State.REMOTE_MISSING
    diff = "" if missing else kameleoon_to_local(status.remote, status.local, status.path)
    return FieldRow(
        file=_in_repo(ws, Path(ws.manifest.root) / status.path),
        experiment_id=ref.experiment_id,
        experiment_name=experiment.name if experiment else None,
        variation_id=ref.variation_id,
        variation_name=variation.name if variation else None,
        field=ref.field,
        state=status.state.value,
        live=status.live,
        diff=diff,
        refused=refused,
        fix=fix,
        outcome=outcome,
        line=_first_line(diff),
    )


def _finished(
    command: str, name: str, rows: tuple[FieldRow, ...], run: Run, found: Survey, plan_path: str | None = None
) -> RunReport:
    """The report of a run that read Kameleoon, with this credential's use of its longest rate window as the
    shared ledger holds it after the run."""
    window = max(run.windows, key=lambda w: w.seconds)
    view = run.budget.view()
    used = sum(1 for t in view.arrivals if t > view.now - window.seconds)
    return RunReport(
        command,
        name,
        rows,
        run.client.requests_sent,
        hour_used=used,
        hour_limit=window.limit,
        hour_window=str(window).split("/", 1)[1],
        plan_path=plan_path,
        warnings=found.warnings,
    )


def _planned(
    ws: Workspace, run: Run, files: Sequence[MappedFile], *, force: bool, allow_live: bool
) -> tuple[Survey, Plan, int]:
    reads = run.charge_reads(files, "reading the remote state")
    found = survey(ws, files, run.client, from_rev=run.opts.from_rev)
    return found, plan_push(found.statuses, force=force, allow_live=allow_live), reads


def _chosen(opts: Options, report: Report, ws: Workspace, paths: Sequence[str]) -> tuple[MappedFile, ...] | None:
    """The mapped files to look at; ``None`` (after saying so) when a range holds no mapped change."""
    files = tuple(pick_files(ws, paths, opts.from_rev))
    if opts.ranged and not files:
        report(NothingChanged(opts.from_rev, ws.head))
        return None
    return files


def plan_report(
    opts: Options, report: Report, paths: Sequence[str], *, force: bool, allow_live: bool, out: str | None,
    fail_on_changes: bool, not_read: str,
) -> RunReport:  # fmt: skip
    """``push --dry-run --out``: what the push would send and refuse, the plan saved for ``kamsync apply``.
    Without credentials (a fork pull request gets no secrets), Kameleoon is not read and that is all it says."""
    with locked(opts, "kamsync push", reader=report) as ws:
        name = manifest_name(ws)
        refuse_creation_here(opts, ws.select_new(paths), out)
        files = _chosen(opts, report, ws, paths)
        if files is None:
            return RunReport("plan", name)
        if not opts.has_credentials:
            return RunReport("plan", name, not_read=not_read)
        with connected(opts, ws, report) as run:
            found, plan, reads = _planned(ws, run, files, force=force, allow_live=allow_live)
            saved = None
            # A plan read at another commit than the checked-out one could never be applied: not saved.
            if out is not None and opts.to_rev is None and plan.writes and not plan.refusals:
                _save(ws, run, plan, out, force=force, allow_live=allow_live, reads=reads)
                report(PlanSaved(out))
                saved = out
            outcomes = {f.path: "planned" for w in plan.writes for f in w.fields}
            result = _finished("plan", name, _rows(ws, found, plan, outcomes), run, found, saved)
    code = Exit.REFUSED if result.refused else Exit.DIFFERENCES if fail_on_changes and result.changes else Exit.OK
    return _with_code(result, int(code))


def _save(ws: Workspace, run: Run, plan: Plan, out: str, *, force: bool, allow_live: bool, reads: int) -> None:
    """The plan as ``push --dry-run --out`` saves it, for ``kamsync apply``."""
    manifest = Path(ws.manifest.path).relative_to(ws.repo.top).as_posix()
    document = to_document(
        plan, api_url=run.url, head=ws.repo.head(), manifest=manifest, force=force, allow_live=allow_live, reads=reads
    )
    write_atomic(Path(os.path.abspath(out)), json.dumps(document, indent=2) + "\n")


def push_report(opts: Options, report: Report, paths: Sequence[str], *, force: bool, allow_live: bool) -> RunReport:
    """``push``: every local-changed field (of the range, when given); nothing at all when a field is refused."""
    with locked(opts, "kamsync push") as ws:
        name = manifest_name(ws)
        refuse_creation_here(opts, ws.select_new(paths), None)
        files = _chosen(opts, report, ws, paths)
        if files is None:
            return RunReport("push", name)
        journal = Journal.at(ws.repo.state_dir())
        if journal.load() is not None:
            raise RefusedError("an interrupted push or apply has not finished: run `kamsync push` to resume it")
        with connected(opts, ws, report) as run:
            found, plan, _ = _planned(ws, run, files, force=force, allow_live=allow_live)
            outcomes: dict[str, str] = {}
            code = int(Exit.REFUSED) if plan.refusals else int(Exit.OK)
            if plan.writes and not plan.refusals:
                run.charge(plan.requests, "this push")
                done = execute_plan(report, ws, run, plan, journal, Command.PUSH)
                code = done.code
                outcomes = _outcomes(done.outcome) if done.outcome is not None else {}
            result = _finished("push", name, _rows(ws, found, plan, outcomes), run, found)
    return _with_code(result, code)


def _outcomes(outcome: Outcome) -> dict[str, str]:
    """Each written path's outcome, from the push's own account of it."""
    done: list[tuple[str, Sequence[Write]]] = [
        ("written", outcome.written),
        ("skipped (locked in Kameleoon)", [w for w, _ in outcome.skipped]),
        ("failed", [w for w, _ in outcome.failed]),
        ("not attempted", outcome.not_attempted),
    ]
    return {f.path: word for word, writes in done for w in writes for f in w.fields}


def status_report(opts: Options, report: Report, paths: Sequence[str], command: str = "status") -> RunReport:
    """``status``: every mapped field that is not in sync, with its diff."""
    with locked(opts, f"kamsync {command}", reader=report) as ws:
        name = manifest_name(ws)
        files = _chosen(opts, report, ws, paths)
        if files is None:
            return RunReport(command, name)
        with connected(opts, ws, report) as run:
            run.charge_reads(files, f"kamsync {command}")
            found = survey(ws, files, run.client, from_rev=opts.from_rev)
            return _finished(command, name, _rows(ws, found, Plan((), ()), {}), run, found)


def failed_report(command: str, manifest: str, error: KamsyncError, top: Path | None) -> RunReport:
    """A run that stopped on ``error``: one problem, on the manifest line when it is a manifest error."""
    problem = Problem(str(error))
    if isinstance(error, ManifestError) and top is not None:
        problem = Problem(str(error), _error_file(error.path, top), error.line)
    return RunReport(command, manifest, problems=(problem,), exit_code=int(error.exit_code))


def _error_file(path: str, top: Path) -> str:
    """A manifest error's file relative to the top: read at a commit it is ``REV:path`` (already relative)."""
    at_commit = re.match(r"^([^:/\\]{2,}):(.+)$", path)
    if at_commit and not Path(path).exists():
        return at_commit[2]
    where = Path(path) if Path(path).is_absolute() else Path.cwd() / path
    return Path(os.path.relpath(where, top)).as_posix()


def _with_code(report: RunReport, code: int) -> RunReport:
    return replace(report, exit_code=code)
