"""``kamsync list``: what the credential can see in Kameleoon, and what of it is mapped where."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kamsync.cli.options import EPILOG, budget_options, global_options, options

if TYPE_CHECKING:
    from kamsync.sync.options import Options
    from kamsync.ui.view import View

__all__ = ["list_command", "run_site_pull", "site_options", "status_option"]

F = TypeVar("F", bound=Callable[..., Any])

status_option = click.option(
    "--status",
    "statuses",
    multiple=True,
    metavar="STATUS",
    help="Only entities with this status (draft, active, paused, stopped…; any letter case). Repeatable.",
)


@click.command("list", epilog=EPILOG)
@click.option("--site", "site", metavar="CODE", help="Only this site (its code, e.g. demoshop01).")
@status_option
@click.option(
    "--type",
    "kind",
    type=click.Choice(["experiment", "personalization"]),
    help="Only experiments or only personalizations (and only their list is requested).",
)
@budget_options
@global_options
@click.pass_context
def list_command(ctx: click.Context, site: str | None, statuses: tuple[str, ...], kind: str | None) -> int:
    """The sites, experiments and personalizations these credentials can see: id, name, site, status,
    variations, and whether each is mapped and where.

    One list request per 200 objects of each kind; the cost is shown at the end.

    Example: kamsync list --site demoshop01 --status active
    """
    from kamsync.core.model import Entity
    from kamsync.sync.discover import list_entities

    opts, view = options(ctx)
    kinds = [Entity(kind)] if kind else [Entity.EXPERIMENT, Entity.PERSONALIZATION]
    return view.result(list_entities(opts, view, site_code=site, statuses=statuses, kinds=kinds))


def site_options(func: F) -> F:
    """``pull``'s ``--site`` and ``--status``: bootstrap a whole site."""
    func = status_option(func)
    return click.option(
        "--site",
        "site",
        metavar="CODE",
        help="Map every experiment and personalization of this site that the manifest lacks, and write their "
        "files; with --status, only those with that status.",
    )(func)


def run_site_pull(
    opts: Options, view: View, site: str | None, statuses: Sequence[str], *, others: Sequence[str]
) -> int:
    """``pull --site``: refuse what cannot go with it, then bootstrap the site."""
    if site is None:
        raise click.UsageError("--status goes with --site: `kamsync pull --site CODE --status active`")
    if others or opts.ranged:
        given = [*others, *(["--from/--to"] if opts.ranged else [])]
        raise click.UsageError(
            f"--site maps new experiments only; it does not go with {', '.join(given)}: run `kamsync pull` "
            "on its own for what is mapped already"
        )
    from kamsync.sync.bootstrap import run_bootstrap

    return view.result(run_bootstrap(opts, view, site, statuses))
