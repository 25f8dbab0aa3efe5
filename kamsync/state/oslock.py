"""The one exclusive file lock every kamsync lock is built on, on Linux, macOS and Windows alike.

``filelock.lock_descriptor`` locks a descriptor kamsync opened itself: ``flock`` on POSIX systems, ``LockFileEx``
on byte zero on Windows. Either way the operating system drops the lock when its holder dies, so a crash never
leaves a stale lock behind. Only where neither exists (a POSIX system without ``fcntl``) does a marker file
``<lock>.soft`` stand in (``filelock.SoftFileLock``), which a peer reclaims once the process it names is gone.

On Windows another process cannot read a locked byte, so whatever a holder writes for the others to read goes
after byte zero (see ``HOLDER_OFFSET``).
"""

from __future__ import annotations

import errno
import math
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

with warnings.catch_warnings():  # without fcntl it warns on import; ``exclusive`` says what stands in instead
    warnings.filterwarnings("ignore", "only soft file lock is available", UserWarning)
    import filelock

__all__ = ["HOLDER_OFFSET", "exclusive"]

# The first byte a holder may write for the others to read: byte zero is the one Windows locks.
HOLDER_OFFSET = 1
_POLL = 0.05


def _try_native(fd: int) -> bool | None:
    """Whether the OS lock on ``fd`` was taken now; ``None`` when this OS has none."""
    try:
        return filelock.lock_descriptor(fd, blocking=False)
    except OSError as error:
        if error.errno == errno.ENOSYS:
            return None
        raise


@contextmanager
def exclusive(fd: int, path: Path, *, wait: float = math.inf) -> Iterator[bool]:
    """Hold the exclusive lock of ``fd`` (open on ``path``) for the ``with`` block, trying for up to ``wait``
    seconds (forever by default). Yields whether it is held: ``False`` when ``wait`` ran out first."""
    deadline = time.monotonic() + wait
    while (taken := _try_native(fd)) is False and time.monotonic() < deadline:
        time.sleep(_POLL)
    if taken is None:
        with _soft(path, wait) as held:
            yield held
        return
    if not taken:
        yield False
        return
    try:
        yield True
    finally:
        filelock.unlock_descriptor(fd)  # closing the descriptor would too; this frees it as the block ends


@contextmanager
def _soft(path: Path, wait: float) -> Iterator[bool]:
    marker = filelock.SoftFileLock(os.fspath(path) + ".soft", thread_local=False)
    try:
        marker.acquire(timeout=-1 if math.isinf(wait) else wait, poll_interval=_POLL)
    except filelock.Timeout:
        yield False
        return
    try:
        yield True
    finally:
        marker.release()
