"""``kamsync push``: plan, price, journal, write, and say exactly what happened (``apply`` shares the writing)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kamsync.core.errors import Exit, RefusedError, UsageError
from kamsync.core.events import (
    BackupSaved,
    CreationPlanned,
    Included,
    JournalForgotten,
    NothingChanged,
    PlanSaved,
    PushingUncommitted,
    Resuming,
    Unfinished,
    VariationCreated,
    Warned,
    Written,
)
from kamsync.core.model import ExperimentSpec, MappedFile, NewVariationSpec
from kamsync.core.plan import Plan, Refusal, Write, plan_push
from kamsync.core.reports import PlanReport
from kamsync.core.savedplan import to_document
from kamsync.core.states import FieldStatus
from kamsync.git.ranges import pick_files
from kamsync.git.workspace import Workspace
from kamsync.state.files import write_atomic
from kamsync.state.journal import Command, FieldKey, Interrupted, Journal, drift
from kamsync.state.record import Record
from kamsync.sync.create import execute_creations, plan_creations
from kamsync.sync.report import Report
from kamsync.sync.session import Options, Run, connected, locked
from kamsync.sync.survey import survey
from kamsync.sync.writes import execute, save_backup

__all__ = ["drift_refusals", "execute_plan", "refuse_creation_here", "resuming", "run_push"]


def run_push(
    opts: Options,
    report: Report,
    paths: Sequence[str],
    *,
    dry_run: bool,
    exit_code: bool,
    force: bool,
    allow_live: bool,
    out: str | None = None,
    discard_journal: bool = False,
    allow_traffic_change: bool = False,
) -> PlanReport:
    if out is not None and not dry_run:
        raise UsageError("--out saves a plan without sending it: use it with --dry-run, then `kamsync apply FILE`")
    if out is not None and opts.to_rev is not None:
        raise UsageError(
            "--out with --to: `kamsync apply` checks a plan against the working tree, so a plan read at another "
            "commit could never be applied; check that commit out and leave --to out"
        )
    with locked(opts, "kamsync push", reader=report if dry_run else None) as ws:
        wanted = ws.select_new(paths)
        refuse_creation_here(opts, wanted, out)
        files = pick_files(ws, paths, opts.from_rev)
        if opts.ranged and not files:
            skipped = NothingChanged(opts.from_rev, ws.head)
            return PlanReport(str(Command.PUSH), dry_run, Plan((), ()), 0, int(Exit.OK), skipped=skipped)
        with connected(opts, ws, report) as run:
            if wanted:
                ws = _create_first(
                    report,
                    ws,
                    run,
                    wanted,
                    dry_run=dry_run,
                    allow_traffic_change=allow_traffic_change,
                    allow_live=allow_live,
                )
                files = pick_files(ws, paths, opts.from_rev)
            push = _Push(report, ws, run, dry_run=dry_run, force=force, allow_live=allow_live)
            return push.push(files, exit_code=exit_code, out=out, discard_journal=discard_journal)


def refuse_creation_here(
    opts: Options, wanted: Sequence[tuple[ExperimentSpec, NewVariationSpec]], out: str | None
) -> None:
    """Creations are made from a working copy, then committed: a range (the pre-push hook, ``--from/--to``),
    the GitHub Action and a saved plan could never commit the ids they would write into the manifest."""
    if not wanted:
        return
    names = ", ".join(f"{new.name!r} of experiment {exp.id}" for exp, new in wanted)
    where = (
        "a push of a git range (the pre-push hook, --from/--to)"
        if opts.ranged
        else "GitHub Actions"
        if not opts.creations_allowed
        else "a saved plan (--out)"
        if out is not None
        else None
    )
    if where is not None:
        raise RefusedError(
            f"the manifest has new variations (entries without id: {names}), and {where} never creates them: "
            "run `kamsync push --allow-traffic-change` from a working copy, then commit the ids it writes into "
            "the manifest; nothing was sent"
        )


def _create_first(
    report: Report,
    ws: Workspace,
    run: Run,
    wanted: Sequence[tuple[ExperimentSpec, NewVariationSpec]],
    *,
    dry_run: bool,
    allow_traffic_change: bool,
    allow_live: bool,
) -> Workspace:
    """Plan the new variations, refuse or show them, create them (unless ``dry_run``), and return the
    workspace as the manifest now maps it."""
    run.charge(run.read_cost(len({exp.id for exp, _ in wanted}), 1), "reading what the new variations need")
    plan = plan_creations(ws, run.client, wanted, allow_traffic_change=allow_traffic_change, allow_live=allow_live)
    report(CreationPlanned(plan, dry_run))
    if plan.refusals:
        raise RefusedError(
            f"nothing was written: {len(plan.refusals)} creation(s) refused" + (" (dry run)" if dry_run else "")
        )
    if dry_run:
        return ws
    run.charge(plan.requests, "creating the new variations")
    for made in execute_creations(ws, run.client, plan):
        report(VariationCreated(made))
    return Workspace.open(run.opts.manifest, run.opts.environ, ws.cwd)


@dataclass(slots=True)
class _Push:
    report: Report
    ws: Workspace
    run: Run
    dry_run: bool
    force: bool
    allow_live: bool

    def push(
        self, files: Sequence[MappedFile], *, exit_code: bool, out: str | None, discard_journal: bool
    ) -> PlanReport:
        journal = Journal.at(self.ws.repo.state_dir())
        interrupted = self._interrupted(journal, discard=discard_journal)
        if interrupted is not None:
            files = self._with_unfinished(files, interrupted)
        reads = self.run.charge_reads(files, "reading the remote state")
        plan = self._plan(files, interrupted)
        if plan.refusals:
            return self._result(plan, int(Exit.REFUSED))
        uncommitted = tuple(f.path for w in plan.writes for f in w.fields if f.uncommitted)
        if uncommitted:
            self.report(PushingUncommitted(uncommitted, self.dry_run))
        if plan.is_empty:
            finished = interrupted is not None and not self.dry_run
            if finished:
                journal.clear()
            return self._result(plan, int(Exit.OK), finished=finished)
        if self.dry_run:
            if out is not None:
                self._save_plan(plan, out, reads=reads)
            return self._result(plan, int(Exit.DIFFERENCES) if exit_code else int(Exit.OK), out=out)
        self.run.charge(plan.requests, "this push")
        return execute_plan(self.report, self.ws, self.run, plan, journal, Command.PUSH)

    def _result(self, plan: Plan, code: int, *, finished: bool = False, out: str | None = None) -> PlanReport:
        requests = self.run.client.requests_sent
        return PlanReport(str(Command.PUSH), self.dry_run, plan, requests, code, finished=finished, out=out)

    def _plan(self, files: Sequence[MappedFile], interrupted: Interrupted | None) -> Plan:
        found = survey(self.ws, files, self.run.client, from_rev=self.run.opts.from_rev)
        for warning in found.warnings:
            self.report(Warned(warning))
        plan = plan_push(found.statuses, force=self.force, allow_live=self.allow_live)
        if interrupted is not None:
            plan = Plan(plan.writes, plan.refusals + drift_refusals(interrupted, found.statuses))
        return plan

    def _interrupted(self, journal: Journal, *, discard: bool) -> Interrupted | None:
        """The unfinished run this push must finish first (and check for drift), if any."""
        interrupted = journal.load()
        if interrupted is None:
            return None
        if discard:
            if not self.dry_run:
                journal.clear()
            self.report(JournalForgotten(str(interrupted.command), dry_run=self.dry_run, afresh=True))
            return None
        if interrupted.command is not Command.PUSH:
            raise RefusedError(
                f"an interrupted {interrupted.command} has not finished: apply its plan again to finish it, or "
                "pass --discard-journal to forget it and push afresh; nothing was sent"
            )
        self.report(resuming(interrupted, dry_run=self.dry_run))
        return interrupted

    def _with_unfinished(self, files: Sequence[MappedFile], interrupted: Interrupted) -> tuple[MappedFile, ...]:
        """``files`` plus the fields the interrupted push was sending, so they are finished and checked for drift.
        A push of a git range (``--from/--to``, the pre-push hook) only sends that range's commit: another
        branch's unfinished fields are not its to send, so it stops and says how to finish them."""
        keys = interrupted.keys
        chosen = set(files)
        extra = [
            mf
            for mf in self.ws.manifest.files()
            if mf not in chosen and (mf.ref.entity.value, mf.ref.entity_id, mf.ref.field) in keys
        ]
        if extra and self.run.opts.ranged:
            raise RefusedError(
                f"an interrupted {interrupted.command} has not finished, and its fields "
                f"({', '.join(mf.path for mf in extra)}) are not in this range: run `kamsync push` from the branch "
                "it came from to finish it, or forget it with `kamsync push --discard-journal`; nothing was sent"
            )
        if extra:
            self.report(Included(tuple(mf.path for mf in extra)))
        return (*files, *extra)

    def _save_plan(self, plan: Plan, out: str, *, reads: int) -> None:
        document = to_document(
            plan,
            api_url=self.run.url,
            head=self.ws.repo.head(),
            manifest=Path(self.ws.manifest.path).relative_to(self.ws.repo.top).as_posix(),
            force=self.force,
            allow_live=self.allow_live,
            reads=reads,
        )
        write_atomic(Path(os.path.abspath(out)), json.dumps(document, indent=2) + "\n")
        self.report(PlanSaved(out))


def resuming(interrupted: Interrupted, *, dry_run: bool) -> Resuming:
    doubt = tuple(w.describe() for w in interrupted.in_doubt)
    unfinished = Unfinished(
        str(interrupted.command), interrupted.started_at, interrupted.done, len(interrupted.writes), doubt
    )
    return Resuming(unfinished, dry_run)


def drift_refusals(interrupted: Interrupted, statuses: Sequence[FieldStatus]) -> tuple[Refusal, ...]:
    by_key: dict[FieldKey, FieldStatus] = {}
    for status in statuses:
        ref = status.mapped.ref
        by_key[(ref.entity.value, ref.entity_id, ref.field)] = status
    now = {key: (s.remote, s.local) for key, s in by_key.items()}
    return tuple(
        Refusal(
            by_key[(write.entity, write.id, f.field)],
            "changed in Kameleoon since the interrupted push (drift): it holds neither the value that push "
            "replaced nor the one it sent",
            "look with `kamsync diff`; adopt it with `kamsync pull`, or overwrite it with "
            "`kamsync push --force --discard-journal`",
        )
        for write, f in drift(interrupted, now)
    )


def execute_plan(
    report: Report, ws: Workspace, run: Run, plan: Plan, journal: Journal, command: Command, tag: str = ""
) -> PlanReport:
    backup = save_backup(ws.repo.state_dir(), plan)
    if backup is not None:
        report(BackupSaved(str(backup)))
    record = Record.load(ws.repo.state_dir())

    def on_sending(index: int, write: Write) -> None:
        run.progress.item(index + 1, write.describe())

    run.progress.start(len(plan.writes), command)
    outcome = execute(
        plan,
        run.client,
        record,
        journal=journal,
        command=command,
        tag=tag,
        on_sending=on_sending,
        on_written=lambda write: report(Written(write)),  # once, as it happens
    )
    if outcome.cancelled:
        code = int(Exit.INTERRUPTED)
    else:
        code = int(Exit.API) if (outcome.failed or outcome.skipped) else int(Exit.OK)
    requests = run.client.requests_sent
    return PlanReport(
        str(command), False, plan, requests, code, backup=None if backup is None else str(backup), outcome=outcome
    )
