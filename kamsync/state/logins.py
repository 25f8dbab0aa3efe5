"""The partner login ``kamsync login`` stores: one file per API URL in the user's state folder, with the care the
token cache takes (``tokencache``): created 0600 in a 0700 folder, used only when owned by this user and readable
by nobody else, never in the repository.

It holds the client id and secret (a refresh needs both, with HTTP Basic), the refresh token and the current
access token with its expiry. A login and each refresh (which replaces both tokens) rewrite it whole, in one atomic
write: never does it pair one login's tokens with another's client, nor a new token with a replaced one.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from kamsync.state.files import write_atomic
from kamsync.state.tokencache import trusted

__all__ = ["Login", "LoginStore", "default_login_dir"]

_FORMAT = 1


def default_login_dir() -> Path:
    """``platformdirs.user_state_dir("kamsync")/logins``: ``~/.local/state/kamsync/logins`` on Linux."""
    return Path(platformdirs.user_state_dir("kamsync")) / "logins"


@dataclass(frozen=True, slots=True)
class Login:
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_token: str = field(default="", repr=False)
    expires_at: float = 0.0  # of the access token, on the wall clock


class LoginStore:
    """The stored login for one API URL (a client using it reads and saves it whole: ``kamsync.api.tokens``)."""

    def __init__(self, folder: Path, api_url: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.folder = folder
        digest = hashlib.sha256(json.dumps(["login", self.api_url]).encode("utf-8")).hexdigest()[:24]
        self.path = folder / f"{digest}.json"

    @classmethod
    def open(cls, api_url: str, folder: Path | None = None) -> LoginStore:
        return cls(default_login_dir() if folder is None else folder, api_url)

    def __repr__(self) -> str:
        return f"LoginStore({str(self.path)!r})"

    def read(self) -> Login | None:
        """The stored login; ``None`` when there is none, or only one this user must not trust or cannot read."""
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                if not trusted(info.st_mode, info.st_uid, os.geteuid() if hasattr(os, "geteuid") else None):
                    return None
                data = json.loads(handle.read().decode("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("api_url") != self.api_url:
            return None
        client_id, secret, refresh, access = (data.get(k) for k in Login.__slots__[:4])
        expires = data.get("expires_at")
        texts = (client_id, secret, refresh, access)
        if not all(isinstance(t, str) for t in texts) or not (client_id and secret and refresh):
            return None
        if isinstance(expires, bool) or not isinstance(expires, (int, float)):
            return None
        return Login(str(client_id), str(secret), str(refresh), str(access), float(expires))

    def save(self, login: Login) -> None:
        """Replace the stored login with ``login``, whole, at once."""
        data = {"format": _FORMAT, "api_url": self.api_url, **{k: getattr(login, k) for k in Login.__slots__}}
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps(data) + "\n", mode=0o600, what="the partner login")

    def delete(self) -> bool:
        """Forget the login; whether there was one."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            return False
        return True

    def load(self) -> tuple[str, float] | None:
        """The stored access token and its expiry (wall clock), as a token cache gives it (to price a run)."""
        login = self.read()
        return (login.access_token, login.expires_at) if login is not None and login.access_token else None
