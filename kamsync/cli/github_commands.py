"""``--format github`` on status and push (push --dry-run is the plan), and ``kamsync drift``.

With ``--format github`` a command runs through ``kamsync.sync.actions``: workflow commands and inert text on
stdout, the job summary, the step outputs and, for a plan on a pull request, the one sticky comment.
"""

from __future__ import annotations

import functools
import io
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kamsync.cli.options import EPILOG, budget_options, global_options, options
from kamsync.core.errors import Exit, KamsyncError, worst

if TYPE_CHECKING:
    from kamsync.core.runreport import RunReport
    from kamsync.sync.options import Options
    from kamsync.sync.report import Report
    from kamsync.ui.publish import ActionsEnv

__all__ = ["drift", "github_mode"]

F = TypeVar("F", bound=Callable[..., Any])

_FORMAT_HELP = (
    "text (default), or github: GitHub Actions workflow commands, job summary, step outputs and, for a plan on a "
    "pull request, one sticky comment (see the README)."
)


def github_mode(command: str) -> Callable[[F], F]:
    """Add ``--format`` and ``--comment/--no-comment`` to ``command``; with ``--format github`` run it as a
    report instead of the text command."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, output_format: str, comment: bool, **kwargs: Any) -> Any:
            if output_format != "github":
                return func(*args, **kwargs)
            return _run_github(command, comment=comment, **kwargs)

        wrapper = click.option(
            "--comment/--no-comment",
            default=True,
            help="With --format github, on a pull request: keep the plan in one comment (default: yes).",
        )(wrapper)
        wrapper = click.option(
            "--format", "output_format", type=click.Choice(["text", "github"]), default="text", help=_FORMAT_HELP
        )(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


def _run_github(command: str, *, comment: bool, **kwargs: Any) -> int:
    from kamsync.ui.actions_console import ActionsConsole
    from kamsync.ui.publish import ActionsEnv, publish
    from kamsync.ui.view import View

    if isinstance(sys.stdout, io.TextIOWrapper):  # the runner reads UTF-8 (a Windows pipe would be cp1252)
        sys.stdout.reconfigure(encoding="utf-8", errors="backslashreplace")
    opts, _ = options(click.get_current_context())
    if kwargs.get("discard_journal"):
        raise click.UsageError("--discard-journal is not for --format github: run `kamsync push` to resume")
    name = "plan" if command == "push" and kwargs.get("dry_run") else command
    env = ActionsEnv.of(opts.environ)
    if kwargs.get("open_pr") and not (env.token and env.repository):
        raise click.UsageError("--open-pr needs GITHUB_TOKEN and GITHUB_REPOSITORY (the action passes them)")
    console = ActionsConsole(quiet=opts.quiet)
    view = View(console, {**opts.environ, "KAMSYNC_PROGRESS": "0"})  # no live line in a log
    try:
        report = _report(name, opts, view, env, kwargs)
    except KamsyncError as error:
        report = _failed(name, opts, error)
    return publish(report, console, env, comment=comment)


def _report(name: str, opts: Options, view: Report, env: ActionsEnv, kwargs: dict[str, Any]) -> RunReport:
    from kamsync.sync.drift import drift_report
    from kamsync.sync.github import plan_report, push_report, status_report
    from kamsync.ui.publish import not_read_reason

    paths, force, allow_live = kwargs.get("paths", ()), bool(kwargs.get("force")), bool(kwargs.get("allow_live"))
    if name == "plan":
        return plan_report(
            opts, view, paths, force=force, allow_live=allow_live, out=kwargs.get("out"),
            fail_on_changes=bool(kwargs.get("exit_code")), not_read=not_read_reason(env),
        )  # fmt: skip
    if name == "push":
        return push_report(opts, view, paths, force=force, allow_live=allow_live)
    if name == "drift":
        found = drift_report(opts, view, open_pr=bool(kwargs.get("open_pr")), branch=kwargs.get("branch") or "")
        # As in text: drift's --exit-code is about Kameleoon (drifted fields), never about local work.
        differs = found.drifted
    else:
        found = status_report(opts, view, paths)
        differs = found.changes
    if kwargs.get("exit_code") and differs:
        return replace(found, exit_code=worst(found.exit_code, int(Exit.DIFFERENCES)))
    return found


def _failed(name: str, opts: Options, error: KamsyncError) -> RunReport:
    """A run stopped by ``error``: reported like any result, its message with this run's secrets hidden."""
    from kamsync.cli.crash import hidden_values, scrub_everywhere
    from kamsync.git.repo import GitRepo
    from kamsync.sync.github import failed_report

    try:
        top: Path | None = GitRepo.discover(Path.cwd()).top
    except KamsyncError:
        top = None
    report = failed_report(name, opts.manifest_given or "kamsync.yaml", error, top)
    hidden = hidden_values(opts.environ, [opts.api_url] if opts.api_url else [])
    problems = tuple(replace(p, message=scrub_everywhere(p.message, hidden)) for p in report.problems)
    return replace(report, problems=problems)


@click.command(epilog=EPILOG)
@github_mode("drift")
@click.option(
    "--open-pr",
    is_flag=True,
    help="Pull the edits made in Kameleoon onto a branch and open (or update) one pull request for them.",
)
@click.option("--branch", default="kamsync/drift", show_default=True, help="The branch --open-pr pushes.")
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit 1 when some field drifted (edited in Kameleoon, or holding code from commits this branch lacks); "
    "local changes do not count.",
)
@budget_options
@global_options
@click.pass_context
def drift(ctx: click.Context, open_pr: bool, branch: str, exit_code: bool) -> int:
    """What drifted from git in Kameleoon, across the whole manifest.

    Fields edited in Kameleoon (remote-changed, conflict) and fields holding code from commits the checked-out
    branch lacks (remote-ahead).

    --open-pr needs --format github (it opens the pull request through GitHub's API).

    Example: kamsync drift --format github --open-pr
    """
    from kamsync.sync.drift import drift_report

    if open_pr:
        raise click.UsageError("--open-pr opens a pull request through GitHub: use it with --format github")
    opts, view = options(ctx)
    found = drift_report(opts, view, open_pr=False, branch=branch)
    view(found)
    return int(Exit.DIFFERENCES) if exit_code and found.drifted else int(Exit.OK)
