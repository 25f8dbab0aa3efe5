"""``--format github`` from the command line, in and outside Actions: the real kamsync against the sandbox,
with a loopback GitHub (tests/github_fake.py) where a run talks to it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.action_runner import obeyed, read_outputs
from tests.github_fake import WORKFLOW_LOGIN, FakeGitHub
from tests.gitutil import commit, git
from tests.test_action import BIG_CSS, RED_CSS, RED_JS, TOKEN, github, pr_event

__all__ = ["github"]  # the loopback GitHub fixture, shared with the action's tests


@pytest.fixture
def in_actions(tmp_path: Path, github: FakeGitHub):  # type: ignore[no-untyped-def]
    """The variables the runner sets for a step, for an event of the given payload."""

    def make(event: dict) -> dict[str, str]:  # type: ignore[type-arg]
        event_path = tmp_path / "event.json"
        event_path.write_text(json.dumps(event))
        for name in ("output", "summary"):
            (tmp_path / name).write_text("")
        return {
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(tmp_path / "output"),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_API_URL": github.url,
            "GITHUB_REPOSITORY": "acme/site",
            "GITHUB_REF_NAME": "main",
            "GITHUB_TOKEN": TOKEN,
        }

    return make


def test_outside_actions_the_plan_prints_its_summary_and_outputs_in_the_log(kamsync, repo, tmp_path):
    (repo / RED_JS).write_text("console.log('local');\n")
    commit(repo, {RED_JS: "console.log('local');\n"})

    result = kamsync("push", "--dry-run", "--format", "github", "--from", "HEAD^1", "--out", str(tmp_path / "p.json"))

    assert result.code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("::add-mask::"), "masking comes first"
    assert obeyed(result.stdout) == [lines[0]], "everything else is inert text"
    assert "### kamsync plan: ` kamsync.yaml `" in result.stdout
    assert (
        "outputs: changes=1 refused=0 conflicts=0" in result.stdout and f"plan={tmp_path / 'p.json'}" in result.stdout
    )
    assert json.loads((tmp_path / "p.json").read_text())["requests"]["writes"] == 1
    assert result.stderr == ""


def test_a_plan_with_fail_on_changes_exits_1_and_writes_the_runner_files(kamsync, repo, in_actions, tmp_path):
    commit(repo, {RED_JS: "console.log('changed');\n"})
    environ = in_actions({"ref": "refs/heads/main"})

    result = kamsync("push", "--dry-run", "--format", "github", "--from", "HEAD^1", "--exit-code", extra_env=environ)

    assert result.code == 1, result.output
    outputs = read_outputs(Path(environ["GITHUB_OUTPUT"]))
    assert outputs["changes"] == "1" and outputs["plan"] == ""
    assert "changed" in Path(environ["GITHUB_STEP_SUMMARY"]).read_text()


def test_a_manifest_error_is_annotated_on_its_line(kamsync, repo, in_actions):
    manifest = repo / "kamsync.yaml"
    manifest.write_text(manifest.read_text().replace("dir: red-button", "dir: red-button\n        colour: red"))

    result = kamsync("status", "--format", "github", extra_env=in_actions({}))

    assert result.code == 2, result.output
    (error,) = [c for c in obeyed(result.stdout) if c.startswith("::error")]
    assert error.startswith("::error file=kamsync.yaml,line=10,title=kamsync::") and "colour" in error


def test_an_error_holding_the_github_token_shows_it_hidden(kamsync, repo, in_actions):
    manifest = repo / "kamsync.yaml"
    manifest.write_text(manifest.read_text().replace("dir: red-button", f"dir: red-button\n        {TOKEN}: 1"))

    environ = in_actions({})
    result = kamsync("status", "--format", "github", extra_env=environ)

    assert result.code == 2 and TOKEN not in result.output
    summary = Path(environ["GITHUB_STEP_SUMMARY"]).read_text()
    assert "unknown key '<hidden>'" in result.stdout and "&lt;hidden&gt;" in summary and TOKEN not in summary


def test_status_lists_what_differs_and_fails_on_changes_when_asked(kamsync, repo, sandbox, in_actions):
    sandbox.store.ui_edit_variation(200002, cssCode=".ui { color: plum; }")
    environ = in_actions({})

    shown = kamsync("status", "--format", "github", extra_env=environ)
    failed = kamsync("status", "--format", "github", "--exit-code", extra_env=environ)

    assert shown.code == 0 and failed.code == 1, shown.output + failed.output
    summary = Path(environ["GITHUB_STEP_SUMMARY"]).read_text()
    assert "remote-changed" in summary and "200002 Big headline" in summary and "color: plum" in summary
    assert not [c for c in obeyed(shown.stdout) if c.startswith("::error")], "a difference is no error"


def test_every_warning_is_in_the_log_as_text_as_well_as_in_the_summary(kamsync, repo, in_actions, tmp_path):
    commit(repo, {"docs/notes.md": "a second commit\n"})
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow))
    environ = in_actions({})

    result = kamsync("status", "--format", "github", cwd=shallow, extra_env=environ)

    assert result.code == 0, result.output
    (logged,) = [line for line in result.stdout.splitlines() if line.startswith("warning: ")]
    assert "shallow clone" in logged and not [c for c in obeyed(result.stdout) if "shallow" in c]
    assert "> warning: this is a shallow clone" in Path(environ["GITHUB_STEP_SUMMARY"]).read_text()


def test_the_comment_is_created_as_the_tokens_user_and_a_broken_github_is_an_error_without_the_token(
    kamsync, repo, github, in_actions
):
    commit(repo, {RED_JS: "console.log('reviewed');\n"})
    environ = in_actions(pr_event(4))

    made = kamsync("push", "--dry-run", "--format", "github", "--from", "HEAD^1", extra_env=environ)
    github.token("ghs_broken_token_0123456789abcdef", broken=True)
    broken = kamsync(
        "push", "--dry-run", "--format", "github", "--from", "HEAD^1",
        extra_env={**environ, "GITHUB_TOKEN": "ghs_broken_token_0123456789abcdef"},
    )  # fmt: skip
    skipped = kamsync("push", "--dry-run", "--format", "github", "--from", "HEAD^1", "--no-comment", extra_env=environ)

    assert made.code == 0, made.output
    (comment,) = github.state.comments[4]
    assert comment["user"]["login"] == WORKFLOW_LOGIN and "reviewed" in comment["body"]
    assert broken.code == 4, broken.output
    (error,) = [c for c in obeyed(broken.stdout) if c.startswith("::error")]
    assert "502" in error and "ghs_broken_token" not in broken.output and "<hidden>" in error
    assert skipped.code == 0 and len(github.state.comments[4]) == 1


# A proxy's sign-in page where GitHub's answer should be, echoing the request's token.
_PROXY_PAGE = f"<html><body>Sign in to continue (Authorization: Bearer {TOKEN})</body></html>".encode()
_COMMENTS = r"/repos/acme/site/issues/\d+/comments"


@pytest.mark.parametrize(
    ("method", "path", "body", "said"),
    [
        ("GET", "/user", _PROXY_PAGE,
         "finding who the token acts as: GitHub's answer (200) is not readable JSON (text/html)"),
        ("GET", _COMMENTS, {"message": "a page should be a list"},
         "listing the comments of pull request #4: GitHub's answer (200) is a JSON object, not a list"),
        ("POST", _COMMENTS, _PROXY_PAGE,
         "commenting on pull request #4: GitHub's answer (200) is not readable JSON (text/html)"),
        ("POST", _COMMENTS, b"[" * 100_000 + b"]" * 100_000,
         "commenting on pull request #4: GitHub's answer (200) is not readable JSON (application/json)"),
        ("POST", _COMMENTS, [{"id": 1, "user": {"login": WORKFLOW_LOGIN}}],
         "commenting on pull request #4: GitHub's answer (200) is a JSON list, not an object"),
        ("POST", _COMMENTS, {"user": {"login": WORKFLOW_LOGIN}, "body": "no id"},
         "commenting on pull request #4: GitHub's answer (200) is an object without the numeric 'id'"),
        ("PATCH", r"/repos/acme/site/issues/comments/\d+", [],
         "updating comment 1001: GitHub's answer (200) is a JSON list, not an object"),
    ],
    ids=["html for the user", "object for a list", "html for a comment", "json nested too deep", "list for a comment",
         "comment without id", "list for an update"],
)  # fmt: skip
def test_a_broken_answer_from_github_fails_the_comment_by_what_it_was_doing_without_the_token(
    kamsync, repo, github, in_actions, method, path, body, said
):
    commit(repo, {RED_JS: "console.log('reviewed');\n"})
    environ = in_actions(pr_event(4))
    if method == "PATCH":
        kamsync("push", "--dry-run", "--format", "github", "--from", "HEAD^1", extra_env=environ)  # comment 1001
    github.garble(method, path, body, content_type="text/html; charset=utf-8" if body == _PROXY_PAGE else None)

    result = kamsync("push", "--dry-run", "--format", "github", "--from", "HEAD^1", extra_env=environ)

    assert result.code == 4, result.output
    (error,) = [c for c in obeyed(result.stdout) if c.startswith("::error")]
    assert error.startswith("::error title=kamsync%3A comment failed::" + said), error
    assert TOKEN not in result.output and "Traceback" not in result.output
    assert "reviewed" in Path(environ["GITHUB_STEP_SUMMARY"]).read_text(), "the plan is still in the summary"
    assert len(github.state.comments.get(4, [])) <= 1, "never a second comment"


def a_scheduled_run_after_a_ui_edit(repo, sandbox, in_actions, tmp_path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The Actions environment of a scheduled drift run for a repository pushed to an origin, with a field
    edited in Kameleoon since."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main")
    sandbox.store.ui_edit_variation(200001, jsCode="console.log('ui');")
    return in_actions({"schedule": "0 3 * * *"})  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("method", "path", "body", "doing"),
    [
        ("GET", "/repos/acme/site/pulls", _PROXY_PAGE, "listing the pull requests"),
        ("POST", "/repos/acme/site/pulls", {"state": "open", "title": "no number"}, "opening the pull request"),
    ],
    ids=["html for the list", "pull request without number"],
)
def test_a_broken_answer_to_the_drift_pull_request_is_an_error_of_the_run_in_its_summary(
    kamsync, repo, sandbox, github, in_actions, tmp_path, method, path, body, doing
):
    environ = a_scheduled_run_after_a_ui_edit(repo, sandbox, in_actions, tmp_path)
    github.garble(method, path, body, content_type="text/html" if body == _PROXY_PAGE else None)

    result = kamsync("drift", "--format", "github", "--open-pr", extra_env=environ)

    assert result.code == 4, result.output
    (error,) = [c for c in obeyed(result.stdout) if c.startswith("::error")]
    assert f"::{doing}: GitHub's answer (200" in error and TOKEN not in result.output
    summary = Path(environ["GITHUB_STEP_SUMMARY"]).read_text()
    assert "> **error**: " in summary and "console.log('ui')" in summary
    assert github.state.pulls == []


def test_push_reports_each_write_and_a_locked_entity(kamsync, repo, sandbox, in_actions):
    commit(repo, {RED_JS: "console.log('one');\n", BIG_CSS: ".two {}\n"})
    sandbox.store.set_locked("variation", 200002, True)
    environ = in_actions({"ref": "refs/heads/main"})

    result = kamsync("push", "--format", "github", extra_env=environ)

    assert result.code == 4, result.output
    summary = Path(environ["GITHUB_STEP_SUMMARY"]).read_text()
    assert "| written |" in summary and "skipped \\(locked in Kameleoon\\)" in summary


def test_drift_in_text_lists_the_fields_edited_in_kameleoon(kamsync, repo, sandbox):
    sandbox.store.ui_edit_variation(200002, cssCode=".ui { color: navy; }")
    commit(repo, {RED_JS: "console.log('not deployed yet');\n"})

    listed = kamsync("drift")
    failing = kamsync("drift", "--exit-code")
    refused = kamsync("drift", "--open-pr")
    as_json = kamsync("drift", "--json").json()

    assert listed.code == 0 and failing.code == 1, listed.output
    assert listed.stdout.splitlines() == [f"remote-changed  {BIG_CSS}  (cssCode)"]
    assert "1 field(s) drifted from git, of 2 that differ" in listed.stderr
    assert refused.code == 2 and "--format github" in refused.stderr
    assert as_json["drifted"] == [
        {
            "path": BIG_CSS,
            "experiment_id": 100001,
            "variation_id": 200002,
            "field": "cssCode",
            "state": "remote-changed",
        }
    ]


def test_drift_in_github_format_fails_with_exit_code_only_for_a_field_edited_in_kameleoon(
    kamsync, repo, sandbox, in_actions
):
    commit(repo, {RED_CSS: ".cta { color: green; }\n"})  # committed, not pushed yet
    (repo / RED_JS).write_text("console.log('not even committed');\n")
    environ = in_actions({"schedule": "0 3 * * *"})

    local_only = kamsync("drift", "--format", "github", "--exit-code", extra_env=environ)
    local_outputs = read_outputs(Path(environ["GITHUB_OUTPUT"]))
    sandbox.store.ui_edit_variation(200002, jsCode="console.log('edited in the UI');")
    edited = kamsync("drift", "--format", "github", "--exit-code", extra_env=environ)
    edited_outputs = read_outputs(Path(environ["GITHUB_OUTPUT"]))
    as_text = kamsync("drift", "--exit-code")

    assert local_only.code == 0, local_only.output
    assert local_outputs["changes"] == "2" and local_outputs["drifted"] == "0", "local work is no drift"
    assert edited.code == 1 and as_text.code == 1, edited.output + as_text.output
    assert edited_outputs["drifted"] == "1"


def test_drift_opens_a_pull_request_and_asks_for_a_token_when_there_is_none(
    kamsync, repo, sandbox, github, in_actions, tmp_path
):
    environ = a_scheduled_run_after_a_ui_edit(repo, sandbox, in_actions, tmp_path)

    opened = kamsync("drift", "--format", "github", "--open-pr", extra_env=environ)
    tokenless = kamsync("drift", "--format", "github", "--open-pr", extra_env={**environ, "GITHUB_TOKEN": ""})

    assert opened.code == 0, opened.output
    (pull,) = github.state.pulls
    assert pull["html_url"] in Path(environ["GITHUB_STEP_SUMMARY"]).read_text()
    assert "console.log('ui')" in git(tmp_path / "origin.git", "show", f"kamsync/drift:{RED_JS}")
    assert tokenless.code == 2 and "GITHUB_TOKEN" in tokenless.stderr


def test_the_action_entry_point_refuses_an_unknown_command(repo, env):
    proc = subprocess.run(
        [sys.executable, "-m", "kamsync.cli.action"],
        cwd=repo,
        env={**env, "KAMSYNC_INPUT_COMMAND": "deploy\n::set-output name=x::1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout.startswith("::error title=kamsync%3A bad input::input command: 'deploy\\n::set-output")
    assert obeyed(proc.stdout) == [proc.stdout.strip()]


def test_a_new_variation_in_the_manifest_is_refused_in_actions_and_nothing_is_sent(kamsync, repo, sandbox, in_actions):
    manifest = repo / "kamsync.yaml"
    old = "        dir: big-headline\n"
    manifest.write_text(manifest.read_text().replace(old, old + "      - name: Green button\n"))
    (repo / "experiments/100001-homepage-hero/variations/green-button").mkdir()
    (repo / "experiments/100001-homepage-hero/variations/green-button/variation.js").write_text("green();\n")
    commit(repo, {RED_JS: "console.log('with a new variation');\n"})
    sandbox.store.clear_requests()

    result = kamsync("push", "--format", "github", extra_env=in_actions({"ref": "refs/heads/main"}))

    assert result.code == 3, result.output
    (error,) = [c for c in obeyed(result.stdout) if c.startswith("::error")]
    assert "GitHub Actions never creates them" in error
    assert sandbox.store.requests == [], "refused before any request"


def test_a_pull_request_changing_no_mapped_file_gets_no_comment_until_it_does(kamsync, repo, github, in_actions):
    commit(repo, {"docs/notes.md": "no code here\n"})
    environ = in_actions(pr_event(9))

    quiet = kamsync("push", "--dry-run", "--format", "github", "--from", "HEAD^1", extra_env=environ)
    commit(repo, {RED_JS: "console.log('now code');\n"})
    commented = kamsync("push", "--dry-run", "--format", "github", "--from", "HEAD~2", extra_env=environ)

    assert quiet.code == 0 and commented.code == 0, quiet.output + commented.output
    assert "no plan comment" in quiet.stdout
    (comment,) = github.state.comments[9]
    assert "now code" in comment["body"]


def test_a_github_api_url_in_clear_beyond_loopback_is_refused_and_the_summary_kept(kamsync, repo, in_actions):
    commit(repo, {RED_JS: "console.log('x');\n"})
    environ = {**in_actions(pr_event(5)), "GITHUB_API_URL": "http://github.example.com/api"}

    result = kamsync("push", "--dry-run", "--format", "github", "--from", "HEAD^1", extra_env=environ)

    assert result.code == 2, result.output
    (error,) = [c for c in obeyed(result.stdout) if c.startswith("::error")]
    assert "use https" in error and TOKEN not in result.output
    assert "console.log('x')" in Path(environ["GITHUB_STEP_SUMMARY"]).read_text()


def test_the_action_entry_point_runs_the_command_its_inputs_name(repo, env, in_actions):
    environ = in_actions({})
    proc = subprocess.run(
        [sys.executable, "-m", "kamsync.cli.action"],
        cwd=repo,
        env={**env, **environ, "KAMSYNC_INPUT_COMMAND": "status", "KAMSYNC_INPUT_FAIL_ON_CHANGES": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert read_outputs(Path(environ["GITHUB_OUTPUT"]))["changes"] == "0"
    assert "### kamsync status" in Path(environ["GITHUB_STEP_SUMMARY"]).read_text()
