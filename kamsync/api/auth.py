"""Access tokens of the client-credentials flow: the request form and when a token must be renewed (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kamsync.api.responses import TokenGrant
from kamsync.api.settings import Credentials

__all__ = ["DEFAULT_TOKEN_LIFETIME", "TOKEN_PATH", "AccessToken", "token_form", "token_from_grant"]

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


def token_from_grant(grant: TokenGrant, requested_at: float) -> AccessToken:
    """The token and its renewal time, counted from the request (the server's clock started earlier)."""
    lifetime = grant.expires_in if grant.expires_in is not None else DEFAULT_TOKEN_LIFETIME
    margin = min(RENEW_MARGIN, lifetime / 10)
    return AccessToken(grant.access_token, requested_at + lifetime - margin)
