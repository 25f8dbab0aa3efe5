"""The use cases behind ``--format github``: plan, push and status as one ``RunReport`` each, built from the
same survey, planner and writer as ``push --dry-run --out``, ``push`` and ``status``.

Decisions stay where they are (``core.plan`` refuses, ``sync.push`` writes); this module only gathers what the
summary, the comment and the outputs show: names, diffs, refusals and outcomes per field, and the request cost.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from kamsync.budget.ledger import read_arrivals
from kamsync.core.errors import Exit, KamsyncError, ManifestError, RefusedError
from kamsync.core.model import MappedFile
from kamsync.core.plan import Plan, plan_push
from kamsync.core.runreport import FieldRow, Problem, RunReport
from kamsync.core.states import FieldStatus, State
from kamsync.git.ranges import nothing_changed, pick_files
from kamsync.git.workspace import Workspace
from kamsync.state.journal import Command, Journal
from kamsync.sync.options import Options
from kamsync.sync.push import execute_plan, payload_of, refuse_creation_here, save_plan
from kamsync.sync.session import Run, connected, locked
from kamsync.sync.survey import Survey, survey
from kamsync.ui.console import Console
from kamsync.ui.render import unified_diff

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
    diff = unified_diff(status) if status.state is not State.REMOTE_MISSING else ""
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
    now = time.time()
    arrivals = read_arrivals(run.state_dir, run.url, run.client_id, run.windows, now=now).arrivals
    used = sum(1 for t in arrivals if t > now - window.seconds)
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


def plan_report(
    opts: Options, console: Console, paths: Sequence[str], *, force: bool, allow_live: bool, out: str | None,
    fail_on_changes: bool, not_read: str,
) -> RunReport:  # fmt: skip
    """``push --dry-run --out``: what the push would send and refuse, the plan saved for ``kamsync apply``.
    Without credentials (a fork pull request gets no secrets), Kameleoon is not read and that is all it says."""
    with locked(opts, "kamsync push", reader=console) as ws:
        name = manifest_name(ws)
        refuse_creation_here(opts, ws.select_new(paths), out)
        files = pick_files(ws, paths, opts.from_rev)
        if opts.ranged and not files:
            console.info(nothing_changed(ws, opts.from_rev))
            return RunReport("plan", name)
        if not opts.has_credentials:
            return RunReport("plan", name, not_read=not_read)
        with connected(opts, ws, console) as run:
            found, plan, reads = _planned(ws, run, files, force=force, allow_live=allow_live)
            saved = None
            # A plan read at another commit than the checked-out one could never be applied: not saved.
            if out is not None and opts.to_rev is None and plan.writes and not plan.refusals:
                save_plan(console, ws, run, plan, out, force=force, allow_live=allow_live, reads=reads)
                saved = out
            outcomes = {f.path: "planned" for w in plan.writes for f in w.fields}
            report = _finished("plan", name, _rows(ws, found, plan, outcomes), run, found, saved)
    code = Exit.REFUSED if report.refused else Exit.DIFFERENCES if fail_on_changes and report.changes else Exit.OK
    return _with_code(report, int(code))


def push_report(opts: Options, console: Console, paths: Sequence[str], *, force: bool, allow_live: bool) -> RunReport:
    """``push``: every local-changed field (of the range, when given); nothing at all when a field is refused."""
    with locked(opts, "kamsync push") as ws:
        name = manifest_name(ws)
        refuse_creation_here(opts, ws.select_new(paths), None)
        files = pick_files(ws, paths, opts.from_rev)
        if opts.ranged and not files:
            console.info(nothing_changed(ws, opts.from_rev))
            return RunReport("push", name)
        journal = Journal.at(ws.repo.state_dir())
        if journal.load() is not None:
            raise RefusedError("an interrupted push or apply has not finished: run `kamsync push` to resume it")
        with connected(opts, ws, console) as run:
            found, plan, _ = _planned(ws, run, files, force=force, allow_live=allow_live)
            outcomes: dict[str, str] = {}
            code = int(Exit.REFUSED) if plan.refusals else int(Exit.OK)
            if plan.writes and not plan.refusals:
                run.charge(plan.requests, "this push")
                payload = payload_of(False, plan)
                code = execute_plan(console, ws, run, plan, payload, journal, Command.PUSH)
                outcomes = _outcomes(payload)
            rows = _rows(ws, found, plan, outcomes)
            report = _finished("push", name, rows, run, found)
    return _with_code(report, code)


def _outcomes(payload: Mapping[str, object]) -> dict[str, str]:
    """Each written path's outcome, from the push's own account of it."""
    outcomes: dict[str, str] = {}
    for key, word in (("written", "written"), ("skipped", "skipped (locked in Kameleoon)"),
                      ("failed", "failed"), ("not_attempted", "not attempted")):  # fmt: skip
        entries = payload.get(key)
        for write in entries if isinstance(entries, list) else ():
            for path in write["paths"]:
                outcomes[path] = word
    return outcomes


def status_report(opts: Options, console: Console, paths: Sequence[str], command: str = "status") -> RunReport:
    """``status``: every mapped field that is not in sync, with its diff."""
    with locked(opts, f"kamsync {command}", reader=console) as ws:
        name = manifest_name(ws)
        files = pick_files(ws, paths, opts.from_rev)
        if opts.ranged and not files:
            console.info(nothing_changed(ws, opts.from_rev))
            return RunReport(command, name)
        with connected(opts, ws, console) as run:
            run.charge_reads(files, f"kamsync {command}")
            found = survey(ws, files, run.client, from_rev=opts.from_rev)
            rows = _rows(ws, found, Plan((), ()), {})
            return _finished(command, name, rows, run, found)


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
