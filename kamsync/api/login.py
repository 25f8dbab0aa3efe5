"""The partner apps' authorization-code flow, its pure part: the authorize URL, the redirect URI kamsync listens
on, what the callback brought (the code, once its ``state`` is checked), and the code exchange's form.

The callback must come back to this machine: the redirect URI is plain http on a loopback address, on a port of
its own (0: any free one) — what Kameleoon registers for a desktop partner app.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from kamsync.api.settings import is_loopback_host
from kamsync.core.errors import AuthError, UsageError

__all__ = [
    "DEFAULT_REDIRECT",
    "Redirect",
    "answers_this_login",
    "authorize_url",
    "code_form",
    "code_from_callback",
    "parse_redirect",
]

DEFAULT_REDIRECT = "http://127.0.0.1:0/callback"
AUTHORIZE_PATH = "/oauth/authorize"


@dataclass(frozen=True, slots=True)
class Redirect:
    host: str
    port: int  # 0: any free port, known once the callback server listens
    path: str

    def uri(self, port: int | None = None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port if port is None else port}{self.path}"


def parse_redirect(uri: str | None) -> Redirect:
    """``--redirect-uri``, checked: ``http://`` on a loopback host (``UsageError`` otherwise)."""
    raw = (uri or DEFAULT_REDIRECT).strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        port, parts = None, urlsplit("")
    host = parts.hostname or ""
    if parts.scheme != "http" or not is_loopback_host(host) or parts.query or parts.fragment:
        raise UsageError(
            f"bad --redirect-uri {raw!r}: kamsync receives the login on this machine, so it must be plain http on a "
            f"loopback address, e.g. {DEFAULT_REDIRECT.replace(':0', ':8765')} (port 0: any free one)"
        )
    return Redirect("127.0.0.1" if host == "localhost" else host, port or 0, parts.path or "/")


def authorize_url(api_url: str, client_id: str, redirect_uri: str, state: str) -> str:
    query = {"client_id": client_id, "response_type": "code", "redirect_uri": redirect_uri, "state": state}
    return f"{api_url.rstrip('/')}{AUTHORIZE_PATH}?{urlencode(query)}"


def answers_this_login(query: Mapping[str, str], state: str) -> bool:
    """Whether a request to the callback is the answer to this login: it carries the ``state`` kamsync sent, which
    only the authorize page knows. Any other (a page probing localhost, a stray or stale browser request, a forged
    answer) is not, and must not end the wait: the real answer may still come."""
    return hmac.compare_digest(query.get("state", "").encode(), state.encode())


def code_from_callback(query: Mapping[str, str], state: str) -> str:
    """The authorization code the callback brought; ``AuthError`` when its ``state`` is not the one sent (another
    page's answer, or a forged one) or Kameleoon refused."""
    if not answers_this_login(query, state):
        raise AuthError(
            "the login answer's state does not match the one kamsync sent: refused (it came from another "
            "login attempt, or someone else's page); run kamsync login again"
        )
    if query.get("error"):
        raise AuthError(f"Kameleoon refused the login ({query['error'][:80]}); run kamsync login again")
    code = query.get("code", "")
    if not code:
        raise AuthError("the login answer carried no authorization code; run kamsync login again")
    return code


def code_form(code: str, redirect_uri: str) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
