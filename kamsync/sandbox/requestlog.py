"""The sandbox's request log (memory only): what the tests count, kept under the store's lock."""

from __future__ import annotations

import threading

from kamsync.sandbox.wire import RequestRecord

__all__ = ["RequestLog"]


class RequestLog:
    """Mixed into the store: ``_lock`` and ``_requests`` are the store's."""

    _lock: threading.RLock
    _requests: list[RequestRecord]

    def record(self, entry: RequestRecord) -> None:
        with self._lock:
            self._requests.append(entry)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
