"""``kamsync watch``: push saves of mapped files as they happen (see ``kamsync.sync.watch``)."""

from __future__ import annotations

import signal
import sys

import click

from kamsync.cli.options import EPILOG, global_options, options, paths_argument

__all__ = ["watch"]


@click.command(epilog=EPILOG)
@click.option("--poll", is_flag=True, help="Poll the folders instead of file-system events (network file systems).")
@click.option(
    "--debounce",
    "debounce_ms",
    default=300,
    show_default=True,
    type=click.IntRange(min=0),
    metavar="MS",
    help="Send a batch once no save came for this many milliseconds.",
)
@click.option(
    "--max-delay",
    "max_delay_ms",
    default=2000,
    show_default=True,
    type=click.IntRange(min=0),
    metavar="MS",
    help="Send a batch at the latest this many milliseconds after its first save, however often you save.",
)
@click.option(
    "--follow-head",
    is_flag=True,
    help="When HEAD or the staged files change, or a batch touches more than 5 files: show the plan and go on "
    "pushing at once instead of waiting for Enter.",
)
@click.option("--allow-live", is_flag=True, help="Also update experiments that are live (status active).")
@global_options
@paths_argument
@click.pass_context
def watch(
    ctx: click.Context,
    poll: bool,
    debounce_ms: int,
    max_delay_ms: int,
    follow_head: bool,
    allow_live: bool,
    paths: tuple[str, ...],
) -> int:
    """Push each save of a mapped file to Kameleoon, batched, until Ctrl-C.

    Nothing is sent at start, nor for a save holding what Kameleoon already has; nothing is ever deleted.
    Each batch goes through the same plan as `kamsync push`: fields edited in Kameleoon are refused (watching
    goes on). On a checkout, commit, stash or reset, or a batch of more than 5 files, pushing pauses and the
    plan is shown; Enter resumes.

    \b
    Example: kamsync watch experiments/homepage-hero
    """
    from kamsync.sync.watch import WatchSettings, run_watch

    opts, view = options(ctx)
    if hasattr(signal, "SIGBREAK"):  # Windows: Ctrl-Break stops a watch as Ctrl-C does
        signal.signal(signal.SIGBREAK, signal.default_int_handler)
    interactive = sys.stdin is not None and sys.stdin.isatty()
    settings = WatchSettings(
        paths,
        quiet=debounce_ms / 1000,
        cap=max_delay_ms / 1000,
        poll=poll,
        follow_head=follow_head,
        allow_live=allow_live,
        interactive=interactive,
    )
    return view.result(run_watch(opts, view, settings, read_line=sys.stdin.readline if interactive else None))
