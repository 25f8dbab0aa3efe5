"""The real `kamsync push` against a sandbox that misbehaves on cue; each run ends with remote = local."""

from __future__ import annotations

from pathlib import Path

import pytest

from kamsync.core.normalize import normalize
from kamsync.sandbox import DROPPED, Sandbox
from tests.conftest import Result
from tests.helpers import api_requests, commit_all, path_of, states

RED = "experiments/100001-homepage-hero/variations/red-button/variation.js"  # variation 200001
BIG = "experiments/100001-homepage-hero/variations/big-headline/variation.js"  # variation 200002
NEW_CODE = {200001: "// red, second version", 200002: "// big, second version"}
# Quick retries, so that a test waits milliseconds where a real run would wait seconds.
FAST = {"KAMSYNC_RETRIES": "2", "KAMSYNC_BACKOFF": "0.01", "KAMSYNC_TIMEOUT": "5"}


def change_both(repo: Path) -> None:
    (repo / RED).write_text(NEW_CODE[200001] + "\n")
    (repo / BIG).write_text(NEW_CODE[200002] + "\n")
    commit_all(repo, "Change both variations of the hero test")


def ids(result: Result, *keys: str) -> set[int]:
    payload = result.json()
    return {entry["id"] for key in keys for entry in payload.get(key) or []}


def assert_remote_is_local(kamsync, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    status = kamsync("status", "--json")
    assert status.code == 0, status.output
    assert set(states(status).values()) == {"in-sync"}
    for variation_id, code in NEW_CODE.items():
        assert normalize(sandbox.store.variation(variation_id)["jsCode"]) == code


def patch_statuses(sandbox: Sandbox) -> list[int]:
    return [r.status for r in api_requests(sandbox, "PATCH")]


@pytest.mark.parametrize(
    ("fault", "patches"),
    [
        ("PATCH 1=503", [503, 200, 200]),
        ("PATCH 1=drop", [DROPPED, 200, 200]),
        ("PATCH 2=drop-after", [200, DROPPED, 200]),  # applied, unanswered, sent again: same result
        ("PATCH 1=429", [429, 200, 200]),  # Retry-After: 1
        ("PATCH 1=429-no-retry-after", [429, 200, 200]),  # the client waits for its shortest window
    ],
)
def test_push_rides_out_a_passing_fault(kamsync, repo, sandbox, fault, patches):
    change_both(repo)
    sandbox.store.clear_requests()
    sandbox.faults.arm(fault)
    push = kamsync("push", "--json", extra_env=FAST)
    assert push.code == 0, push.output
    assert ids(push, "written") == {200001, 200002}
    assert patch_statuses(sandbox) == patches
    assert len(sandbox.faults.events) == 1
    assert_remote_is_local(kamsync, sandbox)


def test_push_sends_a_timed_out_write_again(kamsync, repo, sandbox):
    change_both(repo)
    sandbox.store.clear_requests()
    # Stalled far beyond the 0.5 s timeout; stopping the sandbox at the end of the test drops it unprocessed.
    sandbox.faults.arm("PATCH 1=stall=60")
    push = kamsync("push", "--json", extra_env={**FAST, "KAMSYNC_TIMEOUT": "0.5"})
    assert push.code == 0, push.output
    assert ids(push, "written") == {200001, 200002}
    assert [e["action"] for e in sandbox.faults.events] == ["stall=60"]
    assert patch_statuses(sandbox) == [200, 200], "the stalled attempt is still waiting, unlogged"
    assert_remote_is_local(kamsync, sandbox)


def test_push_renews_a_token_that_expires_midway(kamsync, repo, sandbox):
    change_both(repo)
    sandbox.store.clear_requests()
    sandbox.faults.arm("expire-token=1")
    push = kamsync("push", "--json", extra_env=FAST)
    assert push.code == 0, push.output
    assert ids(push, "written") == {200001, 200002}
    log = [(r.method, r.path, r.status) for r in sandbox.store.requests]
    assert [status for *_, status in log].count(401) == 1
    expired = [status for *_, status in log].index(401)
    method, path, _ = log[expired]
    assert log[expired + 1 : expired + 3] == [("POST", "/oauth/token", 200), (method, path, 200)], "renewed once"
    assert_remote_is_local(kamsync, sandbox)


def test_push_writes_the_rest_when_one_variation_is_locked_and_a_rerun_finishes(kamsync, repo, sandbox):
    change_both(repo)
    sandbox.faults.arm("lock=variation:200001")
    push = kamsync("push", "--json", extra_env=FAST)
    assert push.code == 4, push.output
    assert ids(push, "written") == {200002}
    assert ids(push, "skipped", "failed") == {200001}
    assert patch_statuses(sandbox).count(423) == 1, "a lock is never retried"
    assert normalize(sandbox.store.variation(200002)["jsCode"]) == NEW_CODE[200002]

    sandbox.faults.clear()  # someone closed the variation in the Kameleoon app
    rerun = kamsync("push", "--json", extra_env=FAST)
    assert rerun.code == 0, rerun.output
    assert ids(rerun, "written") == {200001}
    assert_remote_is_local(kamsync, sandbox)


def test_push_gives_up_on_a_persistent_outage_and_a_rerun_finishes(kamsync, repo, sandbox):
    change_both(repo)
    sandbox.store.clear_requests()
    sandbox.faults.arm("PATCH *=503")
    push = kamsync("push", "--json", extra_env=FAST)
    assert push.code == 4, push.output
    assert patch_statuses(sandbox) == [503] * 3, "KAMSYNC_RETRIES=2: three attempts, then the push stops"
    assert ids(push, "written") == set()
    [failed] = push.json()["failed"]
    assert "gave up after 3 attempts" in failed["error"]
    assert "run the same command again to finish: it resumes where this run stopped" in push.stderr

    sandbox.faults.clear()  # Kameleoon is back
    rerun = kamsync("push", "--json", extra_env=FAST)
    assert rerun.code == 0, rerun.output
    assert ids(rerun, "written") == {200001, 200002}
    assert_remote_is_local(kamsync, sandbox)


def test_repeated_429s_without_retry_after_stop_the_run_instead_of_freezing_it_for_an_hour(kamsync, repo, sandbox):
    status = kamsync("status", "--json")
    (repo / path_of(status, 200001, "jsCode")).write_text("// blocked\n")
    commit_all(repo, "one write")
    limits = {"KAMSYNC_RATE_LIMIT": "50/1s,1000/1h"}
    sandbox.faults.arm("PATCH 1x2=429-no-retry-after")
    result = kamsync("push", extra_env=limits)
    assert result.code == 4, result.output
    assert "the rate budget has no room until" in result.stderr and "--wait" in result.stderr
    # Every later run is refused at once (exit 3, nothing sent) until the wait Kameleoon imposed is over.
    sandbox.store.clear_requests()
    later = kamsync("status", extra_env=limits)
    assert later.code == 3, later.output
    assert "no request may be sent before" in later.stderr
    assert api_requests(sandbox) == []


def test_a_429_with_retry_after_is_waited_out_as_asked_and_the_wait_is_shown(kamsync, repo, sandbox):
    change_both(repo)
    sandbox.store.clear_requests()
    sandbox.faults.arm("PATCH 1=429")  # Retry-After: 1
    push = kamsync("push", extra_env=FAST)
    assert push.code == 0, push.output
    assert "waiting 1 s: Kameleoon answered 429 (too many requests) and asked to wait" in push.stderr
    refused, retried = api_requests(sandbox, "PATCH")[:2]
    assert (refused.status, retried.status) == (429, 200)
    assert retried.time - refused.time >= 1.0, "sent again only once the Retry-After had passed"
