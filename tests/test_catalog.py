"""The pure decisions of discovery and bootstrap, as tables: where a variation's code lives, which entities a
bootstrap maps, status filters, site codes, and the folder names kamsync picks."""

from __future__ import annotations

import pytest

from kamsync.api.listing import listed_from_payload, site_name
from kamsync.api.payloads import site_from_payload, traits_from_payload
from kamsync.core.catalog import VariationTraits, bootstrap_choice, check_site_code, code_elsewhere, status_matches
from kamsync.core.errors import UsageError
from kamsync.core.model import Entity
from kamsync.core.paths import is_device_name, unique_dir

SITE = site_from_payload({"id": 2, "code": "outlet0002", "name": "Outlet"})
assert SITE is not None


@pytest.mark.parametrize(
    ("payload", "elsewhere"),
    [
        ({"id": 1, "jsCode": "// mine"}, None),
        ({"id": 1, "generatedJsCode": "", "generatedCssCode": "  ", "redirection": None}, None),
        ({"id": 1, "widgetTemplateInput": {}, "creationMode": "CODE"}, None),
        ({"id": 1, "generatedJsCode": "x()"}, "graphic editor"),
        ({"id": 1, "generatedCssCode": ".a{}"}, "graphic editor"),
        ({"id": 1, "widgetTemplateInput": {"title": "Hi"}}, "widget"),
        ({"id": 1, "creationMode": "widget"}, "widget"),
        ({"id": 1, "redirection": {"type": "GLOBAL_REDIRECTION", "url": "https://x.example"}}, "redirects"),
    ],
)
def test_where_a_variations_code_lives(payload, elsewhere):
    traits = traits_from_payload(payload)
    assert traits is not None
    reason = code_elsewhere(traits)
    assert (reason is None) if elsewhere is None else (elsewhere in (reason or ""))


def test_a_variation_names_its_owner_by_kind_and_one_without_an_id_is_no_variation():
    assert traits_from_payload({"id": "7", "experimentId": 3}) == VariationTraits(7, "", (Entity.EXPERIMENT, 3))
    assert traits_from_payload({"id": 8, "personalizationId": "4"}).owner == (Entity.PERSONALIZATION, 4)  # type: ignore[union-attr]
    assert traits_from_payload({"name": "no id"}) is None


def test_listed_entities_take_their_site_code_from_the_sites_else_from_the_answer():
    listed = listed_from_payload(Entity.EXPERIMENT, {"id": 1, "siteId": 2, "variations": [{"id": 5}]}, {2: SITE})
    assert listed is not None and listed.site_code == "outlet0002" and listed.variation_ids == (5,)
    alone = listed_from_payload(Entity.EXPERIMENT, {"id": 1, "siteId": 9, "siteCode": "elsewhere1"}, {})
    assert alone is not None and alone.site_code == "elsewhere1" and alone.variation_ids is None
    legacy = listed_from_payload(Entity.PERSONALIZATION, {"id": 3, "variationId": 6}, {})
    assert legacy is not None and legacy.variation_ids == (6,) and legacy.kind is Entity.PERSONALIZATION
    assert listed_from_payload(Entity.EXPERIMENT, {"name": "no id"}, {}) is None
    assert site_name(SITE) == "Outlet"


def _listed(ident, variations, kind=Entity.EXPERIMENT):  # type: ignore[no-untyped-def]
    payload = {
        "id": ident,
        "name": f"E{ident}",
        "variations" if kind is Entity.EXPERIMENT else "variationIds": variations,
    }
    listed = listed_from_payload(kind, payload, {})
    assert listed is not None
    return listed


def test_bootstrap_maps_whole_entities_only_and_says_why_it_leaves_one_out():
    traits = {
        10: VariationTraits(10, "code", (Entity.EXPERIMENT, 1)),
        20: VariationTraits(20, "graphic", (Entity.EXPERIMENT, 2), generated=True),
        30: VariationTraits(30, "mapped", (Entity.EXPERIMENT, 3)),
        40: VariationTraits(40, "told only by its owner"),
        50: VariationTraits(50, "names its owner", (Entity.EXPERIMENT, 5), redirect=True),
        60: VariationTraits(60, "personalized", (Entity.PERSONALIZATION, 1)),
    }
    entities = [
        _listed(1, [10]),
        _listed(2, [20]),
        _listed(3, [30]),
        _listed(4, [40, 41]),
        _listed(5, []),
        _listed(6, [10]),
        _listed(1, [60], Entity.PERSONALIZATION),
    ]
    take, notes = bootstrap_choice(entities, traits, {(Entity.EXPERIMENT, 6)}, mapped_variations=[30])
    assert [(e.kind, e.id) for e in take] == [(Entity.EXPERIMENT, 1), (Entity.PERSONALIZATION, 1)]
    reasons = {n.id: n.reason for n in notes}
    assert set(reasons) == {2, 3, 4, 5}
    assert "graphic editor" in reasons[2]
    assert "already mapped under another entry" in reasons[3]
    assert "variation(s) 41" in reasons[4]
    assert "redirects" in reasons[5], "a variation that names its owner counts even when the owner omits it"


@pytest.mark.parametrize(
    ("status", "wanted", "matches"),
    [
        ("ACTIVE", [], True),
        ("ACTIVE", ["active"], True),
        (" Paused ", ["PAUSED", "draft"], True),
        ("draft", ["active"], False),
    ],
)
def test_status_filters_ignore_letter_case(status, wanted, matches):
    assert status_matches(status, wanted) is matches


@pytest.mark.parametrize("code", ["demoshop01", "A_b-9"])
def test_site_codes_that_can_be_asked_for(code):
    check_site_code(code)


@pytest.mark.parametrize("code", ["", "../x", "a b", "x" * 65, "ü12345678", "a/b", "%2e%2e"])
def test_what_is_no_site_code_is_refused_before_any_request(code):
    with pytest.raises(UsageError, match="a site code is letters and digits"):
        check_site_code(code)


@pytest.mark.parametrize(
    ("name", "device"),
    [
        ("con", True),
        ("NUL", True),
        ("com1", True),
        ("lpt9.js", True),
        ("aux.", True),
        ("console", False),
        ("nul-js", False),
    ],
)
def test_windows_device_names(name, device):
    assert is_device_name(name) is device


def test_folder_names_avoid_devices_and_compare_ignoring_case():
    assert unique_dir("CON", "200001", set()) == "con-200001"
    assert unique_dir("Red button", "7", {"Red-Button"}) == "red-button-2"
    assert unique_dir("..", "8", set()) == "8"
