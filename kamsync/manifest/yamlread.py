"""Reading the manifest's YAML: the parse every command uses (libyaml, with lines), and the shape every parse
enforces, judged from the parse events before anything is built from them. The round-trip parse (ruamel),
for edits and for explaining what this one will not vouch for, is ``roundtrip``.

A YAML text of one kilobyte can stand for a billion nodes (aliases of aliases), nest deeper than any parser's
recursion, or ask for arbitrary types by tag. None of that has a place in ``kamsync.yaml``, so every parse —
the round-trip one (ruamel) and the fast one (libyaml) — shows each event to a ``ShapeGuard`` as it is
read, and the guard refuses the text at the first event past a limit, with its line: the cost of a refusal
is bounded by the limits, not by what the text would expand to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from kamsync.core.errors import ManifestError
from kamsync.manifest.nodes import YamlMap, YamlSeq

__all__ = ["MAX_ALIAS_NODES", "MAX_DEPTH", "ShapeGuard", "Undecided", "load_nodes"]

# A manifest is at most six levels deep (top, experiments, an experiment, variations, a variation, a value).
MAX_DEPTH = 32
# Nodes that aliases bring in, summed over every alias as if it were written out. Without aliases it is 0
# however large the manifest; the alias bomb of the issue brings in a million.
MAX_ALIAS_NODES = 10_000

_STANDARD_TAGS = "tag:yaml.org,2002:"  # what `!!` stands for
_NODE_STARTS = ("SequenceStartEvent", "MappingStartEvent")
_NODE_ENDS = ("SequenceEndEvent", "MappingEndEvent")


@dataclass(slots=True)
class _Open:
    anchor: str | None
    nodes: int = 1  # this collection and everything inside it so far, aliases counted expanded


@dataclass(slots=True)
class ShapeGuard:
    """Sees the parse events of one document in order (PyYAML's or ruamel's: same names and fields) and raises
    ``ManifestError`` at the first tag, the first node nested deeper than ``MAX_DEPTH``, the first alias to a
    node that contains it, and the first alias that takes the expanded size past ``MAX_ALIAS_NODES``."""

    shown: str
    open: list[_Open] = field(default_factory=list)
    anchors: dict[str, int] = field(default_factory=dict)  # anchor -> nodes of the node it names, expanded
    alias_nodes: int = 0

    def see(self, event: object) -> None:
        kind = type(event).__name__
        if kind == "AliasEvent":
            self._alias(event)
        elif kind == "ScalarEvent":
            self._refuse_tag(event)
            self._add(_anchor(event), 1)
        elif kind in _NODE_STARTS:
            self._refuse_tag(event)
            if len(self.open) >= MAX_DEPTH:
                raise self._fail(
                    event,
                    f"the manifest nests deeper than {MAX_DEPTH} levels; a manifest needs six at most, "
                    f"flatten it (is this the file you meant?)",
                )
            self.open.append(_Open(_anchor(event)))
        elif kind in _NODE_ENDS and self.open:
            closed = self.open.pop()
            self._add(closed.anchor, closed.nodes)

    def _add(self, anchor: str | None, nodes: int) -> None:
        if anchor is not None:
            self.anchors[anchor] = nodes
        if self.open:
            self.open[-1].nodes += nodes

    def _alias(self, event: object) -> None:
        name = _anchor(event)
        if name is not None and any(o.anchor == name for o in self.open):
            raise self._fail(
                event,
                f"alias *{name} refers to a node that contains it (a recursive structure); write the value out",
            )
        nodes = self.anchors.get(name, 1) if name is not None else 1  # an undefined one: the parser says so
        self.alias_nodes += nodes
        if self.alias_nodes > MAX_ALIAS_NODES:
            raise self._fail(
                event,
                f"aliases expand the manifest by more than {MAX_ALIAS_NODES:,} nodes (at *{name}); kamsync "
                f"refuses such a file (an alias bomb?): write the values out instead of aliasing them",
            )
        self._add(None, nodes)

    def _refuse_tag(self, event: object) -> None:
        tag = getattr(event, "tag", None)
        if tag is not None:
            shown = "!!" + tag.removeprefix(_STANDARD_TAGS) if tag.startswith(_STANDARD_TAGS) else tag
            raise self._fail(event, f"YAML tag {shown!r} is not allowed in the manifest; remove it (plain values only)")

    def _fail(self, event: object, problem: str) -> ManifestError:
        mark = getattr(event, "start_mark", None)
        line = getattr(mark, "line", None)
        return ManifestError(self.shown, line + 1 if isinstance(line, int) else None, problem)


def _anchor(event: object) -> str | None:
    anchor = getattr(event, "anchor", None)
    return None if anchor is None else str(anchor)


# --- the libyaml parse ------------------------------------------------------------------------------------


class Undecided(Exception):
    """The libyaml parse does not vouch for this text (a syntax error, a duplicate key, an alias, a scalar
    YAML 1.1 and 1.2 could read differently, …): the round-trip parse must decide, and explain."""


# Plain scalars read the same by YAML 1.1 (libyaml's resolver) and 1.2 (the round-trip parse): anything else
# that could be a number, a date, a boolean, a null, a merge or a value key is left to the round-trip parse.
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_NOT_PLAIN_TEXT = frozenset("0123456789+-.~=<")
_WORDS = frozenset(("true", "false", "null", "yes", "no", "on", "off", "y", "n"))
# Line breaks in YAML 1.1 only: lines could be counted differently.
_OLD_BREAKS = re.compile("[\x85\u2028\u2029]")

_MISSING = object()


def _plain(text: str) -> Any:
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if _INT.fullmatch(text):
        return int(text)
    if text[0] in _NOT_PLAIN_TEXT or text.casefold() in _WORDS:
        raise Undecided(text)
    return text


def load_nodes(text: str, shown: str) -> Any:
    """``text`` read by libyaml into ``YamlMap``, ``YamlSeq`` and plain values, every mapping, key and item
    with its line; ``Undecided`` when libyaml is missing or the text holds anything the round-trip parse must
    judge. A shape the ``ShapeGuard`` refuses is a ``ManifestError`` at once, before anything is built."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None or _OLD_BREAKS.search(text):
        raise Undecided("libyaml is missing" if loader is None else "YAML 1.1 line breaks")
    guard = ShapeGuard(shown)
    build = _Builder()
    try:
        for event in yaml.parse(text, Loader=loader):  # libyaml's events: nothing constructed yet
            guard.see(event)
            build.see(event)
    except yaml.YAMLError as error:
        raise Undecided(str(error)) from None
    if build.documents != 1:
        raise Undecided("not one document")
    return build.root


class _Builder:
    """Builds the document from its events, refusing (``Undecided``) what the round-trip parse must judge."""

    __slots__ = ("documents", "keys", "root", "stack")

    def __init__(self) -> None:
        self.documents = 0
        self.root: Any = None
        self.stack: list[YamlMap | YamlSeq] = []
        self.keys: list[Any] = []  # per open mapping: the key waiting for its value, or _MISSING

    def see(self, event: Any) -> None:
        kind = type(event)
        if kind is yaml.ScalarEvent:
            self.add(event.value if event.style else _plain(event.value), event.start_mark.line + 1)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            line = event.start_mark.line + 1
            node: YamlMap | YamlSeq = YamlMap(line) if kind is yaml.MappingStartEvent else YamlSeq(line)
            self.add(node, line)
            self.stack.append(node)
            self.keys.append(_MISSING)
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            self.stack.pop()
            self.keys.pop()
        elif kind is yaml.DocumentStartEvent:
            self.documents += 1
            if event.version is not None or event.tags:  # `%YAML 1.1` would change how scalars read
                raise Undecided("a directive")
        elif kind is yaml.AliasEvent:
            raise Undecided("an alias")

    def add(self, value: Any, line: int) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if isinstance(top, YamlSeq):
            top.append(value)
            top.item_lines.append(line)
            return
        key = self.keys[-1]
        if key is _MISSING:
            if isinstance(value, (YamlMap, YamlSeq)) or value in top or value == "<<":
                raise Undecided("a complex, duplicate or merge key")
            top.key_lines[value] = line
            self.keys[-1] = value
        else:
            top[key] = value
            self.keys[-1] = _MISSING
