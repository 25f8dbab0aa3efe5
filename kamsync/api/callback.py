"""The login's one-shot callback server: listens on the loopback redirect URI, answers the browser's one visit to
its path, and hands the query to the caller. It serves from a thread, so the browser may be opened (and waited
for) meanwhile; it only listens on loopback, and stops after that one visit or the timeout.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from kamsync.api.login import Redirect, code_from_callback
from kamsync.core.errors import KamsyncError, UsageError

__all__ = ["CallbackServer"]

_DONE = b"<!doctype html><title>kamsync</title><p>kamsync is logged in. You can close this page.</p>\n"
_REFUSED = b"<!doctype html><title>kamsync</title><p>kamsync refused this login answer; see the terminal.</p>\n"


class CallbackServer:
    def __init__(self, redirect: Redirect, state: str) -> None:
        self._redirect = redirect
        self._state = state
        self._query: dict[str, str] | None = None
        self._arrived = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != owner._redirect.path or owner._arrived.is_set():
                    self.send_error(404)
                    return
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                try:
                    code_from_callback(query, owner._state)
                    status, body = 200, _DONE
                except KamsyncError:
                    status, body = 400, _REFUSED
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                owner._query = query
                owner._arrived.set()

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

    def wait(self, timeout: float) -> dict[str, str]:
        """The query of the browser's visit; ``UsageError`` when none came within ``timeout`` seconds."""
        if not self._arrived.wait(timeout) or self._query is None:
            raise UsageError(
                f"no login answer reached {self.redirect_uri} within {timeout:.0f} s: approve kamsync in the "
                "browser page, then run kamsync login again"
            )
        return self._query
