"""A full disk while kamsync writes its own files or yours: a message naming the file, exit 2, the old content
whole. The real CLI runs in this process (``process=False``: its one error translator, `kamsync.cli.main.main`),
against the sandbox over HTTP; only the OS call that writes is made to fail, after writing half."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from kamsync.budget.ledger import ledger_path
from tests.helpers import api_requests, commit_all, path_of

Matcher = Callable[[bytes], bool]


@pytest.fixture
def disk_full(monkeypatch: pytest.MonkeyPatch) -> Callable[[Matcher | None], list[bytes]]:
    """Make ``os.write`` of the bytes ``matches`` accepts write half of them, then fail with ENOSPC, as a disk
    filling up does; every other write goes through. Returns the refused payloads. ``None``: room again."""
    real_write = os.write

    def arm(matches: Matcher | None) -> list[bytes]:
        refused: list[bytes] = []
        if matches is None:
            monkeypatch.setattr(os, "write", real_write)
            return refused

        def write(fd: int, data: bytes | memoryview) -> int:
            payload = bytes(data)
            if not matches(payload):
                return real_write(fd, data)
            refused.append(payload)
            real_write(fd, payload[: len(payload) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "write", write)
        return refused

    return arm


def _leftovers(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_pull_on_a_full_disk_names_the_file_and_leaves_it_whole(kamsync, env, repo, sandbox, disk_full):
    path = path_of(kamsync("status", "--json"), 200001, "jsCode")
    before = (repo / path).read_text()
    sandbox.store.ui_edit_variation(200001, jsCode="console.log('edited in the UI');")
    refused = disk_full(lambda data: b"edited in the UI" in data)

    result = kamsync("pull", process=False)

    assert refused, "the pulled file was written"
    assert result.code == 2, result.output
    assert f"cannot write {repo / path}: no space left on the device" in result.stderr
    assert "free some disk space" in result.stderr and "Traceback" not in result.output
    assert (repo / path).read_text() == before, "nothing half-written"
    assert _leftovers((repo / path).parent) == []


def test_push_on_a_full_disk_stops_at_the_journal_before_sending(kamsync, env, repo, sandbox, disk_full):
    path = path_of(kamsync("status", "--json"), 200001, "jsCode")
    (repo / path).write_text("console.log('from git');\n")
    commit_all(repo, "Change the red button")
    sandbox.store.clear_requests()
    journal = repo / ".git" / "kamsync" / "journal.jsonl"
    disk_full(lambda data: data.startswith(b'{"journal"'))

    result = kamsync("push", process=False)

    assert result.code == 2, result.output
    assert f"cannot write {journal} (the push journal): no space left on the device" in result.stderr
    assert not journal.exists() and _leftovers(journal.parent) == []
    assert not api_requests(sandbox, "PATCH"), "nothing is sent unjournaled"


def test_journal_mark_refused_by_a_full_disk_leaves_no_torn_line_and_the_push_resumes(
    kamsync, env, repo, sandbox, disk_full
):
    path = path_of(kamsync("status", "--json"), 200001, "jsCode")
    (repo / path).write_text("console.log('from git');\n")
    commit_all(repo, "Change the red button")
    sandbox.store.clear_requests()
    journal = repo / ".git" / "kamsync" / "journal.jsonl"
    disk_full(lambda data: b'"status": "sending"' in data)

    result = kamsync("push", process=False)

    assert result.code == 2, result.output
    assert f"cannot write {journal} (the push journal)" in result.stderr
    assert len(journal.read_text().splitlines()) == 1, "the header alone: the torn mark was cut off"
    assert not api_requests(sandbox, "PATCH"), "a write is marked before its request leaves"
    disk_full(None)
    resumed = kamsync("push")
    assert resumed.code == 0, resumed.output
    assert "resuming" in resumed.stderr and not journal.exists()


def test_full_disk_while_updating_the_rate_ledger_keeps_the_previous_ledger(kamsync, env, repo, sandbox, disk_full):
    assert kamsync("status").code == 0
    ledger = ledger_path(Path(env["XDG_STATE_HOME"]) / "kamsync", sandbox.url, env["KAMELEOON_CLIENT_ID"])
    before = ledger.read_bytes()
    disk_full(lambda data: b'"arrivals"' in data)

    result = kamsync("status", process=False)

    assert result.code == 2, result.output
    assert f"cannot write {ledger} (the shared rate-limit ledger): no space left on the device" in result.stderr
    assert ledger.read_bytes() == before
    assert _leftovers(ledger.parent) == []


def test_push_without_room_for_the_repository_lock_names_it(kamsync, env, repo, sandbox, monkeypatch):
    path = path_of(kamsync("status", "--json"), 200001, "jsCode")
    (repo / path).write_text("console.log('from git');\n")
    lock = repo / ".git" / "kamsync" / "lock"
    lock.unlink()
    sandbox.store.clear_requests()
    real_open = os.open

    def full_open(file: str | os.PathLike[str], flags: int, mode: int = 0o777, **kw: object) -> int:
        if Path(file) == lock:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(file))
        return real_open(file, flags, mode, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", full_open)
    result = kamsync("push", process=False)

    assert result.code == 2, result.output
    assert f"cannot write {lock} (the repository lock): no space left on the device" in result.stderr
    assert not api_requests(sandbox), "nothing sent"
