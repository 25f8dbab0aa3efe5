"""Pure building of list queries (filter, sort, optional fields, pages) and whether to fetch another page."""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Mapping, Sequence

from kamsync.api.payloads import as_int
from kamsync.core.errors import ApiError

__all__ = [
    "MAX_FILTER_VALUES",
    "PER_PAGE",
    "chunked",
    "equal_filter",
    "filter_ignored_error",
    "item_id",
    "list_params",
    "matches_filters",
    "needs_next_page",
    "page_limit",
    "unfiltered_page_error",
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


# -- a server ignoring the id filter ---------------------------------------------------------------------------


def page_limit(expect_ids: Collection[int] | None, per_page: int) -> int | None:
    """The most pages a list filtered by ``expect_ids`` may take: the pages those ids can fill, plus one (for a
    server that pads or repeats). None without expected ids: nothing bounds how many objects match."""
    if expect_ids is None:
        return None
    return math.ceil(len(expect_ids) / per_page) + 1


def filter_ignored_error(subject: str, pages: int, per_page: int, expected: int) -> ApiError:
    """A list kept sending full pages of objects beyond what its id filter can match: stop before the budget goes."""
    fill = math.ceil(expected / per_page)
    return ApiError(
        f"Kameleoon kept sending full pages for {subject}: {pages} pages of {per_page} objects for {expected} "
        f"ids, which fit in {fill} page{'s' if fill != 1 else ''}; it seems to ignore the id filter, so kamsync "
        "stopped rather than spend the rate budget paging on (nothing was written). Check that the API URL "
        "(--api-url, KAMELEOON_API_URL) is Kameleoon's Automation API, and try again later",
        subject=subject,
    )


def matches_filters(item: Mapping[str, object], filters: Sequence[Mapping[str, object]]) -> bool:
    """Whether ``item`` satisfies every EQUAL filter (ids compare as numbers); other operators pass unchecked."""
    for condition in filters:
        field, wanted = condition.get("field"), condition.get("parameters")
        if condition.get("operator") != "EQUAL" or not isinstance(field, str) or not isinstance(wanted, list):
            continue
        value = item.get(field)
        ident = as_int(value)
        if value not in wanted and (ident is None or ident not in {as_int(w) for w in wanted}):
            return False
    return True


def unfiltered_page_error(subject: str, page: int, per_page: int) -> ApiError:
    """A full page holding nothing the filter asks for: the server ignores it, and the pages would never end."""
    return ApiError(
        f"Kameleoon answered page {page} of {subject} with {per_page} objects, none of which its filter asks "
        "for; it seems to ignore the filter, so kamsync stopped rather than spend the rate budget paging on "
        "(nothing was written). Check that the API URL (--api-url, KAMELEOON_API_URL) is Kameleoon's "
        "Automation API, and try again later",
        subject=subject,
    )
