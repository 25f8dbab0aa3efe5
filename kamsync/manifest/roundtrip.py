"""The round-trip parse (ruamel): what edits load, and what explains a manifest the libyaml parse will not
vouch for, with ruamel's messages and lines. Every event goes through the ``ShapeGuard`` first."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from kamsync.core.errors import ManifestError
from kamsync.manifest.nodes import YamlMap, YamlSeq
from kamsync.manifest.yamlread import ShapeGuard

__all__ = ["parse_nodes", "parse_yaml_text", "round_trip_yaml"]


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


def parse_nodes(text: str, shown: str) -> Any:
    """``parse_yaml_text`` as the validator takes it: ``YamlMap`` and ``YamlSeq`` with their lines."""
    return _nodes(parse_yaml_text(text, shown))


def _nodes(value: Any) -> Any:
    if isinstance(value, CommentedMap):
        mapping = YamlMap(_line(value))
        for key, item in value.items():
            mapping[key] = _nodes(item)
            with contextlib.suppress(KeyError, AttributeError, TypeError):  # keys a `<<:` merge brought in
                mapping.key_lines[key] = int(value.lc.key(key)[0]) + 1  # have no position
        return mapping
    if isinstance(value, CommentedSeq):
        seq = YamlSeq(_line(value))
        for index, item in enumerate(value):
            seq.append(_nodes(item))
            seq.item_lines.append(int(value.lc.item(index)[0]) + 1)
        return seq
    return value


def _line(node: CommentedMap | CommentedSeq) -> int | None:
    lc = getattr(node, "lc", None)
    return int(lc.line) + 1 if lc is not None and lc.line is not None else None


def _guarded(loader: YAML, guard: ShapeGuard) -> YAML:
    """``loader`` with every parse event shown to ``guard`` as the composer takes it, before it builds a node."""

    class _GuardedParser(loader.Parser):  # type: ignore[misc, name-defined]
        def get_event(self) -> Any:
            event = super().get_event()
            guard.see(event)
            return event

    loader.Parser = _GuardedParser
    return loader
