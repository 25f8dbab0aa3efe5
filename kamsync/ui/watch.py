"""How ``kamsync watch`` looks: one line per batch on stdout, everything else on stderr, a summary at the end.

Every text from Kameleoon or the file system goes through the console, which makes it visible.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import click

from kamsync.budget.pricing import clock_time
from kamsync.core.durations import in_words
from kamsync.core.plan import Plan, Refusal
from kamsync.core.watching import BatchReport, WatchSummary
from kamsync.ui.console import Console

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


@dataclass(slots=True)
class WatchConsole:
    """The watch view of a person at a terminal (or a log)."""

    console: Console
    verbose: bool = False  # -v: saves that send nothing are named too

    def started(self, files: int, folders: int, polling: bool, missing: Sequence[str]) -> None:
        how = "by polling" if polling else "by file-system events"
        for folder in missing:
            self.console.warn(f"{folder} does not exist: files created there are not seen until watch restarts")
        self.console.info(
            f"watching {files} mapped file(s) in {folders} folder(s) {how}; nothing is sent until you save; "
            "Ctrl-C stops"
        )

    def notice(self, text: str) -> None:
        self.console.info(text)

    def sent(self, report: BatchReport) -> None:
        if self.console.json_mode:  # one JSON object per line: a log a program follows as it grows
            click.echo(json.dumps({"batch": batch_payload(report)}))
        self.console.out(batch_line(report))

    def unchanged(self, paths: Sequence[str]) -> None:
        if self.verbose and paths:
            self.console.info(
                f"{clock_time(time.time())}  unchanged: {', '.join(paths)} hold what Kameleoon has; no request sent"
            )

    def refused(self, refusals: Sequence[Refusal]) -> None:
        for refusal in refusals:
            self.console.error(
                f"refused: {refusal.status.mapped.ref.describe()} ({refusal.status.path}): {refusal.reason}"
            )
            self.console.info(f"  way out: {refusal.fix}; watching goes on")

    def failed(self, what: str, error: str) -> None:
        self.console.error(f"not written: {what}: {error}; watching goes on (the next save tries again)")

    def held(self, paths: Sequence[str], until: float, left: tuple[int, int]) -> None:
        wait = max(0.0, until - time.time())
        self.console.info(
            f"the rate budget runs low ({left[0]} of {left[1]} left): coalescing changes of {', '.join(paths)}; "
            f"sending them at {clock_time(until)} (in {in_words(wait)})"
        )

    def paused(self, reason: str, plan: Plan | None, *, can_resume: bool) -> None:
        self.console.info(f"paused: {reason}; nothing is pushed until you say so")
        if plan is None:
            self.console.info("  (the plan of the working tree is not shown: the repository or the budget is busy)")
        else:
            self.console.info("the working tree as it is now would cause:")
            for line in plan_lines(plan):
                self.console.info(line)
        if can_resume:
            self.console.info("press Enter to resume pushing (or restart with --follow-head to follow HEAD)")
        else:
            self.console.info(
                "stdin is not a terminal, so Enter cannot resume: restart `kamsync watch --follow-head` to push "
                "what HEAD and the working tree now hold"
            )

    def resumed(self) -> None:
        self.console.info("resumed: pushing saves again from the working tree as it is now")

    def finished(self, summary: WatchSummary) -> None:
        if self.console.json_mode:
            click.echo(json.dumps({"summary": summary_payload(summary)}))
        for line in summary_lines(summary):
            self.console.summary(line)
