"""Where the shared rate-limit ledger lives: ``KAMSYNC_LEDGER_URL`` read into a value, its password masked (pure).

``redis://[user:password@]host:port/db`` or ``rediss://`` (TLS). The password is never shown: ``masked`` is the URL
to name in messages, ``secrets`` what output must hide (the password raw and in the forms a URL carries it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from kamsync.core.errors import UsageError

__all__ = ["LEDGER_FALLBACK_ENV", "LEDGER_URL_ENV", "MASK", "LedgerUrl", "mask_url", "parse_ledger_url"]

LEDGER_URL_ENV = "KAMSYNC_LEDGER_URL"
LEDGER_FALLBACK_ENV = "KAMSYNC_LEDGER_FALLBACK"
MASK = "***"
_SCHEMES = ("redis", "rediss")


@dataclass(frozen=True, slots=True)
class LedgerUrl:
    url: str = field(repr=False)  # as given, password included: only for connecting
    masked: str  # the password replaced by ***
    password: str = field(default="", repr=False)

    @property
    def secrets(self) -> frozenset[str]:
        """The password as given and as a URL carries it (percent-encoded), for scrubbing."""
        return frozenset(s for s in {self.password, quote(self.password, safe="")} if s)

    def __str__(self) -> str:
        return self.masked


def mask_url(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part replaced by ``***`` (the user name stays)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    # Up to the last "@": a password may hold "/" or "@" itself, and must stay hidden whatever it holds.
    userinfo, at, after = rest.rpartition("@")
    if not at:
        return url
    user, colon, _password = userinfo.partition(":")
    return f"{scheme}://{user}{colon}{MASK if colon else ''}@{after}"


def parse_ledger_url(raw: str) -> LedgerUrl:
    """The ledger URL, checked: scheme redis or rediss, a host, a port and a database number if given.
    ``UsageError`` (naming the URL masked) otherwise."""
    url = raw.strip()
    masked = mask_url(url)
    problem = _problem(url)
    if problem:
        raise UsageError(
            f"bad {LEDGER_URL_ENV} {masked!r}: {problem}; expected redis://[user:password@]host:port/db "
            "(or rediss:// for TLS), e.g. redis://127.0.0.1:6379/0"
        )
    parts = urlsplit(url)
    return LedgerUrl(url, masked, unquote(parts.password or ""))


def _problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:  # its words could quote the URL: say it in ours
        return "the port must be a number from 0 to 65535"
    if parts.scheme not in _SCHEMES:
        return "the scheme must be redis or rediss"
    if not parts.hostname:
        return "it names no host"
    db = parts.path.strip("/")
    if db and not db.isdigit():
        return f"the database must be a number, not {db!r}"
    return None
