"""`kamsync watch` with a real pseudo-terminal on stdin (POSIX, as ``tests/terminal.py``): Enter resumes a pause."""

from __future__ import annotations

import os
from pathlib import Path

from kamsync.sandbox import Sandbox
from tests.conftest import git
from tests.watchproc import WatchProcess

RED_JS = Path("experiments/100001-homepage-hero/variations/red-button/variation.js")


def test_enter_on_the_terminal_resumes_a_paused_watch(repo: Path, sandbox: Sandbox, env: dict[str, str]) -> None:
    git(repo, "checkout", "-q", "-b", "other", env=env)
    (repo / RED_JS).write_text("// resumed by Enter\n")
    git(repo, "commit", "-qam", "Other", env=env)
    git(repo, "checkout", "-q", "main", env=env)
    leader, follower = os.openpty()
    proc = WatchProcess(["--debounce", "150"], repo, env, stdin=follower)
    os.close(follower)
    try:
        proc.ready()
        git(repo, "checkout", "-q", "other", env=env)
        proc.wait_for(r"^press Enter to resume pushing")
        assert not [r for r in sandbox.store.requests if r.method == "PATCH"]
        os.write(leader, b"\n")
        proc.wait_for(r"^resumed")
        proc.wait_for(r"variation 200001 \(experiment 100001\) jsCode  1 field")
        assert sandbox.store.variation(200001)["jsCode"] == "// resumed by Enter\n"
        assert proc.interrupt() == 0
    finally:
        proc.close()
        os.close(leader)
