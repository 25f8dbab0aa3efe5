"""Pure building of list queries (filter, sort, optional fields, pages) and whether to fetch another page."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence

from kamsync.api.payloads import as_int

__all__ = [
    "MAX_FILTER_VALUES",
    "PER_PAGE",
    "chunked",
    "equal_filter",
    "item_id",
    "list_params",
    "needs_next_page",
]

PER_PAGE = 200  # the API's maximum page size: fewer requests against a tight rate limit
MAX_FILTER_VALUES = 200  # one filter chunk fills one page, so a chunk of ids costs one request


def equal_filter(field: str, values: Iterable[int | str]) -> dict[str, object]:
    """``field`` EQUAL any of ``values`` (the API matches any parameter of an EQUAL filter)."""
    return {"field": field, "operator": "EQUAL", "parameters": list(values)}


def chunked(ids: Iterable[int], size: int = MAX_FILTER_VALUES) -> list[tuple[int, ...]]:
    """Distinct ``ids`` ascending (so requests are stable), in groups of at most ``size``."""
    ordered = sorted(set(ids))
    return [tuple(ordered[i : i + size]) for i in range(0, len(ordered), size)]


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def list_params(
    *,
    page: int,
    per_page: int = PER_PAGE,
    filters: Sequence[Mapping[str, object]] = (),
    optional_fields: Sequence[str] = (),
    sort: Sequence[Mapping[str, str]] = (),
) -> dict[str, str]:
    """Query parameters of one list page (``page`` is 1-based); httpx URL-encodes the JSON values."""
    params = {"page": str(page), "perPage": str(per_page)}
    if filters:
        params["filter"] = _compact([dict(f) for f in filters])
    if sort:
        params["sort"] = _compact([dict(s) for s in sort])
    if optional_fields:
        params["optionalFields"] = ",".join(optional_fields)
    return params


def item_id(item: Mapping[str, object]) -> int | None:
    """The ``id`` of an API object; ids arrive as ints or numeric strings."""
    return as_int(item.get("id"))


def needs_next_page(
    page_items: Sequence[Mapping[str, object]],
    *,
    per_page: int,
    new_ids: int,
    seen_ids: Collection[int],
    expect_ids: Collection[int] | None,
) -> bool:
    """Whether to request the page after this one.

    Stop on a short page (no total is documented), once every expected id has arrived (so 200 ids cost
    one request), or when a full page brought nothing new (a server ignoring ``page`` would loop forever).
    """
    if len(page_items) < per_page:
        return False
    if expect_ids is not None and all(i in seen_ids for i in expect_ids):
        return False
    return new_ids > 0
