"""``kamsync login`` and ``kamsync logout``: a partner app's authorization-code login (``kamsync.sync.login``).

Opening the browser is this layer's edge: the standard library's ``webbrowser`` (honouring ``BROWSER``), on
every OS; where no browser opens, the printed URL does the job.
"""

from __future__ import annotations

import contextlib
import sys

import click

from kamsync.cli.options import EPILOG, global_options, options
from kamsync.core.errors import UsageError

__all__ = ["login", "logout", "open_browser"]


def open_browser(url: str) -> None:
    import webbrowser  # here: every other command (and the pre-push hook) starts without it

    with contextlib.suppress(Exception):  # no browser, or a broken one: the URL is printed anyway
        webbrowser.open(url)


def _secret(environ_secret: str, client_id: str) -> str:
    if environ_secret:
        return environ_secret
    if not sys.stdin.isatty():
        raise UsageError("set KAMELEOON_CLIENT_SECRET, or run kamsync login on a terminal to be asked for it")
    secret: str = click.prompt(f"Client secret of {client_id}", hide_input=True, err=True)
    return secret.strip()


@click.command(epilog=EPILOG)
@click.option("--client-id", required=True, metavar="ID", help="The partner app's client id.")
@click.option(
    "--redirect-uri",
    metavar="URI",
    help="The loopback redirect URI registered for the app, e.g. http://127.0.0.1:8765/callback (default: "
    "http://127.0.0.1 on a free port).",
)
@global_options
@click.pass_context
def login(ctx: click.Context, client_id: str, redirect_uri: str | None) -> int:
    """Log in as a partner app (OAuth authorization code): approve kamsync in the browser page it opens.

    The client secret comes from KAMELEOON_CLIENT_SECRET, else a hidden prompt. The login (secret and tokens)
    is stored in your user state folder, readable by you only; commands use it when KAMELEOON_CLIENT_ID is not
    set, and renew its token with the refresh token.

    Example: kamsync login --client-id my-partner-app
    """
    from kamsync.sync.login import run_login

    opts, view = options(ctx)
    secret = _secret(opts.environ.get("KAMELEOON_CLIENT_SECRET", "").strip(), client_id.strip())
    return view.result(run_login(opts, view, client_id.strip(), secret, redirect_uri, open_browser))


@click.command(epilog=EPILOG)
@global_options
@click.pass_context
def logout(ctx: click.Context) -> int:
    """Forget the partner login stored by kamsync login for this API URL (its secret and tokens)."""
    from kamsync.sync.login import run_logout

    opts, view = options(ctx)
    return view.result(run_logout(opts))
