"""The parsed manifest before validation: plain YAML values whose mappings and lists know their lines.

Both parses give these (the libyaml one directly, the round-trip one converted), so the validator is one
piece of code that never knows which parser read the file. Lines are 1-based; ``None`` where the parser gave none.
"""

from __future__ import annotations

from typing import Any

__all__ = ["YamlMap", "YamlSeq", "describe_value", "item_line", "key_line", "node_line"]


class YamlMap(dict[Any, Any]):
    """A YAML mapping, with the line it starts on and the line of each key written in it."""

    __slots__ = ("key_lines", "line")

    def __init__(self, line: int | None) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}  # keys a `<<:` merge brought in have none


class YamlSeq(list[Any]):
    """A YAML list, with the line it starts on and the line of each item."""

    __slots__ = ("item_lines", "line")

    def __init__(self, line: int | None) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


def key_line(node: YamlMap, key: object, default: int) -> int:
    return node.key_lines.get(key, default)


def node_line(node: object, default: int) -> int:
    line = node.line if isinstance(node, (YamlMap, YamlSeq)) else None
    return default if line is None else line


def item_line(seq: YamlSeq, index: int) -> int:
    return seq.item_lines[index]


def describe_value(value: object) -> str:
    """How messages name a parsed value: ``the string 'x'``, ``a list``, ``empty``."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        return f"the string {str(value)!r}" if value else "an empty string"
    if isinstance(value, int):
        return f"the number {int(value)}"
    if isinstance(value, float):
        return f"the number {float(value)}"
    if isinstance(value, YamlMap):
        return "a mapping"
    if isinstance(value, YamlSeq):
        return "a list"
    return f"a {type(value).__name__}"
