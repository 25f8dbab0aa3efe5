"""kamsync's own memory of the values it wrote to or pulled from Kameleoon in this clone.

It lives in ``.git/kamsync/record.json`` (never committed) and holds fingerprints, not code. It only ever
grows; saving merges with what is on disk, so two runs that each remember something both keep their entries.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import shutil
from pathlib import Path

from kamsync.errors import LocalWriteError
from kamsync.fsutil import write_atomic
from kamsync.model import FieldRef
from kamsync.normalize import fingerprint

_FILE = "record.json"
_VERSION = 1
_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


def _key(ref: FieldRef) -> str:
    variation = "-" if ref.variation_id is None else str(ref.variation_id)
    return f"{ref.experiment_id}:{variation}:{ref.field}"


def _read(path: Path) -> dict[str, set[str]]:
    """The fingerprints stored at ``path``; none if the file is missing or corrupt (then copied aside)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
        fields = data["fields"]
        if not isinstance(fields, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(f, str) for f in v) for k, v in fields.items()
        ):
            raise ValueError("bad shape")
        return {k: set(v) for k, v in fields.items()}
    except (ValueError, KeyError, TypeError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        # Keep the evidence for whoever investigates; the record only adds confidence, so start afresh.
        with contextlib.suppress(OSError):  # a read-only clone keeps it where it is
            shutil.copyfile(path, path.with_name(path.name + ".corrupt"))
        return {}


class Record:
    """Fingerprints of the values kamsync wrote or pulled, per field."""

    def __init__(self, path: Path, known: dict[str, set[str]]) -> None:
        self._path = path
        self._known = known

    @classmethod
    def load(cls, state_dir: Path) -> Record:
        path = state_dir / _FILE
        return cls(path, _read(path))

    def knows(self, ref: FieldRef, value: str) -> bool:
        return fingerprint(value) in self._known.get(_key(ref), ())

    def remember(self, ref: FieldRef, value: str) -> None:
        self._known.setdefault(_key(ref), set()).add(fingerprint(value))

    def save(self) -> str | None:
        """Write atomically, after merging with the file as it is now (another run may have saved since).

        When the state folder is not writable (a user who may read this clone but not write its ``.git``),
        nothing is saved and the warning to show is returned: the record only adds confidence."""
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with open(self._path.with_name(_FILE + ".lock"), "a") as guard:
                fcntl.flock(guard, fcntl.LOCK_EX)  # released when the file closes
                for key, prints in _read(self._path).items():
                    self._known.setdefault(key, set()).update(prints)
                fields = {key: sorted(prints) for key, prints in sorted(self._known.items())}
                write_atomic(self._path, json.dumps({"version": _VERSION, "fields": fields}, indent=1) + "\n")
        except (OSError, LocalWriteError) as error:
            if error.errno in _NOT_WRITABLE:
                return f"cannot update {self._path} (not writable): later runs judge this run's values from git alone"
            if isinstance(error, OSError):
                raise LocalWriteError(self._path, error, "kamsync's record") from error
            raise
        return None
