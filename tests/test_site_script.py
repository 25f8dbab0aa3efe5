"""The site's global script (``trackingScript``), end to end: it is mapped by site code, read with one list,
written by replacing the whole site object — found again, read whole, checked, every other field sent back as
read — and only ever pushed with --allow-live, since every visitor of the site runs it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from kamsync.api import Credentials, KameleoonClient, RequestBudget
from kamsync.core.errors import ChangedSinceRead
from kamsync.core.model import Entity, FieldRef, MappedFile
from kamsync.core.normalize import file_text, normalize
from kamsync.core.plan import Write
from kamsync.core.states import FieldStatus, State
from kamsync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from kamsync.sync.writes import replace_site
from tests.helpers import api_requests, commit_all, kill_push_when_held

SCRIPT = "site/global.js"
# Fields of the site kamsync never touches, one of which it does not even know (the Kameleoon app keeps it).
OTHERS = {
    "name": "Demo shop (FR)",
    "url": "https://shop.example/fr",
    "description": "kept as is",
    "domains": ["shop.example", "www.shop.example"],
    "captureEventMethod": {"mode": "CUSTOM", "selectors": [".buy", ".add"]},
}


@pytest.fixture
def site(repo: Path, sandbox, kamsync) -> dict:  # type: ignore[no-untyped-def, type-arg]
    sandbox.store.ui_edit_site(1, trackingScript="// every page\nwindow.shop = {};", **OTHERS)
    (repo / "site").mkdir()
    (repo / SCRIPT).write_text(file_text("// every page\nwindow.shop = {};"))
    with (repo / "kamsync.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(f"site:\n  code: demoshop01\n  script: {SCRIPT}\n")
    commit_all(repo, "Map the site script")
    assert kamsync("status").code == 0
    sandbox.store.clear_requests()
    return sandbox.store.get("site", 1)  # type: ignore[no-any-return]


def site_entry(result) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert result.code in (0, 1), result.output
    [found] = [e for e in result.json()["entries"] if e["kind"] == "site"]
    return found  # type: ignore[no-any-return]


def test_status_shows_the_site_script_with_no_experiment_and_no_personalization(kamsync, site, sandbox):
    found = site_entry(kamsync("status", "--json"))
    assert found == {
        "kind": "site",
        "entity_id": None,
        "experiment_id": None,
        "personalization_id": None,
        "variation_id": None,
        "site_code": "demoshop01",
        "field": "trackingScript",
        "path": SCRIPT,
        "state": "in-sync",
        "live": True,
        "commit": None,
        "base": None,
        "uncommitted": False,
    }
    sites = [r for r in api_requests(sandbox) if r.path == "/sites"]
    assert len(sites) == 1 and '"field":"code"' in sites[0].query["filter"][0]


def test_the_site_script_is_pushed_only_with_allow_live_and_every_other_field_survives(kamsync, repo, site, sandbox):
    (repo / SCRIPT).write_text("// every page, v2\nwindow.shop = { v: 2 };\n")
    commit_all(repo, "Site script v2")

    refused = kamsync("push")
    assert refused.code == 3, refused.output
    assert "refused: site demoshop01 trackingScript (site/global.js): the site's global script runs on every " in (
        refused.stderr
    )
    assert "pass --allow-live to push it" in refused.stderr
    assert not [r for r in api_requests(sandbox) if r.method in ("PUT", "PATCH")]

    sandbox.store.clear_requests()
    pushed = kamsync("push", "--allow-live")
    assert pushed.code == 0, pushed.output
    assert "1 of 1 entities updated" in pushed.stdout
    assert [(r.method, r.path) for r in api_requests(sandbox) if r.path.startswith("/sites")] == [
        ("GET", "/sites"),  # the survey's read
        ("GET", "/sites"),  # found by code again right before the write
        ("GET", "/sites/1"),  # and read whole: the object the PUT replaces
        ("PUT", "/sites/1"),
    ]
    after = sandbox.store.get("site", 1)
    assert normalize(after["trackingScript"]) == "// every page, v2\nwindow.shop = { v: 2 };"
    unchanged = {k: v for k, v in site.items() if k not in ("trackingScript", "dateModified")}
    assert {k: v for k, v in after.items() if k not in ("trackingScript", "dateModified")} == unchanged
    assert after["captureEventMethod"] == OTHERS["captureEventMethod"]
    assert site_entry(kamsync("status", "--json"))["state"] == "in-sync"


def test_a_ui_edit_of_the_site_script_is_drift_and_refused_even_with_allow_live(kamsync, repo, site, sandbox):
    sandbox.store.ui_edit_site(1, trackingScript="// from the UI")
    (repo / SCRIPT).write_text("// ours\n")
    commit_all(repo, "ours")
    assert site_entry(kamsync("status", "--json"))["state"] == "conflict"
    refused = kamsync("push", "--allow-live")
    assert refused.code == 3, refused.output
    assert "site demoshop01 trackingScript (site/global.js): changed both here and in Kameleoon" in refused.stderr
    assert not api_requests(sandbox, "PUT")
    assert sandbox.store.get("site", 1)["trackingScript"] == "// from the UI"


def test_pull_adopts_a_ui_edit_of_the_site_script(kamsync, repo, site, sandbox):
    sandbox.store.ui_edit_site(1, trackingScript="// from the UI")
    pulled = kamsync("pull")
    assert pulled.code == 0, pulled.output
    assert (repo / SCRIPT).read_text() == "// from the UI\n"


def test_a_site_code_kameleoon_does_not_know_is_remote_missing_and_never_written(kamsync, repo, site, sandbox):
    manifest = (repo / "kamsync.yaml").read_text().replace("code: demoshop01", "code: nosuchsite")
    (repo / "kamsync.yaml").write_text(manifest)
    (repo / SCRIPT).write_text("// ours\n")
    commit_all(repo, "another site")
    assert site_entry(kamsync("status", "--json"))["state"] == "remote-missing"
    refused = kamsync("push", "--allow-live")
    assert refused.code == 3 and "the site no longer exists in Kameleoon" in refused.stderr
    assert not api_requests(sandbox, "PUT")


def _status(remote: str, local: str) -> FieldStatus:
    ref = FieldRef(Entity.SITE, 0, "trackingScript", site_code="demoshop01")
    return FieldStatus(MappedFile(ref, SCRIPT, 3), State.LOCAL_CHANGED, local, remote, True, raw_local=local + "\n")


def test_the_write_reads_the_site_again_and_sends_nothing_when_its_script_moved_since(sandbox, budgets):
    sandbox.store.ui_edit_site(1, trackingScript="// moved meanwhile", **OTHERS)
    write = Write(Entity.SITE, 0, 0, (_status("// what the survey saw", "// ours"),))
    credentials = Credentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    budget: RequestBudget = budgets()
    with KameleoonClient(sandbox.url, credentials, budget=budget) as client:
        with pytest.raises(ChangedSinceRead, match="its global script changed in Kameleoon since this run read it"):
            replace_site(client, write, lambda: None)
        answer = replace_site(
            client, Write(Entity.SITE, 0, 0, (_status("// moved meanwhile", "// ours"),)), lambda: None
        )
    assert answer is not None and normalize(str(answer["trackingScript"])) == "// ours"
    assert [r.method for r in api_requests(sandbox) if r.path.startswith("/sites")] == ["GET"] * 4 + ["PUT"]
    assert sandbox.store.get("site", 1)["captureEventMethod"] == OTHERS["captureEventMethod"]


def test_a_site_list_that_is_only_a_summary_loses_no_field_of_the_site(kamsync, repo, site, sandbox):
    sandbox.faults.arm("GET *=abridged=id+code+trackingScript")  # every list a summary; single reads whole
    (repo / SCRIPT).write_text("// every page, v2\n")
    commit_all(repo, "Site script v2")

    pushed = kamsync("push", "--allow-live")

    assert pushed.code == 0, pushed.output
    after = sandbox.store.get("site", 1)
    assert normalize(after["trackingScript"]) == "// every page, v2"
    assert {k: after[k] for k in OTHERS} == OTHERS, "every field the list left out was sent back as it was"


def test_the_sandbox_put_replaces_the_whole_site_so_a_partial_body_loses_the_rest(sandbox, site):
    with httpx.Client(base_url=sandbox.url) as http:
        token = http.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
            },
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        moved = http.put("/sites/1", json={"code": "other00001", "trackingScript": ""}, headers=auth)
        unknown = http.put("/sites/1", json={**site, "brandNew": 1}, headers=auth)
        partial = http.put("/sites/1", json={"trackingScript": "// only this"}, headers=auth)
    assert (moved.status_code, moved.json()["message"]) == (400, "Invalid site field 'code': it cannot be changed")
    assert (unknown.status_code, unknown.json()["message"]) == (400, "Unknown site field 'brandNew'")
    assert partial.status_code == 200
    after = sandbox.store.get("site", 1)
    assert (after["code"], after["trackingScript"], after["name"], after["domains"]) == (
        "demoshop01",
        "// only this",
        "",
        [],
    )
    assert "captureEventMethod" not in after


def test_a_site_push_killed_after_kameleoon_applied_it_resumes_without_writing_twice(kamsync, repo, env, site, sandbox):
    (repo / SCRIPT).write_text("// v3\n")
    commit_all(repo, "v3")
    kill_push_when_held(sandbox, repo, env, "PUT 1=hold", "--allow-live")

    rerun = kamsync("push", "--allow-live")
    assert rerun.code == 0, rerun.output
    assert "resuming the kamsync push interrupted" in rerun.stderr
    assert "the interrupted push had finished: Kameleoon holds every value it was sending" in rerun.stderr
    assert len(api_requests(sandbox, "PUT")) == 1
    assert sandbox.store.get("site", 1)["captureEventMethod"] == OTHERS["captureEventMethod"]


def test_a_saved_plan_of_the_site_script_is_applied_exactly(kamsync, repo, site, sandbox, tmp_path):
    (repo / SCRIPT).write_text("// planned\n")
    commit_all(repo, "planned")
    plan = tmp_path / "plan.json"
    assert kamsync("push", "--dry-run", "--allow-live", "--out", str(plan)).code == 0
    sandbox.store.ui_edit_site(1, name="Renamed meanwhile")  # not the script: the plan still holds
    applied = kamsync("apply", str(plan), "--json")
    assert applied.code == 0, applied.output
    assert applied.json()["written"][0]["site_code"] == "demoshop01"
    after = sandbox.store.get("site", 1)
    assert (normalize(after["trackingScript"]), after["name"]) == ("// planned", "Renamed meanwhile")
