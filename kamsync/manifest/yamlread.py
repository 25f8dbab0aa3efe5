"""Reading the manifest's YAML: the round-trip parse (ruamel, with lines), the fast one (libyaml), and the
shape every parse enforces, judged from the parse events before anything is built from them.

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
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from kamsync.core.errors import ManifestError

__all__ = ["MAX_ALIAS_NODES", "MAX_DEPTH", "ShapeGuard", "fast_load", "parse_yaml_text", "round_trip_yaml"]

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


# --- the two parses ---------------------------------------------------------------------------------------


def round_trip_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a user's long lines
    return yaml


def parse_yaml_text(text: str, shown: str) -> Any:
    """Round-trip load ``text``; a YAML error, or a shape ``ShapeGuard`` refuses, becomes a ``ManifestError``
    on the line the parser points at."""
    try:
        return _guarded(round_trip_yaml(), ShapeGuard(shown)).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        last_line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
        line = min(mark.line + 1, last_line) if mark is not None else None  # "end of stream" is past the end
        problem = str(exc.problem or exc.context or "invalid YAML")
        duplicate = re.match(r'found duplicate key "(.*)" with value', problem)
        if duplicate:
            raise ManifestError(
                shown, line, f"duplicate key '{duplicate[1]}'; a key may appear once per mapping, remove one"
            ) from None
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        raise ManifestError(
            shown,
            line,
            f"YAML syntax error: {problem}{context}; fix the syntax (check indentation and quotes)",
        ) from None
    except ReaderError as exc:
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise ManifestError(shown, line, f"character {exc.character!r} is not allowed in YAML; remove it") from None
    except YAMLError as exc:
        raise ManifestError(shown, None, f"invalid YAML: {exc}") from None


def _guarded(loader: YAML, guard: ShapeGuard) -> YAML:
    """``loader`` with every parse event shown to ``guard`` as the composer takes it, before it builds a node."""

    class _GuardedParser(loader.Parser):  # type: ignore[misc, name-defined]
        def get_event(self) -> Any:
            event = super().get_event()
            guard.see(event)
            return event

    loader.Parser = _GuardedParser
    return loader


def fast_load(text: str, shown: str) -> Any:
    """``text`` loaded by libyaml into the round-trip types the validator takes (without line numbers); None
    when libyaml is missing or the text has anything the full parse must judge (a duplicate key, an error).
    A shape ``ShapeGuard`` refuses is a ``ManifestError`` at once: libyaml reads anchors, aliases, tags and
    nesting as the full parse does, and nothing is built before the guard has seen every event."""
    loader_base = getattr(yaml, "CSafeLoader", None)
    if loader_base is None:
        return None

    class _Strict(loader_base):  # type: ignore[misc, valid-type]
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            keys = [self.construct_object(k, deep=True) for k, _ in node.value]
            if len(keys) != len(set(map(repr, keys))):
                raise ValueError("duplicate key")
            return super().construct_mapping(node, deep=deep)

    # libyaml reads YAML 1.1, the full parse 1.2: wherever they could disagree on a scalar's type or value
    # (010, 0o10, 1e3, yes/no, …), give up and let the full parse decide.
    def agreed(kind: str, pattern: str) -> None:
        base = loader_base.yaml_constructors[f"tag:yaml.org,2002:{kind}"]

        def construct(loader: Any, node: Any) -> Any:
            if not node.style and not re.fullmatch(pattern, node.value):  # plain: None, or "" from libyaml
                raise ValueError(f"{node.value!r} may read differently in YAML 1.2")
            return base(loader, node)

        _Strict.add_constructor(f"tag:yaml.org,2002:{kind}", construct)

    agreed("int", r"[-+]?(0|[1-9][0-9]*)")
    agreed("float", r"[-+]?[0-9]+\.[0-9]+")
    agreed("bool", r"true|false|True|False|TRUE|FALSE")
    agreed("str", r"(?![-+]?(\.[0-9]|[0-9])|0[ox]|\.(inf|nan|Inf|NaN|INF|NAN)$).*")

    guard = ShapeGuard(shown)
    try:
        for event in yaml.parse(text, Loader=loader_base):  # libyaml's events: cheap, nothing constructed
            guard.see(event)
    except yaml.YAMLError:
        return None  # the full parse explains the syntax error
    try:
        return _round_trip_types(yaml.load(text, Loader=_Strict))  # _Strict is a safe loader
    except Exception:  # anything unusual: the full parse decides and explains
        return None


def _round_trip_types(value: Any) -> Any:
    """Plain YAML values as round-trip ones, every position "line 1" (the fast path has no positions)."""
    if isinstance(value, dict):
        mapping = CommentedMap()
        mapping.lc.line, mapping.lc.col = 0, 0
        for key, item in value.items():
            mapping[key] = _round_trip_types(item)
            mapping.lc.add_kv_line_col(key, [0, 0, 0, 0])
        return mapping
    if isinstance(value, list):
        seq = CommentedSeq(_round_trip_types(item) for item in value)
        seq.lc.line, seq.lc.col = 0, 0
        for index in range(len(seq)):
            seq.lc.add_kv_line_col(index, [0, 0])
        return seq
    return value
