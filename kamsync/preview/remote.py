"""``kamsync preview --remote``: the check against the real Kameleoon engine. The variation's fields (and its
experiment's common code) go through push's own planning and writing — drift refused, journaled, verified — to an
experiment that is not live; then Kameleoon's simulation URL is read."""

from __future__ import annotations

from kamsync.api.remote import simulation_url
from kamsync.core.errors import Exit, RefusedError
from kamsync.core.events import Warned
from kamsync.core.plan import Plan, plan_push
from kamsync.core.preview import RemoteReport, choose_variation, part_files
from kamsync.core.reports import PlanReport
from kamsync.state.journal import Command, Journal
from kamsync.sync.push import execute_plan
from kamsync.sync.report import Report
from kamsync.sync.session import Options, Run, connected, locked
from kamsync.sync.survey import survey

__all__ = ["run_remote"]


def run_remote(opts: Options, report: Report, *, experiment_id: int | None, variation_id: int | None) -> RemoteReport:
    with locked(opts, "kamsync preview --remote") as ws:
        experiment, variation = choose_variation(ws.manifest, experiment_id, variation_id)
        described = f"variation {variation.id} of experiment {experiment.id}"
        files = tuple(f for f in part_files(experiment, variation) if f is not None)
        journal = Journal.at(ws.repo.state_dir())
        if journal.load() is not None:
            raise RefusedError(
                "an interrupted push has not finished: run `kamsync push` to finish it first; nothing was sent"
            )
        with connected(opts, ws, report) as run:
            run.charge_reads(files, "kamsync preview --remote")
            found = survey(ws, files, run.client)
            for warning in found.warnings:
                report(Warned(warning))
            if any(s.live for s in found.statuses):
                raise RefusedError(
                    f"experiment {experiment.id} is live (active): its visitors would run this code. --remote pushes "
                    "only to an experiment that is not live; preview locally (without --remote), or try the code "
                    "on a draft copy of the experiment; nothing was sent"
                )
            plan = plan_push(found.statuses, force=False, allow_live=False)
            if plan.refusals:
                return RemoteReport(_unsent(run, plan, Exit.REFUSED), None, described)
            run.charge(plan.requests + 1, "kamsync preview --remote")
            url = simulation_url(run.client, experiment.id)
            if plan.is_empty:
                return RemoteReport(_unsent(run, plan, Exit.OK), url, described)
            return RemoteReport(execute_plan(report, ws, run, plan, journal, Command.PUSH), url, described)


def _unsent(run: Run, plan: Plan, code: Exit) -> PlanReport:
    return PlanReport(str(Command.PUSH), False, plan, run.client.requests_sent, int(code))
