"""The commands that compare and move code: status, diff, push, apply, pull, quota, doctor.

Each parses its flags, calls one function of ``kamsync.sync``, shows the report it returns and returns its
exit code. They import the sync
layer when they run: the pre-push hook's common case (nothing mapped changed) must not pay for the HTTP stack.
"""

from __future__ import annotations

import click

from kamsync.cli.discover_commands import site_options
from kamsync.cli.github_commands import github_mode
from kamsync.cli.options import (
    EPILOG,
    budget_options,
    exit_code_option,
    global_options,
    options,
    paths_argument,
    range_options,
)

__all__ = ["apply", "diff", "doctor", "pull", "push", "quota", "status"]


@click.command(epilog=EPILOG)
@github_mode("status")
@exit_code_option
@click.option("--changed", is_flag=True, help="List only the fields that are not in-sync.")
@range_options
@budget_options
@global_options
@paths_argument
@click.pass_context
def status(ctx: click.Context, exit_code: bool, changed: bool, paths: tuple[str, ...]) -> int:
    """One line per mapped field with its state; a count per state on stderr.

    \b
    States: in-sync, local-changed (safe to push), remote-ahead (Kameleoon holds code from a commit this
    branch lacks), remote-changed (edited in Kameleoon outside git), remote-only (no local file yet),
    remote-missing (deleted or moved in Kameleoon).

    Example: kamsync status --changed experiments/homepage-hero
    """
    from kamsync.sync.commands import run_status

    opts, view = options(ctx)
    return view.result(run_status(opts, view, paths, exit_code, changed_only=changed))


@click.command(epilog=EPILOG)
@exit_code_option
@range_options
@budget_options
@global_options
@paths_argument
@click.pass_context
def diff(ctx: click.Context, exit_code: bool, paths: tuple[str, ...]) -> int:
    """Unified diffs Kameleoon → local for every differing field.

    Example: kamsync diff --exit-code
    """
    from kamsync.sync.commands import run_diff

    opts, view = options(ctx)
    return view.result(run_diff(opts, view, paths, exit_code))


@click.command(epilog=EPILOG)
@github_mode("push")
@click.option("--dry-run", is_flag=True, help="Show the plan; send nothing.")
@exit_code_option
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite fields edited in Kameleoon or holding newer commits "
    "(what is overwritten is saved under .git/kamsync/backups/ first).",
)
@click.option("--allow-live", is_flag=True, help="Also update experiments that are live (status active).")
@click.option(
    "--allow-traffic-change",
    is_flag=True,
    help="Create the manifest's new variations (entries with a name and no id) and attach them, changing the "
    "experiment's traffic split as the plan shows.",
)
@click.option(
    "--out",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="With --dry-run: save the plan (remote values seen, local values to send) for `kamsync apply FILE`.",
)
@click.option(
    "--discard-journal",
    is_flag=True,
    help="Forget an interrupted push instead of resuming it (its drift checks no longer apply).",
)
@range_options
@budget_options
@global_options
@paths_argument
@click.pass_context
def push(
    ctx: click.Context,
    dry_run: bool,
    exit_code: bool,
    force: bool,
    allow_live: bool,
    allow_traffic_change: bool,
    out: str | None,
    discard_journal: bool,
    paths: tuple[str, ...],
) -> int:
    """Send every local-changed field: one PATCH per experiment or variation, changed fields only.

    The whole plan is built and priced first; if any field is refused (edited in Kameleoon, newer code in
    Kameleoon, live experiment, deleted in Kameleoon) or the rate budget cannot cover it, nothing at all is
    written and the way out is shown. Traffic allocation (variations, deviations) is sent only to attach a
    new variation: a manifest entry with a name and no id is created first (or, when the site has exactly one
    variation of that name, adopted), attached with the split the plan shows, and its id written into the
    manifest; that needs --allow-traffic-change (and --allow-live on a live experiment).

    Each write is journaled under .git/kamsync/: a push that was interrupted (Ctrl-C, kill, lost network)
    resumes when run again, sending only what is still needed, and refuses fields changed in Kameleoon since.

    \b
    Examples:
      kamsync push --dry-run --exit-code
      kamsync push --dry-run --out plan.json && kamsync apply plan.json
      kamsync push --allow-traffic-change        (creates the new variations first)
    """
    from kamsync.sync.commands import run_push

    opts, view = options(ctx)
    return view.result(
        run_push(
            opts,
            view,
            paths,
            dry_run=dry_run,
            exit_code=exit_code,
            force=force,
            allow_live=allow_live,
            out=out,
            discard_journal=discard_journal,
            allow_traffic_change=allow_traffic_change,
        )
    )


@click.command(epilog=EPILOG)
@click.option(
    "--discard-journal",
    is_flag=True,
    help="Forget an interrupted push or apply instead of refusing (the plan's own checks still apply).",
)
@budget_options
@global_options
@click.argument("plan_file", metavar="PLAN", type=click.Path(dir_okay=False))
@click.pass_context
def apply(ctx: click.Context, discard_journal: bool, plan_file: str) -> int:
    """Send exactly the plan saved by `kamsync push --dry-run --out PLAN`.

    Every remote value and local file the plan saw is checked again first: if any changed since, nothing is
    written (exit 3). Fields Kameleoon already holds are skipped, so an interrupted apply can be run again.

    Example: kamsync apply plan.json
    """
    from kamsync.sync.commands import run_apply

    opts, view = options(ctx)
    return view.result(run_apply(opts, view, plan_file, discard_journal=discard_journal))


@click.command(epilog=EPILOG)
@click.option(
    "--experiment",
    "experiments",
    type=int,
    multiple=True,
    metavar="ID",
    help="Map this Kameleoon experiment (creating kamsync.yaml if needed) and write its files. Repeatable.",
)
@site_options
@click.option(
    "--force",
    is_flag=True,
    help="Also take Kameleoon's value for local-changed and remote-ahead fields "
    "(files with uncommitted changes are never overwritten).",
)
@range_options
@budget_options
@global_options
@paths_argument
@click.pass_context
def pull(
    ctx: click.Context,
    experiments: tuple[int, ...],
    site: str | None,
    statuses: tuple[str, ...],
    force: bool,
    paths: tuple[str, ...],
) -> int:
    """Bring Kameleoon's code into the repository.

    Without --experiment: writes every remote-changed and remote-only field, and maps variations created in
    Kameleoon for mapped experiments. Files with uncommitted changes are never overwritten (exit 3).
    With --site: maps every experiment and personalization of that site the manifest lacks (see `kamsync list`).

    Example: kamsync pull --experiment 123456
    """
    opts, view = options(ctx)
    if site is not None or statuses:
        from kamsync.cli.discover_commands import run_site_pull

        return run_site_pull(opts, view, site, statuses, others=_others(experiments, force, paths))
    from kamsync.sync.commands import run_pull

    return view.result(run_pull(opts, view, paths, experiments=experiments, force=force))


def _others(experiments: tuple[int, ...], force: bool, paths: tuple[str, ...]) -> list[str]:
    """The options and arguments of pull given beside --site (which maps new experiments only)."""
    return [*(["--experiment"] if experiments else []), *(["--force"] if force else []), *(["PATHS"] if paths else [])]


@click.command(epilog=EPILOG)
@click.option(
    "--reset",
    is_flag=True,
    help="Forget the wait Kameleoon imposed on this API client after a 429, saying what it was; sends nothing.",
)
@global_options
@click.pass_context
def quota(ctx: click.Context, reset: bool) -> int:
    """Requests used and left in each rate-limit window for this API client, and when slots free up.

    Every kamsync process on this machine shares one budget per API client (KAMELEOON_CLIENT_ID); requests
    made by other machines or tools with the same credential are not seen here. Sends no request.

    Example: kamsync quota --json
    """
    from kamsync.sync.commands import run_quota

    opts, view = options(ctx)
    return view.result(run_quota(opts, view, reset=reset))


@click.command(epilog=EPILOG)
@global_options
@click.pass_context
def doctor(ctx: click.Context) -> int:
    """Check what a support request would ask for; exit 2 if anything fails.

    Each line says what was found and, when it failed, what to do: credentials found and accepted (one token
    request), the API reachable, the manifest valid, the hook and its mode, the rate budget kept on this
    machine, the git version and the platform.

    Example: kamsync doctor --json
    """
    from kamsync.cli.hook import hook_state
    from kamsync.sync.doctor import run_doctor

    opts, view = options(ctx)
    return view.result(run_doctor(opts, view, hook_state))
