"""What the fault actions of a misbehaving (not merely flaky) server need: fresh pages and trickled answers.

``fresh-pages`` answers a list request with a full page of objects never seen before, whatever its filter and
page: a server ignoring the id filter, which a client paging "until a short page" would follow for ever.
``trickle=SECONDS`` sends the answer one byte every SECONDS seconds: each read of the client gets a byte in time,
so only a deadline on the whole request ends it. Every trickled answer is recorded with the bytes sent so far
of how many, so a test can tell the client gave up while the server was still sending.
``abridged=FIELD+FIELD`` cuts every object of a list answer down to those fields: a list that is a summary of
what a single-object read returns, so whoever writes a whole object back from it loses the rest.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Collection

from kamsync.sandbox.wire import Response, json_response

__all__ = ["FRESH_IDS_FROM", "FreshPages", "Trickle", "Trickles", "abridged", "page_size"]

# Far above the seeded ids, so a fresh object never collides with a real one.
FRESH_IDS_FROM = 900_000_001
_MAX_PER_PAGE = 200
_DEFAULT_PER_PAGE = 20


def page_size(raw: str | None) -> int:
    """The page a list request asked for, as the API reads ``perPage`` (-1: the maximum; bad: the default)."""
    try:
        size = int(raw) if raw is not None else _DEFAULT_PER_PAGE
    except ValueError:
        return _DEFAULT_PER_PAGE
    if size == -1:
        return _MAX_PER_PAGE
    return size if 1 <= size <= _MAX_PER_PAGE else _DEFAULT_PER_PAGE


def abridged(response: Response, keep: Collection[str]) -> Response:
    """``response`` with each object of its list cut down to ``keep``; any other answer as it was."""
    try:
        items = json.loads(response.body)
    except ValueError:
        return response
    if not isinstance(items, list):
        return response
    cut = [{k: v for k, v in item.items() if k in keep} if isinstance(item, dict) else item for item in items]
    return json_response(response.status, cut, response.headers)


class FreshPages:
    """Hands out full pages of objects whose ids were never handed out before. Thread-safe."""

    def __init__(self) -> None:
        self._ids = itertools.count(FRESH_IDS_FROM)
        self._lock = threading.Lock()

    def page(self, per_page: str | None) -> Response:
        with self._lock:
            ids = [next(self._ids) for _ in range(page_size(per_page))]
        return json_response(200, [{"id": i, "name": f"Fresh object {i}"} for i in ids])


class Trickle:
    """One answer being sent a byte at a time: how many bytes went out, of how many, and why it ended."""

    def __init__(self, request: int, interval: float, total: int) -> None:
        self.request = request
        self.interval = interval
        self.total = total
        self._sent = 0
        self._ended: str | None = None  # "complete", "client gone", "sandbox stopped"; None while sending
        self._done = threading.Event()
        self._lock = threading.Lock()

    def sent_one(self) -> None:
        with self._lock:
            self._sent += 1

    def end(self, why: str) -> None:
        with self._lock:
            self._ended = self._ended or why
        self._done.set()

    def wait_ended(self, timeout: float) -> bool:
        """Whether the answer stopped being sent (for whatever reason) within ``timeout`` seconds."""
        return self._done.wait(timeout)

    def as_dict(self) -> dict[str, object]:
        with self._lock:
            return {
                "request": self.request,
                "interval": self.interval,
                "total": self.total,
                "sent": self._sent,
                "ended": self._ended,
            }


class Trickles:
    """Every trickled answer since the last ``clear``, oldest first. Thread-safe."""

    def __init__(self) -> None:
        self._all: list[Trickle] = []
        self._lock = threading.Lock()

    def start(self, request: int, interval: float, total: int) -> Trickle:
        trickle = Trickle(request, interval, total)
        with self._lock:
            self._all.append(trickle)
        return trickle

    def clear(self) -> None:
        with self._lock:
            self._all.clear()

    def __getitem__(self, index: int) -> Trickle:
        with self._lock:
            return self._all[index]

    def snapshot(self) -> list[dict[str, object]]:
        with self._lock:
            return [t.as_dict() for t in self._all]
