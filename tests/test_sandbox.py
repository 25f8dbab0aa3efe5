"""The sandbox, specified through its HTTP contract: a real server on loopback, driven with httpx."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kamsync.core.errors import UsageError
from kamsync.core.normalize import file_text, normalize
from kamsync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Clock, Sandbox
from kamsync.sandbox.state import load_seed

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "repo-layout"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(rate_limit="off") as sb:
        yield sb


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=5) as client:
        yield client


def token_response(
    client: httpx.Client, client_id: str = DEFAULT_CLIENT_ID, secret: str = DEFAULT_CLIENT_SECRET
) -> httpx.Response:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return client.post("/oauth/token", data=form)


def login(client: httpx.Client, client_id: str = DEFAULT_CLIENT_ID, secret: str = DEFAULT_CLIENT_SECRET) -> None:
    response = token_response(client, client_id, secret)
    assert response.status_code == 200, response.text
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"


@pytest.fixture
def api(http: httpx.Client) -> httpx.Client:
    login(http)
    return http


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list)
    return [item["id"] for item in body]


# -- auth ----------------------------------------------------------------------------------------------------


def test_token_flow_returns_bearer_token_with_ttl(http: httpx.Client) -> None:
    response = token_response(http)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 7200
    assert len(body["access_token"]) >= 20
    got = http.get("/experiments/100001", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert got.status_code == 200


def test_token_refuses_wrong_secret_and_other_grants(http: httpx.Client) -> None:
    wrong = token_response(http, secret="nope")
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "invalid_client", "message": "Bad client credentials"}
    form = {"grant_type": "password", "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}
    assert http.post("/oauth/token", data=form).status_code == 400


def test_missing_or_malformed_authorization_is_401(http: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}):
        response = http.get("/experiments", headers=headers)
        assert response.status_code == 401
        assert response.json()["message"] == "Full authentication is required to access this resource"


def test_unknown_token_is_401_without_echoing_it(http: httpx.Client) -> None:
    response = http.get("/experiments", headers={"Authorization": "Bearer secret-looking-token-123"})
    assert response.status_code == 401
    assert response.json()["message"].startswith("Invalid access token: ")
    assert "secret-looking-token-123" not in response.text


def test_token_expires_exactly_when_its_lifetime_has_passed_on_the_sandbox_clock() -> None:
    with Sandbox(rate_limit="off", clock=Clock.stopped()) as sb, httpx.Client(base_url=sb.url) as client:
        login(client)
        sb.clock.advance(7199.5)
        assert client.get("/sites").status_code == 200
        sb.clock.advance(0.5)
        response = client.get("/sites")
        assert response.status_code == 401
        assert response.json()["message"] == "Invalid access token: the token has expired"


def test_admin_clock_route_advances_the_time_a_subprocess_sandbox_sees(http: httpx.Client) -> None:
    login(http)
    assert http.get("/_sandbox/clock").json() == {"advanced": 0.0}
    moved = http.post("/_sandbox/clock", json={"advance": 7200})
    assert moved.status_code == 200
    assert moved.json() == {"advanced": 7200.0}
    assert http.get("/sites").json()["message"] == "Invalid access token: the token has expired"
    assert http.get("/_sandbox/clock").json() == {"advanced": 7200.0}
    assert [r["path"] for r in http.get("/_sandbox/requests").json()] == ["/oauth/token", "/sites"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, 'Send {"advance": <seconds>}: how many seconds to move the sandbox clock forward'),
        ({"advance": "1h"}, 'Send {"advance": <seconds>}: how many seconds to move the sandbox clock forward'),
        ({"advance": True}, 'Send {"advance": <seconds>}: how many seconds to move the sandbox clock forward'),
        ({"advance": -1}, "the sandbox clock only moves forward: advance it by a finite 0 or more seconds, not -1"),
    ],
)
def test_admin_clock_route_refuses_anything_but_seconds_forward(
    http: httpx.Client, body: dict[str, object], message: str
) -> None:
    refused = http.post("/_sandbox/clock", json=body)
    assert refused.status_code == 400
    assert refused.json() == {"message": message}
    assert http.get("/_sandbox/clock").json() == {"advanced": 0.0}


def test_revoked_tokens_are_refused_and_every_issued_token_is_listed(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.store.revoke_tokens_always = True
    login(http)
    response = http.get("/sites")
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid access token: the token has been revoked"
    assert sandbox.store.issued_tokens() == [http.headers["Authorization"].removeprefix("Bearer ")]


# -- lists ---------------------------------------------------------------------------------------------------


def test_list_is_a_bare_array_in_id_order(api: httpx.Client) -> None:
    assert ids(api.get("/experiments")) == [100001, 100002, 100003]


def test_list_pagination_ends_with_a_short_page(api: httpx.Client) -> None:
    assert ids(api.get("/variations", params={"perPage": 3})) == [200001, 200002, 200003]
    assert ids(api.get("/variations", params={"perPage": 3, "page": 2})) == [200004]
    assert ids(api.get("/variations", params={"perPage": 3, "page": 3})) == []


@pytest.mark.parametrize("per_page", [201, 0, -2])
def test_list_refuses_per_page_outside_1_to_200_except_minus_one(api: httpx.Client, per_page: int) -> None:
    response = api.get("/variations", params={"perPage": per_page})
    assert response.status_code == 400
    assert response.json()["message"] == ("Invalid perPage parameter: must be between 1 and 200, or -1 for the maximum")


def test_list_per_page_minus_one_means_pages_of_the_maximum_200(api: httpx.Client, sandbox: Sandbox) -> None:
    added = [sandbox.store.add_variation(100001, f"extra {i}") for i in range(250)]
    everything = [200001, 200002, 200003, 200004, *added]
    assert ids(api.get("/variations", params={"perPage": -1})) == everything[:200]
    assert ids(api.get("/variations", params={"perPage": -1, "page": 2})) == everything[200:]


def test_list_filter_equal_matches_any_parameter(api: httpx.Client) -> None:
    flt = json.dumps([{"field": "id", "operator": "EQUAL", "parameters": ["200001", 200003, 999]}])
    assert ids(api.get("/variations", params={"filter": flt})) == [200001, 200003]


def test_list_filters_combine_with_and(api: httpx.Client) -> None:
    flt = [
        {"field": "experimentId", "operator": "EQUAL", "parameters": [100001]},
        {"field": "name", "operator": "LIKE", "parameters": ["%BUTTON"]},
    ]
    assert ids(api.get("/variations", params={"filter": json.dumps(flt)})) == [200001]


@pytest.mark.parametrize(
    ("operator", "parameters", "expected"),
    [
        ("NOT_EQUAL", [100002], [100001, 100003]),
        ("LESS", ["100002"], [100001]),
        ("GREATER_OR_EQUAL", [100002], [100002, 100003]),
        ("BETWEEN", [100002, 100003], [100002, 100003]),
    ],
)
def test_list_filter_compares_numbers_numerically(
    api: httpx.Client, operator: str, parameters: list[Any], expected: list[int]
) -> None:
    flt = json.dumps([{"field": "id", "operator": operator, "parameters": parameters}])
    assert ids(api.get("/experiments", params={"filter": flt})) == expected


def test_list_refuses_malformed_filter_and_unknown_operator(api: httpx.Client) -> None:
    bad = ["[{", '{"field": "id"}', json.dumps([{"field": "id", "operator": "SIMILAR", "parameters": [1]}])]
    for flt in bad:
        response = api.get("/experiments", params={"filter": flt})
        assert response.status_code == 400
        assert response.json()["message"]


def test_list_sort_desc(api: httpx.Client) -> None:
    sort = json.dumps([{"field": "name", "direction": "DESC"}])
    assert ids(api.get("/experiments", params={"sort": sort})) == [100001, 100003, 100002]


def test_experiment_omits_optional_fields_unless_asked(api: httpx.Client) -> None:
    plain = api.get("/experiments/100001").json()
    assert not {"variations", "globalScript", "goals", "tags"} & plain.keys()
    assert {"commonJavaScriptCode", "commonCssCode", "deviations", "status", "siteCode"} <= plain.keys()
    full = api.get("/experiments", params={"optionalFields": "variations,globalScript"}).json()[0]
    assert full["variations"] == [200001, 200002]
    assert "globalScript" in full
    assert "tags" not in full


# -- writes --------------------------------------------------------------------------------------------------


def test_partial_patch_keeps_omitted_fields(api: httpx.Client, sandbox: Sandbox) -> None:
    before = sandbox.store.variation(200001)
    assert before is not None
    response = api.patch("/variations/200001", json={"jsCode": "console.log(1);"})
    assert response.status_code == 200
    assert response.json()["jsCode"] == "console.log(1);"
    after = sandbox.store.variation(200001)
    assert after == {**before, "jsCode": "console.log(1);"}


def test_experiment_patch_updates_date_modified_and_action_sets_status(api: httpx.Client, sandbox: Sandbox) -> None:
    before = sandbox.store.experiment(100001)
    assert before is not None
    patched = api.patch("/experiments/100001", json={"globalScript": "x();"}).json()
    assert patched["dateModified"] != before["dateModified"]
    assert patched["commonCssCode"] == before["commonCssCode"]
    assert api.patch("/experiments/100001", params={"action": "ACTIVATE"}).json()["status"] == "ACTIVE"


def test_write_refuses_non_string_code(api: httpx.Client) -> None:
    response = api.patch("/variations/200001", json={"cssCode": 42})
    assert response.status_code == 400
    assert "cssCode" in response.json()["message"]
    assert api.patch("/variations/200001", content=b"not json").status_code == 400


def test_unknown_id_is_404_with_message(api: httpx.Client) -> None:
    response = api.patch("/variations/123", json={"jsCode": ""})
    assert response.status_code == 404
    assert response.json() == {"message": "Variation 123 not found"}
    assert api.get("/experiments/9").json() == {"message": "Experiment 9 not found"}


def test_posted_variation_is_not_attached_until_experiment_patched(api: httpx.Client, sandbox: Sandbox) -> None:
    created = api.post("/variations", json={"name": "New", "siteId": 1, "experimentId": 100001, "jsCode": "a"})
    assert created.status_code == 201
    new_id = created.json()["id"]
    exp = sandbox.store.experiment(100001)
    assert exp is not None and new_id not in exp["variations"]
    split = {"origin": 0.25, "200001": 0.25, "200002": 0.25, str(new_id): 0.25}
    body = {"variations": [200001, 200002, new_id], "deviations": split}
    assert api.patch("/experiments/100001", json=body).status_code == 200
    exp = sandbox.store.experiment(100001)
    assert exp is not None and exp["variations"] == [200001, 200002, new_id] and exp["deviations"] == split


def test_ui_add_and_delete_keep_variations_and_deviations_consistent(sandbox: Sandbox) -> None:
    new_id = sandbox.store.add_variation(100002, "Badges below total", jsCode="b();")
    exp = sandbox.store.experiment(100002)
    assert exp is not None and exp["variations"] == [200003, new_id]
    assert set(exp["deviations"]) == {"origin", "200003", str(new_id)}
    sandbox.store.delete_variation(200003)
    exp = sandbox.store.experiment(100002)
    assert exp is not None and exp["variations"] == [new_id]
    assert set(exp["deviations"]) == {"origin", str(new_id)}
    assert math.isclose(sum(exp["deviations"].values()), 1.0)


def test_put_replaces_variation_and_delete_detaches_it(api: httpx.Client, sandbox: Sandbox) -> None:
    replaced = api.put("/variations/200002", json={"name": "Bigger headline", "jsCode": "h();"})
    assert replaced.status_code == 200
    body = replaced.json()
    assert (body["name"], body["jsCode"], body["cssCode"], body["experimentId"]) == (
        "Bigger headline",
        "h();",
        "",
        100001,
    )
    assert api.delete("/variations/200002").status_code == 204
    assert api.get("/variations/200002").status_code == 404
    exp = sandbox.store.experiment(100001)
    assert exp is not None and exp["variations"] == [200001] and set(exp["deviations"]) == {"origin", "200001"}


def test_store_add_experiment_is_visible_through_the_api(api: httpx.Client, sandbox: Sandbox) -> None:
    variations = [
        {"name": "A", "jsCode": "a();", "cssCode": ""},
        {"name": "B", "jsCode": "", "cssCode": "b{}"},
    ]
    exp_id = sandbox.store.add_experiment("New test", status="Draft", globalScript="g();", variations=variations)
    got = api.get(f"/experiments/{exp_id}", params={"optionalFields": "variations,globalScript"}).json()
    assert (got["name"], got["status"], got["globalScript"], got["siteCode"]) == (
        "New test",
        "Draft",
        "g();",
        "demoshop01",
    )
    flt = json.dumps([{"field": "experimentId", "operator": "EQUAL", "parameters": [exp_id]}])
    assert ids(api.get("/variations", params={"filter": flt})) == got["variations"]


def test_unserialisable_object_answers_500_with_json_body(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.store.ui_edit_variation(200001, customJson=float("nan"))
    response = api.get("/variations/200001")
    assert response.status_code == 500
    assert response.json()["message"]


def test_locked_object_refuses_writes_with_423_but_reads(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.store.set_locked("variation", 200002, True)
    response = api.patch("/variations/200002", json={"cssCode": ""})
    assert response.status_code == 423
    assert response.json() == {"message": "The variation is locked by another user in the Kameleoon app"}
    assert api.get("/variations/200002").status_code == 200
    sandbox.store.set_locked("variation", 200002, False)
    assert api.patch("/variations/200002", json={"cssCode": ""}).status_code == 200


def test_v1_prefix_and_unknown_routes(api: httpx.Client) -> None:
    assert api.get("/v1/experiments/100002").json()["status"] == "ACTIVE"
    assert api.get("/v1/sites/byCode/demoshop01").json()["id"] == 1
    missing = api.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["message"]


# -- rate limits ---------------------------------------------------------------------------------------------


def test_rate_limit_is_per_client_and_counts_the_token_request() -> None:
    with (
        Sandbox(rate_limit="3/10s", clock=Clock.stopped()) as sb,
        httpx.Client(base_url=sb.url) as a,
        httpx.Client(base_url=sb.url) as b,
    ):
        sb.store.add_client("other-client", "other-secret")
        login(a)  # 1
        assert a.get("/sites").status_code == 200  # 2
        assert a.get("/sites").status_code == 200  # 3
        refused = a.get("/sites")
        assert refused.status_code == 429
        assert refused.json() == {"message": "Too many requests"}
        assert refused.headers["Retry-After"] == "10"  # no time passed on the sandbox clock
        login(b, "other-client", "other-secret")
        assert b.get("/sites").status_code == 200
        statuses = [(r.client_id, r.status) for r in sb.store.requests]
        assert statuses.count((DEFAULT_CLIENT_ID, 429)) == 1
        assert statuses.count(("other-client", 200)) == 2


def test_rate_limit_without_retry_after_header() -> None:
    with Sandbox(rate_limit="1/10s", retry_after=False) as sb, httpx.Client(base_url=sb.url) as client:
        login(client)
        refused = client.get("/sites")
        assert refused.status_code == 429
        assert "Retry-After" not in refused.headers


def test_rate_window_frees_exactly_after_retry_after() -> None:
    with Sandbox(rate_limit="2/10s", clock=Clock.stopped()) as sb, httpx.Client(base_url=sb.url) as client:
        login(client)
        assert client.get("/sites").status_code == 200
        refused = client.get("/sites")
        assert (refused.status_code, refused.headers["Retry-After"]) == (429, "10")
        sb.clock.advance(9)
        still = client.get("/sites")  # refused requests are not counted…
        assert (still.status_code, still.headers["Retry-After"]) == (429, "1")
        sb.clock.advance(1)
        assert client.get("/sites").status_code == 200  # …so waiting the first Retry-After frees the window


# -- admin, state, serve -------------------------------------------------------------------------------------


def test_admin_routes_are_unauthenticated_and_not_logged(http: httpx.Client, sandbox: Sandbox) -> None:
    assert http.patch("/_sandbox/variations/200001", json={"jsCode": "ui();"}).status_code == 200
    added = http.post("/_sandbox/experiments/100001/variations", json={"name": "UI", "jsCode": "", "cssCode": ""})
    assert added.status_code == 201
    assert http.post("/_sandbox/locks", json={"kind": "experiment", "id": 100001, "locked": True}).status_code == 200
    login(http)
    assert http.patch("/experiments/100001", json={"name": "x"}).status_code == 423
    log = http.get("/_sandbox/requests").json()
    assert [(r["method"], r["path"], r["status"]) for r in log] == [
        ("POST", "/oauth/token", 200),
        ("PATCH", "/experiments/100001", 423),
    ]
    assert http.delete("/_sandbox/requests").status_code == 204
    assert sandbox.store.requests == []
    variation = sandbox.store.variation(200001)
    assert variation is not None and variation["jsCode"] == "ui();"


def test_state_file_round_trip(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with Sandbox(state_file=state, rate_limit="off") as sb, httpx.Client(base_url=sb.url) as client:
        login(client)
        assert client.patch("/variations/200004", json={"cssCode": "saved {}"}).status_code == 200
        sb.store.set_locked("experiment", 100003, True)
    assert json.loads(state.read_text())["locked"]["experiment"] == [100003]
    with Sandbox(state_file=state, rate_limit="off") as again:
        variation = again.store.variation(200004)
        assert variation is not None and variation["cssCode"] == "saved {}"
        assert again.store.requests == []


def test_refuses_non_loopback_host() -> None:
    with pytest.raises(UsageError):
        Sandbox(host="0.0.0.0")


def test_serve_prints_url_first_and_stops_on_ctrl_c() -> None:
    code = (
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from kamsync.sandbox import serve\n"
        "serve('127.0.0.1', 0, None, '50/10s', 7200.0)\n"
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT) as proc:
        assert proc.stdout is not None
        try:
            url = proc.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            with httpx.Client(base_url=url) as client:
                login(client)
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=5)
            rest = proc.stdout.read()  # not communicate(): it would skip what readline() already buffered
        finally:
            proc.kill()
    assert proc.returncode == 0
    assert f"export KAMELEOON_API_URL={url}" in rest
    assert f"export KAMELEOON_CLIENT_ID={DEFAULT_CLIENT_ID}" in rest
    assert f"export KAMELEOON_CLIENT_SECRET={DEFAULT_CLIENT_SECRET}" in rest
    assert "Ctrl-C" in rest


# -- the example repository ----------------------------------------------------------------------------------


def test_example_repo_layout_matches_the_seed() -> None:
    seed = load_seed()
    experiments = {e["id"]: e for e in seed["experiments"]}
    variations = {v["id"]: v for v in seed["variations"]}
    manifest = yaml.safe_load((EXAMPLE / "kamsync.yaml").read_text())
    assert [e["id"] for e in manifest["experiments"]] == [100001, 100002]
    checked = 0
    for entry in manifest["experiments"]:
        exp = experiments[entry["id"]]
        folder = EXAMPLE / entry["dir"]
        pairs = [
            (folder / "common.js", exp["commonJavaScriptCode"]),
            (folder / "common.css", exp["commonCssCode"]),
        ]
        pairs.append((folder / "script.js", exp["globalScript"]))
        assert [v["id"] for v in entry["variations"]] == exp["variations"]
        for var_entry in entry["variations"]:
            var = variations[var_entry["id"]]
            assert var_entry["name"] == var["name"]
            var_dir = folder / "variations" / var_entry["dir"]
            pairs += [(var_dir / "variation.js", var["jsCode"]), (var_dir / "variation.css", var["cssCode"])]
        for path, code in pairs:
            text = path.read_text()
            assert normalize(text) == normalize(code), path
            assert text == file_text(code), path  # one final newline, empty field = empty file
            checked += 1
    assert checked == 12
