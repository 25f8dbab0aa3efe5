"""The indented JSON writer is json.dumps(indent=2), byte for byte, on every kind of value."""

from __future__ import annotations

import enum
import json

import pytest

from kamsync.ui.jsontext import dumps_indented


class Kind(enum.Enum):
    A = "a"


class Text(str, enum.Enum):
    X = "x"


class Number(enum.IntEnum):
    ONE = 1


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        (),
        None,
        True,
        0,
        -12,
        1.5,
        float("nan"),
        float("-inf"),
        1e300,
        "",
        'quote " backslash \\ newline \n tab \t nul \x00 esc \x1b',
        "é ü 中 \u202e \ud800 😀",
        {"entries": [{"a": 1, "b": None, "c": [], "d": {}, "e": [1, [2, [3]], {"f": False}]}], "g": ()},
        [[[]], [{}], [{"x": [True, 2.25, "s"]}]],
        {"enum-like": [Text.X, Number.ONE, True, False]},
        {"big": 10**40, "neg": -(2**70)},
    ],
)
def test_it_writes_what_json_dumps_writes(value: object) -> None:
    assert dumps_indented(value) == json.dumps(value, indent=2)


@pytest.mark.parametrize("value", [{1: "int key", None: "none key", 2.5: "float key"}, {"nested": {True: 1}}])
def test_keys_json_converts_are_converted_as_json_does(value: object) -> None:
    assert dumps_indented(value) == json.dumps(value, indent=2)


def test_what_json_refuses_is_refused_the_same_way() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps_indented({"kind": Kind.A})
    circular: list[object] = []
    circular.append(circular)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps_indented(circular)
