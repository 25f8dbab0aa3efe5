"""``kamsync push``: plan, price, journal, write, and say exactly what happened (``apply`` shares the writing)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

from kamsync.core.errors import Exit, RefusedError, UsageError
from kamsync.core.model import ExperimentSpec, MappedFile, NewVariationSpec
from kamsync.core.plan import Plan, Refusal, Write, plan_push
from kamsync.core.savedplan import to_document
from kamsync.core.states import FieldStatus
from kamsync.git.ranges import nothing_changed, pick_files
from kamsync.git.workspace import Workspace
from kamsync.state.files import write_atomic
from kamsync.state.journal import Command, FieldKey, Interrupted, Journal, drift
from kamsync.state.record import Record
from kamsync.sync.create import execute_creations, plan_creations
from kamsync.sync.session import Options, Run, connected, locked
from kamsync.sync.survey import survey
from kamsync.sync.writes import Outcome, execute, save_backup
from kamsync.ui.console import Console
from kamsync.ui.creation import created_line, plan_lines
from kamsync.ui.render import refusal_entry, write_entry

__all__ = ["announce", "drift_refusals", "execute_plan", "payload_of", "run_push"]


def run_push(
    opts: Options,
    console: Console,
    paths: Sequence[str],
    *,
    dry_run: bool,
    exit_code: bool,
    force: bool,
    allow_live: bool,
    out: str | None = None,
    discard_journal: bool = False,
    allow_traffic_change: bool = False,
) -> int:
    if out is not None and not dry_run:
        raise UsageError("--out saves a plan without sending it: use it with --dry-run, then `kamsync apply FILE`")
    if out is not None and opts.to_rev is not None:
        raise UsageError(
            "--out with --to: `kamsync apply` checks a plan against the working tree, so a plan read at another "
            "commit could never be applied; check that commit out and leave --to out"
        )
    with locked(opts, "kamsync push", reader=console if dry_run else None) as ws:
        wanted = ws.select_new(paths)
        refuse_creation_here(opts, wanted, out)
        files = pick_files(ws, paths, opts.from_rev)
        if opts.ranged and not files:
            console.info(nothing_changed(ws, opts.from_rev))
            console.emit_json({**payload_of(dry_run, Plan((), ())), "requests": 0})
            return int(Exit.OK)
        with connected(opts, ws, console) as run:
            if wanted:
                ws = _create_first(
                    console,
                    ws,
                    run,
                    wanted,
                    dry_run=dry_run,
                    allow_traffic_change=allow_traffic_change,
                    allow_live=allow_live,
                )
                files = pick_files(ws, paths, opts.from_rev)
            return _push(
                console,
                ws,
                run,
                files,
                dry_run=dry_run,
                exit_code=exit_code,
                force=force,
                allow_live=allow_live,
                out=out,
                discard_journal=discard_journal,
            )


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
    console: Console,
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
    for line in plan_lines(plan, dry_run=dry_run):
        console.out(line)
    if plan.refusals:
        for reason in plan.refusals:
            console.error(f"refused: {reason}")
        raise RefusedError(
            f"nothing was written: {len(plan.refusals)} creation(s) refused" + (" (dry run)" if dry_run else "")
        )
    if dry_run:
        return ws
    run.charge(plan.requests, "creating the new variations")
    for made in execute_creations(ws, run.client, plan):
        console.out(created_line(made))
    return Workspace.open(run.opts.manifest, run.opts.environ, ws.cwd)


def _push(
    console: Console,
    ws: Workspace,
    run: Run,
    files: Sequence[MappedFile],
    *,
    dry_run: bool,
    exit_code: bool,
    force: bool,
    allow_live: bool,
    out: str | None,
    discard_journal: bool,
) -> int:
    journal = Journal.at(ws.repo.state_dir())
    interrupted = _interrupted_push(console, journal, discard=discard_journal, dry_run=dry_run)
    if interrupted is not None:
        files = _with_unfinished(console, ws, files, interrupted, ranged=run.opts.ranged)
    reads = run.charge_reads(files, "reading the remote state")
    found = survey(ws, files, run.client, from_rev=run.opts.from_rev)
    for warning in found.warnings:
        console.warn(warning)
    plan = plan_push(found.statuses, force=force, allow_live=allow_live)
    if interrupted is not None:
        plan = Plan(plan.writes, plan.refusals + drift_refusals(interrupted, found.statuses))
    payload = payload_of(dry_run, plan)
    if plan.refusals:
        return _refuse(console, run, payload, plan.refusals, dry_run)
    uncommitted = [f.path for w in plan.writes for f in w.fields if f.uncommitted]
    if uncommitted:
        console.warn(
            f"{'would push' if dry_run else 'pushing'} uncommitted changes of {', '.join(uncommitted)}: other "
            "clones and CI will see these values as edited outside git until they are committed"
        )
    if plan.is_empty:
        if interrupted is not None and not dry_run:
            journal.clear()
            console.info("the interrupted push had finished: Kameleoon holds every value it was sending")
        console.out("nothing to push: every mapped field is in sync with Kameleoon")
        payload["requests"] = run.client.requests_sent
        console.emit_json(payload)
        return int(Exit.OK)
    if dry_run:
        for write in plan.writes:
            console.out(f"would update {write.describe()}: {', '.join(write.body)} ({_paths(write)})")
        console.out(f"{plan.requests} write request(s) planned")
        if out is not None:
            _save_plan(console, ws, run, plan, out, force=force, allow_live=allow_live, reads=reads)
            payload["out"] = out
        payload["requests"] = run.client.requests_sent
        console.emit_json(payload)
        return int(Exit.DIFFERENCES) if exit_code else int(Exit.OK)
    run.charge(plan.requests, "this push")
    return execute_plan(console, ws, run, plan, payload, journal, Command.PUSH)


def _interrupted_push(console: Console, journal: Journal, *, discard: bool, dry_run: bool) -> Interrupted | None:
    """The unfinished run this push must finish first (and check for drift), if any."""
    interrupted = journal.load()
    if interrupted is None:
        return None
    if discard:
        if dry_run:
            console.info(f"a real run would forget the journal of the interrupted {interrupted.command}")
        else:
            journal.clear()
            console.info(f"forgot the journal of the interrupted {interrupted.command}; planning afresh")
        return None
    if interrupted.command is not Command.PUSH:
        raise RefusedError(
            f"an interrupted {interrupted.command} has not finished: apply its plan again to finish it, or pass "
            "--discard-journal to forget it and push afresh; nothing was sent"
        )
    announce(console, interrupted, dry_run=dry_run)
    return interrupted


def _with_unfinished(
    console: Console, ws: Workspace, files: Sequence[MappedFile], interrupted: Interrupted, *, ranged: bool
) -> tuple[MappedFile, ...]:
    """``files`` plus the fields the interrupted push was sending, so they are finished and checked for drift.
    A push of a git range (``--from/--to``, the pre-push hook) only sends that range's commit: another
    branch's unfinished fields are not its to send, so it stops and says how to finish them."""
    keys = interrupted.keys
    chosen = set(files)
    extra = [
        mf
        for mf in ws.manifest.files()
        if mf not in chosen and (mf.ref.entity.value, mf.ref.entity_id, mf.ref.field) in keys
    ]
    if extra and ranged:
        raise RefusedError(
            f"an interrupted {interrupted.command} has not finished, and its fields "
            f"({', '.join(mf.path for mf in extra)}) are not in this range: run `kamsync push` from the branch it "
            "came from to finish it, or forget it with `kamsync push --discard-journal`; nothing was sent"
        )
    if extra:
        console.info(
            f"the {len(extra)} other field(s) of the interrupted push are included: "
            + ", ".join(mf.path for mf in extra)
        )
    return (*files, *extra)


def announce(console: Console, interrupted: Interrupted, *, dry_run: bool) -> None:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(interrupted.started_at))
    doubt = interrupted.in_doubt
    what = "this dry run shows what resuming" if dry_run else "resuming"
    console.info(
        f"{what} the {interrupted.command} interrupted at {started}: {interrupted.done} of "
        f"{len(interrupted.writes)} writes were confirmed"
        + (f", {len(doubt)} in flight when it stopped ({', '.join(w.describe() for w in doubt)})" if doubt else "")
        + ("; sending only what is still needed" if not dry_run else " would send")
    )


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


def payload_of(dry_run: bool, plan: Plan) -> dict[str, object]:
    return {
        "dry_run": dry_run,
        "planned": [write_entry(w) for w in plan.writes],
        "refused": [refusal_entry(r) for r in plan.refusals],
        "written": [],
        "skipped": [],
        "failed": [],
        "not_attempted": [],
        "interrupted": None,
        "backup": None,
    }


def _refuse(console: Console, run: Run, payload: dict[str, object], refusals: Sequence[Refusal], dry: bool) -> int:
    for refusal in refusals:
        ref = refusal.status.mapped.ref
        console.error(f"refused: {ref.describe()} ({refusal.status.path}): {refusal.reason}")
        console.summary(f"  way out: {refusal.fix}")
    console.summary(f"nothing was written: {len(refusals)} field(s) refused" + (" (dry run)" if dry else ""))
    payload["requests"] = run.client.requests_sent
    console.emit_json(payload)
    return int(Exit.REFUSED)


def _save_plan(
    console: Console, ws: Workspace, run: Run, plan: Plan, out: str, *, force: bool, allow_live: bool, reads: int
) -> None:
    document = to_document(
        plan,
        api_url=run.url,
        head=ws.repo.head(),
        manifest=Path(ws.manifest.path).relative_to(ws.repo.top).as_posix(),
        force=force,
        allow_live=allow_live,
        reads=reads,
    )
    target = Path(os.path.abspath(out))
    write_atomic(target, json.dumps(document, indent=2) + "\n")
    console.info(f"saved the plan in {out}: `kamsync apply {out}` sends exactly it")


def execute_plan(
    console: Console,
    ws: Workspace,
    run: Run,
    plan: Plan,
    payload: dict[str, object],
    journal: Journal,
    command: Command,
    tag: str = "",
) -> int:
    backup = save_backup(ws.repo.state_dir(), plan)
    if backup is not None:
        payload["backup"] = str(backup)
        console.info(f"saved the remote values --force overwrites under {backup}")
    record = Record.load(ws.repo.state_dir())
    total = len(plan.writes)

    def on_written(write: Write) -> None:
        # Reported once, as it happens: a run killed later still said what it had written.
        console.detail(f"updated {write.describe()}: {', '.join(write.body)}")

    def on_sending(index: int, write: Write) -> None:
        run.progress.item(index + 1, write.describe())

    run.progress.start(total, command)
    outcome = execute(
        plan,
        run.client,
        record,
        journal=journal,
        command=command,
        tag=tag,
        on_sending=on_sending,
        on_written=on_written,
    )
    return _report(console, run, outcome, total, payload)


def _report(console: Console, run: Run, outcome: Outcome, total: int, payload: dict[str, object]) -> int:
    payload["written"] = [write_entry(w) for w in outcome.written]
    payload["skipped"] = [{**write_entry(w), "error": str(e)} for w, e in outcome.skipped]
    payload["failed"] = [{**write_entry(w), "error": str(e)} for w, e in outcome.failed]
    payload["not_attempted"] = [write_entry(w) for w in outcome.not_attempted]
    payload["interrupted"] = write_entry(outcome.interrupted) if outcome.interrupted else None
    payload["requests"] = run.client.requests_sent
    summary = {
        "written": len(outcome.written),
        "skipped": len(outcome.skipped),
        "failed": len(outcome.failed),
        "not_attempted": len(outcome.not_attempted) + (1 if outcome.interrupted else 0),
    }
    payload["summary"] = summary
    for warning in outcome.warnings:
        console.warn(warning)
    for write, error in outcome.skipped:
        console.error(f"skipped: {write.describe()}: {error}")
    for write, error in outcome.failed:
        console.error(f"not written: {write.describe()}: {error}")
    if outcome.interrupted is not None:
        console.error(
            f"interrupted while updating {outcome.interrupted.describe()}: Kameleoon may or may not have "
            "applied it; run the same command again to finish (it resumes where this run stopped)"
        )
    elif outcome.cancelled:
        console.error("interrupted between writes: nothing was in flight; run the same command again to finish")
    for write in outcome.not_attempted:
        console.error(f"not attempted: {write.describe()} ({_paths(write)})")
    console.out(
        f"{summary['written']} of {total} entities updated, {summary['skipped']} skipped (locked in Kameleoon), "
        f"{summary['failed']} failed, {summary['not_attempted']} not attempted; "
        f"{run.client.requests_sent} requests used"
    )
    if not outcome.complete and not outcome.cancelled:
        console.summary("run the same command again to finish: it resumes where this run stopped")
    console.emit_json(payload)
    if outcome.cancelled:
        return int(Exit.INTERRUPTED)
    return int(Exit.API) if (outcome.failed or outcome.skipped) else int(Exit.OK)


def _paths(write: Write) -> str:
    return ", ".join(f.path for f in write.fields)
