"""The command line: parse, call one function of ``kamsync.sync.commands``, return its exit code.

Errors are turned into messages and exit codes here, and only here.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from kamsync import __version__
from kamsync.core.errors import Exit, KamsyncError
from kamsync.sync.options import Options
from kamsync.ui.console import Console

# The command functions import kamsync.sync.commands when they run: the pre-push hook's common case (nothing mapped
# changed) must not pay for the HTTP stack.

F = TypeVar("F", bound=Callable[..., Any])

EPILOG = """\b
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


def json_option(func: F) -> F:
    """``--json`` and ``--no-color`` are accepted after the command too (``kamsync status --json``)."""
    func = click.option(
        "--no-color", "no_color_", is_flag=True, expose_value=False, callback=_remember_no_color, help="No colours."
    )(func)
    return click.option("--json", "json_", is_flag=True, help="Machine-readable output on stdout.")(func)


def _remember_no_color(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta["kamsync.no_color"] = True


def _remember(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is not None and value is not False:
            ctx.meta[key] = value

    return callback


def budget_options(func: F) -> F:
    """``--wait`` and ``--max-requests``: how a command that calls the API may spend the rate budget."""
    func = click.option(
        "--max-requests",
        type=click.IntRange(min=1),
        metavar="N",
        expose_value=False,
        callback=_remember("kamsync.max_requests"),
        help="Refuse (exit 3, before any write) a run priced at more than N requests; should retries take it past "
        "N, it stops there (exit 4, resumable).",
    )(func)
    return click.option(
        "--wait",
        is_flag=True,
        expose_value=False,
        callback=_remember("kamsync.wait"),
        help="When the credential's hourly budget is short, wait for it (with a countdown) instead of refusing.",
    )(func)


def range_options(func: F) -> F:
    """``--from`` and ``--to``: only the mapped files changed between two commits, read at the second."""
    func = click.option(
        "--to",
        "to_rev",
        metavar="REV",
        expose_value=False,
        callback=_remember("kamsync.to_rev"),
        help="Read files, manifest and history at this commit (it plays HEAD's part; it need not be checked "
        "out). Default with --from: HEAD.",
    )(func)
    return click.option(
        "--from",
        "from_rev",
        metavar="REV",
        expose_value=False,
        callback=_remember("kamsync.from_rev"),
        help="Only the mapped files changed since this commit; none changed: no request is sent.",
    )(func)


def options(ctx: click.Context, json_: bool) -> tuple[Options, Console]:
    base: Options = ctx.obj
    no_color = base.no_color or bool(ctx.meta.get("kamsync.no_color"))
    opts = Options(
        base.manifest,
        base.api_url,
        base.json or json_,
        no_color,
        wait=bool(ctx.meta.get("kamsync.wait")),
        max_requests=ctx.meta.get("kamsync.max_requests"),
        from_rev=ctx.meta.get("kamsync.from_rev"),
        to_rev=ctx.meta.get("kamsync.to_rev"),
    )
    return opts, Console.create(json_mode=opts.json, no_color=opts.no_color)


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--manifest",
    metavar="PATH",
    help="The manifest (default: $KAMSYNC_MANIFEST, else kamsync.yaml "
    "found by walking up from here to the git top level).",
)
@click.option(
    "--api-url",
    metavar="URL",
    help="Kameleoon API base URL (default: $KAMELEOON_API_URL, else "
    "https://api.kameleoon.com). Plain http:// only on loopback.",
)
@click.option("--json", "json_", is_flag=True, help="Machine-readable output on stdout; messages on stderr.")
@click.option("--no-color", is_flag=True, help="No colours (NO_COLOR is honoured too).")
@click.version_option(__version__, prog_name="kamsync")
@click.pass_context
def cli(ctx: click.Context, manifest: str | None, api_url: str | None, json_: bool, no_color: bool) -> None:
    """Keep Kameleoon experiment code in git, and Kameleoon in step with it.

    \b
    Credentials come from KAMELEOON_CLIENT_ID and KAMELEOON_CLIENT_SECRET (an API client of your Kameleoon
    account). Try everything locally first with `kamsync sandbox`.

    \b
    Typical day:
      kamsync pull --experiment 123456   map an experiment and write its code files
      kamsync status                     what differs, and why
      kamsync diff                       Kameleoon → local, per field
      kamsync push --dry-run             what a push would send
      kamsync push                       send local changes (refuses UI edits and live experiments)
      kamsync hook install               check Kameleoon on every git push to the default branch
      kamsync quota                      what is left of the credential's rate budget
    """
    ctx.obj = Options(manifest, api_url, json_, no_color)


@cli.command(epilog=EPILOG)
@exit_code_option
@range_options
@budget_options
@json_option
@paths_argument
@click.pass_context
def status(ctx: click.Context, exit_code: bool, json_: bool, paths: tuple[str, ...]) -> int:
    """One line per mapped field with its state.

    \b
    States: in-sync, local-changed (safe to push), remote-ahead (Kameleoon holds code from a commit this
    branch lacks), remote-changed (edited in Kameleoon outside git), remote-only (no local file yet),
    remote-missing (deleted or moved in Kameleoon).

    Example: kamsync status experiments/homepage-hero
    """
    from kamsync.sync.commands import run_status

    opts, console = options(ctx, json_)
    return run_status(opts, console, paths, exit_code)


@cli.command(epilog=EPILOG)
@exit_code_option
@range_options
@budget_options
@json_option
@paths_argument
@click.pass_context
def diff(ctx: click.Context, exit_code: bool, json_: bool, paths: tuple[str, ...]) -> int:
    """Unified diffs Kameleoon → local for every differing field.

    Example: kamsync diff --exit-code
    """
    from kamsync.sync.commands import run_diff

    opts, console = options(ctx, json_)
    return run_diff(opts, console, paths, exit_code)


@cli.command(epilog=EPILOG)
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
@json_option
@paths_argument
@click.pass_context
def push(
    ctx: click.Context,
    dry_run: bool,
    exit_code: bool,
    force: bool,
    allow_live: bool,
    out: str | None,
    discard_journal: bool,
    json_: bool,
    paths: tuple[str, ...],
) -> int:
    """Send every local-changed field: one PATCH per experiment or variation, changed fields only.

    The whole plan is built and priced first; if any field is refused (edited in Kameleoon, newer code in
    Kameleoon, live experiment, deleted in Kameleoon) or the rate budget cannot cover it, nothing at all is
    written and the way out is shown. Traffic allocation (variations, deviations) is never sent.

    Each write is journaled under .git/kamsync/: a push that was interrupted (Ctrl-C, kill, lost network)
    resumes when run again, sending only what is still needed, and refuses fields changed in Kameleoon since.

    \b
    Examples:
      kamsync push --dry-run --exit-code
      kamsync push --dry-run --out plan.json && kamsync apply plan.json
    """
    from kamsync.sync.commands import run_push

    opts, console = options(ctx, json_)
    return run_push(
        opts,
        console,
        paths,
        dry_run=dry_run,
        exit_code=exit_code,
        force=force,
        allow_live=allow_live,
        out=out,
        discard_journal=discard_journal,
    )


@cli.command(epilog=EPILOG)
@click.option(
    "--discard-journal",
    is_flag=True,
    help="Forget an interrupted push or apply instead of refusing (the plan's own checks still apply).",
)
@budget_options
@json_option
@click.argument("plan_file", metavar="PLAN", type=click.Path(dir_okay=False))
@click.pass_context
def apply(ctx: click.Context, discard_journal: bool, json_: bool, plan_file: str) -> int:
    """Send exactly the plan saved by `kamsync push --dry-run --out PLAN`.

    Every remote value and local file the plan saw is checked again first: if any changed since, nothing is
    written (exit 3). Fields Kameleoon already holds are skipped, so an interrupted apply can be run again.

    Example: kamsync apply plan.json
    """
    from kamsync.sync.commands import run_apply

    opts, console = options(ctx, json_)
    return run_apply(opts, console, plan_file, discard_journal=discard_journal)


@cli.command(epilog=EPILOG)
@click.option(
    "--experiment",
    "experiments",
    type=int,
    multiple=True,
    metavar="ID",
    help="Map this Kameleoon experiment (creating kamsync.yaml if needed) and write its files. Repeatable.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Also take Kameleoon's value for local-changed and remote-ahead fields "
    "(files with uncommitted changes are never overwritten).",
)
@range_options
@budget_options
@json_option
@paths_argument
@click.pass_context
def pull(ctx: click.Context, experiments: tuple[int, ...], force: bool, json_: bool, paths: tuple[str, ...]) -> int:
    """Bring Kameleoon's code into the repository.

    Without --experiment: writes every remote-changed and remote-only field, and maps variations created in
    Kameleoon for mapped experiments. Files with uncommitted changes are never overwritten (exit 3).

    Example: kamsync pull --experiment 123456
    """
    from kamsync.sync.commands import run_pull

    opts, console = options(ctx, json_)
    return run_pull(opts, console, paths, experiments=experiments, force=force)


@cli.command(epilog=EPILOG)
@click.option(
    "--reset",
    is_flag=True,
    help="Forget the wait Kameleoon imposed on this API client after a 429, saying what it was; sends nothing.",
)
@json_option
@click.pass_context
def quota(ctx: click.Context, reset: bool, json_: bool) -> int:
    """Requests used and left in each rate-limit window for this API client, and when slots free up.

    Every kamsync process on this machine shares one budget per API client (KAMELEOON_CLIENT_ID); requests
    made by other machines or tools with the same credential are not seen here. Sends no request.

    Example: kamsync quota --json
    """
    from kamsync.sync.commands import run_quota

    opts, console = options(ctx, json_)
    return run_quota(opts, console, reset=reset)


HOOK_EPILOG = """\b
Skip the hook once: KAMSYNC_SKIP=1 git push (skips kamsync; another tool's chained hook still runs), or
git push --no-verify (skips every pre-push hook).
"""


@cli.group(epilog=HOOK_EPILOG)
def hook() -> None:
    """Run kamsync from git: a pre-push hook that checks Kameleoon (or syncs it) when you push.

    \b
    kamsync hook install                       check pushes to the default branch
    kamsync hook install --mode push --branch release
    kamsync hook uninstall                     remove it (puts back the hook it replaced)
    """


mode_option = click.option(
    "--mode",
    type=click.Choice(["check", "push"]),
    default="check",
    show_default=True,
    help="check: block a push that would hide edits made in Kameleoon. "
    "push: also send the pushed code to Kameleoon; git's push goes on only if that succeeded.",
)
branch_option = click.option(
    "--branch",
    "branches",
    multiple=True,
    metavar="NAME",
    help="A branch whose pushes are examined. Repeatable. Default: the repository's default branch "
    "(origin/HEAD, else init.defaultBranch, else main).",
)
allow_live_option = click.option(
    "--allow-live", is_flag=True, help="push mode: also update experiments that are live (status active)."
)
require_credentials_option = click.option(
    "--require-credentials",
    is_flag=True,
    help="check mode: block the push when KAMELEOON_CLIENT_ID/SECRET are not set (default: warn, let it through).",
)


@hook.command("install", epilog=HOOK_EPILOG)
@mode_option
@branch_option
@allow_live_option
@require_credentials_option
@click.pass_context
def hook_install(
    ctx: click.Context, mode: str, branches: tuple[str, ...], allow_live: bool, require_credentials: bool
) -> int:
    """Install kamsync's pre-push hook in the folder git runs hooks from.

    Respects core.hooksPath and worktrees. Run it again to change the settings. A pre-push hook of another
    tool is moved aside and still runs first, with the same input; `kamsync hook uninstall` puts it back.
    A push that changes no mapped file costs no request and needs no credentials.

    Example: kamsync hook install --mode push --branch main --branch release
    """
    from kamsync.cli.hook import install_hook

    return install_hook(
        ctx.obj, mode=mode, branches=branches, allow_live=allow_live, require_credentials=require_credentials
    )


@hook.command("uninstall")
@click.pass_context
def hook_uninstall(ctx: click.Context) -> int:
    """Remove kamsync's pre-push hook and put back the one it replaced, if any."""
    from kamsync.cli.hook import uninstall_hook

    return uninstall_hook(ctx.obj)


@hook.group("run")
def hook_run() -> None:
    """What the installed hooks call (you do not need to run these yourself)."""


@hook_run.command("pre-push", epilog=HOOK_EPILOG)
@mode_option
@branch_option
@allow_live_option
@require_credentials_option
@click.argument("remote", required=False, default="origin")
@click.argument("url", required=False, default="")
@click.pass_context
def hook_run_pre_push(
    ctx: click.Context,
    mode: str,
    branches: tuple[str, ...],
    allow_live: bool,
    require_credentials: bool,
    remote: str,
    url: str,
) -> int:
    """Called by git's pre-push hook with REMOTE URL; reads the pushed refs on standard input."""
    from kamsync.hook.install import HookMode
    from kamsync.hook.run import HookRun, run_pre_push

    opts, console = options(ctx, False)
    settings = HookRun(HookMode(mode), branches, allow_live, require_credentials)
    stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    return run_pre_push(opts, console, settings, remote, stdin)


@hook_run.command("pre-commit", epilog=HOOK_EPILOG)
@mode_option
@branch_option
@allow_live_option
@require_credentials_option
@click.pass_context
def hook_run_pre_commit(
    ctx: click.Context, mode: str, branches: tuple[str, ...], allow_live: bool, require_credentials: bool
) -> int:
    """Called by the pre-commit framework's pre-push stage (`id: kamsync-check`); reads PRE_COMMIT_* variables."""
    from kamsync.hook.install import HookMode
    from kamsync.hook.run import HookRun, run_pre_commit

    opts, console = options(ctx, False)
    return run_pre_commit(opts, console, HookRun(HookMode(mode), branches, allow_live, require_credentials))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port; 0 picks a free one.")
@click.option("--state", "state_file", type=click.Path(), help="Keep the sandbox state in this JSON file.")
@click.option(
    "--rate-limit",
    default="50/10s,1000/1h",
    show_default=True,
    metavar="SPEC",
    help="Rate-limit windows per client id, e.g. 5/1s,20/4s.",
)
@click.option(
    "--token-ttl",
    default=7200.0,
    show_default=True,
    type=click.FloatRange(min=1.0),
    help="Access-token lifetime, seconds.",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="SPEC",
    help="Inject a fault, announced on stderr when it happens. Repeatable. SPEC: [METHOD ]N[xK]=ACTION or "
    "[METHOD ]*=ACTION (ACTION: 500-599, 429, 429-no-retry-after, 429-retry-after=VALUE, drop, drop-after, "
    "stall=SECONDS, hold, fresh-pages, trickle=SECONDS), expire-token=N, lock=experiment|variation:ID, "
    "echo-token=body|json|basic|raw.",
)
def sandbox(
    host: str, port: int, state_file: str | None, rate_limit: str, token_ttl: float, faults: tuple[str, ...]
) -> int:
    """Serve a faithful local imitation of the Kameleoon Automation API on loopback.

    Prints its URL on the first line, then the credentials to export. Seeded with a demo site matching
    examples/repo-layout. Faults can also be armed while it runs: POST /_sandbox/faults {"faults": [SPEC…]}.

    \b
    Examples:
      kamsync sandbox --port 0 --state /tmp/sandbox.json
      kamsync sandbox --fault 'PATCH 2=503' --fault '5=drop' --fault 'lock=variation:200001'
    """
    from kamsync.sandbox import serve

    serve(host, port, state_file, rate_limit, token_ttl, faults=faults)
    return 0


def _redact(text: str) -> str:
    secret = os.environ.get("KAMELEOON_CLIENT_SECRET", "")
    if not secret:
        return text
    try:
        from kamsync.cli.crash import scrub_everywhere

        return scrub_everywhere(text, {secret})
    except Exception:  # whatever broke kamsync may break this too: the plain secret at least stays hidden
        return text.replace(secret, "<hidden>")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    options_given = args[: args.index("--")] if "--" in args else args
    console = Console.create(json_mode=False, no_color="--no-color" in options_given)
    wants_json = "--json" in options_given

    def failed(kind: str, message: str, code: int) -> None:
        # Scripts reading stdout get an object saying what went wrong, never nothing.
        if wants_json:
            click.echo(json.dumps({"error": {"kind": kind, "message": message, "exit_code": code}}))

    try:
        code = cli.main(args=argv, prog_name="kamsync", standalone_mode=False)
    except KamsyncError as error:
        message = _redact(str(error))
        console.error(message)
        code = int(error.exit_code)
        failed(type(error).__name__, message, code)
    except click.exceptions.Exit as done:
        code = done.exit_code
    except click.ClickException as error:
        error.show()
        code = int(Exit.USAGE)
        failed("UsageError", _redact(error.format_message()), code)
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
        from kamsync.cli.crash import hidden_values, save_crash, scrub_everywhere

        first = (f"{what}: {error}".splitlines() or [what])[0]
        what = scrub_everywhere(first, hidden_values(os.environ))[:160]
        saved = save_crash(error, args, os.environ)
    except Exception:  # the crash report must never become a second traceback
        pass
    if saved is None:
        return f"kamsync failed unexpectedly ({what}) and could not save the details; please report it"
    return f"kamsync failed unexpectedly ({what}); the details are in {saved}: please report it with that file"
