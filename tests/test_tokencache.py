"""Access tokens cached between runs: private file, reused until shortly before expiry, renewed on a 401."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kamsync.api.client import KameleoonClient
from kamsync.api.settings import Credentials
from kamsync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox
from kamsync.state.tokencache import TokenCache, trusted
from tests.conftest import Budgets, Result

CREDS = Credentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(rate_limit=None) as sandbox:
        yield sandbox


def _client(budgets: Budgets, sb: Sandbox, cache: TokenCache | None) -> KameleoonClient:
    return KameleoonClient(sb.url, CREDS, budget=budgets("1000/1s"), token_cache=cache)


def _read(client: KameleoonClient) -> None:
    client.get("experiments", 100001, subject="experiment 100001")


def _calls(sb: Sandbox) -> list[tuple[str, int]]:
    return [(r.path, r.status) for r in sb.store.requests]


# -- the file ------------------------------------------------------------------------------------------------


def test_the_cache_file_is_private_even_under_a_permissive_umask(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "cache", "https://api.kameleoon.com", "c1")
    old = os.umask(0)
    try:
        cache.store("tok-1", 5000.0)
    finally:
        os.umask(old)
    assert oct(cache.path.stat().st_mode & 0o777) == oct(0o600)
    assert oct(cache.path.parent.stat().st_mode & 0o777) == oct(0o700)
    assert cache.load() == ("tok-1", 5000.0)


def test_the_cache_lives_in_the_user_cache_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("WIN_PD_OVERRIDE_LOCAL_APPDATA", str(tmp_path / "xdg-cache"))  # Windows: the user's profile
    cache = TokenCache.open("https://api.kameleoon.com/", "c1")
    assert cache.path.is_relative_to(tmp_path / "xdg-cache" / "kamsync")
    assert "c1" not in cache.path.name


def test_each_credential_has_its_own_token(tmp_path: Path) -> None:
    one = TokenCache(tmp_path, "https://api.kameleoon.com", "c1")
    other_client = TokenCache(tmp_path, "https://api.kameleoon.com", "c2")
    other_url = TokenCache(tmp_path, "http://127.0.0.1:9", "c1")
    one.store("tok-1", 5000.0)
    assert (other_client.load(), other_url.load()) == (None, None)
    assert TokenCache(tmp_path, "https://api.kameleoon.com/", "c1").load() == ("tok-1", 5000.0)


def test_a_token_is_kept_per_secret_too_so_a_wrong_secret_never_rides_on_a_cached_token(tmp_path):
    right = TokenCache(tmp_path, "https://api.kameleoon.com", "c1", "the-secret")
    right.store("tok-1", 5000.0)
    assert TokenCache(tmp_path, "https://api.kameleoon.com", "c1", "the-secret").load() == ("tok-1", 5000.0)
    assert TokenCache(tmp_path, "https://api.kameleoon.com", "c1", "wrong-secret").load() is None
    assert "the-secret" not in right.path.name and "the-secret" not in right.path.read_text()


@pytest.mark.parametrize(
    "content", [b"", b"\xff\xfe", b"[]", b'{"access_token": 5}', b'{"access_token": "t", "expires_at": "x"}']
)
def test_an_unreadable_cache_is_no_token(tmp_path: Path, content: bytes) -> None:
    cache = TokenCache(tmp_path, "https://api.kameleoon.com", "c1")
    cache.folder.mkdir(parents=True)
    cache.path.write_bytes(content)
    cache.path.chmod(0o600)  # private, so only the content can make it unusable
    assert cache.load() is None


@pytest.mark.parametrize(
    ("mode", "owner", "user", "expected"),
    [
        (0o100600, 1000, 1000, True),
        (0o100400, 1000, 1000, True),
        (0o100700, 1000, 1000, True),
        (0o100640, 1000, 1000, False),
        (0o100604, 1000, 1000, False),
        (0o100660, 1000, 1000, False),
        (0o100644, 1000, 1000, False),
        (0o100600, 0, 1000, False),
        (0o100600, 1001, 1000, False),
        (0o100644, 1001, None, True),  # no POSIX owners (Windows): nothing to check
    ],
    ids=lambda value: oct(value) if isinstance(value, int) and value > 0o7777 else None,
)
def test_only_a_file_owned_by_the_user_and_private_to_them_is_trusted(
    mode: int, owner: int, user: int | None, expected: bool
) -> None:
    assert trusted(mode, owner, user) is expected


def test_where_the_os_has_no_posix_owners_the_cache_is_used_whatever_its_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = TokenCache(tmp_path / "cache", "https://api.kameleoon.com", "c1")
    cache.store("tok-1", 5000.0)
    cache.path.chmod(0o644)  # what a POSIX mode says is no evidence on Windows, where os.geteuid does not exist
    monkeypatch.setattr(os, "geteuid", lambda: cache.path.stat().st_uid, raising=False)
    assert cache.load() is None
    monkeypatch.delattr(os, "geteuid")
    assert cache.load() == ("tok-1", 5000.0)


def test_a_symlinked_cache_file_is_no_token(tmp_path: Path) -> None:
    elsewhere = TokenCache(tmp_path / "elsewhere", "https://api.kameleoon.com", "c1")
    elsewhere.store("tok-planted", 5000.0)
    cache = TokenCache(tmp_path / "cache", "https://api.kameleoon.com", "c1")
    cache.folder.mkdir(parents=True)
    cache.path.symlink_to(elsewhere.path)
    assert cache.load() is None


def test_clear_forgets_the_token(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path, "https://api.kameleoon.com", "c1")
    cache.clear()  # nothing to forget yet
    cache.store("tok-1", 5000.0)
    cache.clear()
    assert cache.load() is None


# -- with the client -----------------------------------------------------------------------------------------


def test_a_second_client_reuses_the_cached_token(sb: Sandbox, tmp_path: Path, budgets: Budgets) -> None:
    cache = TokenCache(tmp_path, sb.url, DEFAULT_CLIENT_ID)
    with _client(budgets, sb, cache) as first:
        _read(first)
    with _client(budgets, sb, TokenCache(tmp_path, sb.url, DEFAULT_CLIENT_ID)) as second:
        _read(second)
        assert second.requests_sent == 1
    assert _calls(sb) == [("/oauth/token", 200), ("/experiments/100001", 200), ("/experiments/100001", 200)]
    token, expires_at = cache.load() or ("", 0.0)
    assert token == sb.store.issued_tokens()[0]
    assert expires_at == pytest.approx(time.time() + 7200, abs=60)


def test_the_cache_holds_no_client_secret(sb: Sandbox, tmp_path: Path, budgets: Budgets) -> None:
    cache = TokenCache(tmp_path, sb.url, DEFAULT_CLIENT_ID)
    with _client(budgets, sb, cache) as client:
        _read(client)
    assert DEFAULT_CLIENT_SECRET.encode() not in cache.path.read_bytes()


@pytest.mark.parametrize("left", [-10.0, 30.0], ids=["expired", "about-to-expire"])
def test_an_expiring_cached_token_is_replaced(sb: Sandbox, tmp_path: Path, left: float, budgets: Budgets) -> None:
    cache = TokenCache(tmp_path, sb.url, DEFAULT_CLIENT_ID)
    cache.store("stale-token", time.time() + left)
    with _client(budgets, sb, cache) as client:
        _read(client)
    assert _calls(sb) == [("/oauth/token", 200), ("/experiments/100001", 200)]
    assert (cache.load() or ("",))[0] == sb.store.issued_tokens()[0]


def _valid_token_in(budgets: Budgets, sb: Sandbox, cache: TokenCache) -> str:
    """A token the sandbox accepts, cached in ``cache`` (0600) by a first client."""
    with _client(budgets, sb, cache) as client:
        _read(client)
    sb.store.clear_requests()
    return sb.store.issued_tokens()[-1]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660], ids=oct)
def test_a_cache_file_readable_by_others_is_ignored_and_replaced_by_a_private_one(
    sb: Sandbox, tmp_path: Path, mode: int, budgets: Budgets
) -> None:
    cache = TokenCache(tmp_path, sb.url, DEFAULT_CLIENT_ID)
    exposed = _valid_token_in(budgets, sb, cache)
    cache.path.chmod(mode)
    with _client(budgets, sb, TokenCache(tmp_path, sb.url, DEFAULT_CLIENT_ID)) as client:
        _read(client)
    assert _calls(sb) == [("/oauth/token", 200), ("/experiments/100001", 200)], "the exposed token was not used"
    assert oct(cache.path.stat().st_mode & 0o777) == oct(0o600)
    token, _ = cache.load() or ("", 0.0)
    assert token == sb.store.issued_tokens()[-1] != exposed


def test_a_cache_file_owned_by_another_user_is_ignored_and_replaced(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budgets: Budgets
) -> None:
    cache = TokenCache(tmp_path, sb.url, DEFAULT_CLIENT_ID)
    theirs = _valid_token_in(budgets, sb, cache)
    owner = cache.path.stat().st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)  # the OS seam: we are now someone else
    assert cache.load() is None
    with _client(budgets, sb, TokenCache(tmp_path, sb.url, DEFAULT_CLIENT_ID)) as client:
        _read(client)
    assert _calls(sb) == [("/oauth/token", 200), ("/experiments/100001", 200)], "their token was not used"
    monkeypatch.undo()
    token, _ = cache.load() or ("", 0.0)
    assert token == sb.store.issued_tokens()[-1] != theirs
    assert oct(cache.path.stat().st_mode & 0o777) == oct(0o600)


@pytest.mark.parametrize("bad", ["tökén-0123", "tok\nen-0123", "tok en-0123"])
def test_a_cached_token_that_cannot_be_sent_is_ignored_and_replaced(
    sb: Sandbox, tmp_path: Path, bad: str, budgets: Budgets
) -> None:
    cache = TokenCache(tmp_path, sb.url, DEFAULT_CLIENT_ID)
    cache.store(bad, time.time() + 3600)
    with _client(budgets, sb, TokenCache(tmp_path, sb.url, DEFAULT_CLIENT_ID)) as client:
        _read(client)
    assert _calls(sb) == [("/oauth/token", 200), ("/experiments/100001", 200)]
    assert (cache.load() or ("",))[0] == sb.store.issued_tokens()[-1]


def test_a_non_ascii_cached_token_gives_no_traceback_in_a_real_run(
    kamsync: Callable[..., Result], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, env[name])  # resolve the cache folder as the kamsync process will
    planted = TokenCache.open(env["KAMELEOON_API_URL"], DEFAULT_CLIENT_ID, secret=DEFAULT_CLIENT_SECRET)
    planted.store("tökén-planted-0123", time.time() + 3600)
    result = kamsync("status")
    assert result.code in (0, 1), result.output
    assert "Traceback" not in result.output and "tökén-planted" not in result.output
    assert (planted.load() or ("",))[0] != "tökén-planted-0123", "replaced by a token that can be sent"


def test_a_cached_token_the_server_no_longer_knows_is_renewed_once_and_the_cache_updated(
    tmp_path: Path,
    budgets: Budgets,
) -> None:
    with Sandbox(rate_limit=None) as first:
        cache = TokenCache(tmp_path, first.url, DEFAULT_CLIENT_ID)
        with _client(budgets, first, cache) as client:
            _read(client)
        port, old_token = first.port, first.store.issued_tokens()[0]
    # The sandbox restarts on the same address: it has forgotten every token it issued.
    with Sandbox(port=port, rate_limit=None) as restarted:
        with _client(budgets, restarted, TokenCache(tmp_path, restarted.url, DEFAULT_CLIENT_ID)) as client:
            _read(client)
            _read(client)
        assert _calls(restarted) == [
            ("/experiments/100001", 401),
            ("/oauth/token", 200),
            ("/experiments/100001", 200),
            ("/experiments/100001", 200),
        ]
        new_token = restarted.store.issued_tokens()[0]
    assert new_token != old_token
    assert (cache.load() or ("",))[0] == new_token


def test_a_client_without_a_cache_writes_nothing(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budgets: Budgets
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    with _client(budgets, sb, None) as client:
        _read(client)
    assert not (tmp_path / "xdg-cache").exists()
