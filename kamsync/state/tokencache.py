"""Access tokens kept between runs, one file per (API URL, client id) in the user's cache folder.

A token lasts hours; fetching one per run would spend a request of the shared rate budget on every push,
hook and CI job. The file is created mode 0600 (``write_atomic`` goes through ``mkstemp``, which creates
0600 whatever the umask) inside a 0700 folder, never in the repository. It holds the token and its expiry,
never the client secret. Anything unreadable is treated as no token: the cache is only an optimisation.

A file kamsync did not make for this user is not trusted: one readable by others may have leaked its token,
and one owned by someone else may hold their token, so requests would run as them. Such a file is ignored
(as no token) and replaced by the next token stored. Where POSIX owners and modes do not exist (Windows), the
check is skipped: the cache then lives in the user's own profile folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import platformdirs

from kamsync.core.errors import LocalWriteError
from kamsync.state.files import write_atomic

__all__ = ["TokenCache", "credential_key", "default_cache_dir", "trusted"]

_FORMAT = 1


def trusted(mode: int, owner: int, user: int | None) -> bool:
    """Whether a cache file with permission bits ``mode`` owned by ``owner`` may be used by ``user`` (the
    effective uid; ``None`` where there are no POSIX owners): owned by the user, no access for anyone else."""
    return user is None or (owner == user and not mode & 0o077)


def _current_user() -> int | None:
    return os.geteuid() if hasattr(os, "geteuid") else None


def default_cache_dir() -> Path:
    """``platformdirs.user_cache_dir("kamsync")``: ``$XDG_CACHE_HOME/kamsync`` or ``~/.cache/kamsync`` on Linux."""
    return Path(platformdirs.user_cache_dir("kamsync"))


def credential_key(api_url: str, client_id: str, secret: str = "") -> str:
    """A file-name-safe key for one credential: a digest of the URL, the client id and a digest of the secret,
    so a token fetched with an old or wrong secret is not used with another one. The secret itself is never
    stored."""
    secret_digest = hashlib.sha256(secret.encode("utf-8")).hexdigest() if secret else ""
    raw = json.dumps([api_url.rstrip("/"), client_id, secret_digest]).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()[:24]


class TokenCache:
    """The cached access token of one (API URL, client id); a ``kamsync.api.auth.TokenStore``."""

    def __init__(self, cache_dir: Path, api_url: str, client_id: str, secret: str = "") -> None:
        self.api_url = api_url.rstrip("/")
        self.client_id = client_id
        self.folder = cache_dir / "tokens"
        self.path = self.folder / f"{credential_key(api_url, client_id, secret)}.json"

    @classmethod
    def open(cls, api_url: str, client_id: str, cache_dir: Path | None = None, *, secret: str = "") -> TokenCache:
        return cls(default_cache_dir() if cache_dir is None else cache_dir, api_url, client_id, secret)

    def __repr__(self) -> str:
        return f"TokenCache({str(self.path)!r})"

    def load(self) -> tuple[str, float] | None:
        try:
            # No symlinks followed (where the OS can refuse them), and the checks are made on the file opened.
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                if not trusted(info.st_mode, info.st_uid, _current_user()):
                    return None
                data = json.loads(handle.read().decode("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        token, expires_at = data.get("access_token"), data.get("expires_at")
        if (
            data.get("api_url") != self.api_url  # a hash collision, however unlikely, must not leak a token
            or data.get("client_id") != self.client_id
            or not isinstance(token, str)
            or not token
            or not isinstance(expires_at, (int, float))
            or isinstance(expires_at, bool)
        ):
            return None
        return token, float(expires_at)

    def store(self, token: str, expires_at: float) -> None:
        data = {
            "format": _FORMAT,
            "api_url": self.api_url,
            "client_id": self.client_id,
            "access_token": token,
            "expires_at": expires_at,
        }
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomic(self.path, json.dumps(data) + "\n", mode=0o600)
        except (OSError, LocalWriteError):
            pass  # a read-only or full cache folder costs a token request next run, nothing more

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
