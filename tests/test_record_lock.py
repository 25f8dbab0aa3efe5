"""kamsync's private record of values, and the one-process-per-repository lock."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import kamsync
from kamsync.core.errors import LockedRepository, UsageError
from kamsync.core.model import FieldRef
from kamsync.state.lock import repo_lock
from kamsync.state.oslock import HOLDER_OFFSET
from kamsync.state.record import Record

JS = FieldRef.of_variation(12, 34, "jsCode")
CSS = FieldRef.of_variation(12, 34, "cssCode")
COMMON = FieldRef.of_experiment(12, "commonJavaScriptCode")


def test_missing_record_knows_nothing(tmp_path: Path) -> None:
    assert not Record.load(tmp_path / "kamsync").knows(JS, "a();")


def test_remembered_value_is_known_for_that_field_only_whitespace_aside(tmp_path: Path) -> None:
    record = Record.load(tmp_path)
    record.remember(JS, "a();\n")
    assert record.knows(JS, "a();  \r\n\r\n")
    assert not record.knows(CSS, "a();")
    assert not record.knows(FieldRef.of_variation(12, 35, "jsCode"), "a();")
    assert not record.knows(JS, "b();")


def test_saved_record_is_known_after_loading_and_holds_no_code(tmp_path: Path) -> None:
    record = Record.load(tmp_path / "kamsync")
    record.remember(JS, "secretCode();")
    record.remember(COMMON, "common();")
    record.save()
    again = Record.load(tmp_path / "kamsync")
    assert again.knows(JS, "secretCode();")
    assert again.knows(COMMON, "common();")
    assert not again.knows(FieldRef.of_experiment(12, "jsCode"), "secretCode();")
    assert "secretCode" not in (tmp_path / "kamsync" / "record.json").read_text()


def test_two_saves_keep_both_records_entries(tmp_path: Path) -> None:
    first = Record.load(tmp_path)
    second = Record.load(tmp_path)
    first.remember(JS, "one();")
    second.remember(CSS, "two {}")
    first.save()
    second.save()
    merged = Record.load(tmp_path)
    assert merged.knows(JS, "one();")
    assert merged.knows(CSS, "two {}")


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"fields": {"k": "v"}}'])
def test_corrupt_record_is_set_aside_and_starts_empty(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "record.json").write_bytes(content)
    record = Record.load(tmp_path)
    assert (tmp_path / "record.json.corrupt").read_bytes() == content
    assert not record.knows(JS, "")
    record.remember(JS, "one();")
    record.save()
    assert Record.load(tmp_path).knows(JS, "one();")
    assert json.loads((tmp_path / "record.json").read_text())["version"] == 3


def test_the_record_keeps_the_last_value_seen_as_the_base_with_its_text(tmp_path: Path) -> None:
    record = Record.load(tmp_path)
    record.remember(JS, "first();")
    record.remember(JS, "second();  \r\n")
    record.save()
    again = Record.load(tmp_path)
    assert again.knows(JS, "second();") and not again.knows(JS, "first();")
    assert again.base_text(JS) == "second();"
    assert again.base_text(CSS) is None


def test_a_base_whose_text_is_lost_is_no_base(tmp_path: Path) -> None:
    record = Record.load(tmp_path)
    record.remember(JS, "kept();")
    record.save()
    for text in (tmp_path / "bases").iterdir():
        text.unlink()
    assert Record.load(tmp_path).base(JS) is None  # git history decides instead


def test_a_record_of_the_first_format_is_ignored_not_set_aside(tmp_path: Path) -> None:
    (tmp_path / "record.json").write_text('{"version": 1, "fields": {"12:34:jsCode": ["%s"]}}' % ("a" * 64))
    assert Record.load(tmp_path).base(JS) is None
    assert not (tmp_path / "record.json.corrupt").exists()


def holder_info(lock: Path) -> dict[str, object]:
    """The holder's details in a lock file, read past the byte Windows locks (readable there while it is held)."""
    with open(lock, "rb") as handle:
        handle.seek(HOLDER_OFFSET)
        return json.loads(handle.read().decode("utf-8"))  # type: ignore[no-any-return]


HOLDER = """
import sys
from pathlib import Path
from kamsync.state.lock import repo_lock

with repo_lock(Path(sys.argv[1]), "kamsync push", wait=0):
    print("locked", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another kamsync process holding the lock until its stdin gets a line (or closes)."""
    env = dict(os.environ, PYTHONPATH=str(Path(kamsync.__file__).parent.parent))
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "locked\n"
        yield proc
        if proc.poll() is None:
            proc.kill()


def test_second_process_times_out_naming_the_holder(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    with pytest.raises(LockedRepository) as error, repo_lock(tmp_path, "kamsync pull", wait=0.2):
        pytest.fail("the lock was taken twice")
    assert re.fullmatch(
        rf"another kamsync process \(pid {holder.pid}, `kamsync push`, since \d\d:\d\d:\d\d\) "
        r"is working on this repository; wait for it to finish",
        str(error.value),
    )


def test_waiting_process_gets_the_lock_when_the_holder_finishes(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.write("done\n")
    holder.stdin.flush()
    with repo_lock(tmp_path, "kamsync pull", wait=30):
        assert holder_info(tmp_path / "lock")["command"] == "kamsync pull"
    assert holder.wait() == 0


def test_lock_frees_when_the_holder_is_killed(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    holder.kill()
    assert holder.wait() != 0  # killed: it never left its block to release the lock
    assert holder_info(tmp_path / "lock")["pid"] == holder.pid  # its details are still there
    with repo_lock(tmp_path, "kamsync pull", wait=0):
        taken = holder_info(tmp_path / "lock")
    assert (taken["pid"], taken["command"]) == (os.getpid(), "kamsync pull")


def test_lock_wait_comes_from_the_environment(
    tmp_path: Path, holder: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAMSYNC_LOCK_WAIT", "0")
    with pytest.raises(LockedRepository), repo_lock(tmp_path, "kamsync pull"):
        pytest.fail("the lock was taken twice")


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_bad_lock_wait_in_the_environment_is_a_usage_error(tmp_path: Path, value: str) -> None:
    with (
        pytest.raises(UsageError, match="KAMSYNC_LOCK_WAIT must be a number of seconds"),
        repo_lock(tmp_path, "kamsync pull", value),  # as the settings hand $KAMSYNC_LOCK_WAIT over
    ):
        pytest.fail("took the lock")


def test_lock_is_released_and_holder_details_cleared_after_the_block(tmp_path: Path) -> None:
    with repo_lock(tmp_path / "kamsync", "kamsync push", wait=0):
        info = holder_info(tmp_path / "kamsync" / "lock")
        assert info["pid"] == os.getpid()
        assert info["command"] == "kamsync push"
    assert (tmp_path / "kamsync" / "lock").read_text() == ""
    with repo_lock(tmp_path / "kamsync", "kamsync pull", wait=0):
        pass


def test_bases_are_written_without_a_flush_each_and_the_record_with_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushed: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (flushed.append(fd), real_fsync(fd)))
    record = Record.load(tmp_path / "kamsync")
    for ref, text in ((JS, "a();\n"), (CSS, "b {}\n"), (COMMON, "c();\n")):
        record.remember(ref, text)

    assert record.save() is None

    assert len(flushed) == 1  # record.json; the three bases are checked against their names when read
    again = Record.load(tmp_path / "kamsync")
    assert [again.base_text(ref) for ref in (JS, CSS, COMMON)] == ["a();", "b {}", "c();"]
