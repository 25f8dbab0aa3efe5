"""Ctrl-C in the middle of a push: exit 130, say what was and was not written, and a rerun finishes the job."""

from __future__ import annotations

import signal
import subprocess
import sys

from kamsync.core.normalize import normalize
from tests.helpers import commit_all, path_of


def test_interrupted_push_reports_and_a_rerun_converges(kamsync, repo, env, sandbox, tmp_path):
    status = kamsync("status", "--json")
    variations = (200001, 200002, 200003)
    for variation_id in variations:
        (repo / path_of(status, variation_id, "jsCode")).write_text(f"// v2 of {variation_id}\n")
    commit_all(repo, "three changes")

    # 4 requests per 30 s: token, two reads and the first write go out, then the second write waits on the budget
    # (the hour, 100 requests, has room: the push is not refused for lack of budget).
    # Fresh state and cache folders: an empty rate ledger and no cached token for this run.
    slow = {
        **env,
        "KAMSYNC_RATE_LIMIT": "4/30s,100/1h",
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "kamsync", "push", "--allow-live"],
        cwd=repo,
        env=slow,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("waiting"):
            break
    proc.send_signal(signal.SIGINT)
    stdout, rest = proc.communicate(timeout=30)
    stderr = "".join(seen) + rest
    assert proc.returncode == 130, stderr
    # Ctrl-C came while the second write waited for the rate budget: it never left, and kamsync says so.
    assert "interrupted between writes: nothing was in flight" in stderr
    assert "not attempted: variation 200002" in stderr
    assert "not attempted: variation 200003" in stderr
    assert "updated variation 200001" in stdout
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "// v2 of 200001"
    assert normalize(sandbox.store.variation(200003)["jsCode"]) != "// v2 of 200003"

    status = kamsync("status")
    assert "did not finish (1 of 3 writes confirmed); run it again to resume it" in status.stderr
    rerun = kamsync("push", "--allow-live")
    assert rerun.code == 0, rerun.output
    assert "resuming the kamsync push interrupted" in rerun.stderr
    assert "1 of 3 writes were confirmed; sending only what is still needed" in rerun.stderr
    for variation_id in variations:
        assert normalize(sandbox.store.variation(variation_id)["jsCode"]) == f"// v2 of {variation_id}"
