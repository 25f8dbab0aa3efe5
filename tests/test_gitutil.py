"""The one stack of git helpers for tests: every test's git is pinned, whichever module it imports git from."""

from __future__ import annotations

from pathlib import Path

import pytest

import tests.conftest
import tests.helpers
from tests.conftest import base_env
from tests.gitutil import IDENTITY, commit, git, git_env, new_repo, pin_git

AUTHOR = f"{IDENTITY['GIT_AUTHOR_NAME']} <{IDENTITY['GIT_AUTHOR_EMAIL']}>"


def test_the_git_tests_import_from_conftest_and_helpers_is_the_gitutil_one() -> None:
    assert tests.conftest.git is git
    assert tests.helpers.git is git


def test_a_developers_git_kamsync_and_home_settings_do_not_reach_a_tests_git(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outer = tmp_path / "outer"
    new_repo(outer)
    for name, value in {
        "GIT_DIR": str(outer / ".git"),  # exported by git to the hook that may be running this test suite
        "GIT_AUTHOR_NAME": "Someone Else",
        "GIT_COMMITTER_EMAIL": "someone@else.example",
        "KAMSYNC_SKIP": "1",
        "XDG_STATE_HOME": str(tmp_path / "developer-state"),  # where a hook's kamsync would keep its ledger
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KAMELEOON_CLIENT_SECRET", "developer-secret")
    pin_git(monkeypatch, tmp_path, date=None)  # what the autouse fixture does before each test
    repo = new_repo(tmp_path / "repo")
    commit(repo, {"a.js": "a\n"})
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>") == f"{AUTHOR}|{AUTHOR}"
    assert git(outer, "rev-list", "--all") == ""  # the commit went to the test's repository, not the outer one
    environ = git_env()
    assert not {"GIT_DIR", "KAMSYNC_SKIP", "KAMELEOON_CLIENT_SECRET"} & set(environ)
    assert Path(environ["XDG_STATE_HOME"]).parent == Path(environ["HOME"]) == tmp_path / ".pinned-home"


def test_a_kamsync_processs_git_commits_as_the_same_pinned_identity(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo")
    commit(repo, {"a.js": "a\n"})
    (repo / "b.js").write_text("b\n")
    home = tmp_path / "home"
    home.mkdir()
    git(repo, "add", "b.js", env=base_env(home))
    git(repo, "commit", "-q", "-m", "as kamsync would", env=base_env(home))
    authors = git(repo, "log", "--format=%an <%ae>|%cn <%ce>").splitlines()
    assert authors == [f"{AUTHOR}|{AUTHOR}"] * 2
