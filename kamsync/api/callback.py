"""The login's callback server: listens on the loopback redirect URI, answers the browser's visits to its
path, and hands the caller the query of the one answering this login (it carries the ``state`` kamsync sent). It
serves from a thread, so the browser may be opened (and waited for) meanwhile; it only listens on loopback, and
stops after that answer or the timeout.

Any other request to the path (without that ``state``: a page probing localhost, a stray or stale browser request,
a forged answer) is answered 400 and the wait goes on, since the real answer may still come; the caller is told of
each one.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from kamsync.api.login import Redirect, answers_this_login, code_from_callback
from kamsync.core.errors import KamsyncError, UsageError

__all__ = ["CallbackServer"]

_DONE = b"<!doctype html><title>kamsync</title><p>kamsync is logged in. You can close this page.</p>\n"
_REFUSED = b"<!doctype html><title>kamsync</title><p>kamsync refused this login answer; see the terminal.</p>\n"
_NOT_THIS = (
    b"<!doctype html><title>kamsync</title><p>kamsync refused this request: it is not the answer to the login "
    b"kamsync is waiting for. Approve kamsync in the page kamsync opened.</p>\n"
)


class CallbackServer:
    def __init__(self, redirect: Redirect, state: str) -> None:
        self._redirect = redirect
        self._state = state
        # What the server thread saw, in order, for the waiting thread: None for each request refused as not
        # this login's answer, then that answer's query.
        self._seen: queue.Queue[dict[str, str] | None] = queue.Queue()
        self._arrived = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 5  # seconds: a connection that sends nothing must not keep the real answer waiting

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != owner._redirect.path or owner._arrived.is_set():
                    self.send_error(404)
                    return
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                # Told to the waiting thread before the browser hears back, so what it is told follows the visits.
                if not answers_this_login(query, owner._state):
                    owner._seen.put(None)
                    self._answer(400, _NOT_THIS)
                    return
                owner._arrived.set()
                owner._seen.put(query)
                try:
                    code_from_callback(query, owner._state)
                except KamsyncError:  # the provider's refusal: the caller raises it, and the terminal shows it
                    self._answer(400, _REFUSED)
                else:
                    self._answer(200, _DONE)

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # the query holds the code: never logged

        try:
            self._server = HTTPServer((redirect.host, redirect.port), Handler)
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {redirect.uri()} for the login's answer ({exc.strerror or exc}): choose another "
                "--redirect-uri port, or 0 for any free one"
            ) from None
        self._thread = threading.Thread(target=self._serve, name="kamsync-login-callback", daemon=True)

    @property
    def redirect_uri(self) -> str:
        return self._redirect.uri(int(self._server.server_address[1]))

    def __enter__(self) -> CallbackServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._arrived.set()
        self._thread.join(timeout=5)
        self._server.server_close()

    def _serve(self) -> None:
        self._server.timeout = 0.2  # how often to look whether the wait ended
        while not self._arrived.is_set():
            self._server.handle_request()

    def wait(self, timeout: float, on_refused: Callable[[], None] = lambda: None) -> dict[str, str]:
        """The query of the answer to this login; ``UsageError`` when none came within ``timeout`` seconds.
        ``on_refused`` is called (in this thread) for each other request refused meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                seen = self._seen.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise UsageError(
                    f"no login answer reached {self.redirect_uri} within {timeout:.0f} s: approve kamsync in the "
                    "browser page, then run kamsync login again"
                ) from None
            if seen is not None:
                return seen
            on_refused()
