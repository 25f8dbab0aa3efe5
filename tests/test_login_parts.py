"""The parts of a partner login, one at a time: the redirect URI and the callback's verdict (pure), the stored
login's care, the one-shot callback server, and the sandbox's authorize page and grants over HTTP."""

from __future__ import annotations

import base64
import os
import socket
import stat
from pathlib import Path

import httpx
import pytest

from kamsync.api.auth import login_after_refresh, newest_login
from kamsync.api.callback import CallbackServer
from kamsync.api.login import Redirect, authorize_url, code_form, code_from_callback, parse_redirect
from kamsync.api.responses import TokenGrant
from kamsync.api.settings import Credentials
from kamsync.core.errors import AuthError, UsageError
from kamsync.sandbox import Sandbox
from kamsync.state.logins import Login, LoginStore

PARTNER, SECRET = "partner-app", "partner-s3cret-xyz"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (None, Redirect("127.0.0.1", 0, "/callback")),
        ("http://127.0.0.1:8765/cb", Redirect("127.0.0.1", 8765, "/cb")),
        ("http://localhost:9000", Redirect("127.0.0.1", 9000, "/")),
        ("http://[::1]:9001/x", Redirect("::1", 9001, "/x")),
    ],
)
def test_a_loopback_redirect_uri_is_accepted(uri: str | None, expected: Redirect) -> None:
    assert parse_redirect(uri) == expected


@pytest.mark.parametrize(
    "uri", ["https://127.0.0.1/cb", "http://example.com/cb", "http://127.0.0.1:port/cb", "http://127.0.0.1/cb?x=1"]
)
def test_a_redirect_uri_off_loopback_or_odd_is_refused(uri: str) -> None:
    with pytest.raises(UsageError, match="must be plain http on a loopback address"):
        parse_redirect(uri)


def test_the_authorize_url_and_the_exchange_form() -> None:
    url = authorize_url("https://api.kameleoon.com/", "app", "http://127.0.0.1:5/cb", "st")
    assert url == (
        "https://api.kameleoon.com/oauth/authorize?client_id=app&response_type=code"
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcb&state=st"
    )
    assert code_form("c", "r") == {"grant_type": "authorization_code", "code": "c", "redirect_uri": "r"}
    assert Redirect("::1", 0, "/x").uri(81) == "http://[::1]:81/x"


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"code": "c", "state": "other"}, "state does not match"),
        ({"code": "c"}, "state does not match"),
        ({"error": "access_denied", "state": "s"}, r"Kameleoon refused the login \(access_denied\)"),
        ({"state": "s"}, "carried no authorization code"),
    ],
)
def test_the_callback_verdict(query: dict[str, str], problem: str) -> None:
    with pytest.raises(AuthError, match=problem):
        code_from_callback(query, "s")
    assert code_from_callback({"code": "c", "state": "s"}, "s") == "c"


def test_the_login_is_stored_with_care_and_an_untrusted_file_is_ignored(tmp_path: Path) -> None:
    store = LoginStore(tmp_path / "logins", "https://api.kameleoon.com/")
    assert store.read() is None and store.load() is None and not store.delete()
    store.save(Login(PARTNER, SECRET, "refresh-1", "access-1", 123.0))
    assert store.read() == Login(PARTNER, SECRET, "refresh-1", "access-1", 123.0)
    store.save(Login(PARTNER, SECRET, "refresh-2", "access-2", 456.0))  # a refresh rewrites it whole
    assert store.load() == ("access-2", 456.0)
    assert store.read() == Login(PARTNER, SECRET, "refresh-2", "access-2", 456.0)
    store.save(Login(PARTNER, SECRET, "refresh-2"))
    assert store.load() is None, "no access token stored"
    if os.name == "posix":
        assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
        store.path.chmod(0o644)  # readable by others: its secret may have leaked, and it is not used
        assert store.read() is None
        store.path.chmod(0o600)
    store.path.write_text('{"api_url": "https://api.kameleoon.com", "client_id": 5}', encoding="utf-8")
    assert store.read() is None
    assert store.delete() and not store.path.exists()


def test_a_refresh_starts_from_the_stored_login_of_its_client_and_saves_only_over_the_one_it_read() -> None:
    running = Credentials(PARTNER, SECRET, refresh_token="refresh-1", login=True)
    rotated = Login(PARTNER, SECRET, "refresh-2", "access-2", 456.0)  # another process refreshed meanwhile
    assert newest_login(running, rotated) == Credentials(PARTNER, SECRET, refresh_token="refresh-2", login=True)
    assert newest_login(running, None) == running  # logged out: it goes on with its own
    assert newest_login(running, Login("other-app", "other-secret", "refresh-9")) == running

    used = newest_login(running, rotated)
    grant = TokenGrant("access-3", 7200.0, "Bearer", "refresh-3")
    assert login_after_refresh(used, grant, 999.0, rotated) == Login(PARTNER, SECRET, "refresh-3", "access-3", 999.0)
    kept = TokenGrant("access-3", 7200.0, "Bearer", None)  # an answer without one: the one it renewed stays
    assert login_after_refresh(used, kept, 999.0, rotated) == Login(PARTNER, SECRET, "refresh-2", "access-3", 999.0)
    for changed in (
        None,  # logged out: not brought back
        Login("other-app", "other-secret", "refresh-9"),  # another client logged in: never mixed with it
        Login(PARTNER, "new-secret", "refresh-7"),  # logged in again: not overwritten
        Login(PARTNER, SECRET, "refresh-8"),  # refreshed again by another process: its tokens stay
    ):
        assert login_after_refresh(used, grant, 999.0, changed) is None


def test_the_callback_server_answers_one_visit_and_times_out_without_one() -> None:
    with CallbackServer(parse_redirect(None), "s") as server:
        with httpx.Client() as browser:
            assert browser.get(server.redirect_uri.replace("/callback", "/elsewhere")).status_code == 404
            answer = browser.get(server.redirect_uri, params={"code": "the-code-123", "state": "s"})
        assert answer.status_code == 200 and "logged in" in answer.text and "the-code-123" not in answer.text
        assert server.wait(5) == {"code": "the-code-123", "state": "s"}
    with CallbackServer(parse_redirect(None), "s") as idle, pytest.raises(UsageError, match="no login answer"):
        idle.wait(0.05)


def test_a_request_without_this_logins_state_is_refused_and_the_wait_goes_on_for_the_real_answer() -> None:
    refused: list[None] = []
    with CallbackServer(parse_redirect(None), "s") as server, httpx.Client() as browser:
        forged = browser.get(server.redirect_uri, params={"code": "forged-code", "state": "forged"})
        probe = browser.get(server.redirect_uri)  # a page probing localhost: neither state nor code
        assert (forged.status_code, probe.status_code) == (400, 400)
        assert "refused" in forged.text and "not the answer" in forged.text
        with pytest.raises(UsageError, match="no login answer"):
            server.wait(0.05, on_refused=lambda: refused.append(None))  # neither ended the wait
        real = browser.get(server.redirect_uri, params={"code": "the-code-123", "state": "s"})
        assert real.status_code == 200 and "logged in" in real.text
        assert server.wait(5, on_refused=lambda: refused.append(None)) == {"code": "the-code-123", "state": "s"}
    assert len(refused) == 2, "each refused request was told to the waiting thread"


def test_a_connection_that_sends_nothing_does_not_keep_the_real_answer_waiting() -> None:
    with CallbackServer(parse_redirect(None), "s") as server, httpx.Client(timeout=30) as browser:
        host, port = server.redirect_uri.split("//")[1].split("/")[0].rsplit(":", 1)
        with socket.create_connection((host, int(port))):  # a preconnect, or a probe, that never speaks
            real = browser.get(server.redirect_uri, params={"code": "the-code-123", "state": "s"})
        assert real.status_code == 200 and "logged in" in real.text
        assert server.wait(5) == {"code": "the-code-123", "state": "s"}


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"error": "access_denied", "state": "s"}, r"Kameleoon refused the login \(access_denied\)"),
        ({"state": "s"}, "carried no authorization code"),
    ],
)
def test_an_answer_with_this_logins_state_ends_the_wait_even_when_it_refuses(
    query: dict[str, str], problem: str
) -> None:
    with CallbackServer(parse_redirect(None), "s") as server, httpx.Client() as browser:
        answer = browser.get(server.redirect_uri, params=query)
        assert answer.status_code == 400 and "see the terminal" in answer.text
        assert server.wait(5) == query
    with pytest.raises(AuthError, match=problem):
        code_from_callback(query, "s")


def test_a_port_in_use_is_a_clear_error() -> None:
    with CallbackServer(parse_redirect(None), "s") as first:
        port = int(first.redirect_uri.split(":")[2].split("/")[0])
        with pytest.raises(UsageError, match="cannot listen on"):
            CallbackServer(parse_redirect(f"http://127.0.0.1:{port}/callback"), "s")


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_the_sandbox_authorize_page_and_grants(tmp_path: Path) -> None:
    with Sandbox(rate_limit=None) as sandbox, httpx.Client(base_url=sandbox.url) as http:
        sandbox.store.add_client(PARTNER, SECRET)
        redirect = "http://127.0.0.1:9/cb"
        page = http.get(
            "/oauth/authorize",
            params={"client_id": PARTNER, "response_type": "code", "redirect_uri": redirect, "state": "st"},
        )
        assert page.status_code == 302
        location = httpx.URL(page.headers["location"])
        assert str(location).startswith(redirect + "?") and location.params["state"] == "st"
        code = location.params["code"]

        def token(form: dict[str, str], auth: str | None = _basic(PARTNER, SECRET)) -> httpx.Response:
            return http.post("/oauth/token", data=form, headers={"Authorization": auth} if auth else {})

        assert token(code_form(code, "http://127.0.0.1:9/other")).status_code == 400  # and the code is spent
        fresh = httpx.URL(
            http.get(
                "/oauth/authorize", params={"client_id": PARTNER, "response_type": "code", "redirect_uri": redirect}
            ).headers["location"]
        )
        code = fresh.params["code"]
        assert "state" not in fresh.params
        assert token(code_form(code, redirect), auth=None).status_code == 401
        assert token(code_form(code, redirect), auth="Basic !!!").status_code == 401
        granted = token(code_form(code, redirect))
        assert granted.status_code == 200, granted.text
        refresh = granted.json()["refresh_token"]
        assert token(code_form(code, redirect)).status_code == 400, "a code is used once"
        renewed = token({"grant_type": "refresh_token", "refresh_token": refresh})
        assert renewed.status_code == 200 and renewed.json()["refresh_token"] != refresh
        assert token({"grant_type": "refresh_token", "refresh_token": refresh}).status_code == 400, "replaced"
        wrong = token(
            {"grant_type": "refresh_token", "refresh_token": renewed.json()["refresh_token"]},
            auth=_basic(PARTNER, "wrong"),
        )
        assert wrong.status_code == 401
        for bad in (
            {"client_id": "nobody", "response_type": "code", "redirect_uri": redirect},
            {"client_id": PARTNER, "response_type": "token", "redirect_uri": redirect},
            {"client_id": PARTNER, "response_type": "code", "redirect_uri": "javascript:x"},
        ):
            assert http.get("/oauth/authorize", params=bad).status_code == 400
