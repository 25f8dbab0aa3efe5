"""More of the contract, end to end: pull --force, renames, shallow clones, the repository lock."""

from __future__ import annotations

from kamsync.gitrepo import GitRepo
from kamsync.lock import repo_lock
from kamsync.normalize import normalize
from tests.conftest import git
from tests.helpers import api_requests, commit_all, path_of, states


def test_pull_force_takes_remote_value_for_local_changed_and_remote_ahead(kamsync, repo, sandbox):
    path = path_of(kamsync("status", "--json"), 200001, "jsCode")
    (repo / path).write_text("// committed but not pushed\n")
    commit_all(repo, "local work")
    assert states(kamsync("status", "--json"))[(100001, 200001, "jsCode")] == "local-changed"

    plain = kamsync("pull")
    assert plain.code == 0
    assert (repo / path).read_text() == "// committed but not pushed\n", "plain pull leaves local-changed alone"
    assert "left alone" in plain.stderr

    forced = kamsync("pull", "--force")
    assert forced.code == 0, forced.output
    assert normalize((repo / path).read_text()) == normalize(sandbox.store.variation(200001)["jsCode"])


def test_rename_in_kameleoon_updates_the_name_and_moves_nothing(kamsync, repo, sandbox):
    path = path_of(kamsync("status", "--json"), 200001, "jsCode")
    sandbox.store.ui_edit_variation(200001, name="Crimson button")
    result = kamsync("pull")
    assert result.code == 0, result.output
    manifest = (repo / "kamsync.yaml").read_text()
    assert "name: Crimson button" in manifest and "name: Red button" not in manifest
    assert (repo / path).exists(), "files stay where they are"
    assert path_of(kamsync("status", "--json"), 200001, "jsCode") == path


def test_shallow_clone_is_warned(kamsync, repo, tmp_path):
    (repo / "README.txt").write_text("two commits\n")
    commit_all(repo, "second commit")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow))
    result = kamsync("status", cwd=shallow)
    assert result.code == 0, result.output
    assert "shallow" in result.stderr


def test_a_second_process_waits_then_names_the_holder(kamsync, repo):
    with repo_lock(GitRepo.discover(repo).state_dir(), "kamsync push", wait=0):
        result = kamsync("status", extra_env={"KAMSYNC_LOCK_WAIT": "0.3"})
    assert result.code == 2
    assert "kamsync push" in result.stderr and "pid" in result.stderr
    assert kamsync("status").code == 0, "the lock is free again"


def test_locked_in_the_app_is_reported_and_the_rest_is_written(kamsync, repo, sandbox):
    status = kamsync("status", "--json")
    (repo / path_of(status, 200001, "jsCode")).write_text("// one\n")
    (repo / path_of(status, 200002, "jsCode")).write_text("// two\n")
    sandbox.store.set_locked("variation", 200001, True)
    result = kamsync("push", "--json")
    assert result.code == 4, result.output
    payload = result.json()
    assert [f["id"] for f in payload["failed"]] == [200001]
    assert "locked" in payload["failed"][0]["error"]
    assert [w["id"] for w in payload["written"]] == [200002]
    assert normalize(sandbox.store.variation(200002)["jsCode"]) == "// two"
    assert [r.path for r in api_requests(sandbox, "PATCH") if r.status == 200] == ["/variations/200002"]


def test_status_exit_code_and_json_shape(kamsync, repo):
    result = kamsync("--json", "status", "--exit-code")
    assert result.code == 0
    entry = result.json()["entries"][0]
    assert {"experiment_id", "variation_id", "field", "path", "state"} <= set(entry)
    assert result.stderr == ""
