"""Refused before any request: bad manifests, unsafe URLs, missing credentials. Secrets never printed."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

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


HOSTILE_SECRET = 'k+y/v=l&u e"q\\z-é-0123'  # changes under URL, JSON and base64 encoding alike


def _encodings(client_id: str, secret: str) -> set[str]:
    pair = f"{client_id}:{secret}".encode()
    url = {quote_plus(secret), quote(secret, safe=""), quote(secret)}
    escaped = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    b64 = {base64.b64encode(pair).decode(), base64.urlsafe_b64encode(pair).decode()}
    forms = {secret} | url | {u.lower() for u in url} | escaped | {e.replace("/", "\\/") for e in escaped} | b64
    return forms | {f.rstrip("=") for f in b64}


@pytest.mark.parametrize("mode", ["text", "json"])
@pytest.mark.parametrize("form", ["body", "json", "basic", "raw"])
def test_a_token_endpoint_echoing_its_body_never_shows_any_encoding_of_the_secret(kamsync, sandbox, form, mode):
    sandbox.store.add_client("echo-client", HOSTILE_SECRET)
    sandbox.faults.arm(f"echo-token={form}")
    args = ["status", "--json"] if mode == "json" else ["status"]
    result = kamsync(*args, extra_env={"KAMELEOON_CLIENT_ID": "echo-client", "KAMELEOON_CLIENT_SECRET": HOSTILE_SECRET})
    assert result.code == 2, result.output
    assert "the token endpoint refused the credentials (HTTP 400: " in result.stderr
    assert "<hidden>" in result.stderr and "malformed token request" in result.stderr, "the echo was scrubbed"
    assert [e["action"] for e in sandbox.faults.events] == ["echo-token"]
    for encoded in _encodings("echo-client", HOSTILE_SECRET):
        assert encoded not in result.stdout, encoded
        assert encoded not in result.stderr, encoded


def test_the_last_line_of_defence_hides_every_encoding_of_the_client_secret(monkeypatch):
    from kamsync.cli import _redact

    monkeypatch.setenv("KAMELEOON_CLIENT_SECRET", HOSTILE_SECRET)
    text = _redact(f"Traceback: body {quote_plus(HOSTILE_SECRET)} and {json.dumps(HOSTILE_SECRET)}")
    assert text == 'Traceback: body <hidden> and "<hidden>"'
