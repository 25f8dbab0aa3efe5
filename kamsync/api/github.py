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
    """GitHub refused or failed a request; ``status`` is its HTTP status (None: no answer)."""

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

    def _hide(self, text: str) -> str:
        hidden = scrub_or_withhold(text, {self._token})
        return hidden if hidden is not None else "GitHub's answer held the token in a form too short to hide; left out"

    def _pages(self, url: str, what: str) -> Iterator[Any]:
        next_url: str | None = url
        while next_url is not None:
            response = self._send("GET", next_url, what)
            page = response.json()
            yield from page if isinstance(page, list) else ()
            following = next_link(response.headers.get("link"))
            # The token goes to GitHub's API only: a next page elsewhere (another host, plain http) is not followed.
            next_url = following if following and following.startswith(str(self._http.base_url)) else None

    def login(self) -> str:
        """Who the token acts as: the workflow token is refused ``GET /user`` and acts as github-actions[bot]."""
        try:
            user = self._send("GET", "/user", "who the token is").json()
        except GitHubError as error:
            if error.status in (401, 403):
                return WORKFLOW_TOKEN_USER
            raise
        login = user.get("login") if isinstance(user, Mapping) else None
        return login if isinstance(login, str) else WORKFLOW_TOKEN_USER

    def comments(self, number: int) -> list[Item]:
        """Every comment of issue or pull request ``number``, all pages."""
        url = f"{self._repo}/issues/{number}/comments?per_page={_PAGE}"
        return [i for raw in self._pages(url, "listing the comments") if (i := _item(raw, "id"))]

    def create_comment(self, number: int, body: str) -> Item | None:
        raw = self._send("POST", f"{self._repo}/issues/{number}/comments", "commenting", {"body": body}).json()
        return _item(raw, "id")

    def update_comment(self, comment_id: int, body: str) -> Item | None:
        raw = self._send("PATCH", f"{self._repo}/issues/comments/{comment_id}", "updating the comment", {"body": body})
        return _item(raw.json(), "id")

    def open_pulls(self, owner: str, branch: str) -> list[Item]:
        url = f"{self._repo}/pulls?state=open&head={owner}:{branch}&per_page={_PAGE}"
        return [i for raw in self._pages(url, "listing the pull requests") if (i := _item(raw, "number"))]

    def create_pull(self, *, head: str, base: str, title: str, body: str) -> Item | None:
        payload = {"head": head, "base": base, "title": title, "body": body}
        return _item(self._send("POST", f"{self._repo}/pulls", "opening the pull request", payload).json(), "number")

    def update_pull(self, number: int, *, title: str, body: str) -> Item | None:
        payload = {"title": title, "body": body}
        raw = self._send("PATCH", f"{self._repo}/pulls/{number}", "updating the pull request", payload)
        return _item(raw.json(), "number")


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.reason_phrase or "no message"
    message = data.get("message") if isinstance(data, Mapping) else None
    return str(message)[:300] if message else response.reason_phrase or "no message"
