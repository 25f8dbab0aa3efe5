"""One request and its answer (or why none came), as ``-v`` reports them (pure): what was sent where, what came
back, how fast.

The path is shown with its query, decoded for reading, after hiding every secret in it; request bodies and
headers (the token request's form, the bearer token) are never part of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

import httpx

from kamsync.api.retry import Failure
from kamsync.api.scrub import scrub

__all__ = ["Exchange", "Lost", "shown_target"]


@dataclass(frozen=True, slots=True)
class Exchange:
    method: str
    target: str  # path and query, secrets hidden
    status: int | None  # None: no answer arrived (``outcome`` says why)
    outcome: str  # "HTTP 200", "timeout", "not sent", "connection lost"
    seconds: float

    @classmethod
    def of(
        cls, request: httpx.Request, status: int | None, failure: str | None, seconds: float, secrets: Iterable[str]
    ) -> Exchange:
        outcome = f"HTTP {status}" if status is not None else failure or "no answer"
        return cls(request.method, shown_target(request, secrets), status, outcome, seconds)


@dataclass(frozen=True, slots=True)
class Lost:
    """A send that got no answer: why, and httpx's words for it (scrubbed)."""

    failure: Failure
    problem: str


def shown_target(request: httpx.Request, secrets: Iterable[str]) -> str:
    """The request's path and query as they may be printed."""
    query = unquote(request.url.query.decode("ascii", "replace"))  # readable: filters are JSON
    return scrub(unquote(request.url.path) + (f"?{query}" if query else ""), secrets)
