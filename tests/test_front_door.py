"""What a new user meets first: where options go, what status, diff and push say, and where they say it."""

from __future__ import annotations

import re
import shutil

from kamsync.sandbox import DEFAULT_CLIENT_SECRET, Sandbox
from tests.helpers import commit_all, path_of


def test_manifest_and_api_url_work_after_the_command_as_before_it(kamsync, repo, sandbox, tmp_path):
    shutil.move(repo / "kamsync.yaml", repo / "sites.yaml")
    wrong = {"KAMELEOON_API_URL": "http://127.0.0.1:9"}  # nothing listens there: only --api-url can help
    before = kamsync("--manifest", "sites.yaml", "--api-url", sandbox.url, "status", extra_env=wrong)
    after = kamsync("status", "--manifest", "sites.yaml", "--api-url", sandbox.url, extra_env=wrong)
    assert before.code == after.code == 0, before.output + after.output
    assert after.stdout == before.stdout
    assert "experiments/100001-homepage-hero/common.js" in after.stdout


def test_status_counts_states_on_stderr_and_keeps_one_line_per_field_on_stdout(kamsync, repo):
    path = path_of(kamsync("status", "--json"), 200001, "jsCode")
    (repo / path).write_text("// red\n")
    commit_all(repo, "red")
    result = kamsync("status")
    assert result.code == 0, result.output
    assert result.stderr == "12 fields: 11 in-sync, 1 local-changed\n"
    lines = result.stdout.splitlines()
    assert len(lines) == 12
    assert f"local-changed  {path}  (variation 200001 (experiment 100001) jsCode)" in lines


def test_status_changed_lists_only_fields_that_are_not_in_sync(kamsync, repo):
    path = path_of(kamsync("status", "--json"), 200001, "jsCode")
    (repo / path).write_text("// red\n")
    commit_all(repo, "red")
    result = kamsync("status", "--changed")
    assert result.code == 0, result.output
    assert result.stdout == f"local-changed  {path}  (variation 200001 (experiment 100001) jsCode)\n"
    assert result.stderr == "12 fields: 11 in-sync, 1 local-changed\n"


def test_diff_with_nothing_to_show_says_so_on_stderr(kamsync):
    result = kamsync("diff")
    assert result.code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == "nothing to show: Kameleoon and the local files agree (12 fields: 12 in-sync)\n"


def test_each_write_is_reported_once(kamsync, repo):
    status = kamsync("status", "--json")
    for variation_id in (200001, 200002):
        (repo / path_of(status, variation_id, "jsCode")).write_text(f"// v2 of {variation_id}\n")
    commit_all(repo, "two changes")
    result = kamsync("push")
    assert result.code == 0, result.output
    for variation_id in (200001, 200002):
        assert result.output.count(f"updated variation {variation_id} ") == 1, result.output
        assert f"updated variation {variation_id} (experiment 100001): jsCode\n" in result.stdout
    assert "2 of 2 entities updated" in result.stdout


def test_a_connection_failure_names_the_url_it_tried_and_no_hint_of_another_command(kamsync):
    with Sandbox(rate_limit=None) as gone:
        url = gone.url  # nothing listens there once it stops
    fast = {"KAMSYNC_RETRIES": "1", "KAMSYNC_BACKOFF": "0.01"}
    result = kamsync("status", "--api-url", url, extra_env=fast)
    assert result.code == 4, result.output
    assert f" s at {url} (last: could not connect: " in result.stderr
    assert "push" not in result.stderr


def test_pull_of_an_experiment_kameleoon_does_not_have_is_a_usage_error(kamsync, repo):
    before = (repo / "kamsync.yaml").read_text()
    result = kamsync("pull", "--experiment", "999999")
    assert result.code == 2, result.output
    assert "--experiment 999999: not found in Kameleoon" in result.stderr
    assert (repo / "kamsync.yaml").read_text() == before


def test_outside_a_git_repository_the_first_error_says_so(kamsync, tmp_path):
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    for command in (("status",), ("diff",), ("push",), ("pull",)):
        result = kamsync(*command, cwd=outside)
        assert result.code == 2, result.output
        assert result.stderr.startswith(f"error: {outside} is not inside a git repository; run `git init`"), command
        assert "--experiment" not in result.stderr


def test_with_json_status_and_diff_leave_stderr_to_problems(kamsync):
    for command in ("status", "diff"):
        result = kamsync(command, "--json")
        assert result.code == 0, result.output
        assert result.stderr == "", command


def test_verbose_prints_each_request_with_its_status_time_and_rate_windows_and_no_secret(kamsync, sandbox):
    result = kamsync("status", "-v", extra_env={"KAMSYNC_RATE_LIMIT": "50/10s,1000/1h"})
    assert result.code == 0, result.output
    logged = [line for line in result.stderr.splitlines() if " -> " in line]
    assert [line.split(" ")[:2] for line in logged] == [
        ["POST", "/oauth/token"],
        ["GET", logged[1].split(" ")[1]],
        ["GET", logged[2].split(" ")[1]],
    ]
    assert logged[1].split(" ")[1].startswith('/experiments?page=1&perPage=200&filter=[{"field":"id"')
    assert logged[2].split(" ")[1].startswith("/variations?page=1")
    for n, line in enumerate(logged, start=1):
        assert re.search(r" -> HTTP 200 in \d+ ms; rate windows: ", line), line
        assert line.endswith(f"50/10s {n} used, {50 - n} left, 1000/1h {n} used, {1000 - n} left"), line
    secrets = [DEFAULT_CLIENT_SECRET, *sandbox.store.issued_tokens()]
    assert not [s for s in secrets if s in result.output]
    quiet = kamsync("status")
    assert " -> " not in quiet.stderr, "only -v logs requests"


def test_quiet_keeps_only_errors_and_the_final_summary(kamsync, repo):
    status = kamsync("status", "--json")
    path = path_of(status, 200001, "jsCode")
    (repo / path).write_text("// red\n")  # uncommitted: push warns about it, -q does not
    loud = kamsync("push")
    assert "warning: pushing uncommitted changes" in loud.stderr
    (repo / path).write_text("// redder\n")
    quiet = kamsync("push", "-q")
    assert quiet.code == 0, quiet.output
    assert quiet.stderr == ""
    assert (
        quiet.stdout
        == "1 of 1 entities updated, 0 skipped (locked in Kameleoon), 0 failed, 0 not attempted; 3 requests used\n"
    )
    (repo / path).write_text("<<<<<<< local\n")
    refused = kamsync("-q", "push")
    assert refused.code == 3
    assert refused.stderr.startswith("error: refused: variation 200001")
    assert "nothing was written: 1 field(s) refused" in refused.stderr


def test_verbose_and_quiet_together_is_a_usage_error(kamsync):
    result = kamsync("status", "-v", "-q")
    assert result.code == 2
    assert "-v/--verbose and -q/--quiet contradict each other" in result.stderr


def test_shell_completion_completes_commands_and_options(kamsync, tmp_path):
    script = kamsync(extra_env={"_KAMSYNC_COMPLETE": "bash_source"}, cwd=tmp_path)
    assert script.code == 0 and "_kamsync_completion()" in script.stdout
    asked = {"_KAMSYNC_COMPLETE": "bash_complete", "COMP_WORDS": "kamsync status --ch", "COMP_CWORD": "2"}
    assert kamsync(extra_env=asked, cwd=tmp_path).stdout.split() == ["plain,--changed"]
    asked = {**asked, "COMP_WORDS": "kamsync do", "COMP_CWORD": "1"}
    assert kamsync(extra_env=asked, cwd=tmp_path).stdout.split() == ["plain,doctor"]


def test_quiet_pull_says_only_how_many_requests_it_used(kamsync, repo, sandbox):
    sandbox.store.ui_edit_variation(200001, jsCode="// from the UI\n")
    result = kamsync("pull", "-q")
    assert result.code == 0, result.output
    assert (result.stdout, result.stderr) == ("3 requests used\n", "")  # token, experiments, variations
    assert (repo / path_of(kamsync("status", "--json"), 200001, "jsCode")).read_text() == "// from the UI\n"
