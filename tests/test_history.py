"""History.find against real repositories: which committed values are known, and from where."""

from __future__ import annotations

from pathlib import Path

import pytest

from kamsync.core.errors import GitError
from kamsync.git.history import History, Sighting
from kamsync.git.repo import GitRepo
from tests.gitutil import TimedRepo

JS = "exp/12/variations/34/variation.js"
CSS = "exp/12/variations/34/variation.css"


class HistoryRepo(TimedRepo):
    """A repository one commit per second, asked what History finds."""

    def find(self, wanted: dict[str, list[str]], head: str = "HEAD") -> dict[tuple[str, str], Sighting]:
        return History(GitRepo.discover(self.path), head).find(wanted)


@pytest.fixture
def repo(tmp_path: Path) -> HistoryRepo:
    return HistoryRepo(tmp_path / "repo")


def test_value_committed_at_head_is_seen_in_head(repo: HistoryRepo) -> None:
    first = repo.commit({JS: "one\n"})
    assert repo.find({JS: ["one"]}) == {(JS, "one"): Sighting(first, in_head=True)}


def test_older_value_is_seen_in_head_with_the_commit_that_introduced_it(repo: HistoryRepo) -> None:
    first = repo.commit({JS: "one\n", CSS: "a {}\n"})
    second = repo.commit({JS: "two\n"})
    repo.commit({CSS: "b {}\n"})
    assert repo.find({JS: ["one", "two"], CSS: ["a {}"]}) == {
        (JS, "one"): Sighting(first, True),
        (JS, "two"): Sighting(second, True),
        (CSS, "a {}"): Sighting(first, True),
    }


def test_value_reintroduced_later_is_seen_at_its_newest_introduction(repo: HistoryRepo) -> None:
    repo.commit({JS: "one\n"})
    repo.commit({JS: "two\n"})
    again = repo.commit({JS: "one\n"}, "revert")
    assert repo.find({JS: ["one"]}) == {(JS, "one"): Sighting(again, True)}


def test_value_only_on_another_branch_is_not_in_head(repo: HistoryRepo) -> None:
    repo.commit({JS: "one\n"})
    repo.git("checkout", "-q", "-b", "side")
    side = repo.commit({JS: "side\n"})
    repo.git("checkout", "-q", "main")
    assert repo.find({JS: ["side", "one"]})[(JS, "side")] == Sighting(side, in_head=False)


def test_value_known_on_head_and_elsewhere_prefers_head(repo: HistoryRepo) -> None:
    base = repo.commit({JS: "one\n"})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit({JS: "two\n"})
    repo.commit({JS: "one\n"})  # newer, but not an ancestor of main
    repo.git("checkout", "-q", "main")
    assert repo.find({JS: ["one"]}) == {(JS, "one"): Sighting(base, True)}


def test_detached_checkout_of_an_older_commit_sees_the_newer_value_through_the_branch(repo: HistoryRepo) -> None:
    old = repo.commit({JS: "one\n"})
    new = repo.commit({JS: "two\n"})
    repo.git("checkout", "-q", "--detach", old)
    assert repo.find({JS: ["one", "two"]}) == {
        (JS, "one"): Sighting(old, True),
        (JS, "two"): Sighting(new, False),
    }


def test_head_given_as_another_commit_judges_ancestry_from_it(repo: HistoryRepo) -> None:
    old = repo.commit({JS: "one\n"})
    new = repo.commit({JS: "two\n"})
    assert repo.find({JS: ["one", "two"]}, head=old) == {
        (JS, "one"): Sighting(old, True),
        (JS, "two"): Sighting(new, False),
    }
    assert repo.find({JS: ["two"]}, head="main") == {(JS, "two"): Sighting(new, True)}


def test_unknown_head_revision_is_an_error_naming_it(repo: HistoryRepo) -> None:
    repo.commit({JS: "one\n"})
    with pytest.raises(GitError, match="`nope` is not a commit"):
        repo.find({JS: ["one"]}, head="nope")


def test_value_only_in_a_tag_is_found(repo: HistoryRepo) -> None:
    repo.commit({JS: "one\n"})
    repo.git("checkout", "-q", "-b", "release")
    tagged = repo.commit({JS: "released\n"})
    repo.git("tag", "-a", "-m", "v1", "v1")
    repo.git("checkout", "-q", "main")
    repo.git("branch", "-q", "-D", "release")
    assert repo.find({JS: ["released"]}) == {(JS, "released"): Sighting(tagged, False)}


def test_value_only_in_a_remote_tracking_ref_is_found(tmp_path: Path) -> None:
    HistoryRepo(tmp_path, init=False).git("-c", "init.defaultBranch=main", "init", "-q", "--bare", "remote.git")
    alice = HistoryRepo(tmp_path / "alice")
    alice.commit({JS: "one\n"})
    alice.git("remote", "add", "origin", str(tmp_path / "remote.git"))
    alice.git("push", "-q", "origin", "main")
    HistoryRepo(tmp_path, init=False).git("clone", "-q", str(tmp_path / "remote.git"), "bob")
    bob = HistoryRepo(tmp_path / "bob", init=False)
    pushed = alice.commit({JS: "alice\n"})
    alice.git("push", "-q", "origin", "main")
    bob.git("fetch", "-q", "origin")
    assert bob.find({JS: ["alice", "one"]}) == {
        (JS, "alice"): Sighting(pushed, False),
        (JS, "one"): Sighting(alice.git("rev-parse", "HEAD~1"), True),
    }


def test_fresh_clone_gives_the_same_sightings(repo: HistoryRepo, tmp_path: Path) -> None:
    repo.commit({JS: "one\n", CSS: "a {}\n"})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit({JS: "side\n"})
    repo.git("checkout", "-q", "main")
    repo.commit({JS: "two\n", CSS: "b {}\n"})
    repo.git("tag", "v2")
    repo.commit({CSS: "c {}\n"})
    wanted = {JS: ["one", "two", "side", "never"], CSS: ["a {}", "b {}", "c {}", "never"]}
    HistoryRepo(tmp_path, init=False).git("clone", "-q", str(repo.path), "clone")
    clone = HistoryRepo(tmp_path / "clone", init=False)
    assert len(repo.find(wanted)) == 6
    assert clone.find(wanted) == repo.find(wanted)


def test_whitespace_only_differences_still_match(repo: HistoryRepo) -> None:
    crlf = repo.commit({JS: "var a = 1;  \r\nvar b = 2;\r\n\r\n"})
    lf = repo.commit({CSS: "a {}\nb {}\n"})
    assert repo.find({JS: ["var a = 1;\nvar b = 2;"], CSS: ["a {}  \r\nb {}\r\n\n\n"]}) == {
        (JS, "var a = 1;\nvar b = 2;"): Sighting(crlf, True),
        (CSS, "a {}  \r\nb {}\r\n\n\n"): Sighting(lf, True),
    }


def test_merge_commit_resolving_a_conflict_with_new_content_is_found(repo: HistoryRepo) -> None:
    repo.commit({JS: "base\n"})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit({JS: "side\n"})
    repo.git("checkout", "-q", "main")
    repo.commit({JS: "main\n"})
    repo.git("merge", "-q", "side", "-m", "merge")  # conflicts
    (repo.path / JS).write_text("resolved\n")
    repo.git("add", JS)
    repo.git("commit", "-q", "--no-edit")
    merge = repo.git("rev-parse", "HEAD")
    found = repo.find({JS: ["resolved", "side"]})
    assert found[(JS, "resolved")] == Sighting(merge, True)
    assert found[(JS, "side")].in_head


def test_side_commit_hidden_by_a_merge_that_kept_the_other_side_is_still_known(repo: HistoryRepo) -> None:
    repo.commit({JS: "base\n"})
    repo.git("checkout", "-q", "-b", "side")
    side = repo.commit({JS: "side\n"})
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "-s", "ours", "side", "-m", "merge keeping main")
    assert repo.find({JS: ["side"]}) == {(JS, "side"): Sighting(side, True)}


def test_unknown_value_and_unasked_path_are_absent(repo: HistoryRepo) -> None:
    repo.commit({JS: "one\n", CSS: "two\n"})
    assert repo.find({JS: ["never", "two"]}) == {}


def test_value_of_a_since_deleted_file_is_still_known(repo: HistoryRepo) -> None:
    first = repo.commit({JS: "one\n", CSS: "a {}\n"})
    repo.git("rm", "-q", JS)
    repo.git("commit", "-q", "-m", "drop")
    assert repo.find({JS: ["one", ""]}) == {(JS, "one"): Sighting(first, True)}


def test_paths_with_spaces_and_accents_are_found(repo: HistoryRepo) -> None:
    path = "expériences/12 été/variation.js"
    first = repo.commit({path: "été\n"})
    assert repo.find({path: ["été"]}) == {(path, "été"): Sighting(first, True)}


def test_unborn_repository_knows_nothing(repo: HistoryRepo) -> None:
    assert repo.find({JS: ["one"]}) == {}


def test_unborn_branch_still_sees_other_branches(repo: HistoryRepo) -> None:
    first = repo.commit({JS: "one\n"})
    repo.git("checkout", "-q", "--orphan", "fresh")
    assert repo.find({JS: ["one"]}) == {(JS, "one"): Sighting(first, False)}


def test_asking_for_nothing_runs_no_git(tmp_path: Path) -> None:
    gone = GitRepo(tmp_path / "missing", tmp_path / "missing" / ".git")
    assert History(gone).find({}) == {}
    assert History(gone).find({JS: []}) == {}


def test_hook_environment_does_not_change_results(
    repo: HistoryRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.commit({JS: "one\n"})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit({JS: "side\n"})
    repo.git("checkout", "-q", "main")
    other = HistoryRepo(tmp_path / "other")
    other.commit({JS: "other\n"})
    wanted = {JS: ["one", "side", "other"]}
    expected = repo.find(wanted)
    assert len(expected) == 2

    monkeypatch.setenv("GIT_DIR", str(other.path / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other.path))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other.path / ".git" / "index"))
    monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(other.path / ".git" / "objects"))
    assert History(GitRepo.discover(repo.path)).find(wanted) == expected


def test_many_paths_at_once_match_each_path_only_against_its_own_history(repo: HistoryRepo) -> None:
    files = {f"exp/{i}/variation.js": f"v{i}();\n" for i in range(40)}
    first = repo.commit({**files, "exp/neighbour.js": "secret();\n"})
    second = repo.commit({"exp/5/variation.js": "five();\n"})
    wanted = {path: [f"v{i}();", "secret();"] for i, path in enumerate(files)}
    wanted["exp/5/variation.js"].append("five();")
    found = repo.find(wanted)
    assert len(found) == 41
    assert found[("exp/0/variation.js", "v0();")] == Sighting(first, True)
    assert found[("exp/5/variation.js", "five();")] == Sighting(second, True)
    assert not any(value == "secret();" for _, value in found)


def test_user_git_configuration_does_not_change_results(
    repo: HistoryRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = repo.commit({JS: "one\n"})
    repo.git("checkout", "-q", "-b", "side")
    side = repo.commit({JS: "side\n"})
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "-s", "ours", "side", "-m", "merge keeping main")
    merge = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "--detach", first)
    wanted = {JS: ["one", "side"]}
    # The merge had "one" too (and is newer), but only `first` is HEAD's ancestor now.
    expected = {(JS, "one"): Sighting(first, True), (JS, "side"): Sighting(side, False)}
    assert repo.find(wanted) == expected
    assert repo.find(wanted, head=merge) == {
        (JS, "one"): Sighting(merge, True),
        (JS, "side"): Sighting(side, True),
    }
    config = tmp_path / "gitconfig"
    config.write_text(
        "[log]\n showRoot = false\n diffMerges = first-parent\n abbrevCommit = true\n decorate = full\n"
        "[diff]\n renames = copies\n[color]\n ui = always\n[core]\n quotePath = true\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    assert repo.find(wanted) == expected
