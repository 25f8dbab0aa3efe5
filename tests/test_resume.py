"""A push killed at any moment resumes: it says so, sends only what is still needed, and refuses drift.

The sandbox holds the answer to the n-th PATCH after applying it; the test kills kamsync with SIGKILL right then,
the worst moment: Kameleoon has the write, kamsync never heard of it.
"""

from __future__ import annotations

import collections
import signal
import subprocess
import sys

import pytest

from kamsync.core.normalize import normalize
from tests.helpers import api_requests, commit_all, kill_push_when_held, path_of, states

VARIATIONS = (200001, 200002, 200003)


def _kill_at_write(sandbox, repo, env, n: int, *args: str) -> None:
    """Run a push and SIGKILL it once Kameleoon has applied its n-th write, before kamsync sees the answer."""
    kill_push_when_held(sandbox, repo, env, f"PATCH {n}=hold", "--allow-live", *args)


@pytest.mark.parametrize("n", [1, 2, 4])
def test_a_push_killed_after_its_nth_write_resumes_and_converges_without_duplicates(n, kamsync, repo, env, sandbox):
    status = kamsync("status", "--json")
    for variation_id in VARIATIONS:
        (repo / path_of(status, variation_id, "jsCode")).write_text(f"// v2 of {variation_id}\n")
    (repo / path_of(status, None, "commonCssCode", 100001)).write_text(".v2 { color: red; }\n")
    commit_all(repo, "four writes")
    sandbox.store.clear_requests()

    _kill_at_write(sandbox, repo, env, n)
    assert len(api_requests(sandbox, "PATCH")) == n

    rerun = kamsync("push", "--allow-live", "--json")
    assert rerun.code == 0, rerun.output
    assert "resuming the kamsync push interrupted" in rerun.stderr
    assert f"{n - 1} of 4 writes were confirmed, 1 in flight when it stopped" in rerun.stderr
    assert len(rerun.json()["written"]) == 4 - n, "the write Kameleoon applied before the kill is not sent again"

    patched = collections.Counter(r.path for r in api_requests(sandbox, "PATCH"))
    assert sorted(patched.values()) == [1, 1, 1, 1], patched
    assert set(states(kamsync("status", "--json")).values()) == {"in-sync"}
    assert "did not finish" not in kamsync("status").stderr, "the journal is gone once the push finished"


def test_a_field_changed_in_kameleoon_between_the_kill_and_the_rerun_is_refused_as_drift(kamsync, repo, env, sandbox):
    status = kamsync("status", "--json")
    first, second = (repo / path_of(status, v, "jsCode") for v in (200001, 200002))
    sandbox.store.ui_edit_variation(200001, jsCode="// edited in the UI before the push\n")
    first.write_text("// ours 1\n")
    second.write_text("// ours 2\n")
    commit_all(repo, "two writes")

    _kill_at_write(sandbox, repo, env, 1, "--force")  # --force overwrites the UI edit of 200001
    sandbox.store.ui_edit_variation(200002, jsCode="// edited in the UI after the kill\n")
    sandbox.store.clear_requests()

    rerun = kamsync("push", "--allow-live", "--force")
    assert rerun.code == 3, rerun.output
    assert "variation 200002 (experiment 100001) jsCode" in rerun.stderr
    assert "changed in Kameleoon since the interrupted push (drift)" in rerun.stderr
    assert not api_requests(sandbox, "PATCH"), "--force does not overwrite drift"
    assert normalize(sandbox.store.variation(200002)["jsCode"]) == "// edited in the UI after the kill"

    fresh = kamsync("push", "--allow-live", "--force", "--discard-journal")
    assert fresh.code == 0, fresh.output
    assert normalize(sandbox.store.variation(200002)["jsCode"]) == "// ours 2"


def test_an_interrupted_apply_is_finished_by_applying_the_plan_again(kamsync, repo, env, sandbox, tmp_path):
    status = kamsync("status", "--json")
    for variation_id in VARIATIONS:
        (repo / path_of(status, variation_id, "jsCode")).write_text(f"// planned {variation_id}\n")
    commit_all(repo, "three writes")
    plan = tmp_path / "plan.json"
    assert kamsync("push", "--allow-live", "--dry-run", "--out", str(plan)).code == 0

    (held,) = sandbox.faults.arm("PATCH 2=hold")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kamsync", "apply", str(plan)],
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert sandbox.faults.reached(held).wait(timeout=60)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        sandbox.faults.release_all()
        sandbox.faults.clear()

    again = kamsync("apply", str(plan), "--json")
    assert again.code == 0, again.output
    assert "resuming the kamsync apply interrupted" in again.stderr
    assert len(again.json()["written"]) == 1
    patched = collections.Counter(r.path for r in api_requests(sandbox, "PATCH"))
    assert sorted(patched.values()) == [1, 1, 1], patched
    assert set(states(kamsync("status", "--json")).values()) == {"in-sync"}


def _three_writes_killed_after_the_first(kamsync, repo, env, sandbox) -> dict[int, str]:
    status = kamsync("status", "--json")
    paths = {v: path_of(status, v, "jsCode") for v in VARIATIONS}
    for variation_id, path in paths.items():
        (repo / path).write_text(f"// v2 of {variation_id}\n")
    commit_all(repo, "three writes")
    _kill_at_write(sandbox, repo, env, 1)
    return paths


def test_a_resumed_push_restricted_to_paths_still_finishes_and_checks_the_interrupted_fields(
    kamsync, repo, env, sandbox
):
    paths = _three_writes_killed_after_the_first(kamsync, repo, env, sandbox)
    rerun = kamsync("push", "--allow-live", paths[200001])
    assert rerun.code == 0, rerun.output
    assert "other field(s) of the interrupted push are included" in rerun.stderr
    assert set(states(kamsync("status", "--json")).values()) == {"in-sync"}


def test_drift_in_a_field_outside_the_paths_given_is_still_refused(kamsync, repo, env, sandbox):
    paths = _three_writes_killed_after_the_first(kamsync, repo, env, sandbox)
    sandbox.store.ui_edit_variation(200003, jsCode="// edited in the UI after the kill\n")
    sandbox.store.clear_requests()
    rerun = kamsync("push", "--allow-live", "--force", paths[200001])
    assert rerun.code == 3, rerun.output
    assert "variation 200003 (experiment 100002) jsCode" in rerun.stderr and "(drift)" in rerun.stderr
    assert not api_requests(sandbox, "PATCH")
    assert "did not finish" in kamsync("status").stderr, "the journal is kept until the drift is resolved"


def test_a_dry_run_shows_what_resuming_would_do_including_drift(kamsync, repo, env, sandbox):
    _three_writes_killed_after_the_first(kamsync, repo, env, sandbox)
    sandbox.store.ui_edit_variation(200003, jsCode="// edited in the UI after the kill\n")
    dry = kamsync("push", "--allow-live", "--force", "--dry-run")
    assert dry.code == 3, dry.output
    assert "this dry run shows what resuming the kamsync push" in dry.stderr
    assert "(drift)" in dry.stderr
    assert "did not finish" in kamsync("status").stderr, "a dry run leaves the journal alone"


def test_apply_does_not_take_over_an_interrupted_push(kamsync, repo, env, sandbox, tmp_path):
    plan = tmp_path / "plan.json"
    status = kamsync("status", "--json")
    (repo / path_of(status, None, "commonCssCode", 100001)).write_text(".planned {}\n")
    commit_all(repo, "planned")
    assert kamsync("push", "--dry-run", "--out", str(plan)).code == 0
    _three_writes_killed_after_the_first(kamsync, repo, env, sandbox)
    applied = kamsync("apply", str(plan))
    assert applied.code == 3, applied.output
    assert "an interrupted push has not finished" in applied.stderr
    assert "did not finish" in kamsync("status").stderr
    forced = kamsync("apply", str(plan), "--discard-journal")
    assert forced.code == 0, forced.output  # the plan's own checks hold: its one field is still as planned
    assert "forgot the journal of the interrupted kamsync push" in forced.stderr
    assert kamsync("push", "--allow-live").code == 0
    assert set(states(kamsync("status", "--json")).values()) == {"in-sync"}
