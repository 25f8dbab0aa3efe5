"""`kamsync list` end to end: the real command against a seeded sandbox over HTTP, in a real repository."""

from __future__ import annotations

import pytest

from tests.helpers import api_requests
from tests.seeding import account, experiment, many, personalization, seeded_sandbox, site, variation

ACCOUNT = account(
    sites=[site(2, "outlet0002", "Outlet"), site(3, "empty00003", "Nothing yet")],
    experiments=[experiment(100010, "Spring sale", 2, [200010], status="ACTIVE")],
    variations=[variation(200010, "Red banner", 2, 100010)],
    personalizations=[personalization(300002, "VIP banner", 2, status="Paused")],
)


@pytest.fixture
def seed() -> dict:  # type: ignore[type-arg]
    return ACCOUNT


sandbox = seeded_sandbox  # the seeded sandbox stands in for conftest's


def _entity(kind, ident, name, code, status, variations, folder=None):  # type: ignore[no-untyped-def]
    return {
        "kind": kind,
        "id": ident,
        "name": name,
        "site_code": code,
        "status": status,
        "variation_ids": variations,
        "mapped": folder is not None,
        "dir": folder,
    }


def test_list_json_names_every_entity_the_credential_sees_and_where_the_mapped_ones_live(kamsync, sandbox):
    result = kamsync("list", "--json")
    assert result.code == 0, result.output
    assert result.json() == {
        "entities": [
            _entity(
                "experiment",
                100001,
                "Homepage hero",
                "demoshop01",
                "draft",
                [200001, 200002],
                "experiments/100001-homepage-hero",
            ),
            _entity(
                "experiment",
                100002,
                "Checkout trust badges",
                "demoshop01",
                "ACTIVE",
                [200003],
                "experiments/100002-checkout-trust-badges",
            ),
            _entity("experiment", 100003, "Free shipping banner", "demoshop01", "Paused", [200004]),
            _entity("personalization", 300001, "Returning visitor welcome", "demoshop01", "ACTIVE", []),
            _entity("experiment", 100010, "Spring sale", "outlet0002", "ACTIVE", [200010]),
            _entity("personalization", 300002, "VIP banner", "outlet0002", "Paused", []),
        ],
        "requests": 4,  # the token, the sites, the experiments, the personalizations: one page each
    }
    lists = [(r.path, r.query.get("perPage")) for r in api_requests(sandbox, "GET")]
    assert lists == [("/sites", ["200"]), ("/experiments", ["200"]), ("/personalizations", ["200"])]


def test_list_text_groups_by_site_says_what_is_mapped_and_what_it_cost(kamsync, sandbox):
    result = kamsync("list")
    assert result.code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "site demoshop01 'Demo shop' (id 1)"
    assert (
        "100001" in lines[1]
        and "'Homepage hero'" in lines[1]
        and lines[1].endswith("-> experiments/100001-homepage-hero")
    )
    assert "100003" in lines[3] and "Paused" in lines[3] and lines[3].endswith("not mapped")
    assert "site outlet0002 'Outlet' (id 2)" in lines
    assert "site empty00003 'Nothing yet' (id 3): nothing listed" in lines
    assert "4 experiments, 2 personalizations on 3 sites (2 mapped); 4 requests used" in result.stderr


def test_list_of_one_site_by_status_and_type_asks_only_for_what_it_shows(kamsync, sandbox):
    result = kamsync(
        "list", "--site", "demoshop01", "--status", "active", "--status", "PAUSED", "--json", "--type", "experiment"
    )
    assert result.code == 0, result.output
    payload = result.json()
    assert [(e["id"], e["status"]) for e in payload["entities"]] == [(100002, "ACTIVE"), (100003, "Paused")]
    assert payload["requests"] == 3  # the token, the site, the experiments
    paths = [r.path for r in api_requests(sandbox, "GET")]
    assert paths == ["/sites", "/experiments"]
    assert '"siteId"' in api_requests(sandbox, "GET")[1].query["filter"][0]


def test_list_outside_any_manifest_shows_nothing_mapped(kamsync, sandbox, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    result = kamsync("list", "--json", cwd=bare)
    assert result.code == 0, result.output
    assert not any(e["mapped"] for e in result.json()["entities"])
    assert "nothing is mapped yet" in result.stderr


def test_list_refuses_an_unknown_site_and_a_code_that_is_no_code(kamsync, sandbox):
    unknown = kamsync("list", "--site", "nosuchsite")
    assert unknown.code == 2 and "no site with that code is visible to these credentials" in unknown.stderr
    sandbox.store.clear_requests()
    bad = kamsync("list", "--site", "../experiments?x=1")
    assert bad.code == 2 and "a site code is letters and digits" in bad.stderr
    assert api_requests(sandbox) == [], "refused before any request"


@pytest.mark.parametrize("seed", [account(**many(1, 397))], ids=["400-experiments"])
def test_list_pages_through_lists_of_several_pages_at_200_each(kamsync, sandbox):
    result = kamsync("list", "--json", "--type", "experiment")
    assert result.code == 0, result.output
    assert len(result.json()["entities"]) == 400
    pages = [r.query["page"] for r in api_requests(sandbox, "GET") if r.path == "/experiments"]
    assert pages == [["1"], ["2"], ["3"]], "400 objects: two full pages, then the empty one that ends the list"
    assert result.json()["requests"] == 1 + 1 + 3


def test_list_prices_every_page_a_server_never_ends_and_stops_at_the_cap(kamsync, sandbox):
    sandbox.faults.arm("GET *=fresh-pages")  # full pages of new objects, whatever the page
    result = kamsync("list", "--max-requests", "6")
    assert result.code == 3, result.output
    assert "kamsync list" in result.stderr and "--max-requests" in result.stderr
    assert len(api_requests(sandbox, "GET")) == 5, "the cap counts the token too; no page beyond it was sent"


def test_list_shows_names_from_kameleoon_with_controls_escaped(kamsync, sandbox):
    sandbox.store.ui_edit_experiment(100003, name="Banner\x1b[2K\x1b[1A\u202eevil")
    result = kamsync("list")
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "Banner\\x1b[2K\\x1b[1A\\u202eevil" in result.stdout
    assert kamsync("list", "--json").json()["entities"][2]["name"] == "Banner\x1b[2K\x1b[1A\u202eevil"
