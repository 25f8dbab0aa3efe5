"""The sandbox's view of HTTP, free of sockets: a request, a response, and the error that becomes a response.

Keeping these plain values lets the routing be tested and reasoned about without ``http.server``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kamsync.sandbox.hostile import Trickle

__all__ = ["Fault", "Request", "RequestRecord", "Response", "json_response", "read_json_object", "text_response"]


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # percent-decoded, without the query string
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # names in lower case
    body: bytes

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    trickle: Trickle | None = None  # the trickle fault: send the body a byte at a time, recording progress


class Fault(Exception):
    """An error the sandbox answers as an HTTP error, with JSON body ``{"message": …}`` plus ``extra``.

    The store raises it too, so an edit made through the Python API fails the same way as one made over HTTP.
    """

    def __init__(self, status: int, message: str, *, headers: tuple[tuple[str, str], ...] = (), **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers
        self.extra = extra

    def response(self) -> Response:
        return json_response(self.status, {**self.extra, "message": self.message}, self.headers)


def json_response(status: int, payload: object, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """A JSON response; ``TypeError``/``ValueError`` for payloads JSON cannot carry (then 500)."""
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")
    return Response(status, body, (("Content-Type", "application/json;charset=UTF-8"), *headers))


def text_response(status: int, text: str) -> Response:
    """A plain-text response, as the API answers a simulation URL."""
    return Response(status, text.encode("utf-8"), (("Content-Type", "text/plain;charset=UTF-8"),))


def read_json_object(body: bytes, *, empty_ok: bool = False) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what was wrong with it."""
    if not body.strip():
        if empty_ok:
            return {}
        raise Fault(400, "The request body is empty: send a JSON object")
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Fault(400, f"The request body is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise Fault(400, f"The request body must be a JSON object, not {type(parsed).__name__}")
    return parsed


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One API request the sandbox received (admin routes are not recorded)."""

    method: str
    path: str
    query: dict[str, list[str]]
    client_id: str | None
    status: int
    time: float  # the sandbox clock's wall time (seconds since the epoch) when it was answered
