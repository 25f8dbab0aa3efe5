"""Reading personalizations, their variations and sites from the sandbox over HTTP: what each costs, and what
a hostile or older answer can and cannot make kamsync believe."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kamsync.api.client import KameleoonClient
from kamsync.api.payloads import site_from_payload
from kamsync.api.remote import read_remote
from kamsync.api.settings import Credentials
from kamsync.core.model import Entity, FieldRef, MappedFile, RemoteSite, RemoteState
from kamsync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox
from kamsync.sandbox.state import load_seed
from kamsync.sync.survey import UNKNOWN, remote_value
from tests.conftest import Budgets

CREDS = Credentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[Sandbox]:
    """The seed, plus an older personalization listing one variation as ``variationId``, one that does not list
    its variations at all, and a second site."""
    state = load_seed()
    state["personalizations"] += [
        {"id": 300010, "name": "Legacy", "siteId": 1, "variationIds": None, "variationId": 200010},
        {"id": 300011, "name": "Unlisted", "siteId": 1, "variationIds": None},
    ]
    state["variations"] += [
        {"id": 200010, "name": "Legacy content", "siteId": 1, "jsCode": "// legacy"},
        {"id": 200011, "name": "Found by owner", "siteId": 1, "personalizationId": 300011, "cssCode": ".x{}"},
    ]
    state["sites"].append({"id": 2, "code": "other00002", "url": "https://other.example/", "trackingScript": "// 2"})
    (tmp_path / "state.json").write_text(json.dumps(state), encoding="utf-8")
    with Sandbox(state_file=tmp_path / "state.json", rate_limit=None) as sandbox:
        yield sandbox


def _client(budgets: Budgets, sb: Sandbox) -> KameleoonClient:
    return KameleoonClient(sb.url, CREDS, budget=budgets())


def test_personalizations_and_their_variations_cost_one_list_each_and_older_shapes_are_understood(
    sb: Sandbox, budgets: Budgets
) -> None:
    with _client(budgets, sb) as client:
        state = read_remote(client, [100001], [], personalization_ids=[300001, 300010, 300011])
    paths = [r.path for r in sb.store.requests]
    assert paths == ["/oauth/token", "/experiments", "/personalizations", "/variations", "/variations"]
    assert "personalizationId" in sb.store.requests[-1].query["filter"][0]  # the one that lists none: by owner
    assert state.personalizations[300010].variation_ids == (200010,)
    assert state.personalizations[300011].variation_ids is None
    assert state.variations[200011].personalization_id == 300011
    assert set(state.variations) == {200001, 200002, 200010, 200011}
    assert state.personalizations[300001].is_live
    legacy = MappedFile(FieldRef(Entity.PERSONALIZATION_VARIATION, 200010, "jsCode", 300010), "x.js", 1)
    assert remote_value(legacy, state) == "// legacy"
    # A variation of another personalization, or of an experiment, is not this one's.
    stranger = MappedFile(FieldRef(Entity.PERSONALIZATION_VARIATION, 200011, "cssCode", 300010), "y.css", 1)
    experiments = MappedFile(FieldRef(Entity.PERSONALIZATION_VARIATION, 200001, "jsCode", 300011), "z.js", 1)
    assert remote_value(stranger, state) is None and remote_value(experiments, state) is None


def test_sites_are_read_by_code_in_one_list_and_only_the_asked_code_counts(sb: Sandbox, budgets: Budgets) -> None:
    with _client(budgets, sb) as client:
        state = read_remote(client, [], [], site_codes=["other00002", "missing000"])
    [request] = [r for r in sb.store.requests if r.path == "/sites"]
    assert json.loads(request.query["filter"][0]) == [
        {"field": "code", "operator": "EQUAL", "parameters": ["missing000", "other00002"]}
    ]
    assert set(state.sites) == {"other00002"}
    assert state.sites["other00002"].raw["url"] == "https://other.example/"
    script = MappedFile(FieldRef(Entity.SITE, 0, "trackingScript", site_code="other00002"), "s.js", 1)
    assert remote_value(script, state) == "// 2"
    gone = MappedFile(FieldRef(Entity.SITE, 0, "trackingScript", site_code="missing000"), "s.js", 1)
    assert remote_value(gone, state) is None


@pytest.mark.parametrize(
    ("payload", "script"),
    [
        ({"id": 1, "code": "a", "trackingScript": None}, ""),
        ({"id": 1, "code": "a", "trackingScript": "// x"}, "// x"),
        ({"id": 1, "code": "a", "trackingScript": ["not", "code"]}, None),
        ({"id": 1, "code": "a"}, None),
    ],
    ids=["null is empty", "text", "not text is unknown", "absent is unknown"],
)
def test_a_site_script_that_is_not_text_is_unknown_never_empty(payload: dict, script: str | None) -> None:  # type: ignore[type-arg]
    site = site_from_payload(payload)
    assert site is not None and site.tracking_script == script


def test_a_site_answer_without_an_id_or_a_code_is_no_site() -> None:
    assert site_from_payload({"code": "a"}) is None
    assert site_from_payload({"id": 1, "code": 5}) is None


def test_an_unknown_site_script_is_unknown_not_empty() -> None:
    state = RemoteState({}, {}, sites={"a": RemoteSite(1, "a", None)})
    script = MappedFile(FieldRef(Entity.SITE, 0, "trackingScript", site_code="a"), "s.js", 1)
    assert remote_value(script, state) is UNKNOWN


def test_the_sandbox_admin_routes_edit_personalizations_and_sites_as_the_kameleoon_ui(sb: Sandbox) -> None:
    with httpx.Client(base_url=sb.url) as http:
        paused = http.patch("/_sandbox/personalizations/300001", json={"status": "PAUSED", "cssCode": ".w{}"})
        site = http.patch("/_sandbox/sites/1", json={"trackingScript": "// ui", "appOnly": {"kept": True}})
        bad = http.patch("/_sandbox/sites/1", json={"code": "changed000"})
    assert (paused.status_code, paused.json()["status"], paused.json()["cssCode"]) == (200, "PAUSED", ".w{}")
    assert (site.status_code, site.json()["trackingScript"], site.json()["appOnly"]) == (200, "// ui", {"kept": True})
    assert bad.status_code == 400
    assert sb.store.requests == [], "admin calls are not part of the API's log"
