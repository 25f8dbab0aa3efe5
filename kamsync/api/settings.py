"""Where kamsync talks to, as whom and how patiently: the API base URL, the credentials and the retry policy,
checked before any request."""

from __future__ import annotations

import ipaddress
import math
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from kamsync.api.retry import DEFAULT_RETRY, RetryPolicy
from kamsync.core.errors import CredentialsError, UsageError

__all__ = [
    "CLIENT_ID_VAR",
    "CLIENT_SECRET_VAR",
    "DEFAULT_API_URL",
    "RETRIES_VAR",
    "RETRY_BACKOFF_VAR",
    "RETRY_TIME_VAR",
    "TIMEOUT_VAR",
    "URL_VAR",
    "Credentials",
    "credentials_from_env",
    "describe_credential",
    "is_loopback_host",
    "resolve_api_url",
    "retry_policy_from_env",
    "tls_verification",
]

DEFAULT_API_URL = "https://api.kameleoon.com"
URL_VAR = "KAMELEOON_API_URL"
CLIENT_ID_VAR = "KAMELEOON_CLIENT_ID"
CLIENT_SECRET_VAR = "KAMELEOON_CLIENT_SECRET"
RETRIES_VAR = "KAMSYNC_RETRIES"
RETRY_BACKOFF_VAR = "KAMSYNC_BACKOFF"
RETRY_TIME_VAR = "KAMSYNC_RETRY_TIME"
TIMEOUT_VAR = "KAMSYNC_TIMEOUT"


@dataclass(frozen=True, slots=True)
class Credentials:
    """OAuth client credentials. The secret never shows in ``repr`` (tracebacks and debuggers print reprs).

    A partner login (``kamsync login``) carries its refresh token too: tokens are renewed with it."""

    client_id: str
    client_secret: str
    refresh_token: str | None = None
    login: bool = False  # the partner login stored by ``kamsync login``, not the environment's variables

    def __repr__(self) -> str:
        return f"Credentials(client_id={self.client_id!r}, client_secret='<hidden>', login={self.login!r})"

    @property
    def is_login(self) -> bool:
        return self.login

    @property
    def described(self) -> str:
        return describe_credential(self.client_id, login=self.login)


def describe_credential(client_id: str, *, login: bool) -> str:
    """Which credential is in use, in a message."""
    if login:
        return f"the partner login of client {client_id} (kamsync login)"
    return f"the client credentials of {CLIENT_ID_VAR}={client_id}"


def credentials_from_env(environ: Mapping[str, str]) -> Credentials:
    client_id = environ.get(CLIENT_ID_VAR, "").strip()
    client_secret = environ.get(CLIENT_SECRET_VAR, "").strip()
    missing = [name for name, value in ((CLIENT_ID_VAR, client_id), (CLIENT_SECRET_VAR, client_secret)) if not value]
    if missing:
        raise CredentialsError(
            f"missing Kameleoon credentials: set {CLIENT_ID_VAR} and {CLIENT_SECRET_VAR} "
            f"(not set: {', '.join(missing)}); Kameleoon issues them under Account > API credentials (a partner app "
            "logs in with kamsync login instead)"
        )
    return Credentials(client_id, client_secret)


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_api_url(option: str | None, environ: Mapping[str, str]) -> str:
    """The API base URL: ``--api-url``, else ``KAMELEOON_API_URL``, else the public API; no trailing slash.

    Plain http is refused except on loopback (the sandbox and local tests), because the token and the client
    secret would travel in clear text.
    """
    if option:
        url, source = option.strip(), "--api-url"
    elif environ.get(URL_VAR, "").strip():
        url, source = environ[URL_VAR].strip(), URL_VAR
    else:
        url, source = DEFAULT_API_URL, "default"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - evaluated for its ValueError on a bad port
    except ValueError:
        raise UsageError(f"bad API URL {url!r} (from {source}): expected e.g. {DEFAULT_API_URL}") from None
    if parts.username is not None or parts.password is not None:
        # Do not echo this URL: the part before "@" may be a password.
        raise UsageError(f"the API URL (from {source}) must not contain a user name or password")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host or parts.query or parts.fragment:
        raise UsageError(f"bad API URL {url!r} (from {source}): expected e.g. {DEFAULT_API_URL}")
    if scheme == "http" and not is_loopback_host(host):
        raise UsageError(
            f"refusing plain http API URL {url!r} (from {source}): credentials and tokens would travel "
            "unencrypted; "
            "use https (plain http is only allowed for loopback hosts such as 127.0.0.1 or localhost)"
        )
    return url.rstrip("/")


def _seconds(environ: Mapping[str, str], name: str, default: float, *, zero_ok: bool) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        least = "0 or more" if zero_ok else "above 0"
        raise UsageError(f"bad {name}={raw!r}: expected a number of seconds, {least} (e.g. {default:g})")
    return value


def retry_policy_from_env(environ: Mapping[str, str]) -> RetryPolicy:
    """The retry policy, with ``KAMSYNC_RETRIES``, ``KAMSYNC_BACKOFF``, ``KAMSYNC_RETRY_TIME`` (seconds for all
    retries of one request) and ``KAMSYNC_TIMEOUT`` (seconds for one request, connect to last byte) overriding
    the defaults."""
    raw = environ.get(RETRIES_VAR, "").strip()
    retries = DEFAULT_RETRY.retries
    if raw:
        if not raw.isascii() or not raw.isdigit():
            raise UsageError(
                f"bad {RETRIES_VAR}={raw!r}: expected a whole number of retries, 0 or more "
                f"(e.g. {DEFAULT_RETRY.retries})"
            )
        retries = int(raw)
    backoff = _seconds(environ, RETRY_BACKOFF_VAR, DEFAULT_RETRY.backoff, zero_ok=True)
    return RetryPolicy(
        retries=retries,
        backoff=backoff,
        max_backoff=max(DEFAULT_RETRY.max_backoff, backoff),
        total=_seconds(environ, RETRY_TIME_VAR, DEFAULT_RETRY.total, zero_ok=True),
        timeout=_seconds(environ, TIMEOUT_VAR, DEFAULT_RETRY.timeout, zero_ok=False),
    )


def tls_verification(base_url: str) -> ssl.SSLContext | bool:
    """What the client verifies TLS with: httpx's CA bundle for https. A plain-http API (loopback only) never
    opens a TLS connection (every request goes to the base URL, and redirects are not followed), so it gets a
    context that trusts no certificate, and would refuse any, instead of loading the bundle: a tenth of
    start-up's CPU."""
    if base_url.lower().startswith("https:"):
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificates and host names, trusting none
