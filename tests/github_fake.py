"""A small imitation of GitHub's REST API on loopback: issue comments and pull requests, as the action uses them.

Like GitHub it pages lists (``per_page``, ``page``, a ``Link`` header with ``rel="next"``), refuses ``GET /user``
to the workflow token (403, "Resource not accessible by integration"), answers 403 to a read-only token's
writes, and records every request so tests can check what was sent. ``FakeGitHub.garble`` makes it answer a
request with a broken 2xx answer instead (a proxy's HTML page, JSON of the wrong shape), doing nothing else.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

WORKFLOW_LOGIN = "github-actions[bot]"


@dataclass
class Token:
    login: str
    workflow: bool = True  # the workflow token: GET /user refused
    read_only: bool = False  # writes refused (a fork pull request's token)
    broken: bool = False  # every answer a 502 echoing the Authorization header (to prove it is scrubbed)


@dataclass(frozen=True)
class Garbled:
    """A broken answer to every ``method`` request whose path matches ``path`` (a regular expression)."""

    method: str
    path: str
    body: bytes
    content_type: str = "application/json"
    status: int = 200


@dataclass
class State:
    tokens: dict[str, Token] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # issue number -> comments
    pulls: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, Authorization
    next_id: int = 1000
    per_page_cap: int = 100
    garbled: list[Garbled] = field(default_factory=list)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def add_comment(self, number: int, login: str, body: str) -> dict[str, Any]:
        comment = {"id": self.new_id(), "user": {"login": login}, "body": body, "html_url": f"https://x/c/{number}"}
        self.comments.setdefault(number, []).append(comment)
        return comment


class FakeGitHub:
    def __init__(self, repository: str = "acme/site") -> None:
        self.repository = repository
        self.state = State()
        self.lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeGitHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def token(
        self, value: str, login: str = WORKFLOW_LOGIN, *, workflow: bool = True, read_only: bool = False,
        broken: bool = False,
    ) -> str:  # fmt: skip
        self.state.tokens[value] = Token(login, workflow, read_only, broken)
        return value

    def garble(self, method: str, path: str, body: object, content_type: str | None = None) -> None:
        """Answer ``method`` requests to paths matching ``path`` with ``body`` (bytes as they are, anything else as
        JSON) and status 200, doing nothing."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.state.garbled.append(Garbled(method, path, data, content_type or "application/json"))


def _page(items: list[dict[str, Any]], query: dict[str, list[str]], cap: int) -> tuple[list[dict[str, Any]], bool]:
    per_page = min(int(query.get("per_page", ["30"])[0]), cap)
    page = int(query.get("page", ["1"])[0])
    chunk = items[(page - 1) * per_page : page * per_page]
    return chunk, page * per_page < len(items)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub

    def log_message(self, *_args: object) -> None:
        pass

    def _answer(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")  # type: ignore[no-any-return]

    def _token(self) -> Token | None:
        auth = self.headers.get("Authorization", "")
        value = auth.split(" ", 1)[1] if " " in auth else ""
        return self.fake.state.tokens.get(value)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        with self.fake.lock:
            self.fake.state.requests.append((method, self.path, self.headers.get("Authorization", "")))
            token = self._token()
            if token is None:
                self._answer(401, {"message": "Bad credentials"})
                return
            if token.broken:
                self._answer(502, {"message": f"proxy error for {self.headers.get('Authorization')}"})
                return
            if method != "GET" and token.read_only:
                self._answer(403, {"message": "Resource not accessible by integration"})
                return
            garbled = [g for g in self.fake.state.garbled if g.method == method and re.fullmatch(g.path, parts.path)]
            if garbled:
                self._raw(garbled[0])
                return
            self._route(method, parts.path, parse_qs(parts.query), token)

    def _raw(self, garbled: Garbled) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))  # read, or closing would reset the answer
        self.send_response(garbled.status)
        self.send_header("Content-Type", garbled.content_type)
        self.send_header("Content-Length", str(len(garbled.body)))
        self.end_headers()
        self.wfile.write(garbled.body)

    def _route(self, method: str, path: str, query: dict[str, list[str]], token: Token) -> None:
        state, repo = self.fake.state, re.escape(self.fake.repository)
        if path == "/user":
            if token.workflow:
                self._answer(403, {"message": "Resource not accessible by integration"})
            else:
                self._answer(200, {"login": token.login})
            return
        if found := re.fullmatch(rf"/repos/{repo}/issues/(\d+)/comments", path):
            number = int(found[1])
            if method == "GET":
                self._list(state.comments.get(number, []), query, path)
            else:
                self._answer(201, state.add_comment(number, token.login, self._body()["body"]))
            return
        if (found := re.fullmatch(rf"/repos/{repo}/issues/comments/(\d+)", path)) and method == "PATCH":
            for comments in state.comments.values():
                for comment in comments:
                    if comment["id"] == int(found[1]):
                        comment["body"] = self._body()["body"]
                        self._answer(200, comment)
                        return
            self._answer(404, {"message": "Not Found"})
            return
        if re.fullmatch(rf"/repos/{repo}/pulls", path):
            if method == "GET":
                head = query.get("head", [""])[0]
                branch = head.split(":", 1)[-1]
                chosen = [p for p in state.pulls if p["state"] == "open" and p["head"]["ref"] == branch]
                self._list(chosen, query, path)
            else:
                self._answer(201, self._new_pull(token))
            return
        if (found := re.fullmatch(rf"/repos/{repo}/pulls/(\d+)", path)) and method == "PATCH":
            pull = next(p for p in state.pulls if p["number"] == int(found[1]))
            pull.update({k: v for k, v in self._body().items() if k in ("title", "body")})
            self._answer(200, pull)
            return
        self._answer(404, {"message": "Not Found"})

    def _new_pull(self, token: Token) -> dict[str, Any]:
        body = self._body()
        state = self.fake.state
        number = len(state.pulls) + 1
        pull = {
            "number": number,
            "state": "open",
            "user": {"login": token.login},
            "title": body["title"],
            "body": body["body"],
            "head": {"ref": body["head"]},
            "base": {"ref": body["base"]},
            "html_url": f"https://github.com/{self.fake.repository}/pull/{number}",
        }
        state.pulls.append(pull)
        return pull

    def _list(self, items: list[dict[str, Any]], query: dict[str, list[str]], path: str) -> None:
        chunk, more = _page(items, query, self.fake.state.per_page_cap)
        headers = {}
        if more:
            page = int(query.get("page", ["1"])[0]) + 1
            rest = "&".join(f"{k}={v[0]}" for k, v in query.items() if k != "page")
            headers["Link"] = (
                f'<{self.fake.url}{path}?{rest}&page={page}>; rel="next", <{self.fake.url}{path}>; rel="first"'
            )
        self._answer(200, chunk, headers)
