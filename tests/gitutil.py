"""The one home of git helpers for tests: a pinned git environment, and small helpers that run real git.

``tests/conftest.py`` pins git for every test (``pin_git`` without a date); a module that needs fixed commit
dates overrides the ``pinned_git`` fixture. Pinned means: no system or user configuration, one fixed identity, a
home of the test's own, and none of the variables git exports to hooks (a test run from inside a hook must not
look at the outer repository). ``git_environment`` gives the same pinning to a kamsync process's environment.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

HOOK_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX")
FIXED_DATE = "2024-01-01T12:00:00Z"
IDENTITY = {
    "GIT_AUTHOR_NAME": "Kam Tester",
    "GIT_AUTHOR_EMAIL": "kam@example.com",
    "GIT_COMMITTER_NAME": "Kam Tester",
    "GIT_COMMITTER_EMAIL": "kam@example.com",
}
# A developer's kamsync settings must not reach the kamsync a test's git hook runs: tests pass their own.
_OWN_PREFIXES = ("KAMSYNC_", "KAMELEOON_")
GIT_TIMEOUT = 120.0  # a git waiting for input it will never get fails the test instead of hanging it


def git_environment(home: Path) -> dict[str, str]:
    """The git variables of a pinned environment whose global configuration is ``home/.gitconfig``."""
    return {**IDENTITY, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(home / ".gitconfig")}


def pin_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, date: str | None = FIXED_DATE) -> None:
    """Make git in this test see only what the test sets up; commits dated ``date`` unless None."""
    for name in [name for name in os.environ if name.startswith("GIT_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("KAMSYNC_SKIP", raising=False)
    for name, value in git_environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    # A home of the test's own: git reads its global ignore and attributes files there even when
    # GIT_CONFIG_GLOBAL is set, and a kamsync that a git hook runs keeps its rate ledger and token cache there.
    home = tmp_path / ".pinned-home"
    monkeypatch.setenv("HOME", str(home))
    for name, folder in (("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache"), ("XDG_STATE_HOME", ".state")):
        monkeypatch.setenv(name, str(home / folder))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    if date is not None:
        for role in ("AUTHOR", "COMMITTER"):
            monkeypatch.setenv(f"GIT_{role}_DATE", date)


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's (pinned) environment without hook variables or kamsync settings, plus ``extra``.

    ``extra`` may be a whole environment, such as the ``env`` fixture's: what it sets wins.
    """
    env = {k: v for k, v in os.environ.items() if k not in HOOK_VARIABLES and not k.startswith(_OWN_PREFIXES)}
    env.update(extra or {})
    return env


def run_git(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run git and return the finished process, whatever its exit status (empty input unless ``stdin``)."""
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=git_env(env),
        input=stdin or "",
        capture_output=True,
        text=True,
        check=False,
        timeout=GIT_TIMEOUT,
    )


def git(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run git, insist that it succeeds, and return its standard output without surrounding whitespace."""
    done = run_git(cwd, *args, env=env)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def new_repo(path: Path, *, bare: bool = False) -> Path:
    """An empty repository (branch ``main``) at ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "-c", "init.defaultBranch=main", "init", "-q", *(["--bare"] if bare else []))
    return path


def commit(repo: Path, files: Mapping[str, str | bytes | None], message: str = "change") -> str:
    """Write ``files`` (None deletes one), commit them, and return the new commit's id."""
    for name, content in files.items():
        target = repo / name
        if content is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    git(repo, "add", "-A", "--", *files)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


class TimedRepo:
    """A git repository whose commits are one second apart, so "newest" is well defined."""

    clock = 1_700_000_000

    def __init__(self, path: Path, *, init: bool = True) -> None:
        self.path = path
        if init:
            new_repo(path)

    def git(self, *args: str) -> str:
        """Run git at the next second; only ``git merge`` may fail (a conflict is part of some stories)."""
        TimedRepo.clock += 1
        stamp = f"@{TimedRepo.clock} +0000"
        done = run_git(self.path, *args, env={"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
        assert done.returncode == 0 or args[0] == "merge", done.stderr
        return done.stdout.strip()

    def commit(self, files: Mapping[str, str], message: str = "change") -> str:
        for name, text in files.items():
            (self.path / name).parent.mkdir(parents=True, exist_ok=True)
            (self.path / name).write_bytes(text.encode())
        self.git("add", "--", *files)
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")
