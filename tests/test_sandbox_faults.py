"""Fault knobs of the sandbox: the spec grammar as tables, then every action against a real server on loopback."""

from __future__ import annotations

import base64
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from kamsync.core.errors import UsageError
from kamsync.sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DROPPED,
    Fault,
    FaultEvent,
    Sandbox,
    parse_fault,
)
from kamsync.sandbox.faults import (
    Action,
    Do,
    EchoToken,
    ExpireToken,
    Lock,
    NthRule,
    describe_event,
    fires,
    lock_target,
)

TOKEN_FORM = {
    "grant_type": "client_credentials",
    "client_id": DEFAULT_CLIENT_ID,
    "client_secret": DEFAULT_CLIENT_SECRET,
}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(rate_limit="off") as sb:
        yield sb


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=5) as client:
        yield client


def new_token(client: httpx.Client) -> str:
    response = client.post("/oauth/token", data=TOKEN_FORM)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def api(http: httpx.Client) -> httpx.Client:
    http.headers["Authorization"] = f"Bearer {new_token(http)}"
    return http


def statuses(sandbox: Sandbox, method: str | None = None) -> list[int]:
    return [r.status for r in sandbox.store.requests if method is None or r.method == method]


def patch(client: httpx.Client, variation_id: int, js: str) -> httpx.Response:
    return client.patch(f"/variations/{variation_id}", json={"jsCode": js})


# -- the grammar ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "rule"),
    [
        ("3=503", NthRule("3=503", None, 3, 1, Action(Do.ANSWER, 503))),
        ("PATCH 3=503", NthRule("PATCH 3=503", "PATCH", 3, 1, Action(Do.ANSWER, 503))),
        ("  patch   2x3 = 500 ", NthRule("patch   2x3 = 500", "PATCH", 2, 3, Action(Do.ANSWER, 500))),
        ("*=503", NthRule("*=503", None, 1, None, Action(Do.ANSWER, 503))),
        ("GET *=drop", NthRule("GET *=drop", "GET", 1, None, Action(Do.DROP))),
        ("1=429", NthRule("1=429", None, 1, 1, Action(Do.ANSWER, 429, retry_after=True))),
        ("1=429-no-retry-after", NthRule("1=429-no-retry-after", None, 1, 1, Action(Do.ANSWER, 429))),
        ("POST 1=drop-after", NthRule("POST 1=drop-after", "POST", 1, 1, Action(Do.DROP_AFTER))),
        ("PATCH 1=stall=2.5", NthRule("PATCH 1=stall=2.5", "PATCH", 1, 1, Action(Do.STALL, seconds=2.5))),
        ("DELETE 4=hold", NthRule("DELETE 4=hold", "DELETE", 4, 1, Action(Do.HOLD))),
        ("GET *=fresh-pages", NthRule("GET *=fresh-pages", "GET", 1, None, Action(Do.FRESH_PAGES))),
        ("GET 1=trickle=0.5", NthRule("GET 1=trickle=0.5", "GET", 1, 1, Action(Do.TRICKLE, seconds=0.5))),
        (
            "GET *=abridged=id+code",
            NthRule("GET *=abridged=id+code", "GET", 1, None, Action(Do.ABRIDGED, keep=("id", "code"))),
        ),
        (
            "1=429-retry-after=1000000000",
            NthRule("1=429-retry-after=1000000000", None, 1, 1, Action(Do.ANSWER, 429, True, wait="1000000000")),
        ),
        (
            "1=429-retry-after=Inf",
            NthRule("1=429-retry-after=Inf", None, 1, 1, Action(Do.ANSWER, 429, True, wait="Inf")),
        ),
        ("expire-token=3", ExpireToken("expire-token=3", 3)),
        ("expire-token=0", ExpireToken("expire-token=0", 0)),
        ("lock=variation:200001", Lock("lock=variation:200001", "variation", 200001)),
        ("lock=Experiment:100001", Lock("lock=Experiment:100001", "experiment", 100001)),
        ("echo-token=body", EchoToken("echo-token=body", "body")),
        ("echo-token = JSON", EchoToken("echo-token = JSON", "json")),
    ],
)
def test_parse_fault_reads_every_form(spec: str, rule: object) -> None:
    assert parse_fault(spec) == rule


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("", "missing '=ACTION'"),
        ("PATCH 3", "missing '=ACTION'"),
        ("3=", "missing '=ACTION'"),
        ("0=503", "N must be a whole number, 1 or more, not '0'"),
        ("2x0=503", "K in NxK must be a whole number, 1 or more, not '0'"),
        ("FETCH 1=503", "unknown method 'FETCH'"),
        ("PATCH 3rd=503", "cannot read which requests 'PATCH 3rd' means"),
        ("*x2=503", "cannot read which requests '*x2' means"),
        ("1=404", "status 404 is not 429 or 500-599"),
        ("1=600", "status 600 is not 429 or 500-599"),
        ("1=explode", "unknown action 'explode'"),
        ("1=stall=0", "stall needs a number of seconds above 0"),
        ("1=stall=soon", "stall needs a number of seconds above 0"),
        ("1=trickle=0", "trickle needs a number of seconds above 0"),
        ("1=abridged=id++code", "abridged needs field names joined by '+'"),
        ("1=abridged=id,code", "abridged needs field names joined by '+'"),
        ("1=429-retry-after=in a bit", "429-retry-after needs a header value without spaces, not 'in a bit'"),
        ("expire-token=-1", "the number of requests must be a whole number, 0 or more, not '-1'"),
        ("lock=site:1", "lock needs KIND:ID with KIND one of experiment, variation"),
        ("lock=variation", "lock needs KIND:ID"),
        ("lock=variation:x", "the id must be a whole number, 1 or more, not 'x'"),
        ("echo-token=xml", "echo-token needs FORM, one of body, json, basic, raw, not 'xml'"),
    ],
)
def test_parse_fault_refuses_bad_specs_saying_what_is_expected(spec: str, problem: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_fault(spec)
    text = str(info.value)
    assert text.startswith(f"bad fault {spec!r}: {problem}")
    assert "expected [METHOD ]N[xK]=ACTION, [METHOD ]*=ACTION, expire-token=N or lock=KIND:ID" in text


@pytest.mark.parametrize(
    ("spec", "fired"),
    [
        ("3=503", [3]),
        ("2x3=503", [2, 3, 4]),
        ("*=503", [1, 2, 3, 4, 5, 6]),
    ],
)
def test_fires_on_the_counted_requests(spec: str, fired: list[int]) -> None:
    rule = parse_fault(spec)
    assert isinstance(rule, NthRule)
    assert [n for n in range(1, 7) if fires(rule, n)] == fired


@pytest.mark.parametrize(
    ("method", "path", "target"),
    [
        ("PATCH", "/variations/200001", ("variation", 200001)),
        ("PUT", "/variations/7", ("variation", 7)),
        ("DELETE", "/variations/7", ("variation", 7)),
        ("PATCH", "/experiments/100001", ("experiment", 100001)),
        ("GET", "/variations/200001", None),
        ("POST", "/variations", None),
        ("PATCH", "/personalizations/5", None),
    ],
)
def test_lock_target_names_the_entity_a_write_changes(method: str, path: str, target: object) -> None:
    assert lock_target(method, path) == target


@pytest.mark.parametrize(
    ("action", "status", "line"),
    [
        ("503", 503, "request 3 PATCH /variations/200001 answered 503 (rule R)"),
        ("429", 429, "request 3 PATCH /variations/200001 answered 429 with Retry-After: 1 (rule R)"),
        ("429-no-retry-after", 429, "request 3 PATCH /variations/200001 answered 429 without Retry-After (rule R)"),
        ("drop", None, "request 3 PATCH /variations/200001 dropped: connection closed without an answer, "
         "request not processed (rule R)"),
        ("drop-after", 200, "request 3 PATCH /variations/200001 processed (200), then connection closed without "
         "an answer (rule R)"),
        ("stall=2", None, "request 3 PATCH /variations/200001 stalled 2 s before processing (rule R)"),
        ("hold", 200, "request 3 PATCH /variations/200001 processed (200), answer held until released (rule R)"),
        ("expire-token", 401, "request 3 PATCH /variations/200001 answered 401: the token has expired (rule R)"),
        ("lock", 423, "request 3 PATCH /variations/200001 answered 423: locked in the Kameleoon app (rule R)"),
        ("echo-token", 400, "request 3 PATCH /variations/200001 answered 400 echoing what it was sent (rule R)"),
        ("fresh-pages", 200, "request 3 PATCH /variations/200001 answered a full page of objects never seen "
         "before, ignoring filter and page (rule R)"),
        ("trickle=0.5", 200, "request 3 PATCH /variations/200001 processed (200), answer sent one byte every "
         "0.5 s (rule R)"),
        ("429-retry-after=inf", 429, "request 3 PATCH /variations/200001 answered 429 with Retry-After: inf "
         "(rule R)"),
        ("abridged=id+name", 200, "request 3 PATCH /variations/200001 processed (200), listed objects cut down to "
         "id+name (rule R)"),
    ],
)  # fmt: skip
def test_every_event_is_announced_in_one_line(action: str, status: int | None, line: str) -> None:
    event = FaultEvent(3, "PATCH", "/variations/200001", action, "R", status, 0.0)
    assert describe_event(event) == f"sandbox: fault: {line}"


# -- actions -------------------------------------------------------------------------------------------------


def test_a_status_fault_answers_json_without_processing(api: httpx.Client, sandbox: Sandbox) -> None:
    before = sandbox.store.variation(200001)
    sandbox.faults.arm("PATCH 1=503")
    response = patch(api, 200001, "changed()")
    assert response.status_code == 503
    assert response.json() == {"message": "Service Unavailable (sandbox fault PATCH 1=503)"}
    assert sandbox.store.variation(200001) == before
    assert statuses(sandbox, "PATCH") == [503]
    assert patch(api, 200001, "changed()").status_code == 200, "the rule acted on the first PATCH only"
    assert sandbox.store.variation(200001)["jsCode"] == "changed()"
    [event] = sandbox.faults.events
    assert {k: event[k] for k in ("method", "path", "action", "rule", "status")} == {
        "method": "PATCH",
        "path": "/variations/200001",
        "action": "503",
        "rule": "PATCH 1=503",
        "status": 503,
    }
    assert isinstance(event["time"], float)


@pytest.mark.parametrize(("spec", "retry_after"), [("GET 1=429", "1"), ("GET 1=429-no-retry-after", None)])
def test_429_faults_with_and_without_retry_after(
    api: httpx.Client, sandbox: Sandbox, spec: str, retry_after: str | None
) -> None:
    sandbox.faults.arm(spec)
    response = api.get("/variations/200001")
    assert response.status_code == 429
    assert response.json() == {"message": "Too many requests"}
    assert response.headers.get("Retry-After") == retry_after
    assert api.get("/variations/200001").status_code == 200


@pytest.mark.parametrize("value", ["1000000000", "inf", "soon"])
def test_429_retry_after_sends_the_value_verbatim(api: httpx.Client, sandbox: Sandbox, value: str) -> None:
    sandbox.faults.arm(f"GET 1=429-retry-after={value}")
    response = api.get("/variations/200001")
    assert (response.status_code, response.headers.get("Retry-After")) == (429, value)
    assert str(parse_fault(f"1=429-retry-after={value}").action) == f"429-retry-after={value}"  # type: ignore[union-attr]


def test_fresh_pages_answers_full_pages_of_new_objects_whatever_the_filter(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.arm("GET *=fresh-pages")
    pages = [
        api.get("/experiments", params={"perPage": "200", "page": str(n), "filter": '[{"field":"id",'
                '"operator":"EQUAL","parameters":[100001]}]'}).json()
        for n in (1, 2)
    ]  # fmt: skip
    assert [len(p) for p in pages] == [200, 200]
    ids = [item["id"] for page in pages for item in page]
    assert len(set(ids)) == 400, "every object is new"
    assert 100001 not in ids, "the filter was ignored"
    assert len(api.get("/variations").json()) == 20, "the default page size when perPage is absent"
    assert sandbox.store.requests[-1].status == 200


def test_trickle_processes_then_sends_the_answer_a_byte_at_a_time_and_records_it(
    api: httpx.Client, sandbox: Sandbox
) -> None:
    sandbox.faults.arm("PATCH 1=trickle=0.005")
    response = patch(api, 200001, "slow()")
    assert response.status_code == 200
    assert response.json()["jsCode"] == "slow()"
    assert sandbox.store.variation(200001)["jsCode"] == "slow()", "processed"
    assert sandbox.faults.trickles[0].wait_ended(5)  # the last byte may arrive before the sandbox counts it
    [trickle] = sandbox.faults.trickles.snapshot()
    assert trickle == {
        "request": 2,  # the token request was the first
        "interval": 0.005,
        "total": len(response.content),
        "sent": len(response.content),
        "ended": "complete",
    }
    assert sandbox.faults.snapshot()["trickles"] == [trickle]
    sandbox.faults.clear()
    assert sandbox.faults.trickles.snapshot() == []


def test_a_trickle_ends_when_the_sandbox_stops_and_says_so() -> None:
    with Sandbox(rate_limit="off") as sb, httpx.Client(base_url=sb.url) as client:
        sb.faults.arm("POST 1=trickle=60")
        with pytest.raises(httpx.ReadTimeout):
            client.post("/oauth/token", data=TOKEN_FORM, timeout=0.2)  # the headers came, the first byte would not
        sb.stop()
        assert sb.faults.trickles[0].wait_ended(5)
        [trickle] = sb.faults.trickles.snapshot()
        assert (trickle["sent"], trickle["ended"]) == (0, "sandbox stopped")


def test_drop_closes_the_connection_without_processing(api: httpx.Client, sandbox: Sandbox) -> None:
    before = sandbox.store.variation(200001)
    sandbox.faults.arm("PATCH 1=drop")
    with pytest.raises(httpx.RemoteProtocolError):
        patch(api, 200001, "dropped()")
    assert sandbox.store.variation(200001) == before
    assert statuses(sandbox, "PATCH") == [DROPPED]
    assert sandbox.faults.events[0]["action"] == "drop"
    assert sandbox.faults.events[0]["status"] is None
    assert patch(api, 200001, "again()").status_code == 200, "the client reconnects"


def test_drop_after_applies_the_request_then_closes_the_connection(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.arm("PATCH 1=drop-after")
    with pytest.raises(httpx.RemoteProtocolError):
        patch(api, 200001, "applied()")
    assert sandbox.store.variation(200001)["jsCode"] == "applied()"
    assert statuses(sandbox, "PATCH") == [DROPPED]
    assert sandbox.faults.events[0]["status"] == 200, "the event says what processing gave"


def test_stall_waits_then_processes_and_answers(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.arm("GET 1=stall=0.2")
    with pytest.raises(httpx.ReadTimeout):
        api.get("/variations/200001", timeout=0.05)
    sandbox.faults.clear()
    sandbox.faults.arm("PATCH 1=stall=0.2")
    response = patch(api, 200001, "late()")  # waits past the stall: the client's timeout is 5 s
    assert response.status_code == 200
    assert sandbox.store.variation(200001)["jsCode"] == "late()"
    assert [e["action"] for e in sandbox.faults.events] == ["stall=0.2"]


def test_hold_processes_then_holds_the_answer_until_released(api: httpx.Client, sandbox: Sandbox) -> None:
    [rule] = sandbox.faults.arm("PATCH 2=hold")
    assert patch(api, 200001, "first()").status_code == 200
    answered = threading.Event()
    result: list[int] = []

    def send() -> None:
        result.append(patch(api, 200002, "held()").status_code)
        answered.set()

    thread = threading.Thread(target=send)
    thread.start()
    assert sandbox.faults.reached(rule).wait(5)
    assert sandbox.store.variation(200002)["jsCode"] == "held()", "processed before the answer"
    assert statuses(sandbox, "PATCH") == [200, 200], "logged before the answer"
    assert not answered.is_set()
    sandbox.faults.release_all()
    thread.join(5)
    assert result == [200]


def test_reached_accepts_the_rule_index_and_counts_occurrences(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.arm("GET 1=503", "PATCH *=hold")
    sandbox.faults.release_all()  # nothing held yet: the next holds still wait for their own release
    threads = []
    for variation_id in (200001, 200002):
        thread = threading.Thread(target=patch, args=(api, variation_id, f"v{variation_id}()"))
        thread.start()
        assert sandbox.faults.reached(1, occurrence=len(threads) + 1).wait(5)
        threads.append(thread)
    assert all(t.is_alive() for t in threads)
    sandbox.faults.release_all()
    for thread in threads:
        thread.join(5)
        assert not thread.is_alive()


def test_stopping_the_sandbox_ends_holds_and_stalls() -> None:
    stalled = threading.Event()
    sandbox = Sandbox(
        rate_limit="off",
        faults=["GET 1=hold", "PATCH 1=stall=60"],
        on_fault=lambda e: stalled.set() if e.action.startswith("stall") else None,
    ).start()
    before = sandbox.store.variation(200002)
    with httpx.Client(base_url=sandbox.url, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {new_token(client)}"
        outcomes: list[object] = []

        def call(send: Callable[[], httpx.Response]) -> None:
            try:
                outcomes.append(send().status_code)
            except httpx.HTTPError as exc:
                outcomes.append(exc)

        hold = threading.Thread(target=call, args=(lambda: client.get("/variations/200001"),))
        stall = threading.Thread(target=call, args=(lambda: patch(client, 200002, "never()"),))
        hold.start()
        stall.start()
        assert sandbox.faults.reached(0).wait(5)
        assert stalled.wait(5)
        sandbox.stop()
        hold.join(5)
        stall.join(5)
    assert not hold.is_alive() and not stall.is_alive(), "a stalled or held request must not outlive the sandbox"
    assert any(isinstance(o, httpx.HTTPError) for o in outcomes), "the stalled PATCH got no answer"
    assert sandbox.store.variation(200002) == before, "a stall cut short by stopping is never processed"


# -- counting ------------------------------------------------------------------------------------------------


def test_without_method_every_api_request_counts_the_token_request_too(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.arm("2=503")
    token = new_token(http)
    response = http.get("/sites", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert [(r.method, r.status) for r in sandbox.store.requests] == [("POST", 200), ("GET", 503)]


def test_the_token_request_can_be_faulted(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.arm("POST 1=502")
    assert http.post("/oauth/token", data=TOKEN_FORM).status_code == 502
    assert http.post("/oauth/token", data=TOKEN_FORM).status_code == 200
    assert [r.client_id for r in sandbox.store.requests] == [DEFAULT_CLIENT_ID] * 2, "the log knows who asked"


def test_with_a_method_only_matching_requests_count_from_arming(api: httpx.Client, sandbox: Sandbox) -> None:
    assert patch(api, 200001, "before()").status_code == 200  # before arming: not counted
    sandbox.faults.arm("PATCH 2=500")
    codes = []
    for n in range(3):
        assert api.get("/variations/200001").status_code == 200
        codes.append(patch(api, 200001, f"p{n}()").status_code)
    assert codes == [200, 500, 200]


def test_nxk_acts_on_k_consecutive_matching_requests(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.arm("GET 2x3=503")
    assert [api.get("/sites").status_code for _ in range(6)] == [200, 503, 503, 503, 200, 200]


def test_star_acts_on_every_matching_request_until_cleared(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.arm("PATCH *=503")
    assert [patch(api, 200001, "x").status_code for _ in range(4)] == [503] * 4
    assert api.get("/sites").status_code == 200
    sandbox.faults.clear()
    assert patch(api, 200001, "x").status_code == 200
    assert sandbox.faults.events == []


def test_admin_routes_never_count(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.arm("1=503")
    for _ in range(3):
        assert api.get("/_sandbox/faults").status_code == 200
        assert api.get("/_sandbox/requests").status_code == 200
    assert api.get("/sites").status_code == 503


def test_when_several_rules_act_the_first_armed_wins(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.arm("GET 1=502", "1=504", "GET 2=503")
    assert [api.get("/sites").status_code for _ in range(3)] == [502, 503, 200]
    assert [e["rule"] for e in sandbox.faults.events] == ["GET 1=502", "GET 2=503"]


def test_requests_answered_by_a_fault_do_not_count_in_the_rate_windows() -> None:
    with Sandbox(rate_limit="3/1m") as sandbox, httpx.Client(base_url=sandbox.url) as client:
        client.headers["Authorization"] = f"Bearer {new_token(client)}"  # 1 of 3
        sandbox.faults.arm("GET 1x4=503", "GET 5=drop", "GET 6=429")
        for _ in range(4):
            assert client.get("/sites").status_code == 503
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/sites")
        assert client.get("/sites").status_code == 429
        assert [client.get("/sites").status_code for _ in range(3)] == [200, 200, 429]
        assert len(sandbox.faults.events) == 6, "the last 429 is the sandbox's own rate limit"


# -- tokens and locks ----------------------------------------------------------------------------------------


def test_expire_token_expires_the_token_in_use_after_n_uses(http: httpx.Client, sandbox: Sandbox) -> None:
    first = {"Authorization": f"Bearer {new_token(http)}"}
    sandbox.faults.arm("expire-token=2")
    assert [http.get("/sites", headers=first).status_code for _ in range(2)] == [200, 200]
    expired = http.get("/sites", headers=first)
    assert expired.status_code == 401
    assert expired.json()["message"] == "Invalid access token: the token has expired"
    fresh = {"Authorization": f"Bearer {new_token(http)}"}
    assert [http.get("/sites", headers=fresh).status_code for _ in range(4)] == [200] * 4
    assert http.get("/sites", headers=first).status_code == 401, "the expired token stays expired"
    assert [e["action"] for e in sandbox.faults.events] == ["expire-token", "expire-token"]
    token = first["Authorization"].removeprefix("Bearer ")
    assert token not in str(sandbox.faults.events) + str(sandbox.faults.snapshot())


def test_lock_answers_423_to_writes_of_that_entity_until_cleared(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.faults.arm("lock=variation:200001")
    locked = patch(api, 200001, "x")
    assert locked.status_code == 423
    assert "locked" in locked.json()["message"]
    assert api.get("/variations/200001").status_code == 200
    assert patch(api, 200002, "y").status_code == 200
    assert api.get("/_sandbox/state").json()["locked"]["variation"] == [200001]
    [event] = sandbox.faults.events
    assert (event["action"], event["status"], event["rule"]) == ("lock", 423, "lock=variation:200001")
    sandbox.faults.clear()
    assert patch(api, 200001, "x").status_code == 200


ECHO_SECRET = "s+e/c=r&e t"
ECHO_FORM = {"grant_type": "client_credentials", "client_id": "echo-client", "client_secret": ECHO_SECRET}


@pytest.mark.parametrize(
    ("form", "echoed"),
    [
        ("body", "grant_type=client_credentials&client_id=echo-client&client_secret=s%2Be%2Fc%3Dr%26e+t"),
        ("json", '{"grant_type": "client_credentials", "client_id": "echo-client", "client_secret": "s+e/c=r&e t"}'),
        ("basic", "Authorization: Basic " + base64.b64encode(b"echo-client:s+e/c=r&e t").decode()),
        ("raw", "grant_type=client_credentials client_id=echo-client client_secret=s+e/c=r&e t"),
    ],
)
def test_echo_token_answers_every_token_request_400_echoing_it_and_issues_none(
    http: httpx.Client, sandbox: Sandbox, form: str, echoed: str
) -> None:
    sandbox.store.add_client("echo-client", ECHO_SECRET)
    earlier = {"Authorization": f"Bearer {new_token(http)}"}
    sandbox.faults.arm(f"echo-token={form}")
    for _ in range(2):
        response = http.post("/oauth/token", data=ECHO_FORM)
        assert response.status_code == 400
        assert response.json() == {"error": "invalid_request", "message": f"{echoed}: malformed token request"}
    assert len(sandbox.store.issued_tokens()) == 1, "only the token issued before arming"
    assert http.get("/sites", headers=earlier).status_code == 200, "only the token endpoint echoes"
    assert [(e["action"], e["status"], e["rule"]) for e in sandbox.faults.events] == [
        ("echo-token", 400, f"echo-token={form}")
    ] * 2
    assert ECHO_SECRET not in str(sandbox.faults.snapshot()), "the announcement never carries the secret"
    sandbox.faults.clear()
    assert http.post("/oauth/token", data=ECHO_FORM).status_code == 200


def test_a_lock_on_an_unknown_entity_arms_nothing(sandbox: Sandbox) -> None:
    with pytest.raises(Fault, match="Variation 299999 not found"):
        sandbox.faults.arm("PATCH 1=503", "lock=variation:299999")
    assert sandbox.faults.rules == []


def test_a_bad_spec_given_to_the_sandbox_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="bad fault 'PATCH=503'"):
        Sandbox(rate_limit="off", faults=["PATCH=503"])


# -- admin routes --------------------------------------------------------------------------------------------


def test_admin_routes_arm_show_release_and_clear(api: httpx.Client, sandbox: Sandbox) -> None:
    armed = api.post("/_sandbox/faults", json={"faults": ["PATCH 1=503", "GET *=hold"]})
    assert armed.status_code == 200
    assert armed.json() == {"armed": [{"index": 0, "spec": "PATCH 1=503"}, {"index": 1, "spec": "GET *=hold"}]}
    assert patch(api, 200001, "x").status_code == 503
    shown = api.get("/_sandbox/faults").json()
    assert shown["rules"] == [
        {"index": 0, "spec": "PATCH 1=503", "matched": 1, "fired": 1},
        {"index": 1, "spec": "GET *=hold", "matched": 0, "fired": 0},
    ]
    assert [(e["request"], e["method"], e["action"]) for e in shown["events"]] == [(2, "PATCH", "503")]

    getter = threading.Thread(target=api.get, args=("/sites",))
    getter.start()
    assert sandbox.faults.reached(1).wait(5)
    with httpx.Client(base_url=sandbox.url) as admin:  # the api client's connection is busy with the held GET
        assert admin.post("/_sandbox/faults/release").status_code == 204
        getter.join(5)
        assert not getter.is_alive()
        assert admin.delete("/_sandbox/faults").status_code == 204
        assert admin.get("/_sandbox/faults").json() == {"rules": [], "events": [], "trickles": []}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"faults": ["PATCH 1=503", "PATCH 1=404"]}, "bad fault 'PATCH 1=404': status 404 is not 429 or 500-599"),
        ({"faults": "PATCH 1=503"}, 'Send {"faults": ["PATCH 3=503", …]}'),
        ({"fault": ["PATCH 1=503"]}, 'Send {"faults": ["PATCH 3=503", …]}'),
    ],
)
def test_admin_route_refuses_bad_specs_and_arms_none(
    http: httpx.Client, sandbox: Sandbox, body: dict[str, object], problem: str
) -> None:
    response = http.post("/_sandbox/faults", json=body)
    assert response.status_code == 400
    assert response.json()["message"].startswith(problem)
    assert sandbox.faults.rules == []


# -- the command ---------------------------------------------------------------------------------------------


def test_serve_arms_the_faults_and_announces_each_one_on_stderr() -> None:
    code = (
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"  # even if started with it ignored
        "from kamsync.sandbox import serve\n"
        "serve(port=0, rate_limit=None, faults=['POST 1=503'])\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        header = [proc.stdout.readline()]
        while not header[-1].startswith("# Press Ctrl-C"):
            assert header[-1], "serve ended before printing its header"
            header.append(proc.stdout.readline())
        assert "# fault armed: POST 1=503\n" in header
        with httpx.Client(base_url=header[0].strip()) as client:
            assert client.post("/oauth/token", data=TOKEN_FORM).status_code == 503
        line = proc.stderr.readline()
        assert line == "sandbox: fault: request 1 POST /oauth/token answered 503 (rule POST 1=503)\n"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
