"""The write journal: what a push is about to change, kept under ``.git/kamsync/`` so a killed run can resume.

Before the first write the whole plan is written (one JSON header line: every write with, per field, digests of
the remote value it replaces and of the value it sends). Each write then appends ``sending`` before its request
and ``done`` or ``failed`` after its answer; each line is flushed to disk before the request goes out. A journal
still present when a push starts means the last one did not finish: the new run says so, and refuses any field
whose remote value is neither the old value, nor the value that was being sent, nor the local one — someone
changed it in the meantime (drift), and overwriting it would lose their edit.

Lines, not a rewritten file: a mark costs one small append whatever the plan's size, and a line torn by a kill
is simply ignored (its write then counts as in doubt, which is what it is).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from kamsync.core.errors import LocalWriteError
from kamsync.core.model import describe_entity
from kamsync.state.files import write_atomic

__all__ = ["Interrupted", "Journal", "JournalField", "JournalWrite", "digest", "drift"]

_FORMAT = 1
STATUSES = ("sending", "done", "failed")


def digest(value: str | None) -> str:
    """A digest of a normalised code value (``""`` for an absent one), so the journal stays small."""
    return "" if value is None else hashlib.sha256(value.encode("utf-8")).hexdigest()


FieldKey = tuple[str, int, str]  # (entity, id, field)


@dataclass(frozen=True, slots=True)
class JournalField:
    field: str
    path: str
    before: str  # digest of the remote value being replaced
    after: str  # digest of the value sent


@dataclass(frozen=True, slots=True)
class JournalWrite:
    entity: str  # "experiment" | "variation"
    id: int
    experiment_id: int
    fields: tuple[JournalField, ...]

    def describe(self) -> str:
        return describe_entity(self.entity, self.id, self.experiment_id)


class Command(str, Enum):
    """The commands that write to Kameleoon through the journal (their values are stored in it)."""

    def __str__(self) -> str:  # f-strings show the value on every Python version
        return str(self.value)

    PUSH = "kamsync push"
    APPLY = "kamsync apply"


@dataclass(frozen=True, slots=True)
class Interrupted:
    """A journal left by a run that did not finish."""

    command: Command
    started_at: float  # wall clock
    writes: tuple[JournalWrite, ...]
    marks: Mapping[int, str] = field(default_factory=dict)  # write index -> its last status
    tag: str = ""  # what the run executed, when it matters (the digest of an applied plan)

    @property
    def keys(self) -> set[FieldKey]:
        return {(w.entity, w.id, f.field) for w in self.writes for f in w.fields}

    @property
    def done(self) -> int:
        return sum(1 for status in self.marks.values() if status == "done")

    @property
    def in_doubt(self) -> tuple[JournalWrite, ...]:
        """Writes that were sent without an answer: Kameleoon may or may not have applied them."""
        return tuple(w for i, w in enumerate(self.writes) if self.marks.get(i) == "sending")


def drift(
    interrupted: Interrupted, now: Mapping[FieldKey, tuple[str | None, str | None]]
) -> list[tuple[JournalWrite, JournalField]]:
    """Journaled fields whose remote value (``now[key] = (remote, local)``, both normalised) is neither the one
    the interrupted run replaced, nor the one it sent, nor the local one: changed by someone else since."""
    changed = []
    for write in interrupted.writes:
        for f in write.fields:
            current = now.get((write.entity, write.id, f.field))
            if current is None:
                continue  # not looked at by this run
            remote, local = current
            if digest(remote) not in {f.before, f.after} and remote != local:
                changed.append((write, f))
    return changed


def parse(text: str) -> Interrupted | None:
    """A journal's content; ``None`` when it holds no readable header."""
    lines = text.splitlines()
    try:
        header = json.loads(lines[0]) if lines else None
    except ValueError:
        return None
    if not isinstance(header, dict) or header.get("journal") != _FORMAT:
        return None
    try:
        writes = tuple(_write(w) for w in header["writes"])
        command, started_at = Command(header["command"]), float(header["started_at"])
        tag = str(header.get("tag", ""))
    except (KeyError, TypeError, ValueError):
        return None
    marks: dict[int, str] = {}
    for line in lines[1:]:
        try:
            mark = json.loads(line)
            index, status = int(mark["write"]), str(mark["status"])
        except (ValueError, KeyError, TypeError):
            continue  # a line torn by a kill
        if 0 <= index < len(writes) and status in STATUSES:
            marks[index] = status
    return Interrupted(command, started_at, writes, marks, tag)


def _write(raw: Mapping[str, object]) -> JournalWrite:
    fields = raw["fields"]
    if not isinstance(fields, list):
        raise TypeError("fields")
    return JournalWrite(
        str(raw["entity"]),
        int(raw["id"]),  # type: ignore[call-overload]
        int(raw["experiment_id"]),  # type: ignore[call-overload]
        tuple(JournalField(str(f["field"]), str(f["path"]), str(f["before"]), str(f["after"])) for f in fields),
    )


class Journal:
    """The journal file of one repository (``.git/kamsync/journal.jsonl``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def at(cls, state_dir: Path) -> Journal:
        return cls(state_dir / "journal.jsonl")

    def load(self) -> Interrupted | None:
        try:
            return parse(self.path.read_text(encoding="utf-8", errors="replace"))
        except FileNotFoundError:
            return None

    def begin(self, command: Command, writes: Sequence[JournalWrite], tag: str = "") -> None:
        """Start a journal for ``writes`` (replacing any older one: the caller included its unfinished fields
        and checked them for drift)."""
        header = {
            "journal": _FORMAT,
            "command": command,
            "tag": tag,
            "started_at": time.time(),
            "writes": [
                {
                    "entity": w.entity,
                    "id": w.id,
                    "experiment_id": w.experiment_id,
                    "fields": [
                        {"field": f.field, "path": f.path, "before": f.before, "after": f.after} for f in w.fields
                    ],
                }
                for w in writes
            ],
        }
        write_atomic(self.path, json.dumps(header, separators=(",", ":")) + "\n", what="the push journal")

    def mark(self, index: int, status: str) -> None:
        """Append ``status`` for write ``index``; on disk before this returns. When the disk refuses it
        (full, no permission), the journal is cut back to what it held, so no torn line stays, and
        ``LocalWriteError`` names it."""
        line = (json.dumps({"write": index, "status": status}) + "\n").encode("utf-8")
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
        except OSError as exc:
            raise LocalWriteError(self.path, exc, "the push journal") from exc
        try:
            size = os.fstat(fd).st_size
            try:
                view = memoryview(line)
                while view:  # os.write may write less than asked
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                raise
        except OSError as exc:
            raise LocalWriteError(self.path, exc, "the push journal") from exc
        finally:
            os.close(fd)

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
