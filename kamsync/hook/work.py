"""The pre-push hook's work once a pushed range touches mapped files: check it against Kameleoon, or push it."""

from __future__ import annotations

from kamsync.core.errors import Exit
from kamsync.core.plan import kameleoon_edits
from kamsync.core.reports import CheckReport, PlanReport
from kamsync.git.ranges import pick_files
from kamsync.sync.options import Options
from kamsync.sync.push import refuse_creation_here, run_push
from kamsync.sync.report import Report
from kamsync.sync.session import connected, locked
from kamsync.sync.survey import survey

__all__ = ["check_range", "push_range"]


def check_range(opts: Options, report: Report, *, head: str | None = None) -> CheckReport:
    """Block (exit 3) when a mapped field changed in the range was edited in Kameleoon or holds code from
    commits outside the pushed history; warn about live experiments and vanished entities."""
    with locked(opts, "kamsync hook run pre-push") as ws:
        refuse_creation_here(opts, ws.manifest.creations(), None)
        files = pick_files(ws, (), opts.from_rev)
        with connected(opts, ws, report) as run:
            run.charge_reads(files, "the pre-push check")
            found = survey(ws, files, run.client, from_rev=run.opts.from_rev)
    blocking = tuple(refusal.status for refusal in kameleoon_edits(found.statuses))
    code = int(Exit.REFUSED) if blocking else int(Exit.OK)
    return CheckReport(found.statuses, found.warnings, blocking, opts.to_rev, head, code)


def push_range(opts: Options, report: Report, *, allow_live: bool, dry_run: bool = False) -> PlanReport:
    """``kamsync push`` for the mapped files changed in the range, read at the pushed commit."""
    return run_push(opts, report, (), dry_run=dry_run, exit_code=False, force=False, allow_live=allow_live)
