"""The GitHub Action's entry point (``python -m kamsync.cli.action``): its inputs, which ``action.yml`` passes
only through the environment (``KAMSYNC_INPUT_*``), become one kamsync command line in ``--format github``.

Nothing of an input is ever evaluated by a shell: each becomes one argument, or is refused.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["ActionInputError", "action_args", "main"]

COMMANDS = ("plan", "push", "status", "drift")
PREFIX = "KAMSYNC_INPUT_"


class ActionInputError(ValueError):
    """An input the action cannot use; the message names it and says what it accepts."""


def _input(env: Mapping[str, str], name: str) -> str:
    return env.get(PREFIX + name.upper().replace("-", "_"), "").strip()


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = _input(env, name).lower()
    if not value:
        return default
    if value in ("true", "false"):
        return value == "true"
    raise ActionInputError(f"input {name}: {value!r} is neither true nor false")


def plan_file(env: Mapping[str, str], cwd: str) -> str:
    """Where a plan is saved: the runner's temporary folder, one file per working directory and manifest."""
    key = hashlib.sha256(f"{cwd}\0{_input(env, 'manifest')}".encode()).hexdigest()[:12]
    folder = env.get("RUNNER_TEMP") or tempfile.gettempdir()
    return str(Path(folder) / f"kamsync-plan-{key}.json")


def action_args(env: Mapping[str, str], cwd: str) -> list[str]:
    """The kamsync arguments for the action's inputs in ``env``."""
    command = _input(env, "command") or "plan"
    if command not in COMMANDS:
        raise ActionInputError(f"input command: {command!r} is not one of {', '.join(COMMANDS)}")
    args = {"plan": ["push", "--dry-run"], "push": ["push"], "status": ["status"], "drift": ["drift"]}[command]
    args += ["--format", "github"]
    for name, option in (("manifest", "--manifest"), ("api-url", "--api-url")):
        if _input(env, name):
            args += [option, _input(env, name)]
    for name in ("force", "allow-live"):
        if _flag(env, name, False) and command in ("plan", "push"):
            args.append(f"--{name}")
    if command == "plan":
        # pull_request checks out the merge commit: its first parent is the base branch as it is now, so the
        # range holds exactly what the pull request changes, never main's later commits.
        args += ["--from", _input(env, "from") or "HEAD^1", "--out", plan_file(env, cwd)]
        if _input(env, "to") and _input(env, "to") != "HEAD":
            args += ["--to", _input(env, "to")]
    elif command in ("push", "status"):
        for name in ("from", "to"):
            if _input(env, name):
                args += [f"--{name}", _input(env, name)]
    if command != "drift" and not _flag(env, "comment", True):
        args.append("--no-comment")
    if _flag(env, "fail-on-changes", False):
        args.append("--exit-code")
    if command == "drift" and _flag(env, "open-pr", False):
        args.append("--open-pr")
    return args


def main() -> None:
    from kamsync.cli.main import main as kamsync_main
    from kamsync.ui.github import Annotation

    try:
        args = action_args(os.environ, os.getcwd())
    except ActionInputError as error:
        print(Annotation("error", str(error), "kamsync: bad input").command(), flush=True)
        sys.exit(2)
    kamsync_main(args)


if __name__ == "__main__":
    main()
