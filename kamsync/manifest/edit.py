"""Edits to ``kamsync.yaml`` that keep the user's comments, key order, quoting and indentation (ruamel).

The editor only appends and renames; it never rewrites what it was not asked to touch.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.util import load_yaml_guess_indent

from kamsync.core.errors import ManifestError, UsageError
from kamsync.manifest.parse import (
    MANIFEST_VERSION,
    SCHEMA_COMMENT,
    display_path,
    read_manifest_text,
)
from kamsync.manifest.roundtrip import parse_yaml_text, round_trip_yaml
from kamsync.state.files import write_atomic

_KINDS = {"experiments": "experiment", "personalizations": "personalization"}  # list key -> what it lists

# What kamsync writes when it creates a manifest: the layout of the documented example.
_NEW_INDENT = (2, 4, 2)  # mapping, sequence, dash offset


class ManifestEditor:
    """Load once, apply edits, ``save()`` atomically. Ids are matched as integers."""

    def __init__(self, path: Path, data: CommentedMap, indent: tuple[int, int, int], *, new: bool) -> None:
        self.path = path
        self._changed = new  # a new manifest is written even without edits
        self._data = data
        self._indent = indent
        self._owners: dict[int, str] | None = None  # variation id -> "experiment 1": built once, kept by the edits

    @classmethod
    def open(cls, path: Path) -> ManifestEditor:
        shown = display_path(path)
        text = read_manifest_text(path, shown)
        data = parse_yaml_text(text, shown)  # refuses bad YAML with file:line before guessing indentation
        if not isinstance(data, CommentedMap):
            raise ManifestError(shown, 1, "the manifest must be a mapping with `version:` and `experiments:`")
        return cls(path, data, _guess_indent(text), new=False)

    @classmethod
    def create(cls, path: Path) -> ManifestEditor:
        if path.exists():
            raise UsageError(f"{display_path(path)} already exists; edit it instead of creating a new one")
        text = f"{SCHEMA_COMMENT}\nversion: {MANIFEST_VERSION}\nexperiments: []\n"
        data = parse_yaml_text(text, display_path(path))
        assert isinstance(data, CommentedMap)
        return cls(path, data, _NEW_INDENT, new=True)

    # --- edits ---------------------------------------------------------------------------------------------

    def add_experiment(
        self, experiment_id: int, dir: str, variations: Sequence[tuple[int, str, str]], *, key: str = "experiments"
    ) -> None:
        """Append an experiment (or, with ``key="personalizations"``, a personalization) with its variations, each
        given as ``(id, name, dir)``."""
        if self._find_experiment(experiment_id, key) is not None:
            raise UsageError(f"{_KINDS[key]} {experiment_id} is already in {display_path(self.path)}")
        for variation_id, _, _ in variations:
            self._refuse_known_variation(variation_id)
        entry = CommentedMap()
        entry["id"] = experiment_id
        entry["dir"] = dir
        if variations:
            entry["variations"] = _block_seq([_variation(v_id, name, v_dir) for v_id, name, v_dir in variations])
        self._experiments(key).append(entry)
        for variation_id, _, _ in variations:
            self._variation_owners()[variation_id] = f"{_KINDS[key]} {experiment_id}"
        self._changed = True

    def add_personalization(
        self, personalization_id: int, dir: str, variations: Sequence[tuple[int, str, str]]
    ) -> None:
        """Append a personalization with its variations, each given as ``(id, name, dir)``."""
        self.add_experiment(personalization_id, dir, variations, key="personalizations")

    def add_variation(
        self, experiment_id: int, variation_id: int, name: str, dir: str, *, key: str = "experiments"
    ) -> None:
        experiment = self._require_experiment(experiment_id, key)
        self._refuse_known_variation(variation_id)
        seq = experiment.get("variations")
        if not isinstance(seq, CommentedSeq):
            seq = _block_seq([])
            experiment["variations"] = seq
        elif not seq:
            seq.fa.set_block_style()  # `variations: []` would otherwise grow as a flow list
        seq.append(_variation(variation_id, name, dir))
        self._variation_owners()[variation_id] = f"experiment {experiment_id}"
        self._changed = True

    def set_variation_name(
        self,
        experiment_id: int,
        variation_id: int,
        name: str,
        keep_dir: str | None = None,
        *,
        key: str = "experiments",
    ) -> None:
        """Record a new name. ``keep_dir`` pins the variation's current folder first when the entry has no
        ``dir:`` (its folder came from the old name), so a rename never moves the mapping."""
        experiment = self._require_experiment(experiment_id, key)
        seq = experiment.get("variations")
        for item in seq if isinstance(seq, CommentedSeq) else ():
            if isinstance(item, CommentedMap) and _same_id(item.get("id"), variation_id):
                if keep_dir is not None and "dir" not in item and item.get("name") != name:
                    item["dir"] = keep_dir
                    self._changed = True
                if item.get("name") != name:
                    if "name" in item:
                        item["name"] = name
                    else:
                        item.insert(1, "name", name)  # after `id:`, where a person would write it
                    self._changed = True
                return
        raise UsageError(
            f"variation {variation_id} of {_KINDS[key]} {experiment_id} is not in {display_path(self.path)}"
        )

    def set_new_variation_id(self, experiment_id: int, name: str, variation_id: int) -> None:
        """Give the entry named ``name`` without an id (a variation kamsync created) its id, first in the entry."""
        self._refuse_known_variation(variation_id)
        seq = self._require_experiment(experiment_id).get("variations")
        for item in seq if isinstance(seq, CommentedSeq) else ():
            if isinstance(item, CommentedMap) and "id" not in item and item.get("name") == name:
                item.insert(0, "id", variation_id)
                self._changed = True
                return
        raise UsageError(
            f"experiment {experiment_id} in {display_path(self.path)} has no new variation named {name!r} any more"
        )

    def text(self) -> str:
        """The manifest as ``save()`` would write it."""
        yaml = round_trip_yaml()
        mapping, sequence, offset = self._indent
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        out = io.StringIO()
        yaml.dump(self._data, out)
        return out.getvalue()

    def save(self) -> None:
        """Write the edits atomically; a manifest that was opened and not edited is left as it is."""
        if self._changed:
            write_atomic(self.path, self.text())
            self._changed = False

    # --- helpers -------------------------------------------------------------------------------------------

    def _experiments(self, key: str = "experiments") -> CommentedSeq:
        seq = self._data.get(key)
        if not isinstance(seq, CommentedSeq):
            if seq is not None:
                raise ManifestError(
                    display_path(self.path),
                    int(self._data.lc.key(key)[0]) + 1,
                    f"'{key}' must be a list; fix it before kamsync can add to it",
                )
            seq = CommentedSeq()
            self._data[key] = seq
        if not seq:
            seq.fa.set_block_style()
        return seq

    def _find_experiment(self, experiment_id: int, key: str = "experiments") -> CommentedMap | None:
        seq = self._data.get(key)
        for item in seq if isinstance(seq, CommentedSeq) else ():
            if isinstance(item, CommentedMap) and _same_id(item.get("id"), experiment_id):
                return item
        return None

    def _require_experiment(self, experiment_id: int, key: str = "experiments") -> CommentedMap:
        found = self._find_experiment(experiment_id, key)
        if found is None:
            raise UsageError(f"{_KINDS[key]} {experiment_id} is not in {display_path(self.path)}")
        return found

    def _variation_owners(self) -> dict[int, str]:
        """Every variation the manifest maps, and what it is mapped under (one pass, however many are added)."""
        if self._owners is None:
            self._owners = {}
            for key, kind in _KINDS.items():
                entries = self._data.get(key)
                for experiment in entries if isinstance(entries, CommentedSeq) else ():
                    seq = experiment.get("variations") if isinstance(experiment, CommentedMap) else None
                    for item in seq if isinstance(seq, CommentedSeq) else ():
                        ident = item.get("id") if isinstance(item, CommentedMap) else None
                        if isinstance(ident, int) and not isinstance(ident, bool):
                            self._owners.setdefault(int(ident), f"{kind} {experiment.get('id')}")
        return self._owners

    def _refuse_known_variation(self, variation_id: int) -> None:
        owner = self._variation_owners().get(variation_id)
        if owner is not None:
            raise UsageError(f"variation {variation_id} is already in {display_path(self.path)} ({owner})")


def _same_id(value: Any, wanted: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and int(value) == wanted


def _variation(variation_id: int, name: str, dir: str) -> CommentedMap:
    entry = CommentedMap()
    entry["id"] = variation_id
    if name:
        entry["name"] = name
    entry["dir"] = dir
    return entry


def _block_seq(items: list[CommentedMap]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_block_style()
    return seq


def _guess_indent(text: str) -> tuple[int, int, int]:
    """The user's indentation (mapping, sequence, dash offset), so that saving does not re-indent the file."""
    _, indent, dash_offset = load_yaml_guess_indent(text)
    if indent is None:
        return _NEW_INDENT
    if dash_offset is None:  # no block list yet: add them with the dash at the mapping's indentation
        return (indent, indent + 2, indent)
    # ruamel reports where a list item's content starts (indent) and where its dash is (dash_offset).
    mapping = indent - dash_offset if indent > dash_offset else indent
    return (mapping, indent, dash_offset)
