"""Refused before any request: bad manifests, unsafe URLs, missing credentials. Secrets never printed."""

from __future__ import annotations

import pytest

from tests.helpers import api_requests

VALID_HEAD = "version: 1\nexperiments:\n  - id: 100001\n    dir: experiments/100001-homepage-hero\n"

# (manifest text, line reported, words the message must hold)
BAD_MANIFESTS = {
    "yaml syntax error": ("version: 1\nexperiments:\n  - id: [1\n", 3, ""),
    "duplicate key": ("version: 1\nversion: 1\nexperiments: []\n", 2, "version"),
    "unknown key": (VALID_HEAD + "    variation: []\n", 5, "variations"),
    "wrong type": (
        "version: 1\nexperiments:\n  - id: '100001'\n    dir: experiments/100001-homepage-hero\n",
        3,
        "integer",
    ),
    "duplicate experiment id": (VALID_HEAD + "  - id: 100001\n    dir: experiments\n", 5, "100001"),
    "duplicate variation id": (
        VALID_HEAD + "    variations:\n      - id: 7\n        dir: a\n      - id: 7\n        dir: b\n",
        8,
        "7",
    ),
    "two fields mapped to one file": (
        VALID_HEAD + "    common_css: experiments/100001-homepage-hero/common.js\n",
        5,
        "common.js",
    ),
    "experiment dir missing": (
        "version: 1\nexperiments:\n  - id: 1\n    dir: experiments/nowhere\n",
        4,
        "nowhere",
    ),
    "path leaving the repository": ("version: 1\nexperiments:\n  - id: 1\n    dir: ../outside\n", 4, ".."),
    "absolute path": (VALID_HEAD + "    script: /etc/passwd\n", 5, "absolute"),
    "bad rate limit": ('version: 1\nrate_limit: "fast"\nexperiments: []\n', 2, "rate_limit"),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_bad_manifest_is_refused_with_file_and_line_before_any_request(case, kamsync, repo, sandbox):
    text, line, words = BAD_MANIFESTS[case]
    (repo / "kamsync.yaml").write_text(text)
    result = kamsync("status")
    assert result.code == 2, result.output
    assert f"kamsync.yaml:{line}:" in result.stderr
    assert words in result.stderr
    assert not api_requests(sandbox)


def test_symlink_pointing_outside_is_refused(kamsync, repo, sandbox, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "experiments" / "escape").symlink_to(outside)
    (repo / "kamsync.yaml").write_text("version: 1\nexperiments:\n  - id: 1\n    dir: experiments/escape\n")
    result = kamsync("status")
    assert result.code == 2 and "kamsync.yaml:4:" in result.stderr
    assert not api_requests(sandbox)


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"\xff\xfe not utf-8", "UTF-8"), (b"x" * (1024 * 1024 + 1), "MiB")],
    ids=["not utf-8", "too large"],
)
def test_unreadable_code_file_is_refused(content, words, kamsync, repo, sandbox):
    (repo / "experiments" / "100001-homepage-hero" / "common.js").write_bytes(content)
    result = kamsync("status")
    assert result.code == 2, result.output
    assert "kamsync.yaml:" in result.stderr and words in result.stderr
    assert not api_requests(sandbox)


def test_plain_http_is_refused_unless_loopback(kamsync, sandbox):
    result = kamsync("--api-url", "http://api.kameleoon.example", "status")
    assert result.code == 2
    assert "https" in result.stderr
    assert not api_requests(sandbox)


def test_missing_credentials_name_both_variables(kamsync, sandbox):
    result = kamsync("status", extra_env={"KAMELEOON_CLIENT_ID": "", "KAMELEOON_CLIENT_SECRET": ""})
    assert result.code == 2
    assert "KAMELEOON_CLIENT_ID" in result.stderr and "KAMELEOON_CLIENT_SECRET" in result.stderr
    assert not api_requests(sandbox)


def test_failing_auth_never_prints_the_secret(kamsync, sandbox):
    secret = "s3cret-Value-that-must-not-leak"
    result = kamsync("status", extra_env={"KAMELEOON_CLIENT_SECRET": secret})
    assert result.code == 2, result.output
    assert "KAMELEOON_CLIENT_ID" in result.stderr or "credentials" in result.stderr
    assert secret not in result.output


def test_rejected_token_is_never_printed(kamsync, sandbox):
    """Every token is rejected (revoked server-side): kamsync renews once, then fails without printing any token."""
    sandbox.store.revoke_tokens_always = True
    result = kamsync("status", "--json")
    assert result.code != 0
    issued = sandbox.store.issued_tokens()
    assert len(issued) == 2, "one token, one renewal"
    for token in issued:
        assert token not in result.output
    assert "sandbox-secret" not in result.output


def test_usage_errors_exit_2(kamsync):
    assert kamsync("push", "--no-such-flag").code == 2
    result = kamsync("status", "no/such/path")
    assert result.code == 2 and "no/such/path" in result.stderr
