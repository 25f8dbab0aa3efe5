"""kamsync's record of the base of each field: the last value it saw in Kameleoon in this clone.

A value is recorded when kamsync pulled it, pushed it, or saw Kameleoon hold exactly the local file. The record
lives in ``.git/kamsync/`` (never committed): ``record.json`` maps each field to the fingerprint of its base,
and ``bases/`` keeps each base's text under its fingerprint, so that a pull can merge three ways and ``diff``
can show what changed in Kameleoon since. Saving merges with what is on disk: a run overwrites only the
fields it saw, so two runs that each remember something both keep their entries.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
from pathlib import Path

from kamsync.core.errors import LocalWriteError
from kamsync.core.model import FieldRef
from kamsync.core.normalize import fingerprint, normalize
from kamsync.state.files import write_atomic

_FILE = "record.json"
_BASES = "bases"
_VERSION = 2
_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


def _key(ref: FieldRef) -> str:
    variation = "-" if ref.variation_id is None else str(ref.variation_id)
    return f"{ref.experiment_id}:{variation}:{ref.field}"


def _read(path: Path) -> dict[str, str]:
    """The base fingerprints stored at ``path``; none if the file is missing, of an older format (which kept
    no text to merge with), or corrupt (then copied aside for whoever investigates)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
        if isinstance(data, dict) and data.get("version") == 1:
            return {}
        fields = data["fields"]
        if not isinstance(fields, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and len(v) == 64 and v.isalnum() for k, v in fields.items()
        ):
            raise ValueError("bad shape")
        return dict(fields)
    except (ValueError, KeyError, TypeError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        # Keep the evidence for whoever investigates; the record only adds confidence, so start afresh.
        with contextlib.suppress(OSError):  # a read-only clone keeps it where it is
            shutil.copyfile(path, path.with_name(path.name + ".corrupt"))
        return {}


class Record:
    """The recorded base of each field, by fingerprint, with its text."""

    def __init__(self, state_dir: Path, known: dict[str, str]) -> None:
        self._dir = state_dir
        self._known = known
        self._changed: dict[str, str] = {}  # fingerprint -> text, for the values this run remembered
        self._touched: set[str] = set()  # the fields this run remembered
        self._stored: frozenset[str] | None = None  # the fingerprints whose text bases/ holds, listed once

    @classmethod
    def load(cls, state_dir: Path) -> Record:
        return cls(state_dir, _read(state_dir / _FILE))

    def base(self, ref: FieldRef) -> str | None:
        """The fingerprint of the field's recorded base, when its text is kept too (only then can it serve)."""
        key = _key(ref)
        print_ = self._known.get(key)
        if print_ is None:
            return None
        if print_ in self._changed or print_ in self._stored_texts():
            return print_
        return None

    def _stored_texts(self) -> frozenset[str]:
        """The fingerprints ``bases/`` holds a text for: one listing, not a ``stat`` per field."""
        if self._stored is None:
            try:
                with os.scandir(self._dir / _BASES) as entries:
                    self._stored = frozenset(e.name for e in entries if e.is_file())
            except OSError:  # none yet, or unreadable: no base can serve
                self._stored = frozenset()
        return self._stored

    def base_text(self, ref: FieldRef) -> str | None:
        """The normalised text of the field's recorded base, or ``None`` when there is none."""
        print_ = self.base(ref)
        if print_ is None:
            return None
        if print_ in self._changed:
            return self._changed[print_]
        try:
            text = (self._dir / _BASES / print_).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        return text if fingerprint(text) == print_ else None

    def knows(self, ref: FieldRef, value: str) -> bool:
        """Whether ``value`` is the field's recorded base."""
        return self.base(ref) == fingerprint(value)

    def remember(self, ref: FieldRef, value: str) -> None:
        """``value`` is now the last value seen in Kameleoon for the field."""
        text = normalize(value)
        print_ = fingerprint(text)
        key = _key(ref)
        self._known[key] = print_
        self._changed[print_] = text
        self._touched.add(key)

    def save(self) -> str | None:
        """Write the bases' texts, then the record atomically, after merging with the file as it is now
        (another run may have saved since): this run's fields win, every other field is kept.

        When the state folder is not writable (a user who may read this clone but not write its ``.git``),
        nothing is saved and the warning to show is returned: the record only adds confidence."""
        if not self._touched:
            return None
        path = self._dir / _FILE
        try:
            bases = self._dir / _BASES
            bases.mkdir(parents=True, exist_ok=True)
            stored = self._stored_texts()
            for print_, text in self._changed.items():
                target = bases / print_
                if print_ not in stored and not target.is_file():
                    # Named by its fingerprint and checked against it when read: no flush to the disk for each
                    # of thousands of bases on a first run; the record itself is written durably below.
                    write_atomic(target, text, durable=False)
            with open(self._dir / (_FILE + ".lock"), "a") as guard:
                fcntl.flock(guard, fcntl.LOCK_EX)  # released when the file closes
                merged = _read(path)
                merged.update({key: self._known[key] for key in self._touched})
                self._known = merged
                payload = {"version": _VERSION, "fields": dict(sorted(merged.items()))}
                write_atomic(path, json.dumps(payload, indent=1) + "\n")
        except (OSError, LocalWriteError) as error:
            if error.errno in _NOT_WRITABLE:
                return f"cannot update {path} (not writable): later runs judge this run's values from git alone"
            if isinstance(error, OSError):
                raise LocalWriteError(path, error, "kamsync's record") from error
            raise
        return None
