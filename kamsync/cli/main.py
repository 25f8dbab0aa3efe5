"""The command group and the one place errors become messages and exit codes (``main``)."""

from __future__ import annotations

import json
import os
import sys

import click

from kamsync import __version__
from kamsync.cli.discover_commands import list_command
from kamsync.cli.github_commands import drift
from kamsync.cli.hook_commands import hook
from kamsync.cli.login_commands import login, logout
from kamsync.cli.options import EPILOG, global_options
from kamsync.cli.preview_command import preview
from kamsync.cli.sandbox_command import sandbox
from kamsync.cli.sync_commands import apply, diff, doctor, pull, push, quota, status
from kamsync.cli.watch_command import watch
from kamsync.core.errors import Exit, KamsyncError
from kamsync.ui.console import Console

# The command functions import kamsync.sync when they run: the pre-push hook's common case (nothing mapped
# changed) must not pay for the HTTP stack.


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@global_options
@click.version_option(__version__, prog_name="kamsync")
def cli() -> None:
    """Keep Kameleoon experiment code in git, and Kameleoon in step with it.

    \b
    Credentials come from KAMELEOON_CLIENT_ID and KAMELEOON_CLIENT_SECRET (an API client of your Kameleoon
    account), else from a partner app's `kamsync login`. Try everything locally first with `kamsync sandbox`.

    \b
    Typical day:
      kamsync list                       the experiments these credentials can see
      kamsync pull --experiment 123456   map an experiment and write its code files
      kamsync status                     what differs, and why
      kamsync diff                       Kameleoon → local, per field
      kamsync push --dry-run             what a push would send
      kamsync push                       send local changes (refuses UI edits and live experiments)
      kamsync watch                      push each save as you work (Ctrl-C stops)
      kamsync hook install               check Kameleoon on every git push to the default branch
      kamsync preview --variation ID     try a variation's local code on a page, live on every save
      kamsync quota                      what is left of the credential's rate budget
      kamsync doctor                     what a support request asks for, checked
    """


for command in (
    status,
    diff,
    push,
    apply,
    pull,
    list_command,
    watch,
    quota,
    doctor,
    preview,
    drift,
    hook,
    login,
    logout,
    sandbox,
):
    cli.add_command(command)


def _redact(text: str, args: list[str]) -> str:
    """``text`` without this run's secrets: the environment's, and those of the logins stored for the API URLs
    it may use (``--api-url`` in ``args``, else the environment's)."""
    secrets = {os.environ.get("KAMELEOON_CLIENT_SECRET", "")}
    try:
        from kamsync.cli.crash import given_api_urls, ledger_secrets, login_secrets, scrub_everywhere

        secrets |= ledger_secrets(os.environ) | login_secrets(os.environ, given_api_urls(args))
        secrets.discard("")
        return scrub_everywhere(text, secrets) if secrets else text
    except Exception:  # whatever broke kamsync may break this too: the plain secrets at least stay hidden
        for secret in secrets - {""}:
            text = text.replace(secret, "<hidden>")
        return text


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    options_given = args[: args.index("--")] if "--" in args else args
    console = Console.create(json_mode=False, no_color="--no-color" in options_given, environ=os.environ)
    wants_json = "--json" in options_given

    def failed(kind: str, message: str, code: int) -> None:
        # Scripts reading stdout get an object saying what went wrong, never nothing.
        if wants_json:
            click.echo(json.dumps({"error": {"kind": kind, "message": message, "exit_code": code}}))

    try:
        code = cli.main(args=argv, prog_name="kamsync", standalone_mode=False)
    except KamsyncError as error:
        message = _redact(str(error), args)
        console.error(message)
        code = int(error.exit_code)
        failed(type(error).__name__, message, code)
    except click.exceptions.Exit as done:
        code = done.exit_code
    except click.ClickException as error:
        error.show()
        code = int(Exit.USAGE)
        failed("UsageError", _redact(error.format_message(), args), code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        console.error("interrupted")
        code = int(Exit.INTERRUPTED)
        failed("Interrupted", "interrupted", code)
    except Exception as error:
        # A bug, not a failure talking to the API: one line here, the traceback in a file for the report.
        message = _crashed(error, args)
        console.error(message)
        code = int(Exit.CRASH)
        failed("InternalError", message, code)
    sys.exit(code if isinstance(code, int) else 0)


def _crashed(error: Exception, args: list[str]) -> str:
    """Save the scrubbed traceback of ``error``; the one line that tells the user where it is."""
    what, saved = type(error).__name__, None
    try:
        from kamsync.cli.crash import given_api_urls, hidden_values, save_crash, scrub_everywhere

        first = (f"{what}: {error}".splitlines() or [what])[0]
        what = scrub_everywhere(first, hidden_values(os.environ, given_api_urls(args)))[:160]
        saved = save_crash(error, args, os.environ)
    except Exception:  # the crash report must never become a second traceback
        pass
    if saved is None:
        return f"kamsync failed unexpectedly ({what}) and could not save the details; please report it"
    return f"kamsync failed unexpectedly ({what}); the details are in {saved}: please report it with that file"
