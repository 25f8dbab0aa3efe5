"""The settings of one run: the options given on the command line and the process environment, built once by
the CLI (``kamsync.cli.options``); nothing else in kamsync reads ``os.environ``.

A light module: the CLI and the pre-push hook import it early, so what needs the HTTP stack is imported only
when it is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kamsync.api.retry import RetryPolicy
    from kamsync.api.settings import Credentials

MANIFEST_ENV = "KAMSYNC_MANIFEST"
RATE_LIMIT_ENV = "KAMSYNC_RATE_LIMIT"
LOCK_WAIT_ENV = "KAMSYNC_LOCK_WAIT"


@dataclass(frozen=True, slots=True)
class Options:
    manifest: str | None
    api_url: str | None
    json: bool
    no_color: bool
    wait: bool = False
    max_requests: int | None = None
    from_rev: str | None = None  # --from: only mapped files changed since this commit
    to_rev: str | None = None  # --to: read files, manifest and history at this commit
    verbose: bool = False  # -v: each request on stderr
    quiet: bool = False  # -q: only errors and the final summary
    environ: Mapping[str, str] = field(default_factory=dict)  # the process environment, read once

    @property
    def ranged(self) -> bool:
        return self.from_rev is not None or self.to_rev is not None

    @property
    def creations_allowed(self) -> bool:
        """Whether this run may create variations: not in GitHub Actions, which could not commit their ids."""
        return self.environ.get("GITHUB_ACTIONS", "").strip().lower() != "true"

    @property
    def manifest_given(self) -> str | None:
        """``--manifest``, else ``$KAMSYNC_MANIFEST``: the manifest named explicitly, if any."""
        return self.manifest or self.environ.get(MANIFEST_ENV) or None

    def api_url_resolved(self) -> str:
        """The API URL from ``--api-url``, ``$KAMELEOON_API_URL`` or the default (checked)."""
        from kamsync.api.settings import resolve_api_url

        return resolve_api_url(self.api_url, self.environ)

    def credentials(self) -> Credentials:
        """The client credentials from the environment (``CredentialsError`` when they are missing)."""
        from kamsync.api.settings import credentials_from_env

        return credentials_from_env(self.environ)

    @property
    def client_id(self) -> str:
        return self.environ.get("KAMELEOON_CLIENT_ID", "").strip()

    @property
    def has_credentials(self) -> bool:
        """Whether both client-credential variables are set (not whether Kameleoon accepts them)."""
        return bool(self.client_id) and bool(self.environ.get("KAMELEOON_CLIENT_SECRET", "").strip())

    def retry_policy(self) -> RetryPolicy:
        from kamsync.api.settings import retry_policy_from_env

        return retry_policy_from_env(self.environ)

    def rate_limit_spec(self, manifest_rate_limit: str | None, default: str) -> str:
        """``$KAMSYNC_RATE_LIMIT``, else the manifest's ``rate_limit``, else ``default``."""
        return self.environ.get(RATE_LIMIT_ENV) or manifest_rate_limit or default

    @property
    def lock_wait(self) -> str | None:
        """``$KAMSYNC_LOCK_WAIT`` as given (the lock parses it), ``None`` when unset."""
        return self.environ.get(LOCK_WAIT_ENV)
