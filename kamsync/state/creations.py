"""The creation journal: variations a push is creating, kept under ``.git/kamsync/`` so a killed run never
leaves a duplicate or an orphan.

Each creation is written down *before* its ``POST`` leaves (``posting``), then with the id Kameleoon gave it
(``posted``), then once its experiment lists it (``attached``); the file is replaced atomically at each step.
A run that finds entries left here knows that a variation may exist in Kameleoon without the manifest saying
so: it looks the name up among the site's variations (and adopts what it finds) instead of posting again.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

from kamsync.core.creation import CREATION_STATUSES, CreationEntry
from kamsync.core.errors import LocalWriteError
from kamsync.state.files import write_atomic

__all__ = ["CreationEntry", "CreationJournal"]

_FORMAT = 1


def _entry(raw: object) -> CreationEntry | None:
    if not isinstance(raw, dict):
        return None
    exp, name, folder, status, var = (raw.get(k) for k in ("experiment_id", "name", "dir", "status", "variation_id"))
    if not (isinstance(exp, int) and isinstance(name, str) and isinstance(folder, str) and status in CREATION_STATUSES):
        return None
    if var is not None and not isinstance(var, int):
        return None
    return CreationEntry(exp, name, folder, str(status), var)


class CreationJournal:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def at(cls, state_dir: Path) -> CreationJournal:
        return cls(state_dir / "creations.json")

    def load(self) -> tuple[CreationEntry, ...]:
        """The creations an earlier run left unfinished; an unreadable file counts as every one in doubt,
        which the name lookup resolves."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return ()
        except (OSError, ValueError):
            return ()
        items = raw.get("creations") if isinstance(raw, dict) else None
        found = (_entry(item) for item in items) if isinstance(items, list) else ()
        return tuple(entry for entry in found if entry is not None)

    def save(self, entries: Sequence[CreationEntry]) -> None:
        if not entries:
            self.clear()
            return
        document = {"format": _FORMAT, "creations": [asdict(e) for e in entries]}
        write_atomic(self.path, json.dumps(document, indent=1) + "\n", what="the creation journal")

    def mark(
        self, entries: list[CreationEntry], index: int, status: str, variation_id: int | None = None
    ) -> CreationEntry:
        """Set entry ``index``'s status (and id) in ``entries`` and on disk, before the next step goes out."""
        entry = replace(entries[index], status=status, variation_id=variation_id or entries[index].variation_id)
        entries[index] = entry
        self.save(entries)
        return entry

    def clear(self) -> None:
        try:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        except OSError as error:
            raise LocalWriteError(self.path, error, "the creation journal") from None
