"""The loopback HTTP edge: ``http.server`` threads feeding ``Api.handle``; the ``kamsync sandbox`` command."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from kamsync.budget.windows import DEFAULT_RATE_LIMIT
from kamsync.core.errors import UsageError
from kamsync.sandbox.api import Api
from kamsync.sandbox.clock import Clock
from kamsync.sandbox.faults import DROPPED, FaultEvent, Faults, describe_event
from kamsync.sandbox.hostile import Trickle
from kamsync.sandbox.limits import ServerRateLimiter, parse_windows
from kamsync.sandbox.oauth import OAuth
from kamsync.sandbox.state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from kamsync.sandbox.store import Store
from kamsync.sandbox.wire import Request, Response, json_response

__all__ = ["Sandbox", "serve"]

DEFAULT_TOKEN_TTL = 7200.0


def _check_loopback(host: str) -> None:
    # The sandbox has no real authentication: it must never be reachable from another machine.
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(f"the sandbox only listens on loopback (127.0.0.1, ::1 or localhost), not {host!r}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], api: Api) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.api = api
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects from a real API
    server_version = "kamsync-sandbox"
    timeout = 30  # an idle keep-alive connection must not pin its thread forever
    # Headers and body leave in two writes: with Nagle's algorithm the body waits for the client's delayed ACK
    # (about 40 ms per request on Linux), which would slow every test and demo for nothing.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def _dispatch(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            response = json_response(411, {"message": "Send a Content-Length; chunked bodies are not supported"})
            self.close_connection = True
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            parts = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=unquote(parts.path),
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
            )
            response = self.server.api.handle(request)
        if response.status == DROPPED:
            # A fault: close the socket without a byte of answer, so the client sees the connection cut.
            self.close_connection = True
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if response.trickle is not None:
                self._trickle(response.body, response.trickle)
            else:
                self.wfile.write(response.body)
        except OSError:
            # The client went away (it timed out during a stall, or was killed during a hold): nothing to tell it.
            self.close_connection = True
            if response.trickle is not None:
                response.trickle.end("client gone")

    def _trickle(self, body: bytes, trickle: Trickle) -> None:
        """The trickle fault: one byte every ``trickle.interval`` seconds, until done or the sandbox stops."""
        for index in range(len(body)):
            if not self.server.api.faults.stall(trickle.interval):
                trickle.end("sandbox stopped")
                self.close_connection = True
                return
            self.wfile.write(body[index : index + 1])
            trickle.sent_one()
        trickle.end("complete")

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch

    def log_message(self, format: str, *args: object) -> None:  # the base class names it format
        pass  # one stderr line per request would drown the demo output


class Sandbox:
    """A local imitation of the Kameleoon Automation API, served on loopback from a daemon thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: str | Path | None = None,
        rate_limit: str | None = DEFAULT_RATE_LIMIT,
        token_ttl: float = DEFAULT_TOKEN_TTL,
        retry_after: bool = True,
        faults: Sequence[str] = (),
        on_fault: Callable[[FaultEvent], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        """``faults`` are armed at once (see ``kamsync.sandbox.faults``); ``on_fault`` hears of each injected one.

        ``clock`` (real time by default) drives token expiry, the rate windows and the logged times; tests move
        it with ``sandbox.clock.advance(seconds)`` or ``POST /_sandbox/clock {"advance": seconds}``.
        """
        _check_loopback(host)
        self.host = host
        self.port = port
        self.state_file = Path(state_file) if state_file is not None else None
        self.rate_limit = rate_limit
        self.clock = clock if clock is not None else Clock()
        self.store = Store(self.state_file, clock=self.clock.now)
        self.faults = Faults(self.store, on_fault, clock=self.clock.wall)
        self.faults.arm(*faults)
        limiter = ServerRateLimiter(parse_windows(rate_limit), clock=self.clock.now)
        self._api = Api(self.store, limiter, token_ttl, retry_after, self.faults, self.clock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def oauth(self) -> OAuth:
        """The partner apps' authorization-code flow: codes and refresh tokens (``kamsync.sandbox.oauth``)."""
        return self._api.oauth

    def start(self) -> Sandbox:
        if self._server is None:
            self.faults.reopen()
            try:
                self._server = _Server((self.host, self.port), self._api)
            except OSError as exc:
                raise UsageError(
                    f"the sandbox cannot listen on {self.host}:{self.port} ({exc.strerror or exc}); "
                    "choose another port, or 0 for any free one"
                ) from None
            self.port = self._server.server_address[1]
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="kamsync-sandbox",
                daemon=True,
            )
            self._thread.start()
        return self

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not started: call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self.faults.close()  # held and stalled requests end, so their threads do
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with server.connections_lock:  # end idle keep-alive connections, whose threads would otherwise linger
            for conn in list(server.connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the server thread ends (for ``serve``: Ctrl-C interrupts the join)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    state_file: str | Path | None = None,
    rate_limit: str | None = DEFAULT_RATE_LIMIT,
    token_ttl: float = DEFAULT_TOKEN_TTL,
    out: TextIO | None = None,
    faults: Sequence[str] = (),
    err: TextIO | None = None,
) -> None:
    """Serve until Ctrl-C. The first line printed is the URL alone, so a parent process can read it.

    Each injected fault is announced as one line on ``err`` (stderr), e.g.
    ``sandbox: fault: request 3 PATCH /variations/200001 answered 503 (rule PATCH 3=503)``.
    """
    stream = out if out is not None else sys.stdout

    def announce(event: FaultEvent) -> None:
        print(describe_event(event), file=err if err is not None else sys.stderr, flush=True)

    sandbox = Sandbox(host, port, state_file, rate_limit, token_ttl, faults=faults, on_fault=announce).start()
    try:
        print(sandbox.url, file=stream, flush=True)
        state = f"saved in {sandbox.state_file}" if sandbox.state_file else "in memory (lost when it stops)"
        limits = rate_limit or "off"
        print(
            f"export KAMELEOON_API_URL={sandbox.url}\n"
            f"export KAMELEOON_CLIENT_ID={DEFAULT_CLIENT_ID}\n"
            f"export KAMELEOON_CLIENT_SECRET={DEFAULT_CLIENT_SECRET}\n"
            f"# Kameleoon sandbox: state {state}; rate limit {limits}; tokens last {token_ttl:g} s.\n"
            + "".join(f"# fault armed: {armed.rule.spec}\n" for armed in sandbox.faults.rules)
            + "# Press Ctrl-C to stop it.",
            file=stream,
            flush=True,
        )
        while sandbox.running:
            sandbox.wait(0.5)
    except KeyboardInterrupt:
        print("Sandbox stopped.", file=stream, flush=True)
    finally:
        sandbox.stop()
