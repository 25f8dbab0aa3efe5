"""The options every command shares, and how they become one ``Options`` value.

Global options (``--manifest``, ``--api-url``, ``--json``, ``--no-color``, ``-v``, ``-q``) are accepted before the
command (``kamsync --json status``) and after it (``kamsync status --json``); either place sets the same value.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from kamsync.sync.options import Options
from kamsync.ui.console import Console
from kamsync.ui.view import View

__all__ = [
    "EPILOG",
    "budget_options",
    "exit_code_option",
    "global_options",
    "options",
    "paths_argument",
    "range_options",
]

F = TypeVar("F", bound=Callable[..., Any])

EPILOG = """\b
Global options (--manifest, --api-url, --json, --no-color, -v, -q) go before or after the command.
Exit codes: 0 success or nothing to do, 1 differences (with --exit-code), 2 usage/manifest/credentials error
(nothing sent) or a file on this machine that could not be written (named; left as it was), 3 refused for
safety or for lack of rate budget (nothing written), 4 failure talking to the API or an entity locked in the
Kameleoon app (the summary says what was and was not written), 70 kamsync failed unexpectedly (a bug: the
message names a crash file to report), 130 interrupted. When several apply, the first of 130, 70, 4, 3, 1 wins.
"""

paths_argument = click.argument("paths", nargs=-1, type=click.Path())
exit_code_option = click.option(
    "--exit-code", is_flag=True, help="Exit 1 when there are differences (for scripts and CI)."
)

_KEY = "kamsync.option."


def _remember(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is not None and value is not False and value != 0:
            # Options given before the command live on the group's context: keep them visible to the command.
            ctx.find_root().meta[_KEY + name] = value

    return callback


def _option(*decls: str, name: str, **kwargs: Any) -> Callable[[F], F]:
    return click.option(*decls, name, expose_value=False, callback=_remember(name), **kwargs)


GLOBAL_OPTIONS = (
    _option(
        "--manifest",
        name="manifest",
        metavar="PATH",
        help="The manifest (default: $KAMSYNC_MANIFEST, else kamsync.yaml found by walking up from here to the "
        "git top level).",
    ),
    _option(
        "--api-url",
        name="api_url",
        metavar="URL",
        help="Kameleoon API base URL (default: $KAMELEOON_API_URL, else https://api.kameleoon.com). Plain "
        "http:// only on loopback.",
    ),
    _option("--json", name="json", is_flag=True, help="Machine-readable output on stdout; messages on stderr."),
    _option("--no-color", name="no_color", is_flag=True, help="No colours (NO_COLOR is honoured too)."),
    _option(
        "-v",
        "--verbose",
        name="verbose",
        is_flag=True,
        help="Print each request on stderr: method, path, status, milliseconds, the rate windows (secrets hidden).",
    ),
    _option("-q", "--quiet", name="quiet", is_flag=True, help="Print only errors and the final summary."),
)


def global_options(func: F) -> F:
    """The global options, accepted here too (after the command)."""
    for option in reversed(GLOBAL_OPTIONS):
        func = option(func)
    return func


def budget_options(func: F) -> F:
    """``--wait`` and ``--max-requests``: how a command that calls the API may spend the rate budget."""
    func = _option(
        "--max-requests",
        name="max_requests",
        type=click.IntRange(min=1),
        metavar="N",
        help="Refuse (exit 3, before any write) a run priced at more than N requests; should retries take it past "
        "N, it stops there (exit 4, resumable).",
    )(func)
    return _option(
        "--wait",
        name="wait",
        is_flag=True,
        help="When the credential's hourly budget is short, wait for it (with a countdown) instead of refusing.",
    )(func)


def range_options(func: F) -> F:
    """``--from`` and ``--to``: only the mapped files changed between two commits, read at the second."""
    func = _option(
        "--to",
        name="to_rev",
        metavar="REV",
        help="Read files, manifest and history at this commit (it plays HEAD's part; it need not be checked "
        "out). Default with --from: HEAD.",
    )(func)
    return _option(
        "--from",
        name="from_rev",
        metavar="REV",
        help="Only the mapped files changed since this commit; none changed: no request is sent.",
    )(func)


def options(ctx: click.Context) -> tuple[Options, View]:
    """The command's ``Options`` (from wherever each was given) and the view that shows what it reports."""
    given = ctx.find_root().meta

    def get(name: str) -> Any:
        return given.get(_KEY + name)

    verbose, quiet = bool(get("verbose")), bool(get("quiet"))
    if verbose and quiet:
        raise click.UsageError("-v/--verbose and -q/--quiet contradict each other: give one of them")
    opts = Options(
        get("manifest"),
        get("api_url"),
        bool(get("json")),
        bool(get("no_color")),
        wait=bool(get("wait")),
        max_requests=get("max_requests"),
        from_rev=get("from_rev"),
        to_rev=get("to_rev"),
        verbose=verbose,
        quiet=quiet,
        environ=dict(os.environ),  # read here, once: every other module asks the settings
        command=ctx.command_path,
    )
    console = Console.create(json_mode=opts.json, no_color=opts.no_color, quiet=opts.quiet, environ=opts.environ)
    return opts, View(console, opts.environ)
