"""`--from REV --to REV`, end to end: only the mapped files a range of commits changed, read at `--to`.

Real `kamsync` processes against the sandbox, in real git repositories; the sandbox counts every request, so
"no request" is measured, not assumed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kamsync.core.normalize import normalize
from tests.gitutil import git
from tests.helpers import api_requests, commit_all, states

HERO = "experiments/100001-homepage-hero"
RED_JS = f"{HERO}/variations/red-button/variation.js"
BIG_JS = f"{HERO}/variations/big-headline/variation.js"
BIG_CSS = f"{HERO}/variations/big-headline/variation.css"
HERO_COMMON_CSS = f"{HERO}/common.css"
NO_CREDENTIALS = {"KAMELEOON_CLIENT_ID": None, "KAMELEOON_CLIENT_SECRET": None}


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def commit_edit(repo: Path, path: str, text: str, message: str) -> str:
    (repo / path).write_text(text)
    return commit_all(repo, message)


def entry_paths(payload: dict) -> list[str]:  # type: ignore[type-arg]
    return [e["path"] for e in payload["entries"]]


@pytest.mark.parametrize("command", ["status", "diff", "push"])
def test_a_range_changing_no_mapped_file_sends_no_request_and_needs_no_credentials(command, kamsync, repo, sandbox):
    start = head(repo)
    end = commit_edit(repo, "NOTES.md", "not mapped\n", "notes")
    (repo / RED_JS).write_text("// uncommitted, outside the range\n")
    sandbox.store.clear_requests()

    plain = kamsync(command, "--from", start, "--to", end)
    assert plain.code == 0, plain.output
    assert f"no mapped file changed in {start[:12]}..{end[:12]}: nothing to do, no request sent" in plain.stderr

    bare = kamsync(command, "--from", start, "--json", extra_env=NO_CREDENTIALS)
    assert bare.code == 0, bare.output
    assert "no request sent" in bare.stderr
    payload = bare.json()
    assert payload["requests"] == 0
    assert payload.get("entries", []) == [] and payload.get("planned", []) == []
    assert api_requests(sandbox) == []


def test_without_credentials_a_range_with_a_mapped_change_is_refused_before_any_request(kamsync, repo, sandbox):
    start = head(repo)
    commit_edit(repo, RED_JS, "// changed\n", "red")
    sandbox.store.clear_requests()
    result = kamsync("status", "--from", start, extra_env=NO_CREDENTIALS)
    assert result.code == 2, result.output
    assert "KAMELEOON_CLIENT_ID" in result.stderr
    assert api_requests(sandbox) == []


def test_status_of_a_range_lists_only_the_mapped_field_it_changed(kamsync, repo):
    start = head(repo)
    (repo / "NOTES.md").write_text("not mapped\n")
    end = commit_edit(repo, RED_JS, "// red, committed\n", "red")
    (repo / BIG_JS).write_text("// uncommitted\n")

    result = kamsync("status", "--from", start, "--to", end, "--json")
    assert states(result) == {(100001, 200001, "jsCode"): "local-changed"}
    assert entry_paths(result.json()) == [RED_JS]


def test_from_alone_reads_the_last_commit_not_the_work_tree(kamsync, repo, sandbox):
    start = head(repo)
    commit_edit(repo, RED_JS, "// red, committed\n", "red")
    (repo / RED_JS).write_text("// red, uncommitted\n")
    (repo / BIG_JS).write_text("// big, uncommitted\n")

    diff = kamsync("diff", "--from", start, "--json")
    assert diff.code == 0, diff.output
    [only] = diff.json()["entries"]
    assert only["path"] == RED_JS
    assert "+// red, committed" in only["diff"] and "uncommitted" not in only["diff"]

    sandbox.store.clear_requests()
    nothing = kamsync("status", "--from", "HEAD")
    assert nothing.code == 0, nothing.output
    assert "no request sent" in nothing.stderr, "uncommitted edits are outside every range"
    assert api_requests(sandbox) == []


def test_to_an_older_commit_reads_its_files_and_manifest_and_plays_head(kamsync, repo):
    start = head(repo)
    older = commit_edit(repo, RED_JS, "// red at the older commit\n", "red, older")
    (repo / RED_JS).write_text("// red at the later commit\n")
    manifest = (repo / "kamsync.yaml").read_text()
    (repo / "kamsync.yaml").write_text(manifest[: manifest.index("  - id: 100002")])
    later = commit_all(repo, "red, later; unmap experiment 100002")
    assert kamsync("push").code == 0, "Kameleoon now holds the later commit's value"
    (repo / RED_JS).write_text("// red, uncommitted\n")
    (repo / BIG_JS).write_text("// big, uncommitted\n")

    at_head = states(kamsync("status", "--json"))
    assert at_head[(100001, 200001, "jsCode")] == "local-changed"
    assert at_head[(100001, 200002, "jsCode")] == "local-changed"
    assert not any(key[0] == 100002 for key in at_head)

    result = kamsync("status", "--to", older, "--json")
    found = states(result)
    assert found[(100001, 200001, "jsCode")] == "remote-ahead", "Kameleoon holds a commit after --to"
    [red] = [e for e in result.json()["entries"] if e["path"] == RED_JS]
    assert red["commit"] == later
    assert found[(100001, 200002, "jsCode")] == "in-sync", "uncommitted edits are not read"
    assert found[(100002, None, "commonCssCode")] == "in-sync", "the manifest at --to maps experiment 100002"

    diff = kamsync("diff", "--from", start, "--to", older, "--json")
    [only] = diff.json()["entries"]
    assert only["path"] == RED_JS
    assert "-// red at the later commit" in only["diff"] and "+// red at the older commit" in only["diff"]
    assert "uncommitted" not in only["diff"]


def test_push_of_a_range_sends_its_last_commit_for_only_the_changed_fields(kamsync, repo, sandbox):
    big_before = sandbox.store.variation(200002)["jsCode"]
    start = commit_edit(repo, BIG_CSS, ".big { outside: the-range; }\n", "big css, before the range")
    (repo / RED_JS).write_text("// red at the end of the range\n")
    end = commit_edit(repo, HERO_COMMON_CSS, ".hero { gap: 1rem; }\n", "red and hero css")
    commit_edit(repo, BIG_JS, "// big, after the range\n", "big")
    (repo / RED_JS).write_text("// red, uncommitted\n")
    sandbox.store.clear_requests()

    result = kamsync("push", "--from", start, "--to", end, "--json")
    assert result.code == 0, result.output
    assert sorted((w["id"], w["fields"]) for w in result.json()["written"]) == [
        (100001, ["commonCssCode"]),
        (200001, ["jsCode"]),
    ]
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "// red at the end of the range"
    assert normalize(sandbox.store.experiment(100001)["commonCssCode"]) == ".hero { gap: 1rem; }"
    assert sandbox.store.variation(200002)["jsCode"] == big_before
    assert "outside" not in sandbox.store.variation(200002)["cssCode"]
    assert sorted(r.path for r in api_requests(sandbox, "PATCH")) == ["/experiments/100001", "/variations/200001"]


def test_a_file_newly_mapped_by_the_manifest_in_the_range_counts_as_changed(kamsync, repo):
    manifest = (repo / "kamsync.yaml").read_text()
    (repo / "kamsync.yaml").write_text(manifest[: manifest.index("  - id: 100002")])
    start = commit_all(repo, "unmap experiment 100002")
    (repo / "kamsync.yaml").write_text(manifest)
    end = commit_all(repo, "map experiment 100002 again")

    found = states(kamsync("status", "--from", start, "--to", end, "--json"))
    assert found, "the newly mapped files count though their content did not change"
    assert {key[0] for key in found} == {100002}
    assert (100002, 200003, "jsCode") in found and (100002, None, "commonCssCode") in found
    assert set(found.values()) == {"in-sync"}


def test_pull_from_a_commit_brings_in_only_the_mapped_files_changed_since(kamsync, repo, sandbox):
    start = head(repo)
    commit_edit(repo, RED_JS, "// red, committed\n", "red")
    big_before = (repo / BIG_JS).read_text()
    sandbox.store.ui_edit_variation(200001, jsCode="// red, edited in the UI")
    sandbox.store.ui_edit_variation(200002, jsCode="// big, edited in the UI")

    result = kamsync("pull", "--from", start, "--json")
    # The red button changed on both sides since `start`: merged (here with markers), never overwritten.
    assert result.code == 3, result.output
    assert [(w["path"], w["merge"]) for w in result.json()["written"]] == [(RED_JS, "conflicted")]
    merged = (repo / RED_JS).read_text()
    assert "// red, committed" in merged and "// red, edited in the UI" in merged
    assert (repo / BIG_JS).read_text() == big_before


def test_pull_to_a_commit_other_than_the_checked_out_one_is_refused(kamsync, repo, sandbox):
    older = head(repo)
    commit_edit(repo, RED_JS, "// red, committed\n", "red")
    sandbox.store.ui_edit_variation(200001, jsCode="// red, edited in the UI")
    sandbox.store.clear_requests()

    result = kamsync("pull", "--to", older)
    assert result.code == 2, result.output
    assert f"--to {older}" in result.stderr and "checked-out" in result.stderr
    assert (repo / RED_JS).read_text() == "// red, committed\n"
    assert api_requests(sandbox) == []


@pytest.mark.parametrize("command", ["status", "diff", "push", "pull"])
def test_an_unknown_from_is_a_usage_error_naming_it(command, kamsync, repo, sandbox):
    sandbox.store.clear_requests()
    result = kamsync(command, "--from", "no-such-branch")
    assert result.code == 2, result.output
    assert "--from no-such-branch" in result.stderr and "no such commit" in result.stderr
    assert api_requests(sandbox) == []


def test_an_unknown_to_is_a_usage_error_naming_it(kamsync, repo, sandbox):
    sandbox.store.clear_requests()
    result = kamsync("status", "--to", "no-such-tag")
    assert result.code == 2, result.output
    assert "no-such-tag" in result.stderr
    assert api_requests(sandbox) == []


def test_diff_of_a_range_shows_a_diff_for_only_the_field_it_changed(kamsync, repo):
    start = commit_edit(repo, BIG_CSS, ".big { outside: the-range; }\n", "big css, before the range")
    (repo / "NOTES.md").write_text("not mapped\n")
    end = commit_edit(repo, RED_JS, "// red, committed\n", "red")
    (repo / BIG_JS).write_text("// big, uncommitted\n")

    result = kamsync("diff", "--from", start, "--to", end)
    assert result.code == 0, result.output
    assert "+// red, committed" in result.stdout and f"local/{RED_JS}" in result.stdout
    assert "big-headline" not in result.stdout and "outside" not in result.stdout
    assert "uncommitted" not in result.stdout


def test_a_mapped_symlink_whose_target_changed_in_the_range_counts_as_changed(kamsync, repo, sandbox):
    (repo / "shared").mkdir()
    (repo / "shared/red.js").write_text((repo / RED_JS).read_text())
    (repo / RED_JS).unlink()
    (repo / RED_JS).symlink_to("../../../../shared/red.js")
    start = commit_all(repo, "the red button's code lives in shared/")
    end = commit_edit(repo, "shared/red.js", "// red, changed through the link\n", "red")

    result = kamsync("push", "--from", start, "--to", end, "--json")
    assert result.code == 0, result.output
    assert [w["id"] for w in result.json()["written"]] == [200001]
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "// red, changed through the link"


def test_pull_from_a_commit_works_with_the_manifest_named_through_a_symlinked_folder(kamsync, repo, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(repo)
    start = head(repo)
    commit_edit(repo, RED_JS, "// red, committed\n", "red")

    result = kamsync("--manifest", str(link / "kamsync.yaml"), "pull", "--from", start, "--json")
    assert result.code == 0, result.output
    assert [e["path"] for e in result.json()["left_alone"]] == [RED_JS]


def test_status_of_a_range_works_with_the_manifest_named_through_a_symlinked_folder(kamsync, repo, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(repo)
    start = head(repo)
    commit_edit(repo, RED_JS, "// red, committed\n", "red")
    result = kamsync("--manifest", str(link / "kamsync.yaml"), "status", "--from", start, "--json")
    assert result.code == 0, result.output
    assert [e["path"] for e in result.json()["entries"]] == [RED_JS]


def test_pull_of_a_range_with_no_mapped_change_needs_no_credentials(kamsync, repo, sandbox):
    start = head(repo)
    commit_edit(repo, "NOTES.md", "notes\n", "unmapped")
    sandbox.store.clear_requests()
    result = kamsync("pull", "--from", start, extra_env=NO_CREDENTIALS)
    assert result.code == 0, result.output
    assert "nothing to do, no request sent" in result.stderr
    assert api_requests(sandbox) == []
