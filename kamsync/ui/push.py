"""How ``push`` and ``apply`` look: the plan, what was refused and the way out, each write as it happens, the
count at the end; and their JSON document (documented in the README)."""

from __future__ import annotations

import time

from kamsync.core.events import (
    BackupSaved,
    Included,
    JournalForgotten,
    PlanSaved,
    PushingUncommitted,
    Resuming,
    Written,
)
from kamsync.core.plan import Write
from kamsync.core.reports import Outcome, PlanReport
from kamsync.state.journal import Command
from kamsync.ui.console import Console
from kamsync.ui.render import refusal_entry, write_entry
from kamsync.ui.session import nothing_changed
from kamsync.ui.show import renders

__all__ = ["plan_json"]


def plan_json(report: PlanReport) -> dict[str, object]:
    outcome = report.outcome or Outcome()
    document: dict[str, object] = {
        "dry_run": report.dry_run,
        "planned": [write_entry(w) for w in report.plan.writes],
        "refused": [refusal_entry(r) for r in report.plan.refusals],
        "written": [write_entry(w) for w in outcome.written],
        "skipped": [{**write_entry(w), "error": str(e)} for w, e in outcome.skipped],
        "failed": [{**write_entry(w), "error": str(e)} for w, e in outcome.failed],
        "not_attempted": [write_entry(w) for w in outcome.not_attempted],
        "interrupted": write_entry(outcome.interrupted) if outcome.interrupted else None,
        "backup": report.backup,
    }
    if report.problems is not None:
        document["problems"] = list(report.problems)
    if report.out is not None:
        document["out"] = report.out
    document["requests"] = report.requests
    if report.outcome is not None:
        document["summary"] = _counts(report.outcome)
    return document


def _counts(outcome: Outcome) -> dict[str, int]:
    return {
        "written": len(outcome.written),
        "skipped": len(outcome.skipped),
        "failed": len(outcome.failed),
        "not_attempted": len(outcome.not_attempted) + (1 if outcome.interrupted else 0),
    }


@renders(PlanReport)
def show_plan(console: Console, report: PlanReport) -> None:
    if report.skipped is not None:
        console.info(nothing_changed(report.skipped))
    elif report.plan.refusals:
        _refused(console, report)
    elif report.problems is not None:
        _mismatched(console, report.problems)
    elif report.outcome is not None:
        _executed(console, report, report.outcome)
    elif report.plan.is_empty:
        _nothing(console, report)
    elif report.dry_run:
        for write in report.plan.writes:
            console.out(f"would update {write.describe()}: {', '.join(write.body)} ({_paths(write)})")
        console.out(f"{report.plan.requests} write request(s) planned")
    console.emit_json(plan_json(report))


def _refused(console: Console, report: PlanReport) -> None:
    for refusal in report.plan.refusals:
        ref = refusal.status.mapped.ref
        console.error(f"refused: {ref.describe()} ({refusal.status.path}): {refusal.reason}")
        console.summary(f"  way out: {refusal.fix}")
    console.summary(
        f"nothing was written: {len(report.plan.refusals)} field(s) refused" + (" (dry run)" if report.dry_run else "")
    )


def _mismatched(console: Console, problems: tuple[str, ...]) -> None:
    for problem in problems:
        console.error(f"refused: {problem}")
    console.info(
        f"nothing was written: the plan no longer matches ({len(problems)} problem(s)); "
        "make a new one with `kamsync push --dry-run --out FILE`"
    )


def _nothing(console: Console, report: PlanReport) -> None:
    if report.command == Command.APPLY:
        console.out("nothing to apply: Kameleoon already holds every value of the plan")
        return
    if report.finished:
        console.info("the interrupted push had finished: Kameleoon holds every value it was sending")
    console.out("nothing to push: every mapped field is in sync with Kameleoon")


def _executed(console: Console, report: PlanReport, outcome: Outcome) -> None:
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
    counts = _counts(outcome)
    console.out(
        f"{counts['written']} of {len(report.plan.writes)} entities updated, {counts['skipped']} skipped (locked "
        f"in Kameleoon), {counts['failed']} failed, {counts['not_attempted']} not attempted; "
        f"{report.requests} requests used"
    )
    if not outcome.complete and not outcome.cancelled:
        console.summary("run the same command again to finish: it resumes where this run stopped")


def _paths(write: Write) -> str:
    return ", ".join(f.path for f in write.fields)


@renders(JournalForgotten)
def _forgotten(console: Console, event: JournalForgotten) -> None:
    if event.dry_run:
        console.info(f"a real run would forget the journal of the interrupted {event.command}")
    else:
        then = "; planning afresh" if event.afresh else ""
        console.info(f"forgot the journal of the interrupted {event.command}{then}")


@renders(Resuming)
def _resuming(console: Console, event: Resuming) -> None:
    interrupted = event.interrupted
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(interrupted.started_at))
    doubt = interrupted.in_doubt
    what = "this dry run shows what resuming" if event.dry_run else "resuming"
    console.info(
        f"{what} the {interrupted.command} interrupted at {started}: {interrupted.done} of "
        f"{interrupted.total} writes were confirmed"
        + (f", {len(doubt)} in flight when it stopped ({', '.join(doubt)})" if doubt else "")
        + ("; sending only what is still needed" if not event.dry_run else " would send")
    )


@renders(Included)
def _included(console: Console, event: Included) -> None:
    console.info(
        f"the {len(event.paths)} other field(s) of the interrupted push are included: " + ", ".join(event.paths)
    )


@renders(PushingUncommitted)
def _uncommitted(console: Console, event: PushingUncommitted) -> None:
    console.warn(
        f"{'would push' if event.dry_run else 'pushing'} uncommitted changes of {', '.join(event.paths)}: other "
        "clones and CI will see these values as edited outside git until they are committed"
    )


@renders(PlanSaved)
def _plan_saved(console: Console, event: PlanSaved) -> None:
    console.info(f"saved the plan in {event.out}: `kamsync apply {event.out}` sends exactly it")


@renders(BackupSaved)
def _backup(console: Console, event: BackupSaved) -> None:
    console.info(f"saved the remote values --force overwrites under {event.folder}")


@renders(Written)
def _written(console: Console, event: Written) -> None:
    console.detail(f"updated {event.write.describe()}: {', '.join(event.write.body)}")
