"""The partner apps' authorization-code flow, as Kameleoon documents it: the authorize page (approving at once,
as a test's user would), the code exchange and the refresh grant, both with HTTP Basic client authentication.

A code is used once and within ``CODE_TTL``; its ``redirect_uri`` must be sent again with it. A refresh token is
replaced by each refresh (the old one no longer works). Access tokens come from the store, as every other one.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlencode, urlsplit

from kamsync.sandbox.store import Store
from kamsync.sandbox.wire import Fault, Request, Response

__all__ = ["CODE_TTL", "OAuth"]

CODE_TTL = 600.0


class OAuth:
    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, tuple[str, str, float]] = {}  # code -> client id, redirect_uri, expiry
        self._refresh: dict[str, str] = {}  # refresh token -> client id

    def authorize(self, request: Request) -> Response:
        """``GET /oauth/authorize``: approve at once, redirecting to ``redirect_uri`` with a code and the state."""
        client_id, redirect = request.param("client_id") or "", request.param("redirect_uri") or ""
        if request.param("response_type") != "code":
            raise Fault(400, "response_type must be code", error="unsupported_response_type")
        if not self._store.knows_client(client_id):
            raise Fault(400, "Unknown client_id", error="invalid_client")
        if urlsplit(redirect).scheme not in ("http", "https"):
            raise Fault(400, "redirect_uri must be an http(s) URL", error="invalid_request")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = (client_id, redirect, self._clock() + CODE_TTL)
        query = {"code": code, **({"state": request.param("state") or ""} if request.param("state") else {})}
        separator = "&" if "?" in redirect else "?"
        return Response(302, b"", (("Location", f"{redirect}{separator}{urlencode(query)}"),))

    def grant(self, request: Request, grant: str, form: Mapping[str, Sequence[str]], ttl: float) -> dict[str, object]:
        """``POST /oauth/token`` for ``authorization_code`` and ``refresh_token``: the tokens, or a 400/401."""
        client_id, secret = _basic(request)

        def one(name: str) -> str:
            return (form.get(name) or [""])[0]

        with self._lock:
            if grant == "authorization_code":
                entry = self._codes.pop(one("code"), None)
                if entry is None or entry[0] != client_id or entry[2] <= self._clock():
                    raise Fault(400, "Invalid or expired authorization code", error="invalid_grant")
                if entry[1] != one("redirect_uri"):
                    raise Fault(400, "redirect_uri does not match the authorization request", error="invalid_grant")
            else:
                owner = self._refresh.pop(one("refresh_token"), None)
                if owner is None or owner != client_id:
                    raise Fault(400, "Invalid refresh token", error="invalid_grant")
            access = self._store.issue_token(client_id, secret, ttl)
            if access is None:
                raise Fault(401, "Bad client credentials", error="invalid_client")
            refresh = secrets.token_urlsafe(32)
            self._refresh[refresh] = client_id
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": int(ttl)}

    def refresh_tokens(self) -> list[str]:
        """The refresh tokens still valid (for tests checking that none leaks into output)."""
        with self._lock:
            return list(self._refresh)


def _basic(request: Request) -> tuple[str, str]:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8") if scheme.lower() == "basic" else ""
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise Fault(401, "Send the client credentials with HTTP Basic authentication", error="invalid_client")
    return client_id, secret
