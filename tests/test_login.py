"""A partner app's login (authorization-code flow) with the real command against the sandbox: login through a
browser that follows the authorize page to kamsync's loopback callback, commands using the login, a refresh when
Kameleoon says the token expired, the credential named, logout; and a forged ``state`` refused while the real
answer still logs in."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kamsync.api.client import KameleoonClient
from kamsync.sandbox import Sandbox
from kamsync.state.logins import Login, LoginStore
from kamsync.sync.options import Options
from kamsync.sync.session import open_run
from kamsync.ui.console import Console
from kamsync.ui.view import View
from tests.conftest import TEST_RATE_LIMIT, Result

PARTNER = "partner-app"
PARTNER_SECRET = "partner-s3cret-" + os.urandom(6).hex()
BROWSER = f"{sys.executable} {Path(__file__).resolve().parent / 'browser.py'} %s"
NO_CREDENTIALS: dict[str, str | None] = {"KAMELEOON_CLIENT_ID": None, "KAMELEOON_CLIENT_SECRET": None}
LOGIN_ENV: dict[str, str | None] = {"KAMELEOON_CLIENT_ID": None, "KAMELEOON_CLIENT_SECRET": PARTNER_SECRET}

Kamsync = Callable[..., Result]


def _store(home: Path, sandbox: Sandbox) -> LoginStore:
    return LoginStore(home / ".state" / "kamsync" / "logins", sandbox.url)


def _log_in(kamsync: Kamsync, sandbox: Sandbox) -> None:
    sandbox.store.add_client(PARTNER, PARTNER_SECRET)
    logged = kamsync("login", "--client-id", PARTNER, extra_env={**LOGIN_ENV, "BROWSER": BROWSER})
    assert logged.code == 0, logged.output


def _command_options(sandbox: Sandbox, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Options:
    """A command's options in this process, finding the user's folders as a kamsync process finds them."""
    for name in ("HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "WIN_PD_OVERRIDE_LOCAL_APPDATA"):
        monkeypatch.setenv(name, env[name])
    return Options(None, sandbox.url, json=False, no_color=True, environ={"KAMSYNC_RATE_LIMIT": TEST_RATE_LIMIT})


@contextmanager
def _command(opts: Options) -> Iterator[KameleoonClient]:
    """The client a command opens (``kamsync watch``, ``push``…): the stored login's, with its rate ledger."""
    run = open_run(opts, None, View(Console.create(json_mode=False, no_color=True, environ={})))
    try:
        with run.client:
            yield run.client
    finally:
        run.budget.close()


def _read(client: KameleoonClient) -> None:
    client.get("experiments", 100001, subject="experiment 100001")


def _writes_of(store: LoginStore, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """What the stored login's file holds after each write to it from now on (in this process)."""
    writes: list[dict[str, object]] = []
    real_replace = os.replace

    def replace(src: str, dst: str, **kwargs: object) -> None:  # every atomic write ends here: see what it leaves
        if Path(dst) == store.path:
            writes.append(json.loads(Path(src).read_text(encoding="utf-8")))
        real_replace(src, dst, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace)
    return writes


def _held(writes: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [tuple(w[k] for k in ("client_id", "client_secret", "refresh_token", "access_token")) for w in writes]


def test_login_use_refresh_logout(kamsync: Kamsync, sandbox: Sandbox, home: Path) -> None:
    sandbox.store.add_client(PARTNER, PARTNER_SECRET)
    logged = kamsync("login", "--client-id", PARTNER, extra_env={**LOGIN_ENV, "BROWSER": BROWSER})
    assert logged.code == 0, logged.output
    assert f"Logged in to {sandbox.url} as the partner client {PARTNER}" in logged.stdout
    assert f"{sandbox.url}/oauth/authorize?client_id={PARTNER}&response_type=code&redirect_uri=" in logged.stderr
    store = _store(home, sandbox)
    first = store.read()
    assert first is not None and first.client_id == PARTNER and first.client_secret == PARTNER_SECRET
    if os.name == "posix":
        assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    seen = [first.refresh_token]

    sandbox.store.clear_requests()
    used = kamsync("status", extra_env=NO_CREDENTIALS)
    assert used.code == 0, used.output
    assert {r.client_id for r in sandbox.store.requests} == {PARTNER}
    assert not [r for r in sandbox.store.requests if r.path == "/oauth/token"], "the login's token is used"

    sandbox.clock.advance(7201)  # the access token expires: Kameleoon answers 401, the refresh token renews it
    sandbox.store.clear_requests()
    renewed = kamsync("status", extra_env=NO_CREDENTIALS)
    assert renewed.code == 0, renewed.output
    assert [r.status for r in sandbox.store.requests if r.path == "/oauth/token"] == [200]
    second = store.read()
    assert second is not None and second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    seen.append(second.refresh_token)

    quota = kamsync("quota", extra_env=NO_CREDENTIALS)
    assert f"Credential: the partner login of client {PARTNER} (kamsync login)" in quota.stdout
    payload = kamsync("quota", "--json", extra_env=NO_CREDENTIALS).json()
    assert payload["credential"] == {"kind": "login", "id": PARTNER}
    doctor = kamsync("doctor", "--json", extra_env=NO_CREDENTIALS)
    checks = {c["name"]: c for c in doctor.json()["checks"]}
    assert checks["credentials found"]["detail"] == f"the partner login of client {PARTNER} (kamsync login)"
    assert checks["credentials accepted"]["ok"], "a refresh grant proves the login works"
    third = store.read()
    assert third is not None and third.refresh_token != second.refresh_token
    seen.append(third.refresh_token)

    out = kamsync("logout", extra_env=NO_CREDENTIALS)
    assert out.code == 0 and f"the stored partner login of client {PARTNER} and its tokens are deleted" in out.stdout
    assert not store.path.exists()
    gone = kamsync("status", extra_env=NO_CREDENTIALS)
    assert gone.code == 2 and "kamsync login" in gone.stderr
    again = kamsync("logout", extra_env=NO_CREDENTIALS)
    assert again.code == 0 and "No partner login stored" in again.stdout

    everything = "".join(r.output for r in (logged, used, renewed, quota, doctor, out, gone)) + json.dumps(payload)
    for secret in (PARTNER_SECRET, *seen, *sandbox.store.issued_tokens(), *sandbox.oauth.refresh_tokens()):
        assert secret not in everything


def test_a_login_answer_with_another_state_is_refused_and_the_real_one_still_logs_in(
    kamsync: Kamsync, sandbox: Sandbox, home: Path
) -> None:
    sandbox.store.add_client(PARTNER, PARTNER_SECRET)
    sandbox.store.clear_requests()
    forged = {**LOGIN_ENV, "BROWSER": BROWSER, "KAMSYNC_TEST_BROWSER_STATE": "forged-state"}
    result = kamsync("login", "--client-id", PARTNER, extra_env=forged)
    assert result.code == 0, result.output
    assert "did not carry the state kamsync sent" in result.stderr and "still waiting" in result.stderr
    assert [r.path for r in sandbox.store.requests] == ["/oauth/authorize", "/oauth/authorize", "/oauth/token"]
    stored = _store(home, sandbox).read()
    assert stored is not None and sandbox.oauth.refresh_tokens() == [stored.refresh_token], "one code exchanged"


@pytest.mark.parametrize("older", ["another-app", PARTNER], ids=["another-clients-login", "the-same-clients-older"])
def test_login_replaces_the_stored_login_in_one_write_of_exactly_the_new_login(
    kamsync: Kamsync, sandbox: Sandbox, home: Path, monkeypatch: pytest.MonkeyPatch, older: str
) -> None:
    store = _store(home, sandbox)
    store.save(Login(older, "older-s3cret-0123", "older-refresh-0123", "older-access-0123", time.time() + 3600))
    writes = _writes_of(store, monkeypatch)
    sandbox.store.add_client(PARTNER, PARTNER_SECRET)
    logged = kamsync("login", "--client-id", PARTNER, extra_env={**LOGIN_ENV, "BROWSER": BROWSER}, process=False)
    assert logged.code == 0, logged.output

    (access,), (refresh,) = sandbox.store.issued_tokens(), sandbox.oauth.refresh_tokens()
    assert _held(writes) == [(PARTNER, PARTNER_SECRET, refresh, access)], "one write, of the new login alone"
    stored = store.read()
    assert stored is not None and (stored.client_id, stored.client_secret) == (PARTNER, PARTNER_SECRET)
    assert (stored.refresh_token, stored.access_token) == (refresh, access)


def test_a_refresh_rewrites_the_stored_login_in_one_write_of_both_new_tokens(
    kamsync: Kamsync, sandbox: Sandbox, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _log_in(kamsync, sandbox)
    store = _store(home, sandbox)
    writes = _writes_of(store, monkeypatch)
    sandbox.clock.advance(7201)  # the access token expires: the next command refreshes the login
    renewed = kamsync("status", extra_env=NO_CREDENTIALS, process=False)
    assert renewed.code == 0, renewed.output
    (refresh,), access = sandbox.oauth.refresh_tokens(), sandbox.store.issued_tokens()[-1]
    assert _held(writes) == [(PARTNER, PARTNER_SECRET, refresh, access)], "never a new token beside a replaced one"


def test_a_long_running_command_refreshes_with_the_refresh_token_another_process_rotated(
    kamsync: Kamsync, sandbox: Sandbox, home: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _log_in(kamsync, sandbox)
    opts = _command_options(sandbox, env, monkeypatch)
    sandbox.store.clear_requests()
    with _command(opts) as watching:  # started before the other one refreshed, and still running after
        _read(watching)
        sandbox.clock.advance(7201)
        with _command(opts) as other:  # its token has expired: it refreshes, and the refresh token rotates
            _read(other)
        _read(watching)  # its token has expired too: the one the other stored is still valid, and used
        sandbox.clock.advance(7201)
        _read(watching)  # now it refreshes, with the refresh token the other left, not its own spent one
    assert [r.status for r in sandbox.store.requests if r.path == "/oauth/token"] == [200, 200]
    stored = _store(home, sandbox).read()
    assert stored is not None and sandbox.oauth.refresh_tokens() == [stored.refresh_token], "the login works"
    sandbox.store.clear_requests()
    with _command(opts) as later:
        _read(later)
    assert [(r.path, r.status) for r in sandbox.store.requests] == [("/experiments/100001", 200)]


def test_a_refresh_after_logout_does_not_bring_the_login_back(
    kamsync: Kamsync, sandbox: Sandbox, home: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _log_in(kamsync, sandbox)
    opts = _command_options(sandbox, env, monkeypatch)
    with _command(opts) as watching:
        _read(watching)
        assert kamsync("logout", extra_env=NO_CREDENTIALS).code == 0
        sandbox.clock.advance(7201)
        _read(watching)  # it refreshes the login it runs with, and goes on
    assert not _store(home, sandbox).path.exists(), "logged out stays logged out"


def test_a_redirect_uri_off_this_machine_is_refused(kamsync: Kamsync, sandbox: Sandbox) -> None:
    result = kamsync(
        "login", "--client-id", PARTNER, "--redirect-uri", "https://example.com/callback", extra_env=LOGIN_ENV
    )
    assert result.code == 2 and "must be plain http on a loopback address" in result.stderr
