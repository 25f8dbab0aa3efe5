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
    from kamsync.budget.ledgerurl import LedgerUrl
    from kamsync.state.logins import Login

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
    command: str = "kamsync"  # as the shared ledger names who spent what: "kamsync push"

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
        """The client credentials from the environment, else (without ``KAMELEOON_CLIENT_ID``) the partner login
        ``kamsync login`` stored for this API URL (``CredentialsError`` when there is neither)."""
        from kamsync.api.settings import Credentials, credentials_from_env

        login = None if self.environ.get("KAMELEOON_CLIENT_ID", "").strip() else self.stored_login()
        if login is None:
            return credentials_from_env(self.environ)
        return Credentials(login.client_id, login.client_secret, refresh_token=login.refresh_token, login=True)

    def stored_login(self) -> Login | None:
        """The partner login stored for this API URL, if any."""
        from kamsync.state.logins import LoginStore

        return LoginStore.open(self.api_url_resolved()).read()

    @property
    def client_id(self) -> str:
        """``$KAMELEOON_CLIENT_ID``, else the stored partner login's client id ("" when neither)."""
        from_env = self.environ.get("KAMELEOON_CLIENT_ID", "").strip()
        if from_env:
            return from_env
        login = self.stored_login()
        return "" if login is None else login.client_id

    @property
    def has_credentials(self) -> bool:
        """Whether both client-credential variables are set, or a partner login is stored (not whether Kameleoon
        accepts them)."""
        if self.environ.get("KAMELEOON_CLIENT_ID", "").strip():
            return bool(self.environ.get("KAMELEOON_CLIENT_SECRET", "").strip())
        return self.stored_login() is not None

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

    def ledger_location(self) -> LedgerUrl | None:
        """``$KAMSYNC_LEDGER_URL`` checked (``UsageError`` naming it with its password masked); ``None``: unset,
        the ledger is this machine's file."""
        from kamsync.budget.ledgerurl import LEDGER_URL_ENV, parse_ledger_url

        raw = self.environ.get(LEDGER_URL_ENV, "").strip()
        return parse_ledger_url(raw) if raw else None

    @property
    def ledger_fallback_local(self) -> bool:
        """``$KAMSYNC_LEDGER_FALLBACK=local``: when the shared ledger cannot be used, warn and use the file."""
        from kamsync.budget.ledgerurl import LEDGER_FALLBACK_ENV
        from kamsync.core.errors import UsageError

        value = self.environ.get(LEDGER_FALLBACK_ENV, "").strip()
        if value.lower() not in ("", "local"):
            raise UsageError(f"bad {LEDGER_FALLBACK_ENV} {value!r}: the one fallback is local (or leave it unset)")
        return value.lower() == "local"
