"""kamsync's record of the base of each field: the last value it saw in Kameleoon that git holds too.

A value is recorded when kamsync pushed it, or saw Kameleoon hold exactly the committed local file. A value a
pull brought in is recorded as *pending* with the commit that carries it (see ``kamsync.git.pulled``): it becomes
the base only once that commit is in HEAD's history, or while its merge is in progress with the file as pull wrote
it — so a pull undone (``git merge --abort``, ``git stash``, another worktree) leaves the earlier base in force.

The record lives in ``.git/kamsync/`` (never committed): ``record.json`` maps each field to the fingerprint of its
base (and its pending pull), and ``bases/`` keeps each value's text under its fingerprint, so that a pull can merge
three ways and ``diff`` can show what changed in Kameleoon since. Saving merges with what is on disk: a run
overwrites only the fields it saw, so two runs that each remember something both keep their entries.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from kamsync.core.errors import LocalWriteError
from kamsync.core.model import FieldRef
from kamsync.core.normalize import fingerprint, normalize
from kamsync.state.files import write_atomic
from kamsync.state.oslock import exclusive

_FILE = "record.json"
_BASES = "bases"
_VERSION = 3
_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)
_MAX_RECORD_BYTES = 64 * 1024 * 1024


def _key(ref: FieldRef) -> str:
    return ref.key


@dataclass(frozen=True, slots=True)
class Pending:
    """A value a pull brought in, not yet part of HEAD's history: its fingerprint, the fingerprint of what pull
    wrote (the value itself, or a merge of it), and the commit that carries it (``None`` on an unborn branch)."""

    value: str
    written: str
    commit: str | None


def _is_print(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and value.isalnum()


def _read(path: Path) -> tuple[dict[str, str], dict[str, Pending]]:
    """The bases and pending pulls stored at ``path``; none if the file is missing, of an older format (which
    kept no text to merge with), or damaged (then copied aside for whoever investigates)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return {}, {}
    except OSError:
        return {}, {}
    try:
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_RECORD_BYTES:
            raise ValueError("not a regular file of a sane size")  # a folder, a FIFO: never block on it
        data = json.loads(path.read_bytes().decode("utf-8"))
        if isinstance(data, dict) and data.get("version") in (1, 2):
            return {}, {}
        fields, pending = data["fields"], data.get("pending", {})
        if not isinstance(fields, dict) or not all(isinstance(k, str) and _is_print(v) for k, v in fields.items()):
            raise ValueError("bad shape")
        if not isinstance(pending, dict):
            raise ValueError("bad shape")
        pulls: dict[str, Pending] = {}
        for key, raw in pending.items():
            commit = raw.get("commit") if isinstance(raw, dict) else ""
            if not (
                isinstance(raw, dict)
                and _is_print(raw.get("value"))
                and _is_print(raw.get("written"))
                and (commit is None or (isinstance(commit, str) and commit.isalnum()))
            ):
                raise ValueError("bad shape")
            pulls[key] = Pending(raw["value"], raw["written"], commit)
        return dict(fields), pulls
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError):
        if stat.S_ISREG(info.st_mode):
            with contextlib.suppress(OSError):  # a read-only clone keeps it where it is
                shutil.copyfile(path, path.with_name(path.name + ".corrupt"))
        return {}, {}


class Record:
    """The recorded base of each field, by fingerprint, with its text; and the pulls not yet committed."""

    def __init__(self, state_dir: Path, known: dict[str, str], pending: dict[str, Pending] | None = None) -> None:
        self._dir = state_dir
        self._known = known
        self._pending = pending or {}
        self._changed: dict[str, str] = {}  # fingerprint -> text, for the values this run remembered
        self._touched: set[str] = set()  # the fields this run remembered
        self._stored: frozenset[str] | None = None  # the fingerprints whose text bases/ holds, listed once

    @classmethod
    def load(cls, state_dir: Path) -> Record:
        known, pending = _read(state_dir / _FILE)
        return cls(state_dir, known, pending)

    def _kept(self, print_: str | None) -> str | None:
        """``print_`` when its text is kept too (only then can it serve as a base)."""
        if print_ is None:
            return None
        if print_ in self._changed or print_ in self._stored_texts():
            return print_
        return None

    def base(self, ref: FieldRef) -> str | None:
        """The fingerprint of the field's recorded base (pending pulls aside)."""
        return self._kept(self._known.get(_key(ref)))

    def pending(self, ref: FieldRef) -> Pending | None:
        """The field's pull not yet in HEAD's history, when its text is kept."""
        pull = self._pending.get(_key(ref))
        return pull if pull is not None and self._kept(pull.value) is not None else None

    def _stored_texts(self) -> frozenset[str]:
        """The fingerprints ``bases/`` holds a text for: one listing, not a ``stat`` per field."""
        if self._stored is None:
            try:
                with os.scandir(self._dir / _BASES) as entries:
                    self._stored = frozenset(e.name for e in entries if e.is_file())
            except OSError:  # none yet, or unreadable: no base can serve
                self._stored = frozenset()
        return self._stored

    def text(self, print_: str) -> str | None:
        """The normalised text of a remembered value, or ``None`` when it is not kept."""
        if print_ in self._changed:
            return self._changed[print_]
        try:
            text = (self._dir / _BASES / print_).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        return text if fingerprint(text) == print_ else None

    def base_text(self, ref: FieldRef) -> str | None:
        """The normalised text of the field's recorded base, or ``None`` when there is none."""
        print_ = self.base(ref)
        return None if print_ is None else self.text(print_)

    def knows(self, ref: FieldRef, value: str) -> bool:
        """Whether ``value`` is the field's recorded base."""
        return self.base(ref) == fingerprint(value)

    def _keep(self, value: str) -> str:
        text = normalize(value)
        print_ = fingerprint(text)
        self._changed[print_] = text
        return print_

    def remember(self, ref: FieldRef, value: str) -> None:
        """``value`` is now the last value seen in Kameleoon for the field, and git holds it too."""
        key = _key(ref)
        self._known[key] = self._keep(value)
        self._pending.pop(key, None)
        self._touched.add(key)

    def remember_pulled(self, ref: FieldRef, value: str, written: str, commit: str | None) -> None:
        """A pull brought ``value`` in from Kameleoon and wrote ``written``; ``commit`` carries the value."""
        key = _key(ref)
        self._pending[key] = Pending(self._keep(value), fingerprint(written), commit)
        self._touched.add(key)

    def save(self) -> str | None:
        """Write the values' texts, then the record atomically, after merging with the file as it is now
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
            guard = self._dir / (_FILE + ".lock")
            with open(guard, "a") as handle, exclusive(handle.fileno(), guard):
                known, pending = _read(path)
                for key in self._touched:
                    if key in self._known:
                        known[key] = self._known[key]
                    if key in self._pending:
                        pending[key] = self._pending[key]
                    else:
                        pending.pop(key, None)
                self._known, self._pending = known, pending
                payload = {
                    "version": _VERSION,
                    "fields": dict(sorted(known.items())),
                    "pending": {
                        k: {"value": p.value, "written": p.written, "commit": p.commit}
                        for k, p in sorted(pending.items())
                    },
                }
                write_atomic(path, json.dumps(payload, indent=1) + "\n")
        except (OSError, LocalWriteError) as error:
            if error.errno in _NOT_WRITABLE:
                return f"cannot update {path} (not writable): later runs judge this run's values from git alone"
            if isinstance(error, OSError):
                raise LocalWriteError(path, error, "kamsync's record") from error
            raise
        return None
