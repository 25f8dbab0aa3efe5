"""``kamsync hook``: install and remove the pre-push hook, and what the installed hooks call."""

from __future__ import annotations

import sys

import click

from kamsync.cli.options import global_options, options

__all__ = ["hook"]

HOOK_EPILOG = """\b
Skip the hook once: KAMSYNC_SKIP=1 git push (skips kamsync; another tool's chained hook still runs), or
git push --no-verify (skips every pre-push hook).
"""


@click.group(epilog=HOOK_EPILOG)
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
@global_options
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
        options(ctx)[0], mode=mode, branches=branches, allow_live=allow_live, require_credentials=require_credentials
    )


@hook.command("uninstall")
@global_options
@click.pass_context
def hook_uninstall(ctx: click.Context) -> int:
    """Remove kamsync's pre-push hook and put back the one it replaced, if any."""
    from kamsync.cli.hook import uninstall_hook

    return uninstall_hook(options(ctx)[0])


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

    opts, view = options(ctx)
    settings = HookRun(HookMode(mode), branches, allow_live, require_credentials)
    stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    return run_pre_push(opts, view, settings, remote, stdin)


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

    opts, view = options(ctx)
    return run_pre_commit(opts, view, HookRun(HookMode(mode), branches, allow_live, require_credentials))
