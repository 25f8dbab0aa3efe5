"""What an unlucky or hostile user does around a pull, and how kamsync keeps everyone's work: a pull undone
(`git merge --abort`, `git stash`, another worktree), hidden or staged files, symlinks, odd git states, values
git cannot hold, damaged state. Each docstring says what went wrong before, so the test says what must hold.

Real `kamsync` processes, the sandbox over HTTP, real git repositories.
"""

from __future__ import annotations

import json
import os
import types
from pathlib import Path

import pytest

import kamsync.sandbox.wire as wire
from kamsync.core.normalize import normalize
from tests.gitutil import git, run_git
from tests.helpers import commit_all, states

RED_JS = "experiments/100001-homepage-hero/variations/red-button/variation.js"
RED = (100001, 200001, "jsCode")
FIVE = "line one\nline two\nline three\nline four\nline five\n"


def deployed_five_lines(kamsync, repo: Path, sandbox) -> None:  # type: ignore[no-untyped-def]
    (repo / RED_JS).write_text(FIVE)
    commit_all(repo, "Five lines")
    assert kamsync("push").code == 0
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == normalize(FIVE)


def test_merge_abort_after_a_conflicted_pull_must_not_let_push_overwrite_the_ui_edit(kamsync, repo, sandbox):
    """README: `git merge --abort` forgets the merge (the files go back to what HEAD holds). But pull already
    recorded Kameleoon's value as the base, so after the abort the field is judged `local-changed` and a plain
    `kamsync push` silently overwrites the UI edit, which now lives only on refs/kamsync/pulled."""
    deployed_five_lines(kamsync, repo, sandbox)
    (repo / RED_JS).write_text(FIVE.replace("line three", "line three, mine"))
    commit_all(repo, "Local edit")
    ui = FIVE.replace("line three", "line three, the UI's")
    sandbox.store.ui_edit_variation(200001, jsCode=ui)
    assert states(kamsync("status", "--json"))[RED] == "conflict"

    assert kamsync("pull").code == 3
    git(repo, "merge", "--abort")
    assert (repo / RED_JS).read_text() == FIVE.replace("line three", "line three, mine")

    # Nothing about the two sides changed: the UI edit is still there and still not in the branch.
    push = kamsync("push")
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == normalize(ui), (
        f"the UI edit was overwritten: {push.code} {push.output}"
    )
    assert push.code == 3, push.output
    assert states(kamsync("status", "--json"))[RED] == "conflict", "the abort undid the pull: still a conflict"


def test_merge_abort_after_a_clean_pull_must_not_let_push_revert_the_ui_edit(kamsync, repo, sandbox):
    """Same with a plain remote-changed pull: after `git merge --abort`, the UI edit is judged a local change to
    revert, and push reverts it."""
    deployed_five_lines(kamsync, repo, sandbox)
    ui = FIVE.replace("line five", "line FIVE (ui hotfix)")
    sandbox.store.ui_edit_variation(200001, jsCode=ui)
    assert kamsync("pull").code == 0
    git(repo, "merge", "--abort")
    assert (repo / RED_JS).read_text() == FIVE

    push = kamsync("push")
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == normalize(ui), (
        f"push reverted the UI hotfix: {push.code} {push.output}"
    )
    assert states(kamsync("status", "--json"))[RED] == "remote-changed"


def test_pull_with_other_staged_work_then_merge_abort_keeps_the_staged_work(kamsync, repo, sandbox):
    """git itself refuses to start a merge while the index holds staged changes, because `git merge --abort`
    (`git reset --merge`) then resets them. kamsync starts one anyway: a staged file whose work tree matches the
    index is reset to HEAD, in the index and on disk, and the staged work is gone."""
    (repo / "notes.txt").write_text("v1\n")
    commit_all(repo, "Notes")
    (repo / "notes.txt").write_text("v2: an hour of staged work\n")
    git(repo, "add", "notes.txt")
    (repo / "new-file.txt").write_text("brand new, staged\n")
    git(repo, "add", "new-file.txt")
    sandbox.store.ui_edit_variation(200001, jsCode="// edited in the UI\n")

    pull = kamsync("pull")
    # Either pull refuses (as git merge would), or it starts a merge the user can abort without loss.
    if pull.code == 0:
        git(repo, "merge", "--abort")
    assert (repo / "notes.txt").read_text() == "v2: an hour of staged work\n", "staged work lost"
    assert (repo / "new-file.txt").exists(), "a staged new file was deleted"


def test_a_pull_in_a_linked_worktree_must_not_make_the_main_worktree_push_revert_the_ui_edit(
    kamsync, repo, sandbox, tmp_path
):
    """The record lives in the common git dir, so every linked worktree shares it. A pull in one worktree
    records Kameleoon's value as the base before anything is committed; the other worktree, whose file still
    holds the old deployed value, then judges the field `local-changed` and its push reverts the UI edit."""
    deployed_five_lines(kamsync, repo, sandbox)
    side = tmp_path / "side"
    git(repo, "worktree", "add", "-q", "-b", "side", str(side))
    ui = FIVE.replace("line five", "line FIVE (ui hotfix)")
    sandbox.store.ui_edit_variation(200001, jsCode=ui)
    assert states(kamsync("status", "--json"))[RED] == "remote-changed"

    assert kamsync("pull", cwd=side).code == 0  # not committed yet

    assert (repo / RED_JS).read_text() == FIVE
    verdict = states(kamsync("status", "--json"))[RED]
    push = kamsync("push")
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == normalize(ui), (
        f"the main worktree's push reverted the UI edit: {push.code} {push.output}"
    )
    assert verdict == "remote-changed"


BIG_JS = "experiments/100001-homepage-hero/variations/big-headline/variation.js"


def test_a_pull_that_fails_midway_on_an_unmergeable_value_reports_or_undoes_what_it_wrote(kamsync, repo, sandbox):
    """A Kameleoon value holding a NUL byte makes `git merge-file` refuse ("Cannot merge binary files"). pull
    then stops with exit 2 after it has already overwritten other mapped files: those writes are neither
    reported, nor recorded, nor merged as a commit (no MERGE_HEAD), so the user is left with silently changed
    files that look like their own uncommitted edits."""
    (repo / RED_JS).write_text(FIVE)
    (repo / BIG_JS).write_text(FIVE)
    commit_all(repo, "Five lines in both")
    assert kamsync("push").code == 0
    (repo / BIG_JS).write_text(FIVE.replace("line one", "line ONE, mine"))
    commit_all(repo, "Local edit to the headline")
    sandbox.store.ui_edit_variation(200001, jsCode=FIVE.replace("line two", "line TWO (ui)"))  # remote-changed
    sandbox.store.ui_edit_variation(200002, jsCode=FIVE.replace("line five", "line\x00five"))  # conflict
    before = (repo / RED_JS).read_text()

    pull = kamsync("pull")
    assert pull.code != 0, pull.output
    written = (repo / RED_JS).read_text() != before
    assert not written or RED_JS in pull.output, (
        f"pull failed with {pull.code} but silently rewrote {RED_JS}: {pull.output}"
    )
    assert not written or (repo / ".git" / "MERGE_HEAD").exists(), "rewritten, but not recorded as Kameleoon's"


def test_git_stash_after_a_pull_must_not_let_push_revert_the_ui_edit(kamsync, repo, sandbox):
    """`git stash` after a pull (to switch branches for a minute) ends the merge and puts the old file back;
    the record still says Kameleoon's value is the base, so push judges the old file a local change and
    reverts the UI edit. The stash still holds it: nothing about the two sides changed."""
    deployed_five_lines(kamsync, repo, sandbox)
    ui = FIVE.replace("line five", "line FIVE (ui hotfix)")
    sandbox.store.ui_edit_variation(200001, jsCode=ui)
    assert kamsync("pull").code == 0
    git(repo, "stash", "-q")
    assert (repo / RED_JS).read_text() == FIVE
    assert not (repo / ".git" / "MERGE_HEAD").exists()

    push = kamsync("push")
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == normalize(ui), (
        f"push reverted the UI hotfix kept in the stash: {push.code} {push.output}"
    )


def test_a_git_push_during_a_pending_pull_must_not_let_the_push_mode_hook_overwrite_the_ui_edit(
    kamsync, repo, sandbox, env, tmp_path
):
    """A local commit, a UI edit elsewhere in the file, `kamsync pull` merges both (not committed yet). The
    user then runs `git push`: git pushes the commit *without* the merge. The push-mode hook reads the file
    at the pushed commit; the record already says Kameleoon's value is the base, so it judges the field
    `local-changed` and deploys the pushed commit's file, wiping the UI edit from Kameleoon. Without the pull
    the same hook would have refused the push as a conflict."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "-u", "origin", "main")
    git(repo, "remote", "set-head", "origin", "main")
    deployed_five_lines(kamsync, repo, sandbox)
    git(repo, "push", "-q", "origin", "main")
    assert kamsync("hook", "install", "--mode", "push").code == 0
    (repo / RED_JS).write_text(FIVE.replace("line one", "line ONE (local)"))
    commit_all(repo, "Local edit")
    ui = FIVE.replace("line five", "line FIVE (ui hotfix)")
    sandbox.store.ui_edit_variation(200001, jsCode=ui)

    pull = kamsync("pull")
    assert pull.code == 0, pull.output  # merged, MERGE_HEAD pending
    pushed = run_git(repo, "push", "-q", "origin", "main", env=env)

    stored = normalize(sandbox.store.variation(200001)["jsCode"])
    assert "line FIVE (ui hotfix)" in stored, (
        f"the hook deployed the pre-merge commit over the UI edit (git push rc {pushed.returncode}): {pushed.stderr}"
    )


def _serve_lone_surrogate(monkeypatch, sandbox, value: str) -> None:  # type: ignore[no-untyped-def]
    """Kameleoon's JSON may carry an escaped lone surrogate (``"\\ud800"``): valid JSON, which Python decodes
    to a str that cannot be encoded as UTF-8. The sandbox cannot store one (its state file is UTF-8), so the
    test keeps it in memory and serves it escaped, as a real server would."""
    monkeypatch.setattr(
        wire,
        "json",
        types.SimpleNamespace(
            dumps=lambda payload, **_: json.dumps(payload, ensure_ascii=True, allow_nan=False), loads=json.loads
        ),
    )
    monkeypatch.setattr(type(sandbox.store), "_save", lambda self: None)
    sandbox.store.ui_edit_variation(200001, jsCode=value)


@pytest.mark.parametrize("command", ["diff", "pull"])
def test_a_kameleoon_value_with_a_lone_surrogate_is_refused_cleanly_not_a_crash(
    kamsync, repo, sandbox, monkeypatch, command
):
    """A remote value holding a lone surrogate cannot be written or shown: the field is named and left out."""
    before = (repo / RED_JS).read_text()
    _serve_lone_surrogate(monkeypatch, sandbox, "a\ud800b\n")
    result = kamsync(command)
    assert result.code != 70, result.output
    assert "variation 200001" in result.stderr and "not valid Unicode" in result.stderr
    assert (repo / RED_JS).read_text() == before


def test_a_lone_surrogate_in_a_field_with_a_record_does_not_crash_status(kamsync, repo, sandbox, monkeypatch):
    """With a recorded base, `status` itself crashes (exit 70, UnicodeEncodeError in normalize.fingerprint)."""
    deployed_five_lines(kamsync, repo, sandbox)
    (repo / RED_JS).write_text(FIVE.replace("line one", "mine"))
    commit_all(repo, "Local edit")
    _serve_lone_surrogate(monkeypatch, sandbox, FIVE.replace("line five", "th\udc80eirs"))
    result = kamsync("status")
    assert result.code != 70, result.output


def test_a_pull_that_maps_a_new_variation_stages_the_manifest_with_its_files(kamsync, repo, sandbox):
    """pull maps a variation created in the UI: it stages (and records in Kameleoon's commit K) the new files
    but not `kamsync.yaml`, which it edited to map them. The user's `git commit` then records files no
    manifest maps, and K's tree holds a variation folder its own manifest does not know."""
    sandbox.store.add_variation(100001, "Green button", jsCode="// green\n")
    pull = kamsync("pull")
    assert pull.code == 0, pull.output
    git(repo, "commit", "-q", "--no-edit")
    assert git(repo, "status", "--porcelain", "--", "kamsync.yaml") == "", "the manifest was left out of the commit"
    assert "green-button" in git(repo, "show", "HEAD^2:kamsync.yaml")


def test_pull_never_replaces_a_staged_version_of_a_mapped_file(kamsync, repo, sandbox):
    """The uncommitted check compares only the work tree with HEAD. A version of the file that is staged
    (`git add`), with the work tree then put back to HEAD's content, counts as committed: pull writes
    Kameleoon's value and `git update-index --add` replaces the staged version, which is then lost (a dangling
    blob only `git fsck --lost-found` can find)."""
    staged = "// staged work, not committed\n"
    (repo / RED_JS).write_text(staged)
    git(repo, "add", RED_JS)
    committed = git(repo, "show", f"HEAD:{RED_JS}") + "\n"
    (repo / RED_JS).write_text(committed)  # the editor undid the edit on disk; the index keeps it
    assert git(repo, "diff", "--cached", "--name-only") == RED_JS
    sandbox.store.ui_edit_variation(200001, jsCode="// edited in the UI\n")

    pull = kamsync("pull")
    index_now = git(repo, "show", f":{RED_JS}") + "\n"
    assert index_now == staged, f"the staged version was replaced (pull exit {pull.code}): {pull.output}"


def test_pull_writes_through_a_mapped_symlink_or_refuses_it_never_replaces_the_link(kamsync, repo, sandbox):
    """A mapped file that is a committed symlink to a shared file (inside the work tree). status and push read
    through the link; pull replaces the link itself with a regular file (os.replace on the link) and stages
    that type change (`T` in git status), and Kameleoon's commit K records it as a regular file: the
    repository's structure changes behind the user's back and shared.js no longer feeds the variation."""
    (repo / "shared.js").write_text("// shared\n")
    os.unlink(repo / RED_JS)
    os.symlink("../../../../shared.js", repo / RED_JS)
    commit_all(repo, "The red button uses the shared script")
    assert kamsync("push").code == 0
    sandbox.store.ui_edit_variation(200001, jsCode="// edited in the UI\n")

    pull = kamsync("pull")
    assert os.path.islink(repo / RED_JS), f"pull replaced the symlink by a file (exit {pull.code}): {pull.output}"
    assert git(repo, "status", "--porcelain", "--", RED_JS)[:1] != "T"


def test_pull_refuses_while_the_index_holds_unmerged_entries_as_git_merge_does(kamsync, repo, sandbox):
    """After a conflicted `git stash pop` (no MERGE_HEAD, but unmerged entries in the index), `git merge`
    refuses ("you need to resolve your current index first"). kamsync's pull starts its merge anyway: the
    stash-pop resolution then goes into the "Merge values pulled from Kameleoon" commit, and `git merge
    --abort` resets the half-resolved file."""
    (repo / "notes.txt").write_text("1\n")
    commit_all(repo, "Notes")
    (repo / "notes.txt").write_text("2, mine\n")
    git(repo, "stash", "-q")
    (repo / "notes.txt").write_text("3, committed meanwhile\n")
    commit_all(repo, "Notes 3")
    assert run_git(repo, "stash", "pop").returncode != 0  # conflict: notes.txt unmerged
    sandbox.store.ui_edit_variation(200001, jsCode="// edited in the UI\n")

    pull = kamsync("pull")
    assert pull.code == 3, pull.output
    assert not (repo / ".git" / "MERGE_HEAD").exists()


def test_pull_does_not_tell_the_user_to_push_a_remote_ahead_field_that_push_refuses(kamsync, repo, sandbox):
    """pull leaves a `remote-ahead` field alone with "its news is in git; `kamsync push` sends it", the hint
    for `local-changed`; `kamsync push` then refuses it ("pushing would revert it"). The advice contradicts
    itself: it should say to merge the branch holding Kameleoon's code (or `pull --force`)."""
    git(repo, "checkout", "-q", "-b", "other")
    (repo / RED_JS).write_text("// deployed from another branch\n")
    commit_all(repo, "Other branch")
    assert kamsync("push").code == 0
    git(repo, "checkout", "-q", "main")
    assert states(kamsync("status", "--json"))[RED] == "remote-ahead"

    pull = kamsync("pull")
    advice = [line for line in pull.output.splitlines() if RED_JS in line]
    assert advice and not any("`kamsync push` sends it" in line for line in advice), pull.output
    assert kamsync("push").code == 3


def test_a_teammates_merged_pull_is_not_a_conflict_for_a_clone_with_an_older_record(kamsync, repo, sandbox, tmp_path):
    """Alice pulls a UI edit, merges it with her own work and pushes to git (not yet to Kameleoon). Bob,
    whose record still holds the older base, fetches and fast-forwards: his file is Alice's merge, which
    descends from Kameleoon's value (commit K is an ancestor of his HEAD). Yet rule 3 (record first) calls it
    a `conflict` and push refuses, where a fresh clone says `local-changed` and pushes: a stale record makes
    the verdict worse than none, and teaches people `--force`."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    deployed_five_lines(kamsync, repo, sandbox)
    git(repo, "push", "-q", "-u", "origin", "main")
    bob = tmp_path / "bob"
    git(tmp_path, "clone", "-q", str(bare), str(bob))
    assert states(kamsync("status", "--json", cwd=bob))[RED] == "in-sync"  # Bob's record: five lines

    (repo / RED_JS).write_text(FIVE.replace("line one", "line ONE (alice)"))
    commit_all(repo, "Alice's work")
    sandbox.store.ui_edit_variation(200001, jsCode=FIVE.replace("line five", "line FIVE (ui)"))
    assert kamsync("pull").code == 0
    git(repo, "commit", "-q", "--no-edit")
    git(repo, "push", "-q", "origin", "main")

    git(bob, "pull", "-q", "--ff-only")
    assert "line ONE (alice)" in (bob / RED_JS).read_text() and "line FIVE (ui)" in (bob / RED_JS).read_text()
    assert states(kamsync("status", "--json", cwd=bob))[RED] == "local-changed"


@pytest.mark.parametrize("hide", ["--skip-worktree", "--assume-unchanged"])
def test_a_pull_into_a_hidden_unchanged_file_must_not_commit_a_merge_that_reverts_kameleoons_value(
    kamsync, repo, sandbox, tmp_path, hide
):
    """A mapped file flagged --skip-worktree / --assume-unchanged, its content still HEAD's (so not
    uncommitted). pull writes Kameleoon's value to disk, but `git update-index --add` silently skips the
    flagged entry: the index keeps the old value. The user's `git commit` is then a merge of K whose tree
    holds the OLD value: history says Kameleoon's value was merged, and then reverted. Every fresh clone and
    CI sees R in an ancestor (K) and judges the old file `local-changed`: their push wipes the UI edit."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "-u", "origin", "main")
    git(repo, "update-index", hide, RED_JS)
    ui = "// edited in the UI\n"
    sandbox.store.ui_edit_variation(200001, jsCode=ui)

    pull = kamsync("pull")
    git(repo, "commit", "-q", "--no-edit")
    git(repo, "push", "-q", "origin", "main")
    committed = git(repo, "show", f"HEAD:{RED_JS}")

    ci = tmp_path / "ci"
    git(tmp_path, "clone", "-q", str(bare), str(ci))
    verdict = states(kamsync("status", "--json", cwd=ci))[RED]
    deploy = kamsync("push", cwd=ci)
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == normalize(ui), (
        f"CI ({verdict}) wiped the UI edit: {deploy.code} {deploy.output}"
    )
    assert normalize(committed) == normalize(ui) or pull.code == 3, (
        f"the merge commit kept the old value although pull said: {pull.output}"
    )


def test_a_fresh_clone_of_a_pushed_feature_branch_sees_a_conflict_not_a_ui_edit_to_adopt(
    kamsync, repo, sandbox, tmp_path
):
    """Carol changed the file on `feature` and pushed the branch (with upstream). Kameleoon still runs main's
    version, which someone then edits in the UI. Dave clones `feature` to help: no record, and the fork point
    F is the merge-base with the branch's upstream, i.e. HEAD itself, so "the file differs between F and
    HEAD" is false and rule 6 says `remote-changed`. `kamsync pull` then adopts Kameleoon's value wholesale:
    Carol's change to the file is silently dropped from the branch by Dave's next commit. Measured against
    main (where Kameleoon's code came from), the branch did change the file: this is a conflict to merge."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    deployed_five_lines(kamsync, repo, sandbox)
    git(repo, "push", "-q", "-u", "origin", "main")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / RED_JS).write_text(FIVE.replace("line one", "line ONE (carol, feature)"))
    commit_all(repo, "Carol's feature work")
    git(repo, "push", "-q", "-u", "origin", "feature")
    sandbox.store.ui_edit_variation(200001, jsCode=FIVE.replace("line five", "line FIVE (ui)"))

    dave = tmp_path / "dave"
    git(tmp_path, "clone", "-q", "-b", "feature", str(bare), str(dave))
    verdict = states(kamsync("status", "--json", cwd=dave))[RED]
    pull = kamsync("pull", cwd=dave)
    text = (dave / RED_JS).read_text()
    assert "line ONE (carol, feature)" in text, f"pull ({verdict}) dropped Carol's work: {pull.output}"
    assert verdict == "conflict"


def test_pull_in_a_fresh_clone_keeps_a_committed_edit_made_with_a_folder_rename(kamsync, repo, sandbox, tmp_path):
    """Same rename-and-edit commit, pushed to git, not yet deployed. A teammate's fresh clone runs `kamsync
    pull`: Kameleoon's (older) value is "in no commit" at the new path, so the field is `remote-changed` and
    pull overwrites the committed edit with the old code: the next commit silently drops it."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    deployed_five_lines(kamsync, repo, sandbox)
    variations = "experiments/100001-homepage-hero/variations"
    git(repo, "mv", f"{variations}/red-button", f"{variations}/red-cta")
    (repo / "kamsync.yaml").write_text((repo / "kamsync.yaml").read_text().replace("dir: red-button", "dir: red-cta"))
    (repo / f"{variations}/red-cta/variation.js").write_text(FIVE + "line six (committed, not deployed)\n")
    commit_all(repo, "Rename the folder and add a line")
    git(repo, "push", "-q", "-u", "origin", "main")

    mate = tmp_path / "mate"
    git(tmp_path, "clone", "-q", str(bare), str(mate))
    pull = kamsync("pull", cwd=mate)
    assert "line six" in (mate / f"{variations}/red-cta/variation.js").read_text(), (
        f"pull dropped the committed edit: {pull.output}"
    )


@pytest.mark.parametrize("damage", ["a folder", "deeply nested JSON"])
def test_a_damaged_record_is_set_aside_not_a_crash(kamsync, repo, sandbox, damage):
    """README: a corrupt record is copied aside and kamsync starts afresh. A record.json that is a folder
    (IsADirectoryError) or JSON nested too deep for Python's parser (RecursionError) crashes every command
    with exit 70 instead."""
    assert kamsync("status").code == 0
    record = repo / ".git" / "kamsync" / "record.json"
    record.unlink()
    if damage == "a folder":
        record.mkdir()
    else:
        record.write_text("[" * 100_000 + "]" * 100_000)
    status = kamsync("status")
    assert status.code == 0, status.output


def test_a_server_answering_deeply_nested_json_is_an_api_error_not_a_crash(kamsync, repo, sandbox, monkeypatch):
    """A misbehaving server (or a proxy) answering `[[[[…]]]]` nested 100,000 deep: Python's JSON parser
    raises RecursionError, which `api/responses.py` does not catch (it expects ValueError): exit 70 and a
    crash file, where a malformed answer should be a failure talking to the API (exit 4)."""
    monkeypatch.setattr(
        wire,
        "json",
        types.SimpleNamespace(dumps=lambda payload, **_: "[" * 100_000 + "]" * 100_000, loads=json.loads),
    )
    status = kamsync("status")
    assert status.code == 4, status.output


def test_a_pull_in_another_worktree_does_not_orphan_this_worktrees_pending_pull(kamsync, repo, sandbox, tmp_path):
    """refs/kamsync/pulled is one ref for all linked worktrees. A pull in worktree `side` overwrites it, so
    the main worktree's own pending pull (its MERGE_HEAD) is no longer recognised: its next pull is refused
    as "git is in the middle of a merge", and its K is reachable only from MERGE_HEAD (which gc does not
    keep)."""
    side = tmp_path / "side"
    git(repo, "worktree", "add", "-q", "-b", "side", str(side))
    sandbox.store.ui_edit_variation(200001, jsCode="// ui edit one\n")
    assert kamsync("pull").code == 0  # main worktree: pending merge of K1
    k1 = git(repo, "rev-parse", "MERGE_HEAD")
    sandbox.store.ui_edit_variation(200002, jsCode="// ui edit two\n")
    assert kamsync("pull", cwd=side).code == 0  # side: K2, and refs/kamsync/pulled moves to it

    sandbox.store.ui_edit_variation(200003, jsCode="// ui edit three\n")
    again = kamsync("pull")
    assert again.code == 0, again.output
    assert git(repo, "merge-base", "--is-ancestor", k1, "MERGE_HEAD") == ""


def test_a_ui_edit_cannot_reorder_what_kamsync_diff_shows_with_bidi_controls(kamsync, repo, sandbox):
    """README: control characters from Kameleoon are shown escaped "so a UI edit cannot hide lines in
    `kamsync diff`". Only C0/C1 controls are: Unicode bidi overrides and isolates (U+202E, U+2066-U+2069, the
    "Trojan Source" trick) reach the terminal raw, so a UI edit can make a line of code display as something
    other than what runs."""
    trojan = 'if (accessLevel != "user\u202e \u2066// Check if admin\u2069 \u2066") { grantAll(); }\n'
    sandbox.store.ui_edit_variation(200001, jsCode=trojan)
    diff = kamsync("diff")
    assert diff.code == 0, diff.output
    for control in ("\u202e", "\u2066", "\u2069"):
        assert control not in diff.stdout, f"U+{ord(control):04X} reached the terminal raw"


def test_a_fresh_clone_of_main_keeps_a_pushed_but_undeployed_commit_when_the_ui_edits_the_same_file(
    kamsync, repo, sandbox, tmp_path
):
    """The same hole on main itself, the everyday case: a commit to the red button is pushed to git, the
    deploy has not run yet, and someone edits the running (older) code in the UI. A teammate's fresh clone:
    no record, F = merge-base(HEAD, origin/main) = HEAD, so rule 6 says `remote-changed` and `kamsync pull`
    replaces the committed, undeployed work with Kameleoon's value (the file at D, HEAD's parent, shows the
    file did change since what Kameleoon ran)."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    deployed_five_lines(kamsync, repo, sandbox)
    (repo / RED_JS).write_text(FIVE.replace("line one", "line ONE (committed, not deployed)"))
    commit_all(repo, "Work waiting for the deploy")
    git(repo, "push", "-q", "-u", "origin", "main")
    sandbox.store.ui_edit_variation(200001, jsCode=FIVE.replace("line five", "line FIVE (ui)"))

    mate = tmp_path / "mate"
    git(tmp_path, "clone", "-q", str(bare), str(mate))
    verdict = states(kamsync("status", "--json", cwd=mate))[RED]
    pull = kamsync("pull", cwd=mate)
    assert "line ONE (committed, not deployed)" in (mate / RED_JS).read_text(), (
        f"pull ({verdict}) dropped the committed work: {pull.output}"
    )


def test_a_pending_pull_whose_commit_is_gone_is_no_base_and_no_crash(kamsync, repo, sandbox):
    """The record names the commit of a pull that was aborted and then pruned from the object store (or a
    record copied from another clone): that commit carries nothing, and status judges the field from git."""
    assert kamsync("status").code == 0
    sandbox.store.ui_edit_variation(200001, jsCode="// from the UI")
    assert kamsync("pull").code == 0
    pulled = git(repo, "rev-parse", "MERGE_HEAD").strip()
    git(repo, "merge", "--abort")
    git(repo, "update-ref", "-d", f"refs/kamsync/pulled/{pulled}")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "gc", "-q", "--prune=now")
    assert run_git(repo, "cat-file", "-e", pulled).returncode != 0, "the pull's commit is gone"

    status = kamsync("status", "--json")
    assert status.code == 0, status.output
    assert states(status)[RED] == "remote-changed"
