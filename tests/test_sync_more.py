"""More of the contract, end to end: pull --force, renames, shallow clones, the repository lock."""

from __future__ import annotations

from pathlib import Path

from kamsync.core.normalize import normalize
from kamsync.git.repo import GitRepo
from kamsync.state.lock import repo_lock
from tests.gitutil import git
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
    assert [f["id"] for f in payload["skipped"]] == [200001]
    assert "locked" in payload["skipped"][0]["error"]
    assert payload["failed"] == []
    assert [w["id"] for w in payload["written"]] == [200002]
    assert payload["summary"] == {"written": 1, "skipped": 1, "failed": 0, "not_attempted": 0}
    assert normalize(sandbox.store.variation(200002)["jsCode"]) == "// two"
    assert [r.path for r in api_requests(sandbox, "PATCH") if r.status == 200] == ["/variations/200002"]


def test_status_exit_code_and_json_shape(kamsync, repo):
    result = kamsync("--json", "status", "--exit-code")
    assert result.code == 0
    entry = result.json()["entries"][0]
    assert {"experiment_id", "variation_id", "field", "path", "state"} <= set(entry)
    assert result.stderr == ""


def test_rename_of_a_variation_without_dir_pins_its_folder(kamsync, repo, sandbox):
    manifest = repo / "kamsync.yaml"
    manifest.write_text(manifest.read_text().replace("        dir: red-button\n", "", 1))
    commit_all(repo, "rely on the default folder")
    path = path_of(kamsync("status", "--json"), 200001, "jsCode")
    sandbox.store.ui_edit_variation(200001, name="Red CTA")
    assert kamsync("pull").code == 0
    assert "dir: red-button" in manifest.read_text()
    assert path_of(kamsync("status", "--json"), 200001, "jsCode") == path


def test_pull_with_paths_maps_no_variation_outside_them(kamsync, repo, sandbox):
    path = path_of(kamsync("status", "--json"), None, "commonJavaScriptCode", 100001)
    new_id = sandbox.store.add_variation(100001, "Green")
    sandbox.store.ui_edit_variation(200001, name="Crimson")
    before = (repo / "kamsync.yaml").read_text()
    assert kamsync("pull", path).code == 0
    assert (repo / "kamsync.yaml").read_text() == before
    assert kamsync("pull").code == 0
    assert f"id: {new_id}" in (repo / "kamsync.yaml").read_text()


def test_pull_reports_a_deleted_variation(kamsync, repo, sandbox):
    sandbox.store.delete_variation(200002)
    result = kamsync("pull", "--json")
    assert result.code == 0
    assert {e["variation_id"] for e in result.json()["missing"]} == {200002}
    assert "no longer exists" in result.stderr


def test_pull_refuses_a_manifest_outside_the_repository(kamsync, repo, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    result = kamsync("--manifest", str(outside / "kamsync.yaml"), "pull", "--experiment", "100003")
    assert result.code == 2 and "inside the git repository" in result.stderr
    assert list(outside.iterdir()) == []


def test_two_forced_pushes_keep_separate_backups(kamsync, repo, sandbox):
    status = kamsync("status", "--json")
    for variation_id in (200001, 200002):
        path = path_of(status, variation_id, "cssCode")
        sandbox.store.ui_edit_variation(variation_id, cssCode=f".ui-{variation_id} {{}}")
        (repo / path).write_text(f".git-{variation_id} {{}}\n")
    commit_all(repo, "two changes")
    first = kamsync("push", "--force", "--json", path_of(status, 200001, "cssCode")).json()["backup"]
    second = kamsync("push", "--force", "--json", path_of(status, 200002, "cssCode")).json()["backup"]
    assert first != second
    assert (Path(first) / "variation-200001-cssCode.css").read_text() == ".ui-200001 {}\n"
    assert (Path(second) / "variation-200002-cssCode.css").read_text() == ".ui-200002 {}\n"


def test_quota_shows_what_this_credential_used(kamsync, sandbox):
    hourly = {"KAMSYNC_RATE_LIMIT": "200/1h"}
    assert kamsync("status", extra_env=hourly).code == 0
    used = len(api_requests(sandbox))
    sandbox.store.clear_requests()
    result = kamsync("quota", "--json", extra_env=hourly)
    assert result.code == 0, result.output
    (window,) = result.json()["windows"]
    assert (window["limit"], window["used"], window["left"]) == (200, used, 200 - used)
    assert not api_requests(sandbox), "quota sends no request"


def test_no_color_and_json_are_accepted_after_the_command(kamsync):
    assert kamsync("status", "--no-color").code == 0
    assert kamsync("diff", "--no-color", "--json").json() == {"entries": []}


def test_the_lock_wait_comes_from_the_environment_the_cli_read(kamsync):
    result = kamsync("status", extra_env={"KAMSYNC_LOCK_WAIT": "soon"})
    assert result.code == 2, result.output
    assert "KAMSYNC_LOCK_WAIT must be a number of seconds" in result.stderr
