"""Refused before any request: bad manifests, unsafe URLs, missing credentials. Secrets never printed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, git
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


# --- nothing is ever read from or written into git's own files --------------------------------------------

HERO_DIR = "    dir: experiments/100001-homepage-hero\n"
SECRET_HEADER = "AUTHORIZATION: basic c2VjcmV0LXRva2VuLXZhbHVl"


def map_script(repo: Path, script: str) -> None:
    """Map experiment 100001's script to ``script`` (line 6 of the manifest)."""
    manifest = repo / "kamsync.yaml"
    manifest.write_text(manifest.read_text().replace(HERO_DIR, f"{HERO_DIR}    script: {script}\n", 1))


def test_pull_never_writes_kameleoon_code_into_a_git_hook(kamsync, repo, sandbox):
    assert kamsync("hook", "install").code == 0
    hook = repo / ".git" / "hooks" / "pre-push"
    installed = hook.read_bytes()
    map_script(repo, ".git/hooks/pre-push")
    sandbox.store.ui_edit_experiment(100001, globalScript="#!/bin/sh\necho owned >&2\n")

    result = kamsync("pull")

    assert result.code == 2, result.output
    assert "kamsync.yaml:6: 'script' of experiment 100001 ('.git/hooks/pre-push') is inside a .git folder" in (
        result.stderr
    )
    assert hook.read_bytes() == installed
    assert not api_requests(sandbox)


@pytest.mark.parametrize("how", ["mapped", "symlinked"])
def test_diff_never_prints_the_git_config(how, kamsync, repo, sandbox):
    git(repo, "config", "http.https://example.com/.extraheader", SECRET_HEADER)
    if how == "mapped":
        map_script(repo, ".git/config")
    else:  # the default script file of the experiment, a symlink into .git
        script = repo / "experiments" / "100001-homepage-hero" / "script.js"
        script.unlink(missing_ok=True)
        script.symlink_to("../../.git/config")

    result = kamsync("diff")

    assert result.code == 2, result.output
    assert ".git folder" in result.stderr and "kamsync.yaml:" in result.stderr
    assert "c2VjcmV0" not in result.output and "extraheader" not in result.output
    assert not api_requests(sandbox)


@pytest.mark.parametrize("layout", ["separate-git-dir", "core.worktree"])
def test_a_git_dir_of_another_name_inside_the_work_tree_is_refused(layout, kamsync, tmp_path, env, sandbox):
    top = tmp_path / "site"
    shutil.copytree(EXAMPLE, top)
    meta = top / "gitmeta"
    if layout == "separate-git-dir":  # `.git` is a file: "gitdir: <top>/gitmeta"
        git(top, "init", "-q", "-b", "main", "--separate-git-dir", str(meta), env=env)
    else:  # a bare-style git dir that names the work tree, reached by a relative `gitdir:` pointer
        git(tmp_path, "init", "-q", "--bare", "-b", "main", str(meta), env=env)
        git(meta, "config", "core.bare", "false", env=env)
        git(meta, "config", "core.worktree", "..", env=env)
        (top / ".git").write_text("gitdir: gitmeta\n")
    manifest = top / "kamsync.yaml"
    unchanged = manifest.read_text()
    map_script(top, "gitmeta/hooks/pre-push")

    mapped = kamsync("status", cwd=top)
    manifest.write_text(unchanged)  # the default script file again, now a symlink into the git dir
    script = top / "experiments" / "100001-homepage-hero" / "script.js"
    script.unlink(missing_ok=True)
    script.symlink_to("../../gitmeta/config")
    linked = kamsync("status", cwd=top)

    assert mapped.code == 2, mapped.output
    assert (
        f"kamsync.yaml:6: 'script' of experiment 100001 ('gitmeta/hooks/pre-push') is inside the repository's git "
        f"directory ({meta.resolve()})" in mapped.stderr
    )
    assert linked.code == 2, linked.output
    assert "symlink" in linked.stderr and "git directory" in linked.stderr
    assert not api_requests(sandbox)


def test_pull_never_writes_a_new_variation_through_a_symlink_into_git(kamsync, repo, sandbox):
    manifest = repo / "kamsync.yaml"
    text = manifest.read_text()
    badges = "  - id: 100002\n    dir: experiments/100002-checkout-trust-badges\n"
    manifest.write_text(text[: text.index("  - id: 100002")] + badges)  # its variation 200003 is new again
    variations = repo / "experiments" / "100002-checkout-trust-badges" / "variations"
    shutil.rmtree(variations)
    variations.symlink_to("../../.git/hooks")

    result = kamsync("pull")

    assert result.code == 2, result.output
    assert "kamsync pull does not write 'experiments/100002-checkout-trust-badges/variations/" in result.stderr
    assert "goes through a symlink" in result.stderr and ".git folder" in result.stderr
    assert not list((repo / ".git" / "hooks").glob("*/variation.*"))
    assert manifest.read_text() == text[: text.index("  - id: 100002")] + badges
