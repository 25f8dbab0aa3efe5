"""One kamsync process at a time per repository.

The OS lock of ``.git/kamsync/lock`` (``oslock``): the operating system drops it when its holder dies, so a crash
never leaves a stale lock behind. The holder writes who it is into the file (after the byte Windows locks), for
the message the next process shows.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kamsync.core.durations import clock_time
from kamsync.core.errors import LocalWriteError, LockedRepository, UsageError
from kamsync.state.oslock import HOLDER_OFFSET, exclusive

WAIT_ENV = "KAMSYNC_LOCK_WAIT"
_DEFAULT_WAIT = 5.0


def _parse_wait(raw: str | None) -> float:
    if raw is None or not raw.strip():
        return _DEFAULT_WAIT
    try:
        wait = float(raw)
    except ValueError:
        wait = -1.0
    if not wait >= 0:  # also rejects nan
        raise UsageError(f"{WAIT_ENV} must be a number of seconds (like 5 or 0.5), not {raw!r}")
    return wait


def _holder(fd: int) -> str:
    """The holder as its lock file describes it, e.g. `` (pid 4242, `kamsync push`, since 12:01:03)``."""
    try:
        os.lseek(fd, HOLDER_OFFSET, os.SEEK_SET)
        info = json.loads(os.read(fd, 65536).decode("utf-8"))
        since = clock_time(float(info["since"]))
        return f" (pid {int(info['pid'])}, `{info['command']}`, since {since})"
    except (ValueError, KeyError, TypeError, OSError):  # the holder has not written it yet, or wrote garbage
        return ""


def _write_holder(fd: int, text: str) -> None:
    """Replace the holder's details with ``text`` (none when empty), leaving the locked byte to its lock."""
    os.ftruncate(fd, 0)
    if text:
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, b"\n" * HOLDER_OFFSET + text.encode("utf-8"))


@contextmanager
def repo_lock(state_dir: Path, command: str, wait: float | str | None = None) -> Iterator[None]:
    """Hold the repository's kamsync lock for the ``with`` block, waiting up to ``wait`` seconds for it
    (given as seconds, or as ``$KAMSYNC_LOCK_WAIT``'s text; default 5). ``command`` is shown to a process that
    has to wait.
    ``LocalWriteError`` when the lock file cannot be created or opened (no write access, disk full)."""
    limit = wait if isinstance(wait, float | int) else _parse_wait(wait)
    path = state_dir / "lock"
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
    except OSError as exc:  # no write access to .git, a full disk: say which file, never a traceback
        raise LocalWriteError(path, exc, "the repository lock") from exc
    try:
        with exclusive(fd, path, wait=limit) as held:
            if not held:
                raise LockedRepository(
                    f"another kamsync process{_holder(fd)} is working on this repository; wait for it to finish"
                )
            info = {"pid": os.getpid(), "command": command, "since": time.time()}
            # Who holds the lock only improves the next process's message (it reads a torn one as unknown): a
            # full disk refusing these bytes is no reason to stop, the lock itself is held.
            with contextlib.suppress(OSError):
                _write_holder(fd, json.dumps(info))
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    _write_holder(fd, "")  # before unlocking, so nobody reads a finished holder's details
    finally:
        os.close(fd)
