"""The HTTP client against the real sandbox over loopback: tokens, request counts, errors, and rate limits."""

from __future__ import annotations

import math
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import httpx
import pytest

from kamsync.api.client import KameleoonClient
from kamsync.api.query import equal_filter
from kamsync.api.remote import read_remote
from kamsync.api.retry import RetryPolicy
from kamsync.api.settings import Credentials
from kamsync.core.errors import ApiError, AuthError, LockedInApp
from kamsync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Clock, Sandbox
from tests.conftest import Budgets

CREDS = Credentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
LOOSE = "1000/1s"


def _client(budgets: Budgets, sb: Sandbox, limit: str = LOOSE, **kwargs: object) -> KameleoonClient:
    on_wait = kwargs.pop("on_wait", None)
    budget = budgets(limit, on_wait=on_wait)  # type: ignore[arg-type]
    return KameleoonClient(sb.url, CREDS, budget=budget, **kwargs)  # type: ignore[arg-type]


def _token_requests(sb: Sandbox) -> int:
    return sum(1 for r in sb.store.requests if r.path == "/oauth/token")


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(rate_limit=None) as sandbox:
        yield sandbox


# -- tokens --


def test_one_token_serves_every_request_of_a_client(sb: Sandbox, budgets: Budgets) -> None:
    with _client(budgets, sb) as client:
        for _ in range(4):
            client.get("experiments", 100001, subject="experiment 100001")
        assert client.requests_sent == 5
    assert _token_requests(sb) == 1
    assert len(sb.store.requests) == 5


def test_an_expired_token_is_renewed_once_on_401(budgets: Budgets) -> None:
    # The sandbox's clock passes the token's lifetime while the client's does not: it learns of expiry from a 401.
    with Sandbox(rate_limit=None, clock=Clock.stopped()) as sandbox, _client(budgets, sandbox) as client:
        client.get("variations", 200001, subject="variation 200001")
        sandbox.clock.advance(7200)
        variation = client.get("variations", 200001, subject="variation 200001")
        assert variation["id"] == 200001
        statuses = [(r.path, r.status) for r in sandbox.store.requests]
        assert client.requests_sent == 5
    assert statuses == [
        ("/oauth/token", 200),
        ("/variations/200001", 200),
        ("/variations/200001", 401),
        ("/oauth/token", 200),
        ("/variations/200001", 200),
    ]


def test_a_token_is_renewed_before_its_announced_expiry(sb: Sandbox, budgets: Budgets) -> None:
    fake_now = [0.0]
    with _client(budgets, sb, clock=lambda: fake_now[0]) as client:
        client.get("experiments", 100001, subject="experiment 100001")
        fake_now[0] += 7200.0  # the sandbox announced expires_in=7200
        client.get("experiments", 100001, subject="experiment 100001")
    assert _token_requests(sb) == 2
    assert all(r.status == 200 for r in sb.store.requests)


def test_refused_credentials_name_the_variables_and_hide_the_secret(sb: Sandbox, budgets: Budgets) -> None:
    budget = budgets(LOOSE)
    wrong = Credentials(DEFAULT_CLIENT_ID, "wrong-secret-xyz")
    with KameleoonClient(sb.url, wrong, budget=budget) as client, pytest.raises(AuthError) as info:
        client.get("experiments", 100001, subject="experiment 100001")
    text = str(info.value)
    assert "the token endpoint refused the credentials" in text
    assert "KAMELEOON_CLIENT_ID" in text and "KAMELEOON_CLIENT_SECRET" in text
    assert "wrong-secret-xyz" not in text + repr(info.value) + repr(client)
    assert info.value.status in (400, 401)


# -- reading remote state --


def test_read_remote_costs_one_request_per_200_ids_plus_the_token(sb: Sandbox, budgets: Budgets) -> None:
    added = [sb.store.add_variation(100001, f"extra {i}", jsCode=f"// {i}") for i in range(250)]
    experiments = [100001, 100002, 100003]
    given = [200001, 200003, 200004]  # 200002 and the 250 added are discovered through the experiments
    with _client(budgets, sb) as client:
        state = read_remote(client, experiments, given)
        sent = client.requests_sent
    variations = {200001, 200002, 200003, 200004, *added}
    assert sent == math.ceil(3 / 200) + math.ceil(len(variations) / 200) + 1 == 4
    assert len(sb.store.requests) == 4
    assert set(state.experiments) == set(experiments)
    assert set(state.variations) == variations
    exp = state.experiments[100001]
    assert exp.variation_ids is not None and set(exp.variation_ids) == {200001, 200002, *added}
    assert set(exp.code) == {"commonJavaScriptCode", "commonCssCode", "globalScript"}
    assert state.experiments[100002].is_live
    assert state.variations[added[7]].code["jsCode"] == "// 7"
    assert state.variations[added[7]].experiment_id == 100001
    lists = [r for r in sb.store.requests if r.path != "/oauth/token"]
    assert all(r.query["perPage"] == ["200"] for r in lists)
    assert lists[0].query["optionalFields"] == ["variations,globalScript"]


def test_read_remote_leaves_out_what_kameleoon_does_not_have(sb: Sandbox, budgets: Budgets) -> None:
    with _client(budgets, sb) as client:
        state = read_remote(client, [100001, 999991], [200001, 299999])
    assert 999991 not in state.experiments
    assert 299999 not in state.variations
    assert {200001, 200002} <= set(state.variations)


def test_read_remote_of_nothing_sends_nothing(sb: Sandbox, budgets: Budgets) -> None:
    with _client(budgets, sb) as client:
        state = read_remote(client, [], [])
        assert client.requests_sent == 0
    assert state.experiments == {} and state.variations == {}


def test_a_list_of_exactly_200_ids_costs_one_request(sb: Sandbox, budgets: Budgets) -> None:
    for i in range(200):
        sb.store.add_variation(100003, f"x{i}")
    wanted = list(range(200001, 200201))
    with _client(budgets, sb) as client:
        found = client.list("variations", filters=[equal_filter("id", wanted)], expect_ids=wanted, subject="variations")
        assert len(found) == 200
        assert client.requests_sent == 2  # the token and one page


# -- errors --


def test_a_locked_variation_raises_locked_in_app_naming_it(sb: Sandbox, budgets: Budgets) -> None:
    sb.store.set_locked("variation", 200001, True)
    with _client(budgets, sb) as client, pytest.raises(LockedInApp) as info:
        client.patch("variations", 200001, {"jsCode": "x"}, subject="variation 200001")
    text = str(info.value)
    assert text.startswith("variation 200001 is locked in the Kameleoon app: someone has it open; close it there")
    assert "HTTP 423" in text
    assert info.value.status == 423


def test_patch_returns_the_updated_object(sb: Sandbox, budgets: Budgets) -> None:
    with _client(budgets, sb) as client:
        updated = client.patch("variations", 200001, {"jsCode": "new()"}, subject="variation 200001")
    assert updated is not None and updated["jsCode"] == "new()" and updated["id"] == 200001


def test_an_unknown_id_is_a_404_naming_the_subject_and_the_server_message(sb: Sandbox, budgets: Budgets) -> None:
    with _client(budgets, sb) as client, pytest.raises(ApiError) as info:
        client.get("variations", 299999, subject="variation 299999")
    text = str(info.value)
    assert text.startswith("variation 299999 was not found in Kameleoon (HTTP 404: ")
    assert info.value.status == 404 and info.value.server_message and info.value.server_message in text


def test_an_unreachable_api_is_an_error_without_status(budgets: Budgets) -> None:
    with Sandbox(rate_limit=None) as sandbox:
        url = sandbox.url  # the port is closed once the sandbox stops
    budget = budgets(LOOSE)
    once = RetryPolicy(retries=0, timeout=2.0)
    with KameleoonClient(url, CREDS, budget=budget, retry=once) as client, pytest.raises(ApiError) as info:
        client.get("experiments", 1, subject="experiment 1")
    assert info.value.status is None
    assert "could not reach Kameleoon at " + url in str(info.value)
    assert client.requests_sent == 1


# -- rate limits --


@pytest.mark.parametrize("retry_after", [True, False])
def test_a_429_is_waited_out_and_retried(retry_after: bool, budgets: Budgets) -> None:
    waits: list[tuple[float, str]] = []
    with Sandbox(rate_limit="3/1s", retry_after=retry_after, clock=Clock.stopped()) as sandbox:
        # The client waits by moving the sandbox's clock on: the window frees without anyone sleeping.
        budget = budgets(
            "10/1s",
            clock=sandbox.clock.now,
            sleep=sandbox.clock.advance,
            on_wait=lambda s, r: waits.append((s, r)),
        )
        with KameleoonClient(sandbox.url, CREDS, budget=budget) as client:
            for _ in range(4):  # with the token: 5 requests against a limit of 3 per second
                assert client.get("variations", 200001, subject="variation 200001")["id"] == 200001
        statuses = [r.status for r in sandbox.store.requests]
    assert statuses == [200, 200, 200, 429, 200, 200]
    assert [seconds for seconds, _ in waits] == [1.0]  # Retry-After: 1, or the full 1 s window when absent
    assert "429" in waits[0][1]
    assert sandbox.clock.advanced == 1.0


def test_too_many_429s_end_in_an_api_error(budgets: Budgets) -> None:
    with Sandbox(rate_limit="2/1m") as sandbox, _client(budgets, sandbox, max_429_retries=0) as client:
        client.get("variations", 200001, subject="variation 200001")
        with pytest.raises(ApiError) as info:
            client.get("variations", 200001, subject="variation 200001")
    assert info.value.status == 429
    assert "rate limit" in str(info.value) and "variation 200001" in str(info.value)


def test_the_limiter_with_the_servers_windows_gets_no_429(budgets: Budgets) -> None:
    with Sandbox(rate_limit="3/10s", clock=Clock.stopped()) as sandbox:
        budget = budgets("3/10s", clock=sandbox.clock.now, sleep=sandbox.clock.advance)
        with KameleoonClient(sandbox.url, CREDS, budget=budget) as client:
            for _ in range(12):
                client.get("variations", 200001, subject="variation 200001")
            assert client.requests_sent == 13
        statuses = [r.status for r in sandbox.store.requests]
    assert statuses == [200] * 13
    assert sandbox.clock.advanced == 40.0  # four waits for the window, none longer than needed


# -- secrets, odd bodies (a stub transport: the sandbox never misbehaves like this) --


def _stub(budgets: Budgets, handler: object) -> KameleoonClient:
    budget = budgets(LOOSE)
    return KameleoonClient(
        "https://api.example.test",
        Credentials("cid", "TOP-SECRET-1"),
        budget=budget,
        transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
        retry=RetryPolicy(retries=0),  # these tests are about one answer; tests/test_api_retry.py covers retries
    )


def test_secrets_echoed_by_the_server_are_scrubbed(budgets: Budgets) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            assert b"client_secret=TOP-SECRET-1" in request.content
            return httpx.Response(200, json={"access_token": "ACCESS-TOKEN-77"})
        return httpx.Response(400, json={"message": "bad ACCESS-TOKEN-77 from TOP-SECRET-1"})

    with _stub(budgets, handler) as client, pytest.raises(ApiError) as info:
        client.get("experiments", 1, subject="experiment 1")
    text = str(info.value) + repr(info.value) + str(info.value.server_message)
    assert "ACCESS-TOKEN-77" not in text and "TOP-SECRET-1" not in text
    assert "bad <hidden> from <hidden>" in text


def _stub_with(budgets: Budgets, secret: str, handler: object) -> KameleoonClient:
    budget = budgets(LOOSE)
    return KameleoonClient(
        "https://api.example.test",
        Credentials("cid", secret),
        budget=budget,
        transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
        retry=RetryPolicy(retries=0),
    )


def test_a_token_endpoint_echoing_its_form_body_never_shows_the_secret_url_encoded(budgets: Budgets) -> None:
    secret = "p+q/r=s&t u-0123"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"message": f"malformed request body: {request.content.decode()}"})

    with _stub_with(budgets, secret, handler) as client, pytest.raises(AuthError) as info:
        client.get("experiments", 1, subject="experiment 1")
    text = str(info.value) + repr(info.value)
    assert "malformed request body: grant_type=client_credentials&client_id=cid&client_secret=<hidden>" in text
    for form in (secret, quote_plus(secret), quote(secret, safe="")):
        assert form not in text


def test_a_one_character_secret_never_garbles_messages_it_is_not_in_and_withholds_those_it_is(budgets: Budgets) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "ACCESS-TOKEN-77"})
        if request.url.path == "/experiments/1":
            return httpx.Response(400, json={"message": "Bad ID 1"})
        return httpx.Response(400, json={"message": "Experiment not found"})

    with _stub_with(budgets, "e", handler) as client:
        with pytest.raises(ApiError) as shown:
            client.get("experiments", 1, subject="experiment 1")
        with pytest.raises(ApiError) as withheld:
            client.get("experiments", 2, subject="experiment 2")
    assert str(shown.value) == "Kameleoon rejected the request for experiment 1 (HTTP 400: Bad ID 1)"
    assert str(withheld.value) == "Kameleoon rejected the request for experiment 2 (HTTP 400)"


@pytest.mark.parametrize("token", ["tok\nen-SECRETPART", "tökén-SECRETPART"])
def test_a_token_that_cannot_be_sent_is_an_api_error_that_never_echoes_it(token: str, budgets: Budgets) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": token})
        return httpx.Response(200, json={"id": 1})

    with _stub(budgets, handler) as client, pytest.raises(ApiError) as info:
        client.get("experiments", 1, subject="experiment 1")
    assert "SECRETPART" not in str(info.value) + repr(info.value)
    assert "cannot be sent in an HTTP header" in str(info.value)
    assert info.value.exit_code == 4 and not isinstance(info.value.__context__, UnicodeEncodeError)


def test_a_non_json_error_body_and_wrapped_lists_are_handled(budgets: Budgets) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 7200})
        if request.url.path == "/experiments":
            return httpx.Response(200, json={"content": [{"id": "5", "name": "wrapped"}]})
        return httpx.Response(502, text="<html>Bad gateway</html>")

    with _stub(budgets, handler) as client:
        assert client.list("experiments", subject="experiments") == [{"id": "5", "name": "wrapped"}]
        with pytest.raises(ApiError) as info:
            client.get("variations", 9, subject="variation 9")
    assert str(info.value) == "Kameleoon failed while handling variation 9 (HTTP 502); try again later"


def test_a_403_saying_the_token_expired_renews_it_once(budgets: Budgets) -> None:
    tokens: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            tokens.append(f"tok{len(tokens)}")
            return httpx.Response(200, json={"access_token": tokens[-1]})
        if request.headers["Authorization"] == "Bearer tok0":
            return httpx.Response(403, json={"message": "Access token expired"})
        return httpx.Response(200, json={"id": 1})

    with _stub(budgets, handler) as client:
        assert client.get("experiments", 1, subject="experiment 1") == {"id": 1}
        assert client.requests_sent == 4
    assert tokens == ["tok0", "tok1"]


def test_read_remote_copes_with_an_api_that_omits_variations_and_code_fields(budgets: Budgets) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path} {request.url.params.get('filter', '')}")
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t"})
        if request.url.path == "/experiments":  # no variations list, no globalScript, even when asked
            return httpx.Response(200, json=[{"id": 1, "name": "E", "status": "Active", "commonJavaScriptCode": None}])
        if request.url.path == "/experiments/1":
            return httpx.Response(200, json={"id": 1, "commonCssCode": "c", "commonJavaScriptCode": "ignored"})
        if request.url.path == "/variations" and "experimentId" in request.url.params["filter"]:
            return httpx.Response(200, json=[{"id": "11", "experimentId": 1, "jsCode": "ui"}, {"id": 12}])
        return httpx.Response(200, json=[{"id": 10, "experimentId": "1", "jsCode": None}])

    with _stub(budgets, handler) as client:
        state = read_remote(client, [1], [10])
    exp = state.experiments[1]
    assert exp.code == {"commonJavaScriptCode": "", "commonCssCode": "c"}  # globalScript: unknown, left out
    assert exp.variation_ids is None and exp.is_live
    assert set(state.variations) == {10, 11}  # 12 names no experiment of ours
    assert state.variations[10].code == {"jsCode": ""}
    assert state.variations[11].code == {"jsCode": "ui"}
    assert seen == [
        "POST /oauth/token ",
        'GET /experiments [{"field":"id","operator":"EQUAL","parameters":[1]}]',
        "GET /experiments/1 ",
        'GET /variations [{"field":"id","operator":"EQUAL","parameters":[10]}]',
        'GET /variations [{"field":"experimentId","operator":"EQUAL","parameters":[1]}]',
    ]
