"""Both sides changed: the `conflict` state, the three-way pull, and Kameleoon's values becoming git history.

Real `kamsync` processes, the sandbox over HTTP, real git repositories with a bare remote.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kamsync.core.normalize import normalize
from tests.gitutil import git, run_git
from tests.helpers import api_requests, commit_all, states

RED_JS = "experiments/100001-homepage-hero/variations/red-button/variation.js"
RED = (100001, 200001, "jsCode")
FIVE = "line one\nline two\nline three\nline four\nline five\n"


@pytest.fixture
def remote(tmp_path: Path, repo: Path, env: dict[str, str]) -> Path:
    """A bare `origin` holding main; main tracks it."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare), env=env)
    git(repo, "remote", "add", "origin", str(bare), env=env)
    git(repo, "push", "-q", "-u", "origin", "main", env=env)
    git(repo, "remote", "set-head", "origin", "main", env=env)
    return bare


def deployed_five_lines(kamsync, repo: Path, sandbox) -> None:  # type: ignore[no-untyped-def]
    """The red button's JS is five lines, committed and pushed to Kameleoon (kamsync's record knows it)."""
    (repo / RED_JS).write_text(FIVE)
    commit_all(repo, "Five lines")
    assert kamsync("push").code == 0
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == normalize(FIVE)


def clone(tmp_path: Path, remote: Path, name: str) -> Path:
    folder = tmp_path / name
    git(tmp_path, "clone", "-q", str(remote), str(folder))
    return folder


def test_pull_merges_edits_to_different_lines_and_push_sends_the_merge(kamsync, repo, sandbox):
    deployed_five_lines(kamsync, repo, sandbox)
    (repo / RED_JS).write_text(FIVE.replace("line one", "line ONE (local)"))
    commit_all(repo, "Local edit, not pushed")
    sandbox.store.ui_edit_variation(200001, jsCode=FIVE.replace("line five", "line FIVE (ui)"))

    status = kamsync("status", "--json")
    (entry,) = [e for e in status.json()["entries"] if e["variation_id"] == 200001 and e["field"] == "jsCode"]
    assert entry["state"] == "conflict"
    assert entry["base"] == {"record": True}
    assert kamsync("push").code == 3

    pull = kamsync("pull")
    assert pull.code == 0, pull.output
    assert f"merged {RED_JS}" in pull.stdout
    merged = (repo / RED_JS).read_text()
    assert "line ONE (local)" in merged and "line FIVE (ui)" in merged
    assert sandbox.store.variation(200001)["jsCode"] == FIVE.replace("line five", "line FIVE (ui)")  # pull never writes

    git(repo, "commit", "-q", "-m", "Merge Kameleoon's edit")
    parents = git(repo, "rev-list", "--parents", "-n", "1", "HEAD").split()
    assert len(parents) == 3, "the commit merges the values pulled from Kameleoon"
    assert states(kamsync("status", "--json"))[RED] == "local-changed"
    assert kamsync("push").code == 0
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == normalize(merged)


def test_overlapping_edits_leave_markers_exit_3_and_push_refuses_them_even_forced(kamsync, repo, sandbox):
    deployed_five_lines(kamsync, repo, sandbox)
    (repo / RED_JS).write_text(FIVE.replace("line three", "line three, mine"))
    commit_all(repo, "Local edit")
    sandbox.store.ui_edit_variation(200001, jsCode=FIVE.replace("line three", "line three, the UI's"))

    pull = kamsync("pull")
    assert pull.code == 3, pull.output
    assert f"conflict: {RED_JS}" in pull.stderr and "variation 200001" in pull.stderr
    text = (repo / RED_JS).read_text()
    for marker in ("<<<<<<< local", "||||||| base", "=======", ">>>>>>> Kameleoon"):
        assert marker in text
    assert "line three, mine" in text and "line three, the UI's" in text
    unmerged = git(repo, "ls-files", "-u", "--", RED_JS)
    assert len(unmerged.splitlines()) == 3, "stages 1, 2 and 3 keep git from committing the markers"

    for args in (("push",), ("push", "--force")):
        refused = kamsync(*args)
        assert refused.code == 3, refused.output
        assert "merge markers" in refused.stderr
    assert api_requests(sandbox, "PATCH")[-1].path == "/variations/200001"  # only the first deploy wrote it
    assert len(api_requests(sandbox, "PATCH")) == 1


def test_a_merged_conflict_committed_and_merged_to_main_deploys_from_a_fresh_clone(
    kamsync, repo, sandbox, remote, tmp_path
):
    deployed_five_lines(kamsync, repo, sandbox)
    git(repo, "push", "-q", "origin", "main")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / RED_JS).write_text(FIVE.replace("line one", "line ONE (feature)"))
    commit_all(repo, "Feature work")
    sandbox.store.ui_edit_variation(200001, jsCode=FIVE.replace("line five", "line FIVE (hotfix in the UI)"))
    assert kamsync("pull").code == 0
    git(repo, "commit", "-q", "-m", "Merge the UI hotfix")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
    git(repo, "push", "-q", "origin", "main")

    ci = clone(tmp_path, remote, "ci")
    assert not (ci / ".git" / "kamsync").exists(), "CI has no record: git alone must tell"
    assert states(kamsync("status", "--json", cwd=ci))[RED] == "local-changed"
    deploy = kamsync("push", cwd=ci)
    assert deploy.code == 0, deploy.output
    stored = sandbox.store.variation(200001)["jsCode"]
    assert "line ONE (feature)" in stored and "line FIVE (hotfix in the UI)" in stored


def test_a_ui_revert_to_an_older_committed_value_is_news_with_a_record(kamsync, repo, sandbox):
    first = sandbox.store.variation(200001)["jsCode"]
    assert states(kamsync("status", "--json"))[RED] == "in-sync"  # recorded as the base
    (repo / RED_JS).write_text("// second version\n")
    commit_all(repo, "Second version")
    assert kamsync("push").code == 0
    sandbox.store.ui_edit_variation(200001, jsCode=first)  # someone reverted it in the UI

    assert states(kamsync("status", "--json"))[RED] == "remote-changed"
    refused = kamsync("push", "--exit-code")
    assert refused.code == 3
    assert "edited in Kameleoon" in refused.stderr


def test_a_field_cleared_in_the_ui_is_an_edit_here_in_a_fresh_clone_and_for_the_hook(
    kamsync, repo, sandbox, remote, tmp_path, env
):
    deployed_five_lines(kamsync, repo, sandbox)
    git(repo, "push", "-q", "origin", "main")
    sandbox.store.ui_edit_variation(200001, jsCode="")  # stopped in a hurry from the UI

    assert states(kamsync("status", "--json"))[RED] == "remote-changed"
    fresh = clone(tmp_path, remote, "fresh")
    assert states(kamsync("status", "--json", cwd=fresh))[RED] == "remote-changed"
    assert kamsync("push", cwd=fresh).code == 3

    assert kamsync("hook", "install", cwd=fresh).code == 0
    (fresh / RED_JS).write_text(FIVE + "line six\n")
    commit_all(fresh, "More work on the red button")
    pushed = git_push(fresh, env)
    assert pushed.returncode != 0, pushed.stderr
    assert "edited in the Kameleoon UI" in pushed.stderr
    assert sandbox.store.variation(200001)["jsCode"] == ""


def git_push(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_git(folder, "push", "-q", "origin", "HEAD", env=env)


def test_a_never_deployed_empty_field_filled_in_a_merge_pushes_from_ci(kamsync, repo, sandbox, remote, tmp_path):
    sandbox.store.ui_edit_variation(200001, jsCode="")
    (repo / RED_JS).write_text("")
    commit_all(repo, "Start the red button empty")
    git(repo, "push", "-q", "origin", "main")
    before = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / RED_JS).write_text("document.body.classList.add('red');\n")
    commit_all(repo, "First code for the red button")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
    git(repo, "push", "-q", "origin", "main")

    ci = clone(tmp_path, remote, "ci")
    deploy = kamsync("push", "--from", before, "--to", "HEAD", cwd=ci)
    assert deploy.code == 0, deploy.output
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "document.body.classList.add('red');"


def test_an_unpushed_local_commit_and_a_ui_edit_conflict_without_a_record(kamsync, repo, sandbox, remote, tmp_path):
    deployed_five_lines(kamsync, repo, sandbox)
    git(repo, "push", "-q", "origin", "main")
    laptop = clone(tmp_path, remote, "laptop")
    (laptop / RED_JS).write_text(FIVE.replace("line one", "line ONE (laptop)"))
    commit_all(laptop, "Not pushed yet")
    sandbox.store.ui_edit_variation(200001, jsCode=FIVE.replace("line five", "line FIVE (ui)"))

    status = kamsync("status", "--json", cwd=laptop)
    (entry,) = [e for e in status.json()["entries"] if e["variation_id"] == 200001 and e["field"] == "jsCode"]
    fork = git(laptop, "merge-base", "HEAD", "origin/main").strip()
    assert (entry["state"], entry["base"]) == ("conflict", {"commit": fork})
    refused = kamsync("push", cwd=laptop)
    assert refused.code == 3 and fork[:12] in refused.stderr

    diff = kamsync("diff", "--json", cwd=laptop)
    (shown,) = [e for e in diff.json()["entries"] if e["variation_id"] == 200001]
    assert "+line FIVE (ui)" in shown["base_diff"] and f"base/{RED_JS}" in shown["base_diff"]
    human = kamsync("diff", cwd=laptop)
    assert f"what changed in Kameleoon since commit {fork[:12]}" in human.stdout

    pull = kamsync("pull", cwd=laptop)
    assert pull.code == 0, pull.output
    text = (laptop / RED_JS).read_text()
    assert "line ONE (laptop)" in text and "line FIVE (ui)" in text


def test_a_fresh_ci_clone_of_a_newer_main_pushes_as_a_fast_forward(kamsync, repo, sandbox, remote, tmp_path):
    deployed_five_lines(kamsync, repo, sandbox)
    (repo / RED_JS).write_text(FIVE + "line six\n")
    commit_all(repo, "Six lines, merged but not deployed")
    git(repo, "push", "-q", "origin", "main")

    ci = clone(tmp_path, remote, "ci")
    assert states(kamsync("status", "--json", cwd=ci))[RED] == "local-changed"
    assert kamsync("push", cwd=ci).code == 0
    assert "line six" in sandbox.store.variation(200001)["jsCode"]


@pytest.mark.parametrize("hide", ["--skip-worktree", "--assume-unchanged", "ignored"])
def test_pull_keeps_mapped_files_whose_edits_git_does_not_report(kamsync, repo, sandbox, hide):
    if hide == "ignored":
        git(repo, "rm", "-q", "--cached", RED_JS)
        (repo / ".gitignore").write_text(RED_JS + "\n")
        commit_all(repo, "Keep the red button out of git")
    else:
        git(repo, "update-index", hide, RED_JS)
    (repo / RED_JS).write_text("// work in progress, not committed\n")
    sandbox.store.ui_edit_variation(200001, jsCode="// edited in the UI")
    assert git(repo, "status", "--porcelain", "--", RED_JS) == "", "git does not report the edit"

    pull = kamsync("pull")
    assert pull.code == 3, pull.output
    assert "uncommitted changes" in pull.stderr
    assert (repo / RED_JS).read_text() == "// work in progress, not committed\n"


def test_pushing_uncommitted_changes_warns_and_status_marks_them(kamsync, repo, sandbox):
    (repo / RED_JS).write_text("// trying something\n")
    status = kamsync("status", "--json")
    marked = {(e["variation_id"], e["field"]) for e in status.json()["entries"] if e["uncommitted"]}
    assert marked == {(200001, "jsCode")}
    assert f"{RED_JS} (uncommitted)" in kamsync("status").stdout

    push = kamsync("push")
    assert push.code == 0, push.output
    assert f"pushing uncommitted changes of {RED_JS}" in push.stderr
    assert "edited outside git until they are committed" in push.stderr


def test_a_pull_undone_by_merge_abort_leaves_the_ui_edit_protected_and_never_another_branchs_code(
    kamsync, repo, sandbox
):
    assert kamsync("status").code == 0  # records every base
    sandbox.store.ui_edit_variation(200001, jsCode="// from the UI")
    assert kamsync("pull").code == 0
    merging = git(repo, "rev-parse", "MERGE_HEAD").strip()
    assert git(repo, "rev-parse", f"refs/kamsync/pulled/{merging}").strip() == merging
    git(repo, "merge", "--abort")  # the user changes their mind: the file is back to the committed value
    assert normalize((repo / RED_JS).read_text()) != "// from the UI"

    # Kameleoon's value is held only by kamsync's own commit: not another branch's code (remote-ahead), and
    # still an edit nobody has taken in (remote-changed), so push refuses to overwrite it.
    assert states(kamsync("status", "--json"))[RED] == "remote-changed"
    assert kamsync("push").code == 3
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "// from the UI"


def test_pull_records_kameleoons_values_even_where_git_has_no_identity_configured(kamsync, repo, sandbox):
    sandbox.store.ui_edit_variation(200001, jsCode="// from the UI")
    anonymous = {k: None for k in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")}
    pull = kamsync("pull", "--json", extra_env={**anonymous, "EMAIL": None})
    assert pull.code == 0, pull.output
    commit = pull.json()["pulled_commit"]
    assert commit and git(repo, "rev-parse", "MERGE_HEAD").strip() == commit
    assert git(repo, "show", "-s", "--format=%an", commit).strip() == "Kameleoon (pulled by kamsync)"
    assert "could not record" not in pull.stderr


def test_a_conflict_whose_file_has_uncommitted_changes_is_refused_not_merged(kamsync, repo, sandbox):
    deployed_five_lines(kamsync, repo, sandbox)
    (repo / RED_JS).write_text(FIVE.replace("line one", "line ONE (committed)"))
    commit_all(repo, "Local edit")
    (repo / RED_JS).write_text(FIVE.replace("line one", "line ONE (still typing)"))
    sandbox.store.ui_edit_variation(200001, jsCode=FIVE.replace("line five", "line FIVE (ui)"))

    assert states(kamsync("status", "--json"))[RED] == "conflict"
    pull = kamsync("pull")
    assert pull.code == 3, pull.output
    assert "uncommitted changes, which would be merged" in pull.stderr
    assert (repo / RED_JS).read_text() == FIVE.replace("line one", "line ONE (still typing)")
    assert not (repo / ".git" / "MERGE_HEAD").exists()
