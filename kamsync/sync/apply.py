"""``kamsync apply``: execute a saved plan exactly, or refuse when anything it saw has changed."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from kamsync.api.remote import read_remote
from kamsync.core.errors import Exit, RefusedError, UsageError
from kamsync.core.events import JournalForgotten
from kamsync.core.model import Entity, FieldRef, MappedFile, Wanted
from kamsync.core.normalize import normalize
from kamsync.core.plan import Plan, Write
from kamsync.core.reports import PlanReport
from kamsync.core.savedplan import SavedPlan, SavedWrite, check, from_document
from kamsync.core.states import FieldStatus, State
from kamsync.git.workspace import Workspace
from kamsync.manifest.parse import read_code
from kamsync.state.journal import Command, Interrupted, Journal
from kamsync.sync.push import drift_refusals, execute_plan, resuming
from kamsync.sync.report import Report
from kamsync.sync.session import Options, Run, session
from kamsync.sync.survey import UNKNOWN, is_live, remote_value

__all__ = ["plan_statuses", "run_apply"]


def run_apply(opts: Options, report: Report, plan_file: str, *, discard_journal: bool = False) -> PlanReport:
    """Execute a saved plan exactly, or refuse (exit 3, nothing written) when anything it saw has changed."""
    saved = _load_plan(plan_file)
    with session(opts, "kamsync apply", report) as (ws, run):
        manifest = _check_made_for(saved, plan_file, ws, run)
        journal = Journal.at(ws.repo.state_dir())
        tag = hashlib.sha256(Path(plan_file).read_bytes()).hexdigest()
        interrupted = _interrupted(report, journal, tag, discard=discard_journal)
        plan, problems = _recheck(saved, ws, run, manifest, interrupted)
        if problems:
            requests = run.client.requests_sent
            return PlanReport(str(Command.APPLY), False, plan, requests, int(Exit.REFUSED), problems=problems)
        if plan.is_empty:
            journal.clear()
            return PlanReport(str(Command.APPLY), False, plan, run.client.requests_sent, int(Exit.OK))
        run.charge(plan.requests, "this plan")
        return execute_plan(report, ws, run, plan, journal, Command.APPLY, tag)


def _check_made_for(saved: SavedPlan, plan_file: str, ws: Workspace, run: Run) -> str:
    """The manifest's path in the repository, once the plan is known to be made for this API and manifest."""
    if saved.api_url.rstrip("/") != run.url:
        raise UsageError(
            f"{plan_file} was made for {saved.api_url}, not {run.url}; apply it with the same API URL, "
            "or make a new plan"
        )
    manifest = Path(ws.manifest.path).relative_to(ws.repo.top).as_posix()
    if saved.manifest != manifest:
        raise UsageError(f"{plan_file} was made for the manifest {saved.manifest}, not {manifest}")
    return manifest


def _interrupted(report: Report, journal: Journal, tag: str, *, discard: bool) -> Interrupted | None:
    """The interrupted apply of this very plan, which this run finishes; any other unfinished run refuses it."""
    interrupted = journal.load()
    if interrupted is not None and discard:
        journal.clear()
        report(JournalForgotten(str(interrupted.command)))
        return None
    if interrupted is None:
        return None
    if interrupted.command is not Command.APPLY or interrupted.tag != tag:
        what = "push" if interrupted.command is Command.PUSH else "apply of another plan"
        finish = "`kamsync push`" if what == "push" else "applying that plan again"
        raise RefusedError(
            f"an interrupted {what} has not finished: finish it first ({finish}), or pass "
            "--discard-journal to forget it and apply this plan; nothing was sent"
        )
    report(resuming(interrupted, dry_run=False))
    return interrupted


def _recheck(
    saved: SavedPlan, ws: Workspace, run: Run, manifest: str, interrupted: Interrupted | None
) -> tuple[Plan, tuple[str, ...]]:
    """The plan still to send, and every way the saved plan no longer matches what is there now."""
    mapped = {mf.ref: mf for mf in ws.manifest.files()}
    problems: list[str] = []
    planned: list[MappedFile] = []
    for write in saved.writes:
        for f in write.fields:
            ref = write.ref(f)
            mf = mapped.get(ref)
            if mf is None or mf.path != f.path:
                problems.append(f"{ref.describe()} ({f.path}): no longer mapped so in {manifest}")
            else:
                planned.append(mf)
    run.charge_reads(planned, "reading the remote state")
    wanted = Wanted.of(planned)
    remote = read_remote(
        run.client,
        wanted.experiments,
        wanted.variations,
        personalization_ids=wanted.personalizations,
        site_codes=wanted.sites,
    )
    remote_now: dict[FieldRef, str | None] = {}
    local_now: dict[str, str | None] = {}
    live: dict[tuple[Entity, int], bool] = {}
    for mf in planned:
        value = remote_value(mf, remote)
        remote_now[mf.ref] = None if value is UNKNOWN else value  # type: ignore[assignment]
        local_now[mf.path] = read_code(ws.manifest, mf, ws.repo.top, ws.repo.git_dirs)
        live[(mf.ref.root, mf.ref.root_id)] = is_live(mf, remote)
    verdict = check(saved, remote_now, local_now, live)
    problems.extend(verdict.problems)
    plan = _plan_from(verdict.to_send, mapped, remote_now, live) if not problems else Plan((), ())
    if interrupted is not None:
        drifted = drift_refusals(interrupted, plan_statuses(plan))
        problems.extend(f"{r.status.mapped.ref.describe()} ({r.status.path}): {r.reason}" for r in drifted)
    return plan, tuple(problems)


def plan_statuses(plan: Plan) -> tuple[FieldStatus, ...]:
    return tuple(f for w in plan.writes for f in w.fields)


def _load_plan(plan_file: str) -> SavedPlan:
    try:
        text = Path(plan_file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{plan_file}: no such file; make a plan with `kamsync push --dry-run --out FILE`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{plan_file}: cannot read it ({exc})") from None
    try:
        return from_document(text)
    except ValueError as exc:
        raise UsageError(f"{plan_file}: {exc}") from None


def _plan_from(
    writes: Sequence[SavedWrite],
    mapped: dict[FieldRef, MappedFile],
    remote: dict[FieldRef, str | None],
    live: dict[tuple[Entity, int], bool],
) -> Plan:
    planned = []
    for write in writes:
        statuses = tuple(
            FieldStatus(
                mapped=mapped[write.ref(f)],
                state=State(f.state),
                local=normalize(f.local),
                remote=remote.get(write.ref(f)),
                live=live.get(write.root, False),
                raw_local=f.local,
            )
            for f in write.fields
        )
        planned.append(Write(write.entity, write.id, write.experiment_id, statuses))
    return Plan(tuple(planned), ())
