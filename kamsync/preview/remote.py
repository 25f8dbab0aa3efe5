"""``kamsync preview --remote``: the check against the real Kameleoon engine. The variation's fields (and its
experiment's common code) go through push's own planning and writing — drift refused, journaled, verified — to an
experiment that is not live, then Kameleoon's simulation URL is printed."""

from __future__ import annotations

from kamsync.api.remote import simulation_url
from kamsync.core.errors import Exit, RefusedError
from kamsync.core.plan import plan_push
from kamsync.core.preview import choose_variation, part_files
from kamsync.state.journal import Command, Journal
from kamsync.sync.push import execute_plan, payload_of, refuse
from kamsync.sync.session import Options, connected, locked
from kamsync.sync.survey import survey
from kamsync.ui.console import Console
from kamsync.ui.preview import show_in_sync, show_simulation

__all__ = ["run_remote"]


def run_remote(opts: Options, console: Console, *, experiment_id: int | None, variation_id: int | None) -> int:
    with locked(opts, "kamsync preview --remote") as ws:
        experiment, variation = choose_variation(ws.manifest, experiment_id, variation_id)
        files = tuple(f for f in part_files(experiment, variation) if f is not None)
        journal = Journal.at(ws.repo.state_dir())
        if journal.load() is not None:
            raise RefusedError(
                "an interrupted push has not finished: run `kamsync push` to finish it first; nothing was sent"
            )
        with connected(opts, ws, console) as run:
            run.charge_reads(files, "kamsync preview --remote")
            found = survey(ws, files, run.client)
            for warning in found.warnings:
                console.warn(warning)
            if any(s.live for s in found.statuses):
                raise RefusedError(
                    f"experiment {experiment.id} is live (active): its visitors would run this code. --remote pushes "
                    "only to an experiment that is not live; preview locally (without --remote), or try the code "
                    "on a draft copy of the experiment; nothing was sent"
                )
            plan = plan_push(found.statuses, force=False, allow_live=False)
            payload = payload_of(False, plan)
            if plan.refusals:
                return refuse(console, run, payload, plan.refusals, False)
            run.charge(plan.requests + 1, "kamsync preview --remote")
            url = simulation_url(run.client, experiment.id)
            payload["simulation"] = url
            if plan.is_empty:
                payload["requests"] = run.client.requests_sent
                show_in_sync(console, payload)
                code = int(Exit.OK)
            else:
                code = execute_plan(console, ws, run, plan, payload, journal, Command.PUSH)
    if code == Exit.OK:
        show_simulation(console, url, f"variation {variation.id} of experiment {experiment.id}")
    return code
