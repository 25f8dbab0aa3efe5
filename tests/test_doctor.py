"""`kamsync doctor`: every line a support request would ask for, checked for real, with what to do."""

from __future__ import annotations

from kamsync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox
from tests.helpers import api_requests


def checks(result) -> dict[str, dict]:  # type: ignore[no-untyped-def, type-arg]
    return {c["name"]: c for c in result.json()["checks"]}


def test_doctor_passes_every_check_with_one_token_request(kamsync, repo, sandbox):
    sandbox.store.clear_requests()
    result = kamsync("doctor")
    assert result.code == 0, result.output
    assert result.stderr == "all 8 checks passed\n"
    lines = result.stdout.splitlines()
    assert [line.split(":")[0].split("  ")[-1].strip() for line in lines] == [
        "platform",
        "git",
        "manifest",
        "hook",
        "credentials found",
        "API",
        "credentials accepted",
        "rate budget",
    ]
    assert all(line.startswith("ok  ") for line in lines)
    assert "kamsync.yaml is valid: 2 experiment(s), 12 field(s) mapped" in result.stdout
    assert f"{sandbox.url} answers" in result.stdout
    assert "rate budget:          200/1s 1 used, 199 left" in result.stdout
    assert [(r.method, r.path) for r in api_requests(sandbox)] == [("POST", "/oauth/token")]
    assert DEFAULT_CLIENT_SECRET not in result.output


def test_doctor_names_the_hook_mode_once_installed(kamsync, repo):
    assert kamsync("hook", "install", "--mode", "push").code == 0
    hook = checks(kamsync("doctor", "--json"))["hook"]
    assert hook["ok"] and "mode push, branches main" in hook["detail"]


def test_doctor_fails_with_exit_2_and_says_what_to_do_for_refused_credentials(kamsync, repo):
    result = kamsync("doctor", extra_env={"KAMELEOON_CLIENT_SECRET": "not-the-secret"})
    assert result.code == 2, result.output
    assert "FAIL  credentials accepted: the token endpoint refused the credentials" in result.stdout
    assert "check KAMELEOON_CLIENT_ID and KAMELEOON_CLIENT_SECRET" in result.stdout
    assert result.stderr == "1 of 8 checks failed: credentials accepted\n"
    assert "not-the-secret" not in result.output


def test_doctor_json_reports_an_unreachable_api_a_missing_repository_and_no_credentials(kamsync, tmp_path):
    with Sandbox(rate_limit=None) as gone:
        url = gone.url
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    result = kamsync("doctor", "--json", "--api-url", url, cwd=outside, extra_env={"KAMSYNC_RETRIES": "0"})
    assert result.code == 2, result.output
    found = checks(result)
    assert result.json()["ok"] is False
    assert (
        not found["manifest"]["ok"] and "is not inside a git repository; run `git init`" in found["manifest"]["detail"]
    )
    assert not found["API"]["ok"] and f"could not reach Kameleoon at {url}" in found["API"]["detail"]
    assert found["credentials found"]["ok"]
    assert found["credentials found"]["detail"].startswith(f"KAMELEOON_CLIENT_ID={DEFAULT_CLIENT_ID}")
    assert found["credentials accepted"] == {
        "name": "credentials accepted",
        "ok": False,
        "detail": "not tried",
        "fix": "fix the line above, then run `kamsync doctor` again",
    }
    missing = checks(kamsync("doctor", "--json", extra_env={"KAMELEOON_CLIENT_ID": None}))
    assert (
        not missing["credentials found"]["ok"]
        and "not set: KAMELEOON_CLIENT_ID" in missing["credentials found"]["detail"]
    )
    assert missing["rate budget"]["fix"] == "set KAMELEOON_CLIENT_ID"
