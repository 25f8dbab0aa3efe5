"""Paths compared the way git compares them: case where ``core.ignorecase`` is set (macOS, Windows), Unicode
form where ``core.precomposeUnicode`` is (macOS), backslashes on Windows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kamsync.core.paths import GitPathRules, git_path_key, git_paths_among
from kamsync.git.repo import GitRepo
from tests.gitutil import commit, git, new_repo, pin_git

CASE = GitPathRules(ignore_case=True)
MACOS = GitPathRules(ignore_case=True, precompose_unicode=True)
WINDOWS = GitPathRules(ignore_case=True, backslash_separates=True)
LINUX = GitPathRules()
DECOMPOSED, COMPOSED = "exp/cafe\u0301.js", "exp/caf\u00e9.js"


@pytest.fixture(autouse=True)
def pinned_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pin_git(monkeypatch, tmp_path)


@pytest.mark.parametrize(
    ("one", "other", "rules", "same"),
    [
        ("exp/Variation.js", "exp/variation.js", LINUX, False),
        ("exp/Variation.js", "exp/variation.js", CASE, True),
        ("EXP/A/B.JS", "exp/a/b.js", WINDOWS, True),
        ("exp\\a.js", "exp/a.js", LINUX, False),  # a file named `exp\a.js` at the top
        ("exp\\a.js", "exp/a.js", MACOS, False),
        ("exp\\A.js", "exp/a.js", WINDOWS, True),
        (DECOMPOSED, COMPOSED, LINUX, False),
        (DECOMPOSED, COMPOSED, CASE, False),
        (DECOMPOSED, COMPOSED, MACOS, True),
        ("exp/\u00c9.js", "exp/\u00e9.js", MACOS, False),  # git folds case in ASCII only
        ("exp/a.js", "exp/a.jsx", WINDOWS, False),
        ("a/b.js", "a//b.js", WINDOWS, False),  # git names paths normalised; nothing to repair here
    ],
)
def test_two_paths_are_one_exactly_when_git_takes_them_for_one(
    one: str, other: str, rules: GitPathRules, same: bool
) -> None:
    assert (git_path_key(one, rules) == git_path_key(other, rules)) is same
    assert bool(git_paths_among([one], [other], rules)) is same


def test_the_paths_found_among_git_s_keep_the_manifest_s_spelling() -> None:
    wanted = ["Exp/Variation.js", "exp/other.js", "exp/new.js"]
    assert git_paths_among(wanted, ["exp/variation.js", "exp/other.js"], CASE) == {"Exp/Variation.js", "exp/other.js"}
    assert git_paths_among(wanted, ["exp/variation.js", "exp/other.js"], LINUX) == {"exp/other.js"}


def test_the_repository_s_rules_come_from_its_git_config(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    git(top, "config", "core.ignorecase", "false")
    git(top, "config", "core.precomposeunicode", "false")
    windows = os.name == "nt"
    assert GitRepo.discover(top).path_rules == GitPathRules(backslash_separates=windows)
    git(top, "config", "core.ignorecase", "true")
    git(top, "config", "core.precomposeUnicode", "yes")
    assert GitRepo.discover(top).path_rules == GitPathRules(True, True, backslash_separates=windows)


@pytest.mark.parametrize("many", [False, True], ids=["exact-paths", "covering-folders"])
def test_where_git_ignores_case_an_edit_to_a_file_the_manifest_spells_otherwise_is_uncommitted(
    tmp_path: Path, many: bool
) -> None:
    # On macOS or Windows, exp/variation.js in the manifest opens the Exp/Variation.js git tracks: an edit to
    # it must count as uncommitted, or a pull could overwrite it. Linux's file system tells them apart, so the
    # file is edited under git's spelling here; git is asked about the manifest's.
    top = new_repo(tmp_path / "repo")
    others = {f"Exp/{i}/other.js": "o\n" for i in range(40 if many else 0)}
    commit(top, {"Exp/Variation.js": "one\n", **others})
    (top / "Exp" / "Variation.js").write_text("edited\n")
    asked = ["exp/variation.js", *(p.lower() for p in others)]
    git(top, "config", "core.ignorecase", "false")
    assert GitRepo.discover(top).uncommitted(asked) == set()  # two files to git: the asked one does not exist
    git(top, "config", "core.ignorecase", "true")
    assert GitRepo.discover(top).uncommitted(asked) == {"exp/variation.js"}
