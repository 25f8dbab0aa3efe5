"""GitRepo against real repositories in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from kamsync.core.errors import GitError
from kamsync.git.repo import GitRepo, covering_pathspecs
from tests.gitutil import commit, git, new_repo, pin_git


@pytest.fixture(autouse=True)
def pinned_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pin_git(monkeypatch, tmp_path)


def test_discover_from_a_subfolder_finds_top_and_git_dir(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    (top / "experiments" / "12").mkdir(parents=True)
    repo = GitRepo.discover(top / "experiments" / "12")
    assert repo.top == top.resolve()
    assert repo.git_dir == (top / ".git").resolve()


def test_discover_from_a_file_uses_its_folder(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    (top / "kamsync.yaml").write_text("version: 1\n")
    assert GitRepo.discover(top / "kamsync.yaml").top == top.resolve()


def test_discover_outside_a_repository_says_to_run_git_init(tmp_path: Path) -> None:
    with pytest.raises(GitError) as error:
        GitRepo.discover(tmp_path)
    assert str(error.value) == (
        f"{tmp_path} is not inside a git repository; run `git init` (kamsync keeps its knowledge in git history)"
    )


def test_discover_in_a_linked_worktree_shares_the_common_git_dir(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    commit(top, {"a.js": "a\n"})
    git(top, "worktree", "add", "-q", str(tmp_path / "wt"))
    repo = GitRepo.discover(tmp_path / "wt")
    assert repo.top == (tmp_path / "wt").resolve()
    assert repo.git_dir == (top / ".git").resolve()
    assert repo.state_dir() == (top / ".git" / "kamsync").resolve()


def test_state_dir_is_created_inside_the_git_dir(tmp_path: Path) -> None:
    repo = GitRepo.discover(new_repo(tmp_path / "repo"))
    state = repo.state_dir()
    assert state == repo.git_dir / "kamsync"
    assert state.is_dir()


def test_head_is_none_on_an_unborn_branch_then_the_commit(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    repo = GitRepo.discover(top)
    assert repo.head() is None
    first = commit(top, {"a.js": "a\n"})
    assert repo.head() == first


def test_resolve_names_commits_by_branch_tag_and_short_id(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    first = commit(top, {"a.js": "a\n"})
    git(top, "tag", "-a", "-m", "v1", "v1")
    second = commit(top, {"a.js": "b\n"})
    repo = GitRepo.discover(top)
    assert repo.resolve("main") == second
    assert repo.resolve("v1") == first  # an annotated tag peels to its commit
    assert repo.resolve(first[:8]) == first
    assert repo.resolve("HEAD~1") == first


@pytest.mark.parametrize("rev", ["no-such-branch", "--all", "HEAD~5"])
def test_resolve_an_unknown_revision_names_it(tmp_path: Path, rev: str) -> None:
    top = new_repo(tmp_path / "repo")
    commit(top, {"a.js": "a\n"})
    with pytest.raises(GitError) as error:
        GitRepo.discover(top).resolve(rev)
    assert str(error.value) == (f"`{rev}` is not a commit in {top.resolve()}; check the name with `git log --oneline`")


def test_is_shallow_only_for_a_shallow_clone(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    commit(top, {"a.js": "a\n"})
    commit(top, {"a.js": "b\n"})
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{top}", "shallow")
    assert not GitRepo.discover(top).is_shallow()
    assert GitRepo.discover(tmp_path / "shallow").is_shallow()


def test_uncommitted_reports_modified_staged_untracked_and_deleted_but_not_ignored_or_unchanged(
    tmp_path: Path,
) -> None:
    top = new_repo(tmp_path / "repo")
    commit(
        top,
        {
            ".gitignore": "*.log\n",
            "unchanged.js": "u\n",
            "modified.js": "m\n",
            "staged.js": "s\n",
            "staged_then_reverted.js": "r\n",
            "deleted.js": "d\n",
            "exp 1/é.css": "e\n",
        },
    )
    (top / "modified.js").write_text("m2\n")
    (top / "staged.js").write_text("s2\n")
    git(top, "add", "staged.js")
    (top / "staged_then_reverted.js").write_text("r2\n")
    git(top, "add", "staged_then_reverted.js")
    (top / "staged_then_reverted.js").write_text("r\n")
    (top / "deleted.js").unlink()
    (top / "new").mkdir()
    (top / "new" / "untracked.js").write_text("n\n")
    (top / "ignored.log").write_text("i\n")
    (top / "exp 1" / "é.css").write_text("e2\n")
    (top / "not-asked.js").write_text("x\n")
    asked = [
        "unchanged.js",
        "modified.js",
        "staged.js",
        "staged_then_reverted.js",
        "deleted.js",
        "new/untracked.js",
        "ignored.log",
        "absent.js",
        "exp 1/é.css",
    ]
    assert GitRepo.discover(top).uncommitted(asked) == {
        "modified.js",
        "staged.js",
        "staged_then_reverted.js",
        "deleted.js",
        "new/untracked.js",
        "exp 1/é.css",
    }


def test_uncommitted_on_an_unborn_branch_reports_every_present_file(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    (top / "a.js").write_text("a\n")
    (top / "b.js").write_text("b\n")
    git(top, "add", "a.js")
    assert GitRepo.discover(top).uncommitted(["a.js", "b.js", "c.js"]) == {"a.js", "b.js"}


def test_uncommitted_of_nothing_is_empty(tmp_path: Path) -> None:
    assert GitRepo.discover(new_repo(tmp_path / "repo")).uncommitted([]) == set()


def test_show_returns_content_at_a_commit_or_none_when_absent(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    first = commit(top, {"v/variation.js": "one\r\n"})
    commit(top, {"v/variation.js": "two\n"})
    repo = GitRepo.discover(top)
    assert repo.show(first, "v/variation.js") == b"one\r\n"
    assert repo.show("HEAD", "v/variation.js") == b"two\n"
    assert repo.show("HEAD", "v/missing.js") is None
    assert repo.show("HEAD", "v") is None  # a folder is not a file


def test_run_failure_carries_the_command_and_gits_message(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    with pytest.raises(GitError) as error:
        GitRepo.discover(top).run("cat-file", "-p", "nope")
    message = str(error.value)
    assert message.startswith(f"`git cat-file -p nope` failed in {top.resolve()}: ")
    assert "nope" in message.split(": ", 1)[1]


def test_hook_environment_does_not_redirect_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    top = new_repo(tmp_path / "repo")
    ours = commit(top, {"a.js": "a\n"})
    (top / "a.js").write_text("edited\n")
    other = new_repo(tmp_path / "other")
    commit(other, {"b.js": "b\n"})
    repo = GitRepo.discover(top)

    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    monkeypatch.setenv("GIT_PREFIX", "sub/")
    monkeypatch.setenv("GIT_LITERAL_PATHSPECS", "0")

    assert GitRepo.discover(top).top == repo.top
    assert repo.head() == ours
    assert repo.uncommitted(["a.js", "b.js"]) == {"a.js"}
    assert repo.show("HEAD", "a.js") == b"a\n"


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        ([], []),
        (["b.js", "a/x.js"], ["a/x.js", "b.js"]),
        ([f"exp/{i}/variation.js" for i in range(40)], ["exp"]),
        ([f"exp/{i % 3}/v{i}/variation.js" for i in range(40)], ["exp/0", "exp/1", "exp/2"]),
        ([f"exp/{i}/variation.js" for i in range(40)] + ["top.js"], ["exp", "top.js"]),
        ([f"e{i}/variation.js" for i in range(40)], ["."]),
    ],
)
def test_covering_pathspecs_are_the_paths_when_few_else_their_deepest_few_folders(
    paths: list[str], expected: list[str]
) -> None:
    assert covering_pathspecs(paths) == expected


def test_uncommitted_among_many_paths_reports_only_the_asked_ones(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    files = {f"exp/{i}/variation.js": f"{i}\n" for i in range(40)}
    commit(top, {**files, "exp/other.js": "o\n"})
    for name in ("exp/3/variation.js", "exp/other.js", "exp/7/new.js", "exp/9/variation.js"):
        (top / name).write_text("edited\n")
    asked = [*files, "exp/7/new.js"]
    assert GitRepo.discover(top).uncommitted(asked) == {
        "exp/3/variation.js",
        "exp/9/variation.js",
        "exp/7/new.js",
    }


# --- ranges, ancestry, default branch and hooks folder ------------------------------------------------------


def test_changed_paths_lists_added_modified_deleted_and_both_sides_of_a_rename(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    first = commit(top, {"keep.js": "k\n", "edit.js": "e\n", "gone.js": "g\n", "old/name.js": "n\n"})
    (top / "new").mkdir()
    git(top, "mv", "old/name.js", "new/name.js")
    second = commit(top, {"edit.js": "e2\n", "gone.js": None, "exp 1/é.css": "a {}\n"})
    repo = GitRepo.discover(top)
    assert repo.changed_paths(first, second) == {"edit.js", "gone.js", "old/name.js", "new/name.js", "exp 1/é.css"}
    assert repo.changed_paths(second, first) == {"edit.js", "gone.js", "old/name.js", "new/name.js", "exp 1/é.css"}
    assert repo.changed_paths(second, second) == set()


def test_changed_paths_without_a_start_is_every_file_of_the_commit(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    commit(top, {"a.js": "a\n", "deep/er/b.css": "b\n"})
    head = commit(top, {"a.js": None, "c.js": "c\n"})
    assert GitRepo.discover(top).changed_paths(None, head) == {"deep/er/b.css", "c.js"}


def test_changed_paths_reads_commits_that_are_not_checked_out(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    base = commit(top, {"a.js": "a\n"})
    git(top, "checkout", "-q", "-b", "feature")
    feature = commit(top, {"b.js": "b\n"})
    git(top, "checkout", "-q", "main")
    repo = GitRepo.discover(top)
    assert repo.changed_paths(base, "feature") == {"b.js"}
    assert repo.changed_paths(None, feature) == {"a.js", "b.js"}


def test_changed_paths_ignores_user_diff_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    top = new_repo(tmp_path / "repo")
    first = commit(top, {"sub/a.js": "a\n" * 20})
    git(top, "mv", "sub/a.js", "sub/b.js")
    second = commit(top, {"top.js": "t\n"})
    config = tmp_path / "gitconfig"
    config.write_text("[diff]\n relative = true\n renames = copies\n noprefix = true\n[core]\n quotePath = true\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    assert GitRepo.discover(top / "sub").changed_paths(first, second) == {"sub/a.js", "sub/b.js", "top.js"}


@pytest.mark.parametrize("bad", ["no-such-branch", "--output=x", "0" * 40])
def test_changed_paths_of_an_unknown_revision_names_it(tmp_path: Path, bad: str) -> None:
    top = new_repo(tmp_path / "repo")
    head = commit(top, {"a.js": "a\n"})
    repo = GitRepo.discover(top)
    expected = f"`{bad}` is not a commit in {top.resolve()}; check the name with `git log --oneline`"
    for from_rev, to_rev in ((bad, head), (head, bad), (None, bad)):
        with pytest.raises(GitError) as error:
            repo.changed_paths(from_rev, to_rev)
        assert str(error.value) == expected
    assert not (top / "x").exists()  # a name that looks like an option never reaches git as one


def test_hook_environment_does_not_redirect_range_questions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    top = new_repo(tmp_path / "repo")
    first = commit(top, {"a.js": "a\n"})
    second = commit(top, {"b.js": "b\n"})
    other = new_repo(tmp_path / "other")
    commit(other, {"z.js": "z\n"})
    repo = GitRepo.discover(top)
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(other / ".git" / "objects"))
    assert repo.changed_paths(first, second) == {"b.js"}
    assert repo.merge_base(first, second) == first
    assert repo.commit_exists(second)
    assert repo.hooks_dir() == top.resolve() / ".git" / "hooks"


def test_merge_base_is_the_fork_point_or_none_for_unrelated_histories(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    base = commit(top, {"a.js": "a\n"})
    git(top, "checkout", "-q", "-b", "feature")
    feature = commit(top, {"b.js": "b\n"})
    git(top, "checkout", "-q", "main")
    main = commit(top, {"c.js": "c\n"})
    git(top, "checkout", "-q", "--orphan", "lonely")
    lonely = commit(top, {"d.js": "d\n"})
    repo = GitRepo.discover(top)
    assert repo.merge_base(feature, main) == base
    assert repo.merge_base("feature", "main") == base
    assert repo.merge_base(main, base) == base
    assert repo.merge_base(lonely, main) is None


def test_merge_base_of_an_unknown_revision_names_it(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    head = commit(top, {"a.js": "a\n"})
    with pytest.raises(GitError, match=r"^`nope` is not a commit in "):
        GitRepo.discover(top).merge_base(head, "nope")


def test_commit_exists_only_for_commits_present_here(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    head = commit(top, {"a.js": "a\n"})
    git(top, "tag", "-a", "-m", "v1", "v1")
    blob = git(top, "rev-parse", "HEAD:a.js")
    repo = GitRepo.discover(top)
    assert repo.commit_exists(head)
    assert repo.commit_exists("v1")  # an annotated tag peels to its commit
    assert repo.commit_exists("main")
    assert not repo.commit_exists(blob)
    assert not repo.commit_exists("1" * 40)
    assert not repo.commit_exists("2" * 64)
    assert not repo.commit_exists("--all")


def test_default_branch_follows_origin_head(tmp_path: Path) -> None:
    remote = new_repo(tmp_path / "remote")
    git(remote, "checkout", "-q", "-b", "trunk")
    commit(remote, {"a.js": "a\n"})
    git(tmp_path, "clone", "-q", str(remote), "clone")
    assert GitRepo.discover(tmp_path / "clone").default_branch() == "trunk"


def test_default_branch_without_origin_head_is_init_default_branch_else_main(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    repo = GitRepo.discover(top)
    assert repo.default_branch() == "main"
    git(top, "config", "init.defaultBranch", "develop")
    assert repo.default_branch() == "develop"
    git(top, "remote", "add", "origin", str(tmp_path / "nowhere"))
    assert repo.default_branch() == "develop"  # a remote with no HEAD known does not count


def test_hooks_dir_is_where_git_runs_hooks(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    commit(top, {"a.js": "a\n"})
    (top / "sub").mkdir()
    repo = GitRepo.discover(top / "sub")
    assert repo.hooks_dir() == top.resolve() / ".git" / "hooks"
    git(top, "config", "core.hooksPath", "tools/hooks")
    assert repo.hooks_dir() == top.resolve() / "tools" / "hooks"
    git(top, "config", "core.hooksPath", str(tmp_path / "shared-hooks"))
    assert repo.hooks_dir() == tmp_path / "shared-hooks"


def test_hooks_dir_of_a_linked_worktree_is_the_main_repositorys(tmp_path: Path) -> None:
    top = new_repo(tmp_path / "repo")
    commit(top, {"a.js": "a\n"})
    git(top, "worktree", "add", "-q", str(tmp_path / "wt"))
    worktree = GitRepo.discover(tmp_path / "wt")
    assert worktree.hooks_dir() == top.resolve() / ".git" / "hooks"
    git(top, "config", "core.hooksPath", "hooks-here")  # relative: from the top of whichever work tree runs them
    assert worktree.hooks_dir() == (tmp_path / "wt").resolve() / "hooks-here"
