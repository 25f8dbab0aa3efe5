"""The sandbox answers what public Kameleoon clients send the real API: their calls replayed over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kamsync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox
from kamsync.sandbox.state import load_seed

TOKEN_BODY = f"grant_type=client_credentials&client_id={DEFAULT_CLIENT_ID}&client_secret={DEFAULT_CLIENT_SECRET}"
SIMULATION = "https://shop.example/?kameleoon-simulation=true"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(rate_limit="off") as sb:
        yield sb


def bearer(client: httpx.Client) -> dict[str, str]:
    """The token request as the public deploy scripts write it: a hand-built form body."""
    response = client.post(
        "/oauth/token", content=TOKEN_BODY, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=5) as http:
        yield http


def test_a_public_deploy_scripts_calls_all_succeed(client: httpx.Client, sandbox: Sandbox) -> None:
    auth = bearer(client)
    sites = client.get("/sites", headers=auth)
    experiments = client.get("/experiments?perPage=-1", headers=auth)
    personalizations = client.get("/personalizations?perPage=-1", headers=auth)
    body = {"cssCode": ".a { color: red; }", "experimentId": 100001, "jsCode": "deployed();"}
    patched = client.patch("/variations/200001", content=json.dumps(body), headers=auth)
    # It sends a JSON content type on the bodiless GET, then opens the answer in a browser.
    simulation = client.get("/experiments/simulate/100001", headers={**auth, "Content-Type": "application/json"})
    assert [r.status_code for r in (sites, experiments, personalizations, patched, simulation)] == [200] * 5
    assert [e["id"] for e in experiments.json()] == [100001, 100002, 100003]
    assert [p["id"] for p in personalizations.json()] == [300001]
    assert simulation.text == f"{SIMULATION}&kameleoon-experiment-id=100001"
    stored = sandbox.store.variation(200001)
    assert stored is not None and stored["jsCode"] == "deployed();"


def test_experiment_simulation_url_is_plain_text_on_the_site_url(client: httpx.Client) -> None:
    response = client.get("/v1/experiments/simulate/100002", headers=bearer(client))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain;charset=UTF-8"
    assert response.text == f"{SIMULATION}&kameleoon-experiment-id=100002"


def test_personalization_simulation_url_names_the_personalization(client: httpx.Client) -> None:
    response = client.get("/personalizations/simulate/300001", headers=bearer(client))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain;charset=UTF-8"
    assert response.text == f"{SIMULATION}&kameleoon-personalization-id=300001"


def test_simulation_url_is_on_the_experiments_own_site_without_a_doubled_slash(tmp_path: Path) -> None:
    state = load_seed()
    state["sites"].append({"id": 2, "code": "other00002", "url": "https://other.example/", "name": "Other"})
    (tmp_path / "state.json").write_text(json.dumps(state), encoding="utf-8")
    with Sandbox(state_file=tmp_path / "state.json", rate_limit="off") as sb, httpx.Client(base_url=sb.url) as client:
        exp_id = sb.store.add_experiment("On the second site", site_id=2)
        response = client.get(f"/experiments/simulate/{exp_id}", headers=bearer(client))
    assert response.text == f"https://other.example/?kameleoon-simulation=true&kameleoon-experiment-id={exp_id}"


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/experiments/simulate/999", 404, "Experiment 999 not found"),
        ("/personalizations/simulate/999", 404, "Personalization 999 not found"),
        ("/personalizations/simulate/100001", 404, "Personalization 100001 not found"),
        ("/experiments/simulate/abc", 400, "Invalid experiment id 'abc': expected an integer"),
    ],
)
def test_simulation_of_an_unknown_id_is_refused_with_a_json_message(
    client: httpx.Client, path: str, status: int, message: str
) -> None:
    response = client.get(path, headers=bearer(client))
    assert response.status_code == status
    assert response.json() == {"message": message}


def test_simulation_needs_a_token(client: httpx.Client) -> None:
    response = client.get("/experiments/simulate/100001")
    assert response.status_code == 401
    assert response.json()["message"] == "Full authentication is required to access this resource"


def test_simulation_counts_against_the_rate_window() -> None:
    with Sandbox(rate_limit="2/10s") as sb, httpx.Client(base_url=sb.url, timeout=5) as client:
        auth = bearer(client)  # the token request is the first counted call
        assert client.get("/experiments/simulate/100001", headers=auth).status_code == 200
        refused = client.get("/personalizations/simulate/300001", headers=auth)
        assert refused.status_code == 429
        assert "Retry-After" in refused.headers
        logged = [(r.path, r.status) for r in sb.store.requests]
    assert logged == [
        ("/oauth/token", 200),
        ("/experiments/simulate/100001", 200),
        ("/personalizations/simulate/300001", 429),
    ]
