"""The preview server: on 127.0.0.1 only, every URL under a random token, the Host header checked against the
address served (DNS rebinding), both before the method (GET and HEAD only), answers ``no-store``. It holds the
current bundle; ``publish`` replaces it and wakes the event streams and the userscript's long polls. It never
talks to Kameleoon.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

from kamsync.core.preview import ALLOWED_METHODS, Bundle, Verdict, judge_request, query_int
from kamsync.preview.bridge import bridge_page
from kamsync.preview.scripts import bookmarklet, loader, userscript

__all__ = ["LOOPBACK", "PreviewServer"]

LOOPBACK = "127.0.0.1"
KEEPALIVE_SECONDS = 15.0  # a comment on each idle event stream, so a closed tab's connection is noticed
LONG_POLL_SECONDS = 25.0  # the userscript's request waits this long for a save, then asks again
USERSCRIPT_NAME = "kamsync-preview.user.js"  # userscript managers offer to install a URL ending in .user.js
NAMES = ("loader.js", USERSCRIPT_NAME, "events", "bundle.json", "bridge.html")
_REFUSALS = {
    Verdict.FORBIDDEN: (403, b"forbidden\n"),
    Verdict.NOT_ALLOWED: (405, b"method not allowed\n"),
    Verdict.NOT_FOUND: (404, b"not found\n"),
}


class PreviewServer:
    """Serves one variation's bundle from a thread until ``close``."""

    def __init__(self, bundle: Bundle, *, port: int = 0, matches: Sequence[str] = (), token: str | None = None) -> None:
        self.token = token or secrets.token_urlsafe(24)
        self.matches = tuple(matches)
        self._bundle = bundle
        self._changed = threading.Condition()
        self._closed = False
        server = self

        class Handler(_Handler):
            preview: ClassVar[PreviewServer] = server

        self._http = ThreadingHTTPServer((LOOPBACK, port), Handler)
        self._http.daemon_threads = True
        self.port = int(self._http.server_address[1])
        self._thread = threading.Thread(target=self._http.serve_forever, name="kamsync-preview", daemon=True)

    # -- addresses --

    @property
    def host(self) -> str:
        """The only Host header answered: the loopback address and port (never a name that could be rebound)."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def origin(self) -> str:
        return f"http://{self.host}"

    @property
    def base(self) -> str:
        return f"{self.origin}/{self.token}/"

    def urls(self) -> dict[str, str]:
        """What to hand out: every URL carries the token (the bookmarklet holds the loader's)."""
        return {
            "loader": self.base + "loader.js",
            "bookmarklet": bookmarklet(self.base, self.origin),
            "userscript": self.base + USERSCRIPT_NAME,
            "events": self.base + "events",
        }

    # -- the bundle --

    @property
    def bundle(self) -> Bundle:
        with self._changed:
            return self._bundle

    def publish(self, codes: tuple[str, ...]) -> Bundle | None:
        """Serve ``codes`` from now on; the new bundle, or ``None`` when nothing changed (nothing is sent)."""
        with self._changed:
            if codes == self._bundle.codes:
                return None
            self._bundle = replace(self._bundle, codes=codes, version=self._bundle.version + 1)
            self._changed.notify_all()
            return self._bundle

    def newer_than(self, version: int, timeout: float) -> Bundle | None:
        """The bundle once its version passes ``version``, or ``None`` after ``timeout`` or on ``close``."""
        with self._changed:
            self._changed.wait_for(lambda: self._closed or self._bundle.version > version, timeout)
            return self._bundle if self._bundle.version > version and not self._closed else None

    @property
    def closed(self) -> bool:
        with self._changed:
            return self._closed

    # -- life --

    def start(self) -> PreviewServer:
        self._thread.start()
        return self

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._thread.is_alive():  # shutdown() waits for a serve_forever that was never started
            self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> PreviewServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    preview: ClassVar[PreviewServer]
    protocol_version = "HTTP/1.1"
    server_version = "kamsync-preview"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:
        pass  # the terminal shows what to paste and each save, not every request

    def __getattr__(self, name: str) -> Callable[[], None]:
        # BaseHTTPRequestHandler calls ``do_<METHOD>``, and answers 501 where there is none, before any guard of
        # ours: here every method, known or not, is answered by ``_answer``, which judges the Host and the token
        # before the method, so a request without them learns nothing from the method it sends.
        if name.startswith("do_"):
            return self._answer
        raise AttributeError(name)

    def _answer(self) -> None:
        server = self.preview
        target = urlsplit(self.path)
        verdict, name = judge_request(
            self.headers.get("Host"),
            target.path,  # a query is read only where one means something (bundle.json's after): the rest ignore it
            method=self.command,
            served_host=server.host,
            token=server.token,
            names=NAMES,
        )
        if verdict is not Verdict.SERVE:
            self._refuse(verdict)
            return
        bundle = server.bundle
        if name == "loader.js":
            self._send(200, "text/javascript; charset=utf-8", loader(server.base, bundle).encode())
        elif name == USERSCRIPT_NAME:
            self._send(200, "text/javascript; charset=utf-8", userscript(server.base, bundle, server.matches).encode())
        elif name == "bridge.html":
            html, policy = bridge_page(server.base, server.origin)
            self._send(200, "text/html; charset=utf-8", html.encode(), {"Content-Security-Policy": policy})
        elif name == "bundle.json":
            after = query_int(parse_qs(target.query), "after")
            if after is not None and after >= bundle.version:
                bundle = server.newer_than(after, LONG_POLL_SECONDS) or server.bundle
            self._send(200, "application/json", bundle.json().encode())
        else:
            self._stream()

    def _refuse(self, verdict: Verdict) -> None:
        """The refusal, the same whatever the request held but what the verdict says. Its connection closes: the
        body a refused request may carry is never read, and must not be taken for the next request."""
        code, body = _REFUSALS[verdict]
        extra = {"Connection": "close"}
        if verdict is Verdict.NOT_ALLOWED:
            extra["Allow"] = ", ".join(ALLOWED_METHODS)
        self._send(code, "text/plain; charset=utf-8", body, extra)

    def _headers(self, code: int, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for header, value in (extra or {}).items():
            self.send_header(header, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if code == 200:  # the page previewed may be on any origin; without the token nothing is answered
            self.send_header("Access-Control-Allow-Origin", "*")

    def _send(self, code: int, content_type: str, body: bytes, extra: dict[str, str] | None = None) -> None:
        self._headers(code, content_type, extra)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":  # HEAD: GET's headers, without its body
            self.wfile.write(body)

    def _stream(self) -> None:
        """Server-sent events: the current bundle at once (a reconnecting page catches up), then one per save."""
        server = self.preview
        self.close_connection = True
        self._headers(200, "text/event-stream")
        self.end_headers()
        if self.command == "HEAD":
            return
        bundle: Bundle | None = server.bundle
        sent = 0
        try:
            while not server.closed:
                if bundle is None:
                    self.wfile.write(b": keepalive\n\n")
                else:
                    self.wfile.write(f"id: {bundle.version}\nevent: bundle\ndata: {bundle.json()}\n\n".encode())
                    sent = bundle.version
                self.wfile.flush()
                bundle = server.newer_than(sent, KEEPALIVE_SECONDS)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            return  # the tab was closed or reloaded
