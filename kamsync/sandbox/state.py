"""The sandbox state on disk: the shipped demo seed, and the JSON a ``--state`` file holds.

The file holds the stored objects as the API serialises them, so it can be read and edited by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from kamsync.core.errors import UsageError
from kamsync.sandbox import objects as o
from kamsync.state.files import write_atomic

__all__ = ["COLLECTIONS", "DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "LOCKABLE", "State", "load_seed"]

DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-secret"
LOCKABLE = ("experiment", "variation", "personalization")
COLLECTIONS = {"site": "sites", "experiment": "experiments", "variation": "variations"}
COLLECTIONS["personalization"] = "personalizations"
_FIRST_ID = {"experiment": 100001, "variation": 200001, "personalization": 300001, "site": 1}


def load_seed() -> dict[str, Any]:
    """The demo state shipped with the package (it matches ``examples/repo-layout``)."""
    text = resources.files("kamsync.sandbox").joinpath("seed.json").read_text(encoding="utf-8")
    seed: dict[str, Any] = json.loads(text)
    return seed


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(
            f"cannot read the sandbox state file {path}: {exc}. Fix it, or delete it to start from the demo."
        ) from None
    if not isinstance(raw, dict):
        raise UsageError(f"the sandbox state file {path} must hold a JSON object; delete it to start afresh")
    return raw


@dataclass(slots=True)
class State:
    """Everything the sandbox persists (tokens and the request log stay in memory on purpose)."""

    clients: dict[str, str]
    objects: dict[str, dict[int, o.Obj]]  # kind -> id -> object
    locked: set[tuple[str, int]]
    next_ids: dict[str, int]

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> State:
        objects = {
            kind: {int(obj["id"]): o.complete(kind, obj) for obj in raw.get(name) or ()}
            for kind, name in COLLECTIONS.items()
        }
        next_ids = raw.get("nextIds") or {}
        return cls(
            clients={DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET, **(raw.get("clients") or {})},
            objects=objects,
            locked={(kind, int(i)) for kind, ids in (raw.get("locked") or {}).items() for i in ids},
            next_ids={
                kind: int(next_ids.get(kind, max(objects[kind], default=first - 1) + 1))
                for kind, first in _FIRST_ID.items()
            },
        )

    @classmethod
    def open(cls, path: Path | None) -> State:
        """The state in ``path`` when it exists, else the seed (saved to ``path`` at once when given)."""
        if path is not None and path.exists():
            return cls.from_json(_read(path))
        state = cls.from_json(load_seed())
        state.save(path)
        return state

    def to_json(self) -> dict[str, Any]:
        return {
            "clients": {k: v for k, v in self.clients.items() if k != DEFAULT_CLIENT_ID},
            **{name: [self.objects[kind][i] for i in sorted(self.objects[kind])] for kind, name in COLLECTIONS.items()},
            "locked": {kind: sorted(i for k, i in self.locked if k == kind) for kind in LOCKABLE},
            "nextIds": dict(self.next_ids),
        }

    def save(self, path: Path | None) -> None:
        if path is not None:
            write_atomic(path, json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")

    def new_id(self, kind: str) -> int:
        new = self.next_ids[kind]
        self.next_ids[kind] = new + 1
        return new
