"""The GitHub Action, run step by step as the runner runs it (tests/action_runner.py): installed from a copy
of the action's folder into its own virtual environment with pip pointed at a local wheelhouse (nothing is
downloaded), then run against the sandbox, in real git repositories, with a loopback imitation of GitHub's
comment and pull-request endpoints (tests/github_fake.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kamsync.core.normalize import normalize
from kamsync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.action_runner import ActionRun, obeyed, run_action
from tests.conftest import ROOT
from tests.github_fake import WORKFLOW_LOGIN, FakeGitHub
from tests.gitutil import commit, git
from tests.wheelhouse import build_wheelhouse

HERO = "experiments/100001-homepage-hero"
RED_JS = f"{HERO}/variations/red-button/variation.js"
RED_CSS = f"{HERO}/variations/red-button/variation.css"
BIG_CSS = f"{HERO}/variations/big-headline/variation.css"
SHARED_CSS = "shared/red-button.css"
BADGES_JS = "experiments/100002-checkout-trust-badges/variations/badges-above-total/variation.js"  # live
TOKEN = "ghs_" + "Qx7" * 12  # the workflow token of these runs
MARKER = "<!-- kamsync:plan manifest=kamsync.yaml -->"


@pytest.fixture(scope="session")
def action_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The action's folder as a runner checks it out: the repository's files, nothing built."""
    folder = tmp_path_factory.mktemp("action")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    return folder


@pytest.fixture(scope="session")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One RUNNER_TEMP for the session: the action's environment is installed once and reused, as it is when a
    job uses the action twice."""
    return tmp_path_factory.mktemp("runner-temp")


@pytest.fixture(scope="session")
def pip_offline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    wheels = build_wheelhouse(tmp_path_factory.mktemp("wheelhouse"))
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_CONFIG_FILE": os.devnull}


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.token(TOKEN)
        yield fake


@pytest.fixture
def act(tmp_path, env, repo, sandbox, github, action_path, runner_temp, pip_offline):  # type: ignore[no-untyped-def]
    runs = iter(range(1, 100))

    def run(event_name: str, event: dict, token: str = TOKEN, **inputs: str) -> ActionRun:  # type: ignore[type-arg]
        given = {"client-id": DEFAULT_CLIENT_ID, "client-secret": DEFAULT_CLIENT_SECRET, "api-url": sandbox.url}
        given.update(inputs)
        environ = {k: v for k, v in env.items() if not k.startswith("KAMELEOON_")}
        return run_action(
            given,
            workspace=repo,
            runner=tmp_path / f"run{next(runs)}",
            runner_temp=runner_temp,
            action_path=action_path,
            env={**environ, **pip_offline},
            event_name=event_name,
            event=event,
            token=token,
            api_url=github.url,
        )

    return run


def pr_event(number: int = 7, *, fork: bool = False) -> dict:  # type: ignore[type-arg]
    base = {"full_name": "acme/site", "fork": False, "default_branch": "main"}
    head = {"full_name": "mallory/site", "fork": True} if fork else base
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "state": "open",
            "head": {"ref": "feature", "sha": "0" * 40, "repo": head},
            "base": {"ref": "main", "sha": "1" * 40, "repo": base},
        },
        "repository": base,
        "sender": {"login": "octocat"},
    }


def on_merge_commit(repo: Path, files: dict[str, str], message: str = "feature work") -> str:
    """What pull_request checks out: the merge of the pull request's branch into main (HEAD^1 is main)."""
    git(repo, "checkout", "-q", "-B", "feature", "main")
    commit(repo, files, message)
    git(repo, "checkout", "-q", "--detach", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
    return git(repo, "rev-parse", "HEAD")


def the_comment(github: FakeGitHub, number: int = 7) -> list[dict]:  # type: ignore[type-arg]
    return [c for c in github.state.comments.get(number, []) if c["user"]["login"] == WORKFLOW_LOGIN]


def test_plan_reports_a_change_a_refused_ui_edit_a_conflict_and_a_live_experiment(act, repo, sandbox, github):
    commit(repo, {SHARED_CSS: (repo / RED_CSS).read_text()}, "A shared copy of the red button's CSS")
    manifest = (repo / "kamsync.yaml").read_text()
    remapped = manifest.replace("        dir: red-button\n", f"        dir: red-button\n        css: {SHARED_CSS}\n")
    on_merge_commit(
        repo,
        {
            RED_JS: "console.log('red v2');\n",  # a change
            "kamsync.yaml": remapped,  # maps the red button's CSS to the shared file, unchanged since main
            BIG_CSS: ".headline { font-size: 4rem; }\n",  # also edited in the UI: a conflict
            BADGES_JS: "x();\n",  # of a live experiment
        },
    )
    sandbox.store.ui_edit_variation(200001, cssCode=".cta { color: lime; }")  # a UI edit git never held
    sandbox.store.ui_edit_variation(200002, cssCode=".headline { color: hotpink; }")
    before = dict(sandbox.store.variation(200001))

    run = act("pull_request", pr_event())

    assert run.code == 3, run.log  # refusals fail the check
    assert run.outputs["changes"] == "4"
    assert run.outputs["refused"] == "3"
    assert run.outputs["conflicts"] == "1"
    assert int(run.outputs["requests"]) >= 2
    assert run.outputs["plan"] == ""  # a refused plan is not saved for apply
    assert sandbox.store.variation(200001) == before, "a plan writes nothing"
    rows = {line.split("|")[3].strip(): line for line in run.summary.splitlines() if line.startswith("| 1000")}
    assert "local-changed" in rows[f"`jsCode`<br>` {RED_JS} `"] and "planned" in rows[f"`jsCode`<br>` {RED_JS} `"]
    conflict = rows[f"`cssCode`<br>` {BIG_CSS} `"]
    assert "` conflict `" in conflict and "**refused**" in conflict and "200002 Big headline" in conflict
    live = rows[f"`jsCode`<br>` {BADGES_JS} `"]
    assert "**live**" in live and "is live" in live
    ui_edit = rows[f"`cssCode`<br>` {SHARED_CSS} `"]
    assert "` remote-changed `" in ui_edit and "edited in Kameleoon outside git" in ui_edit
    assert "Requests: **" in run.summary and "in the last 1s for this credential" in run.summary
    assert run.summary.count("<details>") == 4 and "```diff" in run.summary
    errors = [c for c in obeyed(run.log) if c.startswith("::error")]
    assert len(errors) == 3
    assert any(f"file={SHARED_CSS},line=1" in e and "edited in Kameleoon" in e for e in errors)
    assert any(f"file={BIG_CSS},line=1" in e for e in errors)
    assert any(f"file={BADGES_JS},line=1" in e and "live" in e for e in errors)
    assert not any(RED_JS in e for e in errors), "a planned change is no error"


def test_a_clean_plan_is_saved_for_apply_and_commented_once_after_three_runs(act, repo, sandbox, github):
    github.state.per_page_cap = 30
    for i in range(70):  # the conversation so far: three pages of it
        github.state.add_comment(7, "octocat", f"review remark {i}")
    github.state.add_comment(7, "mallory", f"{MARKER}\nnot kamsync's: never to be updated")

    for round_ in range(1, 4):
        on_merge_commit(repo, {RED_JS: f"console.log('red v{round_}');\n"}, f"round {round_}")
        run = act("pull_request", pr_event())
        assert run.code == 0, run.log
        assert run.outputs["changes"] == "1" and run.outputs["refused"] == "0"

    mine = the_comment(github)
    assert len(mine) == 1, "updated in place, never duplicated"
    assert mine[0]["body"].startswith(MARKER) and "red v3" in mine[0]["body"] and "red v2" not in mine[0]["body"]
    foreign = [c for c in github.state.comments[7] if c["user"]["login"] == "mallory"]
    assert foreign[0]["body"].endswith("never to be updated")
    gets = [path for method, path, _ in github.state.requests if method == "GET" and "/comments" in path]
    assert any("page=3" in path for path in gets), "every page of comments is read"
    assert ("GET", "/user") in {(m, p) for m, p, _ in github.state.requests}
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in github.state.requests)
    plan = Path(run.outputs["plan"])
    assert plan.is_file() and "red v3" in plan.read_text()
    applied = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    assert applied == "", "the plan leaves the checkout as it was"


def test_a_5000_line_diff_stays_within_the_summary_and_comment_limits(act, repo, sandbox, github):
    local = "".join(f"console.log('local line {i}', '{'x' * 150}');\n" for i in range(5000))
    on_merge_commit(repo, {RED_JS: local})
    sandbox.store.ui_edit_variation(200001, jsCode="".join(f"// remote {i} {'y' * 190}\n" for i in range(5000)))

    run = act("pull_request", pr_event())

    assert run.code == 3, run.log[-2000:]  # a conflict
    assert len(run.summary.encode()) <= 1024 * 1024
    assert "1 of 1 diffs shown; 1 trimmed in the middle" in run.summary
    assert "line(s) not shown here" in run.summary
    (comment,) = the_comment(github)
    assert len(comment["body"]) <= 60_000 and "1 of 1 diffs shown" in comment["body"]
    assert comment["body"].count("<details>") == comment["body"].count("</details>") == 1


def test_a_fork_pull_request_without_secrets_is_not_read_and_its_read_only_token_only_gets_a_notice(
    act, repo, sandbox, github
):
    github.token("ghs_fork_read_only_token_0123456789", read_only=True)
    on_merge_commit(repo, {RED_JS: "console.log('from a fork');\n"})
    sandbox.store.clear_requests()

    run = act(
        "pull_request",
        pr_event(fork=True),
        token="ghs_fork_read_only_token_0123456789",
        **{"client-id": "", "client-secret": ""},
    )

    assert run.code == 0, run.log
    assert sandbox.store.requests == [], "Kameleoon is not read"
    assert "Kameleoon was not read" in run.summary and "fork" in run.summary
    notices = [c for c in obeyed(run.log) if c.startswith("::notice")]
    assert len(notices) == 1 and "403" in notices[0]
    assert github.state.comments.get(7) is None
    assert run.outputs["changes"] == "0" and run.outputs["requests"] == "0"


HOSTILE = (
    "::add-mask::hidden\n::set-output name=changes::999\n::error file=x.js,line=1::pwned\n##[error]pwned too\n"
    "::stop-commands::guess\n@octocat see </details> <img src=x onerror=alert(1)> | pipe\n```` four ticks\n"
)


def test_a_ui_edit_holding_workflow_commands_markup_and_mentions_stays_inert(act, repo, sandbox, github):
    on_merge_commit(repo, {RED_JS: "console.log('mine');\n"})
    sandbox.store.ui_edit_variation(200001, jsCode=HOSTILE, name="@octocat <b>Red</b> | `x`")

    run = act("pull_request", pr_event())

    commands = obeyed(run.log)
    assert not [c for c in commands if "pwned" in c or "999" in c or c.startswith("::set-output")], commands
    masks = [c for c in commands if c.startswith("::add-mask::")]
    assert masks and all(c != "::add-mask::hidden" for c in masks)
    assert run.outputs["changes"] == "1"
    assert "::error file=x.js,line=1::pwned" in run.log, "shown in the log, as text"
    (comment,) = the_comment(github)
    for text in (run.summary, comment["body"]):
        assert "`````diff" in text, "the fence is longer than the code's longest backtick run"
        outside = re.sub(r"`````diff\n.*?\n`````", "", text, flags=re.S)
        assert "@octocat" not in outside and "@\u200doctocat" in outside
        assert "<b>" not in outside and "&lt;b&gt;Red&lt;/b&gt;" in outside
        assert "<img" not in outside and outside.count("</details>") == outside.count("<details>")


def test_the_token_is_masked_the_moment_it_is_obtained_and_no_secret_is_written(act, repo, sandbox, github):
    on_merge_commit(repo, {RED_JS: "console.log('masked');\n"})

    run = act("pull_request", pr_event())

    (token,) = sandbox.store.issued_tokens()
    lines = run.log.splitlines()
    holding = [i for i, line in enumerate(lines) if token in line]
    assert holding and lines[holding[0]] == f"::add-mask::{token}", "the first line holding it masks it"
    assert f"::add-mask::{token}" in obeyed(run.log), "outside any stop-commands block, so it is obeyed"
    assert len(holding) == 1
    (comment,) = the_comment(github)
    for text in (run.log, run.summary, comment["body"], run.github_env):
        assert DEFAULT_CLIENT_SECRET not in text and TOKEN not in text
    assert token not in run.summary + comment["body"]
    assert run.github_env == "", "nothing is exported to the caller's later steps"


def test_push_on_merge_sends_every_local_change_and_refuses_a_ui_edit(act, repo, sandbox, github):
    commit(repo, {RED_JS: "console.log('merged');\n"}, "Merge pull request #7")
    push_event = {"ref": "refs/heads/main", "before": "0" * 40, "after": "1" * 40, "repository": {}}

    pushed = act("push", push_event, command="push")

    assert pushed.code == 0, pushed.log
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "console.log('merged');"
    assert pushed.outputs["changes"] == "1" and pushed.outputs["refused"] == "0"
    assert "written" in pushed.summary

    commit(repo, {RED_JS: "console.log('merged again');\n"}, "Merge pull request #8")
    sandbox.store.ui_edit_variation(200002, cssCode=".ui { color: red; }")
    refused = act("push", push_event, command="push")

    assert refused.code == 3, refused.log
    assert refused.outputs["refused"] == "1"
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "console.log('merged');", "nothing written"
    assert any(f"file={BIG_CSS}" in c for c in obeyed(refused.log) if c.startswith("::error"))
    assert github.state.comments == {}, "no comment outside pull requests"


def test_drift_opens_one_pull_request_then_updates_it(act, repo, sandbox, github, tmp_path):
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main")
    main_before = git(origin, "rev-parse", "main")
    schedule = {"schedule": "17 3 * * *", "repository": {"full_name": "acme/site", "default_branch": "main"}}
    sandbox.store.ui_edit_variation(200002, cssCode=".ui { color: teal; }")

    first = act("schedule", schedule, command="drift", **{"open-pr": "true"})

    assert first.code == 0, first.log
    assert first.outputs["drifted"] == "1"
    assert ".ui { color: teal; }" in git(origin, "show", f"kamsync/drift:{BIG_CSS}")
    assert len(github.state.pulls) == 1
    (pull,) = github.state.pulls
    assert pull["head"]["ref"] == "kamsync/drift" and pull["base"]["ref"] == "main"
    assert pull["body"].startswith("<!-- kamsync:drift manifest=kamsync.yaml -->")

    sandbox.store.ui_edit_variation(200001, jsCode="console.log('ui hotfix');")
    second = act("schedule", schedule, command="drift", **{"open-pr": "true"})

    assert second.code == 0, second.log
    assert second.outputs["drifted"] == "2"
    assert len(github.state.pulls) == 1, "the same pull request, updated"
    assert "ui hotfix" in git(origin, "show", f"kamsync/drift:{RED_JS}")
    assert ".ui { color: teal; }" in git(origin, "show", f"kamsync/drift:{BIG_CSS}"), "the first edit is kept"
    assert "200001" in github.state.pulls[0]["body"]
    assert git(origin, "rev-parse", "main") == main_before, "never pushes the deployed branch: no push loop"
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main", "the checkout is back where it was"
