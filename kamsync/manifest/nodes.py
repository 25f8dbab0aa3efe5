"""The parsed manifest before validation: plain YAML values whose mappings and lists know their lines.

Both parses give these (the libyaml one directly, the round-trip one converted), so the validator is one
piece of code that never knows which parser read the file. Lines are 1-based; ``None`` where the parser gave none.
"""

from __future__ import annotations

from typing import Any

__all__ = ["YamlMap", "YamlSeq", "item_line", "key_line", "node_line"]


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
