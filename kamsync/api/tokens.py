"""Where a client's access token comes from and where it goes: one stored by an earlier run (the token cache) or
by another process (a partner login's store), else a new one from the token endpoint, kept there for the next.

``KameleoonClient`` (the HTTP edge) asks for the token to send, says when Kameleoon refused it, and sends the token
requests this module forms; the decisions are ``kamsync.api.auth``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from kamsync.api.auth import (
    AccessToken,
    LoginKeeper,
    TokenStore,
    login_after_refresh,
    newest_login,
    stored_token,
    token_expires_at,
    token_from_cache,
    token_from_grant,
    token_request,
)
from kamsync.api.responses import TokenGrant, is_sendable_token, parse_token
from kamsync.api.scrub import basic_credential
from kamsync.api.settings import Credentials

__all__ = ["PostToken", "TokenSource", "secrets_of"]

# Sends a token request: its form, its Authorization header (or None), whether it may be sent again; the answer's
# body (an error is raised by the sender).
PostToken = Callable[[Mapping[str, str], str | None, bool], bytes]


def secrets_of(credentials: Credentials) -> set[str]:
    """What a server might echo: the secret, the id:secret pair HTTP Basic carries, a login's refresh token."""
    pair = basic_credential(credentials.client_id, credentials.client_secret)
    return {credentials.client_secret, pair, *([credentials.refresh_token] if credentials.refresh_token else [])}


class TokenSource:
    """The access token of one client. ``secrets`` holds every secret and token it met (the client scrubs what a
    server says of them). A partner login's tokens live in ``login_store``, shared with every other kamsync
    process, instead of ``token_cache``: a refresh starts from the newest stored login and leaves the new one
    there, whole."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        post: PostToken,
        wall_clock: Callable[[], datetime],
        token_cache: TokenStore | None = None,
        login_store: LoginKeeper | None = None,
    ) -> None:
        self.credentials = credentials
        self._post = post
        self.secrets = secrets_of(credentials)
        self._wall_clock = wall_clock
        self._cache = token_cache
        self._logins = login_store if credentials.is_login else None
        self._token: AccessToken | None = None
        self._rejected: str | None = None  # never take this one from a store again

    def current(self, now: float) -> str:
        """The token to send at ``now`` (the client's monotonic clock): this one's, a stored one, or a new one."""
        if self._token is None or not self._token.usable(now):
            self._token = self._stored(now) or self._new(now)
        return self._token.value

    def reject(self) -> None:
        """Kameleoon refused the token: forget it, and never take it from a store again."""
        if self._token is not None:
            self._rejected = self._token.value
        self._token = None

    def renew(self, now: float) -> None:
        """Ask for a new token now, stored ones notwithstanding (``kamsync doctor``: are the credentials good?)."""
        self._token = self._new(now)

    def exchange(self, form: Mapping[str, str]) -> TokenGrant:
        """The tokens of a partner login's authorization code (``form``: ``api.login.code_form``). Kept nowhere:
        the caller stores the new login, whole, at once (an older stored login may be another client's)."""
        _, auth = token_request(self.credentials)
        return self._granted(self._post(form, auth, False))

    def _stored(self, now: float) -> AccessToken | None:
        """A token stored by an earlier run or by another process (a partner login's newest, after its refresh)."""
        if self._logins is not None:
            cached = stored_token(self.credentials, self._logins.read())
        else:
            cached = self._cache.load() if self._cache is not None else None
        if cached is None or cached[0] == self._rejected or not is_sendable_token(cached[0]):
            return None
        self.secrets.add(cached[0])
        return token_from_cache(cached[0], cached[1], self._wall_clock().timestamp(), now)

    def _new(self, now: float) -> AccessToken:
        requested_at_wall = self._wall_clock().timestamp()
        if self._logins is not None:  # not the refresh token this run started with: another may have replaced it
            self.credentials = newest_login(self.credentials, self._logins.read())
            self.secrets |= secrets_of(self.credentials)
        form, auth = token_request(self.credentials)
        # Asking for a token twice only issues two tokens; a refresh that may have arrived may also have replaced
        # the refresh token it used, so it is never sent again blindly.
        grant = self._granted(self._post(form, auth, not self.credentials.is_login))
        expires_at = token_expires_at(grant, requested_at_wall)
        if self._logins is not None:
            # One save of the whole login, and none over a login that changed since it was read.
            renewed = login_after_refresh(self.credentials, grant, expires_at, self._logins.read())
            if renewed is not None:
                self._logins.save(renewed)
        elif self._cache is not None:
            self._cache.store(grant.access_token, expires_at)
        if grant.refresh_token and self.credentials.is_login:
            self.credentials = replace(self.credentials, refresh_token=grant.refresh_token)
        return token_from_grant(grant, now)

    def _granted(self, body: bytes) -> TokenGrant:
        """A token answer, its tokens now secrets to hide."""
        grant = parse_token(body)
        self.secrets.update(t for t in (grant.access_token, grant.refresh_token) if t)
        return grant
