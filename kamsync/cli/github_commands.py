"""``--format github`` on status and push (push --dry-run is the plan), and ``kamsync drift``.

With ``--format github`` a command runs through ``kamsync.sync.actions``: workflow commands and inert text on
stdout, the job summary, the step outputs and, for a plan on a pull request, the one sticky comment.
"""

from __future__ import annotations

import functools
import io
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from kamsync.cli.options import EPILOG, budget_options, exit_code_option, global_options, options

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
    from kamsync.sync.actions import Asked, run_actions
    from kamsync.ui.actions_console import ActionsConsole

    if isinstance(sys.stdout, io.TextIOWrapper):  # the runner reads UTF-8 (a Windows pipe would be cp1252)
        sys.stdout.reconfigure(encoding="utf-8", errors="backslashreplace")
    opts, _ = options(click.get_current_context())
    if kwargs.get("discard_journal"):
        raise click.UsageError("--discard-journal is not for --format github: run `kamsync push` to resume")
    name = "plan" if command == "push" and kwargs.get("dry_run") else command
    asked = Asked(
        name,
        paths=kwargs.get("paths", ()),
        force=bool(kwargs.get("force")),
        allow_live=bool(kwargs.get("allow_live")),
        out=kwargs.get("out"),
        fail_on_changes=bool(kwargs.get("exit_code")),
        comment=comment,
        open_pr=bool(kwargs.get("open_pr")),
        branch=kwargs.get("branch") or "kamsync/drift",
    )
    return run_actions(opts, ActionsConsole(quiet=opts.quiet), asked)


@click.command(epilog=EPILOG)
@github_mode("drift")
@click.option(
    "--open-pr",
    is_flag=True,
    help="Pull the edits made in Kameleoon onto a branch and open (or update) one pull request for them.",
)
@click.option("--branch", default="kamsync/drift", show_default=True, help="The branch --open-pr pushes.")
@exit_code_option
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
    from kamsync.sync.drift import text_drift

    if open_pr:
        raise click.UsageError("--open-pr opens a pull request through GitHub: use it with --format github")
    opts, console = options(ctx)
    return text_drift(opts, console, exit_code=exit_code)
