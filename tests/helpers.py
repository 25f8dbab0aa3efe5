"""Small readers used by the end-to-end tests."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import Result
from tests.gitutil import git


def states(result: Result) -> dict[tuple[int, int | None, str], str]:
    """`status --json` as {(experiment_id, variation_id, field): state}."""
    assert result.code in (0, 1), result.output
    return {(e["experiment_id"], e["variation_id"], e["field"]): e["state"] for e in result.json()["entries"]}


def path_of(result: Result, variation_id: int | None, field: str, experiment_id: int | None = None) -> str:
    for e in result.json()["entries"]:
        if (
            e["variation_id"] == variation_id
            and e["field"] == field
            and (experiment_id is None or e["experiment_id"] == experiment_id)
        ):
            return str(e["path"])
    raise AssertionError(f"no entry for {variation_id} {field}: {result.stdout}")


def commit_all(repo: Path, message: str) -> str:
    """Commit everything in the work tree; the new commit's id."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def api_requests(sandbox, method: str | None = None) -> list:  # type: ignore[no-untyped-def, type-arg]
    """Requests the sandbox received on the Kameleoon API (admin calls are not logged)."""
    return [r for r in sandbox.store.requests if method is None or r.method == method]


def kill_push_when_held(sandbox, repo: Path, env: dict[str, str], fault: str, *args: str) -> None:  # type: ignore[no-untyped-def]
    """Run `kamsync push ARGS` and SIGKILL it once the sandbox holds the request ``fault`` arms (``"PATCH 2=hold"``)
    after applying it: the worst moment, Kameleoon has the write and kamsync never heard of it."""
    (held,) = sandbox.faults.arm(fault)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kamsync", "push", *args],
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert sandbox.faults.reached(held).wait(timeout=60), "the push never reached its write"
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        sandbox.faults.release_all()
        sandbox.faults.clear()
    assert proc.returncode == -signal.SIGKILL
