"""``--format github``: run one command as a report, then publish it (summary, comment, annotations, outputs).

Every expected error becomes part of the report — an annotation on the manifest line, a line in the summary —
and its exit code, so the step fails with the reason on the pull request, not only in the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from kamsync.api.scrub import scrub_or_withhold
from kamsync.core.errors import KamsyncError
from kamsync.core.runreport import RunReport
from kamsync.git.repo import GitRepo
from kamsync.manifest.parse import MANIFEST_NAME
from kamsync.sync.github import failed_report, plan_report, push_report, status_report
from kamsync.sync.github_publish import ActionsEnv, not_read_reason, publish
from kamsync.sync.options import Options
from kamsync.ui.actions_console import ActionsConsole

__all__ = ["Asked", "run_actions"]


@dataclass(frozen=True, slots=True)
class Asked:
    """What the command line asked of one ``--format github`` run."""

    command: str  # plan, push, status, drift
    paths: Sequence[str] = ()
    force: bool = False
    allow_live: bool = False
    out: str | None = None
    fail_on_changes: bool = False
    comment: bool = True
    open_pr: bool = False
    branch: str = "kamsync/drift"


def run_actions(opts: Options, console: ActionsConsole, asked: Asked) -> int:
    env = ActionsEnv.of(opts.environ)
    try:
        report = _report(opts, console, env, asked)
    except KamsyncError as error:
        report = failed_report(asked.command, _manifest_guess(opts), error, _top())
        report = replace(report, problems=tuple(replace(p, message=_hidden(opts, p.message)) for p in report.problems))
    return publish(report, console, env, comment=asked.comment)


def _hidden(opts: Options, message: str) -> str:
    """An error's message with the run's secrets hidden, as the CLI hides them from every other message."""
    secrets = {opts.environ.get("KAMELEOON_CLIENT_SECRET", "").strip(), opts.environ.get("GITHUB_TOKEN", "").strip()}
    hidden = scrub_or_withhold(message, secrets)
    return hidden if hidden is not None else "the error's message held a secret too short to hide; left out"


def _report(opts: Options, console: ActionsConsole, env: ActionsEnv, asked: Asked) -> RunReport:
    if asked.command == "plan":
        return plan_report(
            opts,
            console,
            asked.paths,
            force=asked.force,
            allow_live=asked.allow_live,
            out=asked.out,
            fail_on_changes=asked.fail_on_changes,
            not_read=not_read_reason(env),
        )
    if asked.command == "push":
        return push_report(opts, console, asked.paths, force=asked.force, allow_live=asked.allow_live)
    if asked.command == "drift":
        from kamsync.sync.drift import drift_report

        return drift_report(opts, console, env, open_pr=asked.open_pr, branch=asked.branch)
    report = status_report(opts, console, asked.paths)
    if asked.fail_on_changes and report.changes:
        return replace(report, exit_code=1)
    return report


def _manifest_guess(opts: Options) -> str:
    return opts.manifest_given or MANIFEST_NAME


def _top() -> Path | None:
    try:
        return GitRepo.discover(Path.cwd()).top
    except KamsyncError:
        return None
