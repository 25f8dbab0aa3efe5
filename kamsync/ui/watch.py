"""How ``kamsync watch`` looks: one line per batch on stdout, everything else on stderr, a summary at the end.

Every text from Kameleoon or the file system goes through the console, which makes it visible.
"""

from __future__ import annotations

import json
import time

import click

from kamsync.core.durations import clock_time, in_words
from kamsync.core.plan import Plan
from kamsync.core.watching import (
    BatchFailed,
    BatchReport,
    Held,
    Paused,
    Resumed,
    Unchanged,
    WatchNotice,
    WatchRefused,
    WatchStarted,
    WatchSummary,
)
from kamsync.ui.console import Console
from kamsync.ui.show import renders

UNCOMMITTED_ADVICE = (
    "other clones and CI will see them as edited outside git until that exact value is committed: commit it "
    "(or `kamsync pull` it back)"
)


def batch_line(report: BatchReport) -> str:
    """``12:03:04  variation 200001 (experiment 100001) jsCode  1 field, 3 requests, 182 ms, 994/1000 left``."""
    fields = ", ".join(report.fields) if report.fields else "no field written"
    left = f", {report.left}/{report.limit} left" if report.left is not None else ""
    count = f"{len(report.fields)} field{'s' if len(report.fields) != 1 else ''}"
    return (
        f"{clock_time(report.at)}  {fields}  {count}, {report.requests} request{'s' if report.requests != 1 else ''}, "
        f"{round(report.latency * 1000)} ms{left}"
    )


def plan_lines(plan: Plan) -> list[str]:
    lines = [
        f"  would update {w.describe()}: {', '.join(w.body)} ({', '.join(f.path for f in w.fields)})"
        for w in plan.writes
    ]
    lines += [f"  would refuse {r.status.mapped.ref.describe()} ({r.status.path}): {r.reason}" for r in plan.refusals]
    return lines or ["  nothing: every watched field is in sync with Kameleoon"]


def batch_payload(report: BatchReport) -> dict[str, object]:
    return {
        "at": report.at,
        "fields": list(report.fields),
        "requests": report.requests,
        "latency_ms": round(report.latency * 1000),
        "left": report.left,
        "limit": report.limit,
    }


def summary_payload(summary: WatchSummary) -> dict[str, object]:
    return {
        "seconds": round(summary.seconds, 3),
        "batches": summary.batches,
        "fields_written": summary.fields_written,
        "requests": summary.requests,
        "not_sent": list(summary.unsent),
        "in_flight": summary.in_flight,
        "uncommitted": [{"field": u.field, "path": u.path} for u in summary.uncommitted],
    }


def summary_lines(summary: WatchSummary) -> list[str]:
    lines = [
        f"watched {in_words(summary.seconds)}: {summary.batches} batch(es) sent, {summary.fields_written} field(s) "
        f"updated, {summary.requests} request(s) used"
    ]
    if summary.in_flight is not None:
        lines.append(
            f"interrupted while updating {summary.in_flight}: Kameleoon may or may not have applied it; the journal "
            "keeps it: `kamsync push` finishes it"
        )
    if summary.unsent:
        lines.append(f"not sent: {', '.join(summary.unsent)} (`kamsync push` sends them)")
    if summary.uncommitted:
        named = ", ".join(f"{u.field} ({u.path})" for u in summary.uncommitted)
        lines.append(f"in Kameleoon but in no commit yet: {named}; {UNCOMMITTED_ADVICE}")
    return lines


@renders(WatchStarted)
def _started(console: Console, event: WatchStarted) -> None:
    how = "by polling" if event.polling else "by file-system events"
    for folder in event.missing:
        console.warn(f"{folder} does not exist: files created there are not seen until watch restarts")
    console.info(
        f"watching {event.files} mapped file(s) in {event.folders} folder(s) {how}; nothing is sent until you "
        "save; Ctrl-C stops"
    )


@renders(WatchNotice)
def _notice(console: Console, event: WatchNotice) -> None:
    console.info(event.text)


@renders(BatchReport)
def _sent(console: Console, report: BatchReport) -> None:
    if console.json_mode:  # one JSON object per line: a log a program follows as it grows
        click.echo(json.dumps({"batch": batch_payload(report)}))
    console.out(batch_line(report))


@renders(Unchanged)
def _unchanged(console: Console, event: Unchanged) -> None:
    if event.paths:
        console.info(
            f"{clock_time(event.at)}  unchanged: {', '.join(event.paths)} hold what Kameleoon has; no request sent"
        )


@renders(WatchRefused)
def _refused(console: Console, event: WatchRefused) -> None:
    for refusal in event.refusals:
        console.error(f"refused: {refusal.status.mapped.ref.describe()} ({refusal.status.path}): {refusal.reason}")
        console.info(f"  way out: {refusal.fix}; watching goes on")


@renders(BatchFailed)
def _failed(console: Console, event: BatchFailed) -> None:
    console.error(f"not written: {event.what}: {event.error}; watching goes on (the next save tries again)")


@renders(Held)
def _held(console: Console, event: Held) -> None:
    wait = max(0.0, event.until - time.time())
    console.info(
        f"the rate budget runs low ({event.left} of {event.limit} left): coalescing changes of "
        f"{', '.join(event.paths)}; sending them at {clock_time(event.until)} (in {in_words(wait)})"
    )


@renders(Paused)
def _paused(console: Console, event: Paused) -> None:
    console.info(f"paused: {event.reason}; nothing is pushed until you say so")
    if event.plan is None:
        console.info("  (the plan of the working tree is not shown: the repository or the budget is busy)")
    else:
        console.info("the working tree as it is now would cause:")
        for line in plan_lines(event.plan):
            console.info(line)
    if event.can_resume:
        console.info("press Enter to resume pushing (or restart with --follow-head to follow HEAD)")
    else:
        console.info(
            "stdin is not a terminal, so Enter cannot resume: restart `kamsync watch --follow-head` to push what "
            "HEAD and the working tree now hold"
        )


@renders(Resumed)
def _resumed(console: Console, _event: Resumed) -> None:
    console.info("resumed: pushing saves again from the working tree as it is now")


@renders(WatchSummary)
def _finished(console: Console, summary: WatchSummary) -> None:
    if console.json_mode:
        click.echo(json.dumps({"summary": summary_payload(summary)}))
    for line in summary_lines(summary):
        console.summary(line)
