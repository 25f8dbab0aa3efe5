"""GitHub's REST API, the little of it kamsync needs in Actions: its own sticky pull-request comment and the
drift pull request. The protocol (pagination links, finding kamsync's own item by its marker) is pure; the
client only sends. The token never appears in an error: every message is scrubbed of it in every encoding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from kamsync import __version__
from kamsync.api.scrub import scrub_or_withhold
from kamsync.api.settings import is_loopback_host
from kamsync.core.errors import Exit, KamsyncError, UsageError

__all__ = [
    "WORKFLOW_TOKEN_USER",
    "GitHub",
    "GitHubError",
    "Item",
    "check_api_url",
    "next_link",
    "own_marked",
]

# The workflow token (GITHUB_TOKEN) acts as this user; GET /user refuses it (403), so that is how it is known.
WORKFLOW_TOKEN_USER = "github-actions[bot]"
_PAGE = 100


class GitHubError(KamsyncError):
    """GitHub refused or failed a request, or answered it with what its API never sends (not JSON, another
    shape); ``status`` is its HTTP status (None: no answer)."""

    exit_code = Exit.API

    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Item:
    """A comment or a pull request: what kamsync reads of it."""

    number: int  # a comment's id, a pull request's number
    login: str  # who wrote it
    body: str
    url: str = ""


def check_api_url(url: str) -> str:
    """``GITHUB_API_URL``: https, or plain http on loopback only (the token must not cross a network in clear)."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(parts.hostname or "")):
        return url.rstrip("/")
    raise UsageError(f"GITHUB_API_URL {url!r}: use https:// (plain http:// only on loopback)")


_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([^";]+)"?')


def next_link(header: str | None) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header, if any."""
    for url, rels in _LINK.findall(header or ""):
        if "next" in rels.split():
            return str(url)
    return None


def own_marked(items: Iterable[Item], marker: str, login: str) -> Item | None:
    """The first item ``login`` wrote whose body holds ``marker``: anyone else's copy of the marker is ignored."""
    return next((i for i in items if i.login == login and marker in i.body), None)


_MEDIA_TYPE = re.compile(r"[\w.+-]{1,40}/[\w.+-]{1,40}")
_SHAPES = {dict: "an object", list: "a list"}


def _parsed(response: httpx.Response) -> Any:
    """The answer's JSON; ``ValueError`` when it is none (not JSON, not UTF-8, nested too deep to read)."""
    try:
        return response.json()
    except RecursionError:
        raise ValueError("nested too deep") from None


def _unreadable(response: httpx.Response) -> str:
    """An answer that is not JSON, named by its media type when that is a plain one."""
    media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return f"not readable JSON ({media})" if _MEDIA_TYPE.fullmatch(media) else "not readable JSON"


def _kind(data: object) -> str:
    return "a JSON object" if isinstance(data, dict) else "a JSON list" if isinstance(data, list) else "a JSON value"


def _item(raw: Any, number_key: str) -> Item | None:
    if not isinstance(raw, Mapping):
        return None
    user = raw.get("user")
    login = user.get("login") if isinstance(user, Mapping) else None
    number, body = raw.get(number_key), raw.get("body")
    if not isinstance(number, int) or not isinstance(login, str):
        return None
    return Item(number, login, body if isinstance(body, str) else "", str(raw.get("html_url") or ""))


class GitHub:
    """One repository's issues and pull requests, as ``token``."""

    def __init__(
        self, api_url: str, token: str, repository: str, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._token = token
        self._repo = f"/repos/{repository}"
        self._http = httpx.Client(
            base_url=check_api_url(api_url),
            timeout=30,
            follow_redirects=False,  # a redirect could carry the token elsewhere
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": f"kamsync/{__version__}",
            },
            transport=transport,
        )

    def __enter__(self) -> GitHub:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._http.close()

    def _send(self, method: str, url: str, what: str, body: Mapping[str, Any] | None = None) -> httpx.Response:
        try:
            response = self._http.request(method, url, json=body)
        except httpx.HTTPError as error:
            message = f"{what}: GitHub did not answer ({type(error).__name__}: {error})"
            raise GitHubError(self._hide(message), None) from None
        if response.status_code >= 400:
            message = f"{what}: GitHub answered {response.status_code}: {_message(response)}"
            raise GitHubError(self._hide(message), response.status_code)
        return response

    def _json(self, response: httpx.Response, what: str, shape: type[dict[str, Any]] | type[list[Any]]) -> Any:
        """The document of a 2xx answer, of the ``shape`` GitHub's API gives it: anything else (a proxy's HTML page,
        JSON of another shape) is a ``GitHubError`` naming ``what`` was being done, never a crash."""
        try:
            data = _parsed(response)
        except ValueError:
            raise self._broken(response, what, _unreadable(response)) from None
        if not isinstance(data, shape):
            raise self._broken(response, what, f"{_kind(data)}, not {_SHAPES[shape]}")
        return data

    def _one(self, response: httpx.Response, what: str, number_key: str) -> Item:
        """The comment or pull request a write answers with: an object with its ``number_key`` and author."""
        item = _item(self._json(response, what, dict), number_key)
        if item is None:
            raise self._broken(response, what, f"an object without the numeric {number_key!r} and author it must hold")
        return item

    def _broken(self, response: httpx.Response, what: str, found: str) -> GitHubError:
        message = f"{what}: GitHub's answer ({response.status_code}) is {found}"
        return GitHubError(self._hide(message), response.status_code)

    def _hide(self, text: str) -> str:
        hidden = scrub_or_withhold(text, {self._token})
        return hidden if hidden is not None else "GitHub's answer held the token in a form too short to hide; left out"

    def _pages(self, url: str, what: str) -> Iterator[Any]:
        next_url: str | None = url
        while next_url is not None:
            response = self._send("GET", next_url, what)
            # A page that is no list is an error: read as empty, kamsync's own comment would go unseen, then doubled.
            yield from self._json(response, what, list)
            following = next_link(response.headers.get("link"))
            # The token goes to GitHub's API only: a next page elsewhere (another host, plain http) is not followed.
            next_url = following if following and following.startswith(str(self._http.base_url)) else None

    def login(self) -> str:
        """Who the token acts as: the workflow token is refused ``GET /user`` and acts as github-actions[bot]."""
        what = "finding who the token acts as"
        try:
            response = self._send("GET", "/user", what)
        except GitHubError as error:
            if error.status in (401, 403):
                return WORKFLOW_TOKEN_USER
            raise
        login = self._json(response, what, dict).get("login")
        if not isinstance(login, str):  # guessing would look for kamsync's comment under someone else's name
            raise self._broken(response, what, "an object without the login it must hold")
        return login

    def comments(self, number: int) -> list[Item]:
        """Every comment of issue or pull request ``number``, all pages."""
        url = f"{self._repo}/issues/{number}/comments?per_page={_PAGE}"
        what = f"listing the comments of pull request #{number}"
        return [i for raw in self._pages(url, what) if (i := _item(raw, "id"))]

    def create_comment(self, number: int, body: str) -> Item:
        what = f"commenting on pull request #{number}"
        return self._one(self._send("POST", f"{self._repo}/issues/{number}/comments", what, {"body": body}), what, "id")

    def update_comment(self, comment_id: int, body: str) -> Item:
        what = f"updating comment {comment_id}"
        answer = self._send("PATCH", f"{self._repo}/issues/comments/{comment_id}", what, {"body": body})
        return self._one(answer, what, "id")

    def open_pulls(self, owner: str, branch: str) -> list[Item]:
        url = f"{self._repo}/pulls?state=open&head={owner}:{branch}&per_page={_PAGE}"
        return [i for raw in self._pages(url, "listing the pull requests") if (i := _item(raw, "number"))]

    def create_pull(self, *, head: str, base: str, title: str, body: str) -> Item:
        what = "opening the pull request"
        payload = {"head": head, "base": base, "title": title, "body": body}
        return self._one(self._send("POST", f"{self._repo}/pulls", what, payload), what, "number")

    def update_pull(self, number: int, *, title: str, body: str) -> Item:
        what = f"updating pull request #{number}"
        payload = {"title": title, "body": body}
        return self._one(self._send("PATCH", f"{self._repo}/pulls/{number}", what, payload), what, "number")


def _message(response: httpx.Response) -> str:
    try:
        data = _parsed(response)
    except ValueError:
        return response.reason_phrase or "no message"
    message = data.get("message") if isinstance(data, Mapping) else None
    return str(message)[:300] if message else response.reason_phrase or "no message"
