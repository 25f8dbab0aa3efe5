"""Priced runs and saved plans, end to end: refused before any write when the budget is short, --wait,
--max-requests, and `push --dry-run --out` + `kamsync apply` executing exactly the saved plan."""

from __future__ import annotations

import json

from kamsync.core.normalize import normalize
from tests.helpers import api_requests, commit_all, path_of, states


def _change(kamsync, repo, *variation_ids: int) -> None:
    status = kamsync("status", "--json")
    for variation_id in variation_ids:
        (repo / path_of(status, variation_id, "jsCode")).write_text(f"// planned for {variation_id}\n")
    commit_all(repo, f"change {variation_ids}")


def test_a_push_larger_than_the_hour_has_left_is_refused_before_any_write(kamsync, repo, sandbox):
    _change(kamsync, repo, 200001, 200002)  # status used a token and 2 reads of this hour's 6
    sandbox.store.clear_requests()
    result = kamsync("push", "--allow-live", extra_env={"KAMSYNC_RATE_LIMIT": "100/1s,6/1h"})
    assert result.code == 3, result.output
    # The reads (2, the token is cached) fit in the 3 left; then the 2 writes do not fit in the 1 left.
    assert "this push needs 2 requests but only 1 of the 6/1h budget are left" in result.stderr
    assert "it could run at" in result.stderr and "--wait" in result.stderr
    assert "nothing was written" in result.stderr
    assert not api_requests(sandbox, "PATCH")


def test_reads_are_priced_before_the_first_request(kamsync, repo, sandbox):
    assert kamsync("status", extra_env={"KAMSYNC_RATE_LIMIT": "4/1h"}).code == 0  # token + 2 reads
    sandbox.store.clear_requests()
    result = kamsync("status", extra_env={"KAMSYNC_RATE_LIMIT": "4/1h"})
    assert result.code == 3, result.output
    assert "kamsync status needs 2 requests but only 1 of the 4/1h budget are left" in result.stderr
    assert api_requests(sandbox) == [], "nothing is sent when the reads do not fit"


def test_wait_waits_for_the_budget_and_then_runs(kamsync, repo, sandbox):
    # A window long enough that the second run starts inside it even on a loaded machine, short enough to wait out
    limits = {"KAMSYNC_RATE_LIMIT": "3/5s"}
    assert kamsync("status", extra_env=limits).code == 0  # token + 2 reads fill the window
    result = kamsync("status", "--wait", extra_env=limits)
    assert result.code == 0, result.output
    assert "kamsync status needs 2 requests and 0 of 3/5s are left: waiting" in result.stderr
    assert not [r for r in api_requests(sandbox) if r.status == 429]


def test_max_requests_refuses_a_run_that_needs_more(kamsync, repo, sandbox):
    _change(kamsync, repo, 200001, 200002)
    sandbox.store.clear_requests()
    result = kamsync("push", "--allow-live", "--max-requests", "3")
    assert result.code == 3, result.output
    assert "this push: this run needs 4 requests (2 already used), more than --max-requests 3" in result.stderr
    assert not api_requests(sandbox, "PATCH")
    assert kamsync("push", "--allow-live", "--max-requests", "4").code == 0


def test_a_saved_plan_is_applied_exactly(kamsync, repo, sandbox, tmp_path):
    _change(kamsync, repo, 200001, 200002)
    plan_file = tmp_path / "plan.json"
    dry = kamsync("push", "--dry-run", "--out", str(plan_file))
    assert dry.code == 0, dry.output
    plan = json.loads(plan_file.read_text())
    assert plan["requests"] == {"reads": 2, "writes": 2, "total": 4}
    variation = next(w for w in plan["writes"] if w["id"] == 200001)
    assert variation["fields"][0]["local"] == "// planned for 200001\n"
    assert variation["fields"][0]["remote"] == normalize(sandbox.store.variation(200001)["jsCode"])
    assert not api_requests(sandbox, "PATCH"), "a dry run sends nothing"

    # Edits made after the plan are not part of it: apply sends what the plan saw.
    applied = kamsync("apply", str(plan_file), "--json")
    assert applied.code == 0, applied.output
    assert sorted(w["id"] for w in applied.json()["written"]) == [200001, 200002]
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "// planned for 200001"
    assert set(states(kamsync("status", "--json")).values()) == {"in-sync"}

    again = kamsync("apply", str(plan_file))
    assert again.code == 0, again.output
    assert "nothing to apply" in again.stdout
    assert len(api_requests(sandbox, "PATCH")) == 2


def test_apply_refuses_when_a_remote_value_changed_since_the_plan(kamsync, repo, sandbox, tmp_path):
    _change(kamsync, repo, 200001, 200002)
    plan_file = tmp_path / "plan.json"
    assert kamsync("push", "--dry-run", "--out", str(plan_file)).code == 0
    sandbox.store.ui_edit_variation(200002, jsCode="// edited in the UI\n")
    result = kamsync("apply", str(plan_file))
    assert result.code == 3, result.output
    assert "variation 200002 (experiment 100001) jsCode" in result.stderr
    assert "changed in Kameleoon since the plan was made" in result.stderr
    assert not api_requests(sandbox, "PATCH"), "nothing is written, not even the unchanged field"


def test_apply_refuses_when_a_local_file_changed_since_the_plan(kamsync, repo, sandbox, tmp_path):
    _change(kamsync, repo, 200001)
    plan_file = tmp_path / "plan.json"
    assert kamsync("push", "--dry-run", "--out", str(plan_file)).code == 0
    status = kamsync("status", "--json")
    (repo / path_of(status, 200001, "jsCode")).write_text("// changed after planning\n")
    result = kamsync("apply", str(plan_file))
    assert result.code == 3, result.output
    assert "the local file changed since the plan was made" in result.stderr
    assert not api_requests(sandbox, "PATCH")


def test_a_plan_is_only_saved_by_a_dry_run_and_only_applies_to_its_api(kamsync, repo, tmp_path):
    _change(kamsync, repo, 200001)
    assert kamsync("push", "--out", str(tmp_path / "p.json")).code == 2
    plan_file = tmp_path / "plan.json"
    assert kamsync("push", "--dry-run", "--out", str(plan_file)).code == 0
    other = kamsync("--api-url", "http://127.0.0.1:9", "apply", str(plan_file))
    assert other.code == 2 and "was made for" in other.stderr
    (tmp_path / "bad.json").write_text("{}")
    bad = kamsync("apply", str(tmp_path / "bad.json"))
    assert bad.code == 2 and "not a kamsync plan" in bad.stderr
    missing = kamsync("apply", str(tmp_path / "none.json"))
    assert missing.code == 2 and "push --dry-run --out" in missing.stderr


def test_a_refusal_under_json_still_prints_an_object_saying_why(kamsync, repo, sandbox):
    assert kamsync("status", extra_env={"KAMSYNC_RATE_LIMIT": "3/1h"}).code == 0  # token + 2 reads: all of it
    result = kamsync("push", "--json", extra_env={"KAMSYNC_RATE_LIMIT": "3/1h"})
    assert result.code == 3, result.output
    error = result.json()["error"]
    assert error["kind"] == "BudgetRefused" and error["exit_code"] == 3
    assert "budget are left" in error["message"]


def test_a_plan_read_at_another_commit_is_not_saved_since_it_could_never_be_applied(kamsync, repo, tmp_path):
    _change(kamsync, repo, 200001)
    result = kamsync("push", "--dry-run", "--to", "HEAD~1", "--out", str(tmp_path / "plan.json"))
    assert result.code == 2, result.output
    assert "--out with --to" in result.stderr
    assert not (tmp_path / "plan.json").exists()


def test_a_usage_error_under_json_prints_an_error_object_too(kamsync, repo):
    result = kamsync("status", "--json", "--frobnicate")
    assert result.code == 2
    assert result.json() == {
        "error": {"kind": "UsageError", "message": "No such option '--frobnicate'.", "exit_code": 2}
    }
