"""Access tokens of the client-credentials flow and of a partner login: the request form, when a token must be
renewed, and which stored login a refresh starts from and leaves behind (pure)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from typing import Protocol

from kamsync.api.responses import TokenGrant
from kamsync.api.scrub import basic_credential
from kamsync.api.settings import Credentials
from kamsync.state.logins import Login

__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "TOKEN_PATH",
    "AccessToken",
    "LoginKeeper",
    "TokenStore",
    "login_after_refresh",
    "newest_login",
    "stored_token",
    "token_expires_at",
    "token_form",
    "token_from_cache",
    "token_from_grant",
    "token_request",
]

TOKEN_PATH = "/oauth/token"
# Kameleoon documents a 2 h lifetime; without expires_in we assume it and rely on a 401 if wrong.
DEFAULT_TOKEN_LIFETIME = 7200.0
# Renew this long before expiry so a token does not die between the check and the server reading it.
RENEW_MARGIN = 60.0


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str = field(repr=False)
    renew_at: float  # on the client's monotonic clock

    def usable(self, now: float) -> bool:
        return now < self.renew_at


def token_form(credentials: Credentials) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
    }


def token_request(credentials: Credentials) -> tuple[dict[str, str], str | None]:
    """The form of the next token request and its ``Authorization`` header: the client-credentials grant, or for
    a partner login the refresh grant with HTTP Basic client authentication."""
    if not credentials.is_login:
        return token_form(credentials), None
    pair = basic_credential(credentials.client_id, credentials.client_secret).encode("utf-8")
    basic = "Basic " + base64.b64encode(pair).decode("ascii")
    return {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token or ""}, basic


class TokenStore(Protocol):
    """Where a client may keep its access token between runs (``kamsync.state.tokencache.TokenCache``)."""

    def load(self) -> tuple[str, float] | None:
        """The stored token and its expiry on the wall clock (``time.time()``), or ``None``."""

    def store(self, token: str, expires_at: float) -> None:
        """Keep ``token``, which expires at ``expires_at`` on the wall clock."""

    def clear(self) -> None:
        """Forget the stored token."""


class LoginKeeper(Protocol):
    """Where a partner login lives, shared by every kamsync process (``kamsync.state.logins.LoginStore``): each
    one that refreshes it leaves the new tokens there, and the old refresh token no longer works."""

    def read(self) -> Login | None:
        """The stored login, or ``None``."""

    def save(self, login: Login) -> None:
        """Replace the stored login with ``login``, whole, at once."""


def _same_login(credentials: Credentials, stored: Login | None) -> bool:
    return stored is not None and credentials.is_login and stored.client_id == credentials.client_id


def stored_token(credentials: Credentials, stored: Login | None) -> tuple[str, float] | None:
    """The access token of the stored login and its expiry (wall clock), when that login is still this client's
    (another ``kamsync login`` may have replaced it) and holds one."""
    if stored is None or not _same_login(credentials, stored) or not stored.access_token:
        return None
    return stored.access_token, stored.expires_at


def newest_login(credentials: Credentials, stored: Login | None) -> Credentials:
    """The credentials a partner login refreshes with: the stored login's secret and refresh token when it is still
    this client's, since another process may have refreshed it meanwhile, and then the refresh token this one
    started with was replaced and is refused."""
    if stored is None or not _same_login(credentials, stored):
        return credentials
    return replace(credentials, client_secret=stored.client_secret, refresh_token=stored.refresh_token)


def login_after_refresh(used: Credentials, grant: TokenGrant, expires_at: float, stored: Login | None) -> Login | None:
    """The login to store after a refresh with ``used``, whole (secret, both tokens, expiry), or ``None`` to leave
    the stored one alone: it changed since the refresh read it (logged out, logged in again, or refreshed by
    another process), and a refresh must neither bring a login back, nor overwrite a newer one, nor mix two."""
    unchanged = (
        stored is not None
        and _same_login(used, stored)
        and stored.client_secret == used.client_secret
        and stored.refresh_token == used.refresh_token
    )
    if not unchanged:
        return None
    refresh = grant.refresh_token or used.refresh_token or ""  # an answer without one keeps the one it renewed
    return Login(used.client_id, used.client_secret, refresh, grant.access_token, expires_at)


def _lifetime(grant: TokenGrant) -> float:
    return grant.expires_in if grant.expires_in is not None else DEFAULT_TOKEN_LIFETIME


def token_from_grant(grant: TokenGrant, requested_at: float) -> AccessToken:
    """The token and its renewal time, counted from the request (the server's clock started earlier)."""
    lifetime = _lifetime(grant)
    margin = min(RENEW_MARGIN, lifetime / 10)
    return AccessToken(grant.access_token, requested_at + lifetime - margin)


def token_expires_at(grant: TokenGrant, requested_at_wall: float) -> float:
    """When the token expires on the wall clock, counted from the request (what a ``TokenStore`` keeps)."""
    return requested_at_wall + _lifetime(grant)


def token_from_cache(value: str, expires_at: float, wall_now: float, now: float) -> AccessToken | None:
    """A stored token as an ``AccessToken`` on the client's clock ``now``; ``None`` when it is (nearly) expired.

    Another process fetched it, so its lifetime is unknown here: the full ``RENEW_MARGIN`` applies.
    """
    left = expires_at - wall_now
    if left <= RENEW_MARGIN:
        return None
    return AccessToken(value, now + left - RENEW_MARGIN)
