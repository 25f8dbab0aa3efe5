"""List queries as the Automation API reads them: ``filter``, ``sort``, ``page`` and ``perPage`` (pure).

Every malformed part is a 400 naming the problem, so that a client bug shows up here rather than as an
empty list that kamsync would read as "no such experiment".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kamsync.sandbox.wire import Fault

__all__ = [
    "MAX_PER_PAGE",
    "OPERATORS",
    "Condition",
    "SortKey",
    "matches",
    "parse_filter",
    "parse_page",
    "parse_sort",
    "select",
]

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200
_SERVER_MAXIMUM = -1  # perPage=-1 asks for MAX_PER_PAGE (the API reference says so)
_ONE_PARAMETER = {"LESS", "GREATER", "LESS_OR_EQUAL", "GREATER_OR_EQUAL"}
OPERATORS = frozenset({"EQUAL", "NOT_EQUAL", "LIKE", "BETWEEN", *_ONE_PARAMETER})
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    operator: str
    parameters: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool


def _json_list(raw: str, what: str) -> list[Any]:
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise Fault(400, f"Invalid {what} parameter: not JSON ({exc})") from None
    if not isinstance(parsed, list) or not all(isinstance(item, dict) for item in parsed):
        raise Fault(400, f"Invalid {what} parameter: expected a JSON array of objects")
    return parsed


def _known_field(item: Mapping[str, Any], what: str, fields: Collection[str]) -> str:
    name = item.get("field")
    if not isinstance(name, str):
        raise Fault(400, f"Invalid {what} parameter: each object needs a string 'field'")
    if name not in fields:
        raise Fault(400, f"Invalid {what} parameter: unknown field '{name}'")
    return name


def parse_filter(raw: str | None, fields: Collection[str]) -> tuple[Condition, ...]:
    if raw is None or not raw.strip():
        return ()
    conditions: list[Condition] = []
    for item in _json_list(raw, "filter"):
        name = _known_field(item, "filter", fields)
        operator = item.get("operator")
        if operator not in OPERATORS:
            raise Fault(
                400,
                f"Invalid filter parameter: unknown operator {operator!r} (use one of {sorted(OPERATORS)})",
            )
        params = item.get("parameters")
        if not isinstance(params, list) or not all(isinstance(p, _SCALARS) for p in params):
            raise Fault(400, f"Invalid filter parameter: 'parameters' of '{name}' must be an array of values")
        expected = 2 if operator == "BETWEEN" else 1 if operator in _ONE_PARAMETER else None
        if (expected is not None and len(params) != expected) or not params:
            count = expected or "at least 1"
            raise Fault(400, f"Invalid filter parameter: {operator} on '{name}' takes {count} parameter(s)")
        conditions.append(Condition(name, str(operator), tuple(params)))
    return tuple(conditions)


def parse_sort(raw: str | None, fields: Collection[str]) -> tuple[SortKey, ...]:
    if raw is None or not raw.strip():
        return ()
    keys: list[SortKey] = []
    for item in _json_list(raw, "sort"):
        name = _known_field(item, "sort", fields)
        direction = item.get("direction", "ASC")
        if direction not in ("ASC", "DESC"):
            raise Fault(400, f"Invalid sort parameter: direction of '{name}' must be ASC or DESC")
        keys.append(SortKey(name, direction == "DESC"))
    return tuple(keys)


def _int_param(raw: str | None, name: str, default: int) -> int:
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise Fault(400, f"Invalid {name} parameter: {raw!r} is not an integer") from None


def parse_page(page: str | None, per_page: str | None) -> tuple[int, int]:
    number = _int_param(page, "page", 1)
    size = _int_param(per_page, "perPage", DEFAULT_PER_PAGE)
    if number < 1:
        raise Fault(400, "Invalid page parameter: pages start at 1")
    if size == _SERVER_MAXIMUM:
        return number, MAX_PER_PAGE
    if not 1 <= size <= MAX_PER_PAGE:
        raise Fault(400, f"Invalid perPage parameter: must be between 1 and {MAX_PER_PAGE}, or -1 for the maximum")
    return number, size


def _number(value: object) -> float | None:
    # Booleans are ints to Python but not numbers to a JSON API.
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _text(value: object) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _compare(value: object, param: object) -> int | None:
    """-1, 0 or 1; ``None`` when the two cannot be ordered (a null on either side)."""
    if value is None or param is None:
        return 0 if value is param else None
    a, b = _number(value), _number(param)
    if a is None or b is None:
        a_text, b_text = _text(value), _text(param)
        return (a_text > b_text) - (a_text < b_text)
    return (a > b) - (a < b)


def _like(value: object, pattern: object) -> bool:
    if value is None or pattern is None:
        return False
    text, wanted = _text(value).lower(), _text(pattern).lower()
    if "%" not in wanted:
        return wanted in text
    regex = ".*".join(re.escape(part) for part in wanted.split("%"))
    return re.fullmatch(regex, text, re.DOTALL) is not None


def _scalar_matches(value: object, cond: Condition) -> bool:
    params = cond.parameters
    if cond.operator == "EQUAL":
        return any(_compare(value, p) == 0 for p in params)
    if cond.operator == "LIKE":
        return any(_like(value, p) for p in params)
    if cond.operator == "BETWEEN":
        low, high = _compare(value, params[0]), _compare(value, params[1])
        return low is not None and high is not None and low >= 0 and high <= 0
    order = _compare(value, params[0])
    if order is None:
        return False
    return {
        "LESS": order < 0,
        "GREATER": order > 0,
        "LESS_OR_EQUAL": order <= 0,
        "GREATER_OR_EQUAL": order >= 0,
    }[cond.operator]


def matches(item: Mapping[str, Any], cond: Condition) -> bool:
    value = item.get(cond.field)
    if cond.operator == "NOT_EQUAL":
        values = value if isinstance(value, list) else [value]
        return not any(_compare(v, p) == 0 for v in values for p in cond.parameters)
    if isinstance(value, list):  # e.g. an experiment's variation ids: match when any element does
        return any(_scalar_matches(v, cond) for v in value)
    if isinstance(value, dict):
        return False
    return _scalar_matches(value, cond)


def _sort_value(value: object) -> tuple[int, Any]:
    # Rank by kind first so that mixed values (null, numbers, text) never compare across types.
    if value is None:
        return (0, 0)
    number = _number(value) if not isinstance(value, str) else None
    if number is not None:
        return (1, number)
    if isinstance(value, str):
        return (2, value)
    return (3, json.dumps(value, sort_keys=True))


def _by(field: str) -> Callable[[Mapping[str, Any]], tuple[int, Any]]:
    return lambda item: _sort_value(item.get(field))


def select(
    items: Sequence[Mapping[str, Any]],
    conditions: Sequence[Condition],
    sort: Sequence[SortKey],
    page: int,
    per_page: int,
) -> list[Mapping[str, Any]]:
    """The page of ``items`` matching every condition, in ``sort`` order (ties, and the default, by id)."""
    chosen = [item for item in items if all(matches(item, c) for c in conditions)]
    chosen.sort(key=lambda item: _sort_value(item.get("id")))
    for key in reversed(sort):  # stable sorts applied last-key-first give a multi-key order
        chosen.sort(key=_by(key.field), reverse=key.descending)
    start = (page - 1) * per_page
    return chosen[start : start + per_page]
