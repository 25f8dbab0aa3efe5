"""What the benchmarks share: the environment of a first run on a new machine, and git."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from kamsync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET


def clean_env(home: Path, api_url: str, **extra: str) -> dict[str, str]:
    """Nothing inherited that could change kamsync's behaviour: a cold token cache, an empty ledger, the
    default rate limit (unless ``extra`` sets one), the sandbox's credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "KAMELEOON_", "KAMSYNC_", "XDG_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".state"),
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="Bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
        KAMELEOON_API_URL=api_url,
        KAMELEOON_CLIENT_ID=DEFAULT_CLIENT_ID,
        KAMELEOON_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
        NO_COLOR="1",
    )
    env.update(extra)
    return env


def git(repo: Path, env: Mapping[str, str], *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=dict(env), check=True, capture_output=True)
