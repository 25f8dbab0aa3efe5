"""The everyday loop, end to end: real `kamsync` processes, the sandbox over HTTP, real git repositories."""

from __future__ import annotations

from pathlib import Path

from kamsync.core.normalize import normalize
from tests.gitutil import git
from tests.helpers import api_requests, commit_all, path_of, states


def test_fresh_example_repository_is_in_sync(kamsync):
    result = kamsync("status", "--json")
    assert result.code == 0, result.output
    found = states(result)
    assert found, "the example maps fields"
    assert set(found.values()) == {"in-sync"}
    assert found[(100001, 200001, "jsCode")] == "in-sync"
    assert found[(100002, None, "commonCssCode")] == "in-sync"


def test_edit_status_diff_push_then_in_sync(kamsync, repo, sandbox):
    path = path_of(kamsync("status", "--json"), 200001, "jsCode")
    (repo / path).write_text("document.body.dataset.variant = 'red';\n")

    status = kamsync("status", "--json", "--exit-code")
    assert status.code == 1
    assert states(status)[(100001, 200001, "jsCode")] == "local-changed"

    diff = kamsync("diff")
    assert diff.code == 0
    assert "+document.body.dataset.variant = 'red';" in diff.stdout
    assert f"local/{path}" in diff.stdout

    push = kamsync("push")
    assert push.code == 0, push.output
    assert "updated variation 200001 (experiment 100001): jsCode" in push.stdout
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "document.body.dataset.variant = 'red';"
    patches = api_requests(sandbox, "PATCH")
    assert [r.path for r in patches] == ["/variations/200001"]

    after = kamsync("status", "--json", "--exit-code")
    assert after.code == 0, after.output
    assert set(states(after).values()) == {"in-sync"}


def test_push_sends_only_changed_fields_of_one_entity_in_one_request(kamsync, repo, sandbox):
    status = kamsync("status", "--json")
    (repo / path_of(status, 200002, "jsCode")).write_text("// js\n")
    (repo / path_of(status, 200002, "cssCode")).write_text(".x { color: red; }\n")
    sandbox.store.clear_requests()
    assert kamsync("push").code == 0
    patches = api_requests(sandbox, "PATCH")
    assert len(patches) == 1 and patches[0].path == "/variations/200002"


def test_whitespace_round_trip_is_not_a_change(kamsync, repo, sandbox):
    stored = sandbox.store.variation(200001)["jsCode"]
    sandbox.store.ui_edit_variation(200001, jsCode=stored.replace("\n", "  \r\n") + "\r\n\r\n")
    result = kamsync("status", "--json", "--exit-code")
    assert result.code == 0, result.output
    assert states(result)[(100001, 200001, "jsCode")] == "in-sync"


def test_ui_edit_is_refused_by_push_and_adopted_by_pull(kamsync, repo, sandbox):
    status = kamsync("status", "--json")
    ui_path = path_of(status, 200001, "jsCode")
    other = path_of(status, 200002, "cssCode")
    before_other = sandbox.store.variation(200002)["cssCode"]
    sandbox.store.ui_edit_variation(200001, jsCode="console.log('hotfix from the UI');")
    (repo / other).write_text(".headline { font-size: 3rem; }\n")

    found = states(kamsync("status", "--json"))
    assert found[(100001, 200001, "jsCode")] == "remote-changed"
    assert found[(100001, 200002, "cssCode")] == "local-changed"

    push = kamsync("push")
    assert push.code == 3, push.output
    assert "variation 200001" in push.stderr and ui_path in push.stderr
    assert "kamsync pull" in push.stderr
    assert sandbox.store.variation(200002)["cssCode"] == before_other, "a refused push writes nothing"
    assert not api_requests(sandbox, "PATCH")

    pull = kamsync("pull")
    assert pull.code == 0, pull.output
    assert (repo / ui_path).read_text() == "console.log('hotfix from the UI');\n"
    assert (repo / other).read_text() == ".headline { font-size: 3rem; }\n", "pull leaves local-changed alone"

    push = kamsync("push")
    assert push.code == 0, push.output
    assert normalize(sandbox.store.variation(200002)["cssCode"]) == ".headline { font-size: 3rem; }"


def test_pull_never_overwrites_uncommitted_changes_even_with_force(kamsync, repo, sandbox):
    path = path_of(kamsync("status", "--json"), 200001, "cssCode")
    sandbox.store.ui_edit_variation(200001, cssCode=".ui { color: blue; }")
    (repo / path).write_text(".mine { color: green; }\n")
    for args in (("pull",), ("pull", "--force")):
        result = kamsync(*args)
        assert result.code == 3, result.output
        assert path in result.stderr and "uncommitted" in result.stderr
        assert (repo / path).read_text() == ".mine { color: green; }\n"


def test_force_overwrites_ui_edit_and_keeps_a_copy(kamsync, repo, sandbox):
    path = path_of(kamsync("status", "--json"), 200001, "jsCode")
    sandbox.store.ui_edit_variation(200001, jsCode="console.log('ui edit');")
    (repo / path).write_text("console.log('from git');\n")
    commit_all(repo, "Change the red button")

    assert kamsync("push").code == 3
    forced = kamsync("push", "--force", "--json")
    assert forced.code == 0, forced.output
    payload = forced.json()
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "console.log('from git');"
    backup = Path(payload["backup"])
    assert backup.is_relative_to(repo / ".git")
    assert (backup / "variation-200001-jsCode.js").read_text() == "console.log('ui edit');\n"


def test_live_experiment_is_refused_unless_allowed(kamsync, repo, sandbox):
    path = path_of(kamsync("status", "--json"), 200003, "jsCode")
    (repo / path).write_text("console.log('badges v2');\n")
    refused = kamsync("push")
    assert refused.code == 3, refused.output
    assert "live" in refused.stderr and "--allow-live" in refused.stderr and "variation 200003" in refused.stderr
    assert not api_requests(sandbox, "PATCH")
    allowed = kamsync("push", "--allow-live")
    assert allowed.code == 0, allowed.output
    assert normalize(sandbox.store.variation(200003)["jsCode"]) == "console.log('badges v2');"


def test_checkout_of_older_commit_is_remote_ahead_and_refused(kamsync, repo, sandbox):
    old = git(repo, "rev-parse", "HEAD").strip()
    path = path_of(kamsync("status", "--json"), 200001, "jsCode")
    (repo / path).write_text("console.log('v2');\n")
    new = commit_all(repo, "v2 of the red button")
    assert kamsync("push").code == 0

    git(repo, "checkout", "-q", old)
    result = kamsync("status", "--json")
    assert states(result)[(100001, 200001, "jsCode")] == "remote-ahead"
    assert "remote-changed" not in states(result).values()
    sandbox.store.clear_requests()
    push = kamsync("push")
    assert push.code == 3, push.output
    assert new[:12] in push.stderr
    assert not api_requests(sandbox, "PATCH")


def test_fresh_clone_reaches_the_same_verdicts(kamsync, repo, sandbox, tmp_path):
    status = kamsync("status", "--json")
    (repo / path_of(status, 200001, "jsCode")).write_text("console.log('pushed');\n")
    commit_all(repo, "pushed change")
    assert kamsync("push").code == 0
    (repo / path_of(status, 200002, "jsCode")).write_text("console.log('committed, not pushed');\n")
    commit_all(repo, "unpushed change")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / path_of(status, None, "commonCssCode", 100001)).write_text("body { margin: 0; }\n")
    commit_all(repo, "feature work")
    git(repo, "checkout", "-q", "main")
    sandbox.store.ui_edit_experiment(100001, commonJavaScriptCode="// edited in the UI")

    original = states(kamsync("status", "--json"))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    cloned = states(kamsync("status", "--json", cwd=clone))
    assert cloned == original
    assert original[(100001, 200001, "jsCode")] == "in-sync"
    assert original[(100001, 200002, "jsCode")] == "local-changed"
    assert original[(100001, None, "commonJavaScriptCode")] == "remote-changed"


def test_variation_deleted_in_ui_is_remote_missing_and_refused(kamsync, repo, sandbox):
    sandbox.store.delete_variation(200002)
    result = kamsync("status", "--json", "--exit-code")
    assert result.code == 1
    found = states(result)
    assert found[(100001, 200002, "jsCode")] == "remote-missing"
    assert found[(100001, 200002, "cssCode")] == "remote-missing"
    push = kamsync("push")
    assert push.code == 3 and "variation 200002" in push.stderr


def test_variation_added_in_ui_is_pulled_into_the_manifest(kamsync, repo, sandbox):
    (repo / "kamsync.yaml").write_text("# our experiments\n" + (repo / "kamsync.yaml").read_text())
    commit_all(repo, "comment the manifest")
    new_id = sandbox.store.add_variation(100001, "Green CTA", jsCode="console.log('green');", cssCode="")
    status = kamsync("status")
    assert f"variation {new_id}" in status.stdout
    listed = kamsync("status", "--json").json()["new_variations"]
    assert listed == [{"experiment_id": 100001, "variation_id": new_id, "name": "Green CTA"}]
    pull = kamsync("pull")
    assert pull.code == 0, pull.output
    manifest = (repo / "kamsync.yaml").read_text()
    assert f"id: {new_id}" in manifest and "name: Green CTA" in manifest and "dir: green-cta" in manifest
    assert "# our experiments" in manifest
    found = kamsync("status", "--json")
    assert states(found)[(100001, new_id, "jsCode")] == "in-sync"
    assert found.json()["new_variations"] == []
    js = repo / path_of(found, new_id, "jsCode")
    assert js.read_text() == "console.log('green');\n"
    assert (js.parent / "variation.css").read_text() == ""


def test_pull_of_a_new_experiment_maps_it_and_writes_every_file(kamsync, repo, sandbox):
    result = kamsync("pull", "--experiment", "100003")
    assert result.code == 0, result.output
    manifest = (repo / "kamsync.yaml").read_text()
    assert "id: 100003" in manifest and "dir: experiments/100003-free-shipping-banner" in manifest
    folder = repo / "experiments" / "100003-free-shipping-banner"
    for name in ("common.js", "common.css", "script.js"):
        assert (folder / name).exists(), name
    experiment = sandbox.store.experiment(100003)
    assert normalize((folder / "common.js").read_text()) == normalize(experiment["commonJavaScriptCode"])
    variation_files = list((folder / "variations").glob("*/variation.js"))
    assert len(variation_files) == len(experiment["variations"])
    found = states(kamsync("status", "--json", "experiments/100003-free-shipping-banner"))
    assert found and set(found.values()) == {"in-sync"}


def test_pull_experiment_in_an_empty_repository_creates_the_manifest(kamsync, tmp_path, env):
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q", "-b", "main")
    (empty / "sub").mkdir()
    result = kamsync("pull", "--experiment", "100001", cwd=empty / "sub")
    assert result.code == 0, result.output
    manifest = (empty / "kamsync.yaml").read_text()
    assert manifest.startswith("# yaml-language-server: $schema=")
    assert "dir: red-button" in manifest
    assert states(kamsync("status", "--json", cwd=empty)) != {}


def test_remote_only_field_is_pulled_and_ignored_by_push(kamsync, repo, sandbox):
    path = path_of(kamsync("status", "--json"), None, "globalScript", 100001)
    (repo / path).unlink()
    commit_all(repo, "drop the script file")
    assert states(kamsync("status", "--json"))[(100001, None, "globalScript")] == "remote-only"
    push = kamsync("push")
    assert push.code == 0 and not api_requests(sandbox, "PATCH")
    assert kamsync("pull").code == 0
    assert normalize((repo / path).read_text()) == normalize(sandbox.store.experiment(100001)["globalScript"])


def test_paths_restrict_the_command(kamsync, repo, sandbox):
    status = kamsync("status", "--json")
    a = path_of(status, 200001, "jsCode")
    b = path_of(status, 200002, "jsCode")
    (repo / a).write_text("// a\n")
    (repo / b).write_text("// b\n")
    assert kamsync("push", a).code == 0
    assert [r.path for r in api_requests(sandbox, "PATCH")] == ["/variations/200001"]
    only = kamsync("status", "--json", str(Path(b).parent))
    assert set(states(only)) == {(100001, 200002, "jsCode"), (100001, 200002, "cssCode")}


def test_dry_run_sends_nothing_and_exit_code_reports_pending_writes(kamsync, repo, sandbox):
    path = path_of(kamsync("status", "--json"), 200001, "jsCode")
    (repo / path).write_text("// planned\n")
    dry = kamsync("push", "--dry-run", "--exit-code", "--json")
    assert dry.code == 1, dry.output
    payload = dry.json()
    assert payload["dry_run"] is True
    assert payload["planned"] == [
        {"entity": "variation", "id": 200001, "experiment_id": 100001, "fields": ["jsCode"], "paths": [path]}
    ]
    assert not api_requests(sandbox, "PATCH")
