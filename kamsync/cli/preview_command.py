"""``kamsync preview``: parse its flags, call the use case of ``kamsync.preview``, return its exit code."""

from __future__ import annotations

import click

from kamsync.cli.options import EPILOG, budget_options, global_options, options

__all__ = ["preview"]


@click.command(epilog=EPILOG)
@click.option("--experiment", "experiment_id", type=int, metavar="ID", help="The experiment of the variation.")
@click.option("--variation", "variation_id", type=int, metavar="ID", help="The variation to preview.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="Port on 127.0.0.1 (0: any free one)."
)
@click.option(
    "--match",
    "matches",
    multiple=True,
    metavar="PATTERN",
    help="The pages the userscript runs on (@match, repeatable); without it, only tabs opened with #kamsync-preview.",
)
@click.option("--poll", is_flag=True, help="Poll the files instead of waiting for file-system events.")
@click.option(
    "--remote",
    is_flag=True,
    help="Instead: push the variation to its experiment (refused when live) and print Kameleoon's simulation URL.",
)
@budget_options
@global_options
@click.pass_context
def preview(
    ctx: click.Context,
    experiment_id: int | None,
    variation_id: int | None,
    port: int,
    matches: tuple[str, ...],
    poll: bool,
    remote: bool,
) -> int:
    """Try a variation's local code on a real page: every save updates it, with no request to Kameleoon.

    Serves the experiment's common CSS and JS, then the variation's CSS and JS, on 127.0.0.1, and prints a
    bookmarklet and a console snippet (pages without a strict Content-Security-Policy) and a userscript
    (Tampermonkey, Violentmonkey: pages with one). With --json the first stdout line is
    {"loader", "bookmarklet", "userscript", "events"}.

    \b
    Examples:
      kamsync preview --variation 200001
      kamsync preview --variation 200001 --match 'https://shop.example/*'
      kamsync preview --variation 200001 --remote
    """
    opts, view = options(ctx)
    if remote:
        from kamsync.preview.remote import run_remote

        return view.result(run_remote(opts, view, experiment_id=experiment_id, variation_id=variation_id))
    from kamsync.preview.run import run_preview

    stopped = run_preview(
        opts, view, experiment_id=experiment_id, variation_id=variation_id, port=port, matches=matches, poll=poll
    )
    return view.result(stopped)
