"""Filesystem edges: atomic writes, so an interruption or a full disk never leaves a half-written file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from kamsync.core.errors import LocalWriteError


def write_atomic(
    path: Path, data: str | bytes, *, mode: int | None = None, what: str | None = None, durable: bool = True
) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename.

    Text is written as UTF-8 with LF line ends exactly as given. Parent folders are created.
    ``mode`` sets the file's permission bits (e.g. 0o600 for files holding tokens). ``durable=False`` skips the
    flush to the disk before the rename, for files a reader checks anyway (named by their content's hash): a
    power cut may then leave such a file torn, never half-written by a mere interruption.

    This is the one place where a failing write (disk full, quota exceeded, no permission, any ``OSError``)
    becomes a ``LocalWriteError`` naming ``path`` (and ``what`` it holds, for the message): the temporary file
    is removed and ``path`` keeps its old content, whole.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            view = memoryview(payload)
            while view:  # os.write may write less than asked
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        if mode is not None:
            os.chmod(tmp, mode)
        elif path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        raise LocalWriteError(path, exc, what) from exc
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp: str | None) -> None:
    if tmp is not None:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
