"""Personalizations and their variations, end to end: real `kamsync` processes, the sandbox over HTTP, real git.

The repository maps the seeded personalization 300001 (active, no variations) and a draft personalization made
here with two variations, next to the example's experiments.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kamsync.api.payloads import personalization_from_payload
from kamsync.core.normalize import file_text, normalize
from tests.gitutil import git, run_git
from tests.helpers import api_requests, commit_all

LIVE = 300001
WELCOME = "personalizations/300001-welcome"


def _write(repo: Path, path: str, value: str) -> None:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(file_text(normalize(value)), encoding="utf-8")


@pytest.fixture
def mapped(repo: Path, sandbox, kamsync) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Map both personalizations in the manifest, their files as Kameleoon holds them, committed, and seen in
    sync once (so this clone records what both sides agree on, as after a pull)."""
    store = sandbox.store
    draft = store.add_personalization(
        "Free shipping banner",
        javaScriptCode="// banner\nshow();",
        cssCode=".banner { top: 0 }",
        globalScript="window.banner = 1;",
        variations=[{"name": "Top bar", "jsCode": "// top", "cssCode": ".top {}"}, {"name": "Footer"}],
    )
    top, footer = store.personalization(draft)["variationIds"]
    live = store.personalization(LIVE)
    _write(repo, f"{WELCOME}/code.js", live["javaScriptCode"])
    _write(repo, f"{WELCOME}/code.css", live["cssCode"])
    _write(repo, f"{WELCOME}/script.js", live["globalScript"])
    folder = f"personalizations/{draft}-banner"
    _write(repo, f"{folder}/code.js", "// banner\nshow();")
    _write(repo, f"{folder}/code.css", ".banner { top: 0 }")
    _write(repo, f"{folder}/script.js", "window.banner = 1;")
    _write(repo, f"{folder}/variations/top-bar/variation.js", "// top")
    _write(repo, f"{folder}/variations/top-bar/variation.css", ".top {}")
    _write(repo, f"{folder}/variations/footer/variation.js", "")
    _write(repo, f"{folder}/variations/footer/variation.css", "")
    with (repo / "kamsync.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(
            f"personalizations:\n  - id: {LIVE}\n    dir: {WELCOME}\n  - id: {draft}\n    dir: {folder}\n"
            f"    variations:\n      - id: {top}\n        name: Top bar\n        dir: top-bar\n"
            f"      - id: {footer}\n        name: Footer\n        dir: footer\n"
        )
    commit_all(repo, "Map the personalizations")
    assert kamsync("status").code == 0
    store.clear_requests()
    return {"draft": draft, "top": top, "footer": footer, "folder": folder}  # type: ignore[dict-item]


def entries(result) -> dict[tuple[str, int | None, str], dict]:  # type: ignore[no-untyped-def, type-arg]
    assert result.code in (0, 1), result.output
    return {(e["kind"], e["entity_id"], e["field"]): e for e in result.json()["entries"]}


def test_status_judges_personalizations_and_their_variations_and_names_them_in_json(kamsync, mapped):
    found = entries(kamsync("status", "--json"))

    assert {e["state"] for e in found.values()} == {"in-sync"}
    own = found[("personalization", mapped["draft"], "javaScriptCode")]
    assert own | {"path": None} == {
        "kind": "personalization",
        "entity_id": mapped["draft"],
        "experiment_id": None,
        "personalization_id": mapped["draft"],
        "variation_id": None,
        "field": "javaScriptCode",
        "path": None,
        "state": "in-sync",
        "live": False,
        "commit": None,
        "base": None,
        "uncommitted": False,
    }
    assert own["path"] == f"{mapped['folder']}/code.js"
    variation = found[("personalization-variation", mapped["top"], "cssCode")]
    assert (variation["personalization_id"], variation["experiment_id"], variation["variation_id"]) == (
        mapped["draft"],
        None,
        mapped["top"],
    )
    assert found[("personalization", LIVE, "cssCode")]["live"] is True
    experiment = found[("variation", 200001, "jsCode")]
    assert (experiment["experiment_id"], experiment["personalization_id"], experiment["variation_id"]) == (
        100001,
        None,
        200001,
    )
    assert found[("experiment", 100001, "globalScript")]["variation_id"] is None


def test_status_reads_every_kind_with_one_filtered_list_each(kamsync, mapped, sandbox):
    assert kamsync("status").code == 0
    gets = api_requests(sandbox)
    assert sorted(r.path for r in gets) == ["/experiments", "/personalizations", "/variations"]  # token cached
    filtered = {r.path: r.query["filter"][0] for r in gets}
    assert f'"parameters":[{LIVE},{mapped["draft"]}]' in filtered["/personalizations"]
    assert str(mapped["footer"]) in filtered["/variations"] and "200001" in filtered["/variations"]


def test_push_sends_only_the_changed_code_of_a_personalization_and_of_its_variation(kamsync, repo, sandbox, mapped):
    folder = mapped["folder"]
    (repo / folder / "code.js").write_text("// banner v2\n")
    (repo / folder / "variations" / "top-bar" / "variation.js").write_text("// top v2\n")
    commit_all(repo, "Banner v2")

    status = entries(kamsync("status", "--json"))
    assert status[("personalization", mapped["draft"], "javaScriptCode")]["state"] == "local-changed"
    dry = kamsync("push", "--dry-run", "--json")
    assert dry.json()["planned"] == [
        {
            "entity": "personalization",
            "id": mapped["draft"],
            "experiment_id": None,
            "fields": ["javaScriptCode"],
            "paths": [f"{folder}/code.js"],
            "personalization_id": mapped["draft"],
        },
        {
            "entity": "personalization-variation",
            "id": mapped["top"],
            "experiment_id": None,
            "fields": ["jsCode"],
            "paths": [f"{folder}/variations/top-bar/variation.js"],
            "personalization_id": mapped["draft"],
        },
    ]
    sandbox.store.clear_requests()
    pushed = kamsync("push")
    assert pushed.code == 0, pushed.output
    assert f"updated variation {mapped['top']} (personalization {mapped['draft']}): jsCode" in pushed.stdout
    patches = api_requests(sandbox, "PATCH")
    assert [r.path for r in patches] == [f"/personalizations/{mapped['draft']}", f"/variations/{mapped['top']}"]
    stored = sandbox.store.personalization(mapped["draft"])
    assert (normalize(stored["javaScriptCode"]), stored["cssCode"]) == ("// banner v2", ".banner { top: 0 }")
    assert normalize(sandbox.store.variation(mapped["top"])["jsCode"]) == "// top v2"
    assert {e["state"] for e in entries(kamsync("status", "--json")).values()} == {"in-sync"}


def test_an_active_personalization_is_pushed_only_with_allow_live(kamsync, repo, sandbox, mapped):
    (repo / WELCOME / "code.css").write_text(".welcome { font-weight: 700; }\n")
    commit_all(repo, "Bolder")
    refused = kamsync("push")
    assert refused.code == 3, refused.output
    assert "the personalization is live (status active)" in refused.stderr
    assert not api_requests(sandbox, "PATCH")

    allowed = kamsync("push", "--allow-live")
    assert allowed.code == 0, allowed.output
    assert [r.path for r in api_requests(sandbox, "PATCH")] == [f"/personalizations/{LIVE}"]


def test_drift_on_a_personalization_is_refused_and_nothing_is_written(kamsync, repo, sandbox, mapped):
    sandbox.store.ui_edit_personalization(mapped["draft"], javaScriptCode="// edited in the UI")
    (repo / mapped["folder"] / "code.css").write_text(".banner { top: 4px }\n")
    commit_all(repo, "css")

    status = entries(kamsync("status", "--json"))
    assert status[("personalization", mapped["draft"], "javaScriptCode")]["state"] == "remote-changed"
    refused = kamsync("push")
    assert refused.code == 3, refused.output
    assert (
        f"refused: personalization {mapped['draft']} javaScriptCode ({mapped['folder']}/code.js): edited in "
        "Kameleoon outside git" in refused.stderr
    )
    assert "nothing was written: 1 field(s) refused" in refused.stderr
    assert not api_requests(sandbox, "PATCH"), "the css change waits with the rest"


def test_drift_on_a_personalization_variation_is_refused_and_pull_adopts_it(kamsync, repo, sandbox, mapped):
    sandbox.store.ui_edit_variation(mapped["footer"], jsCode="// footer from the UI")
    path = f"{mapped['folder']}/variations/footer/variation.js"
    state = entries(kamsync("status", "--json"))[("personalization-variation", mapped["footer"], "jsCode")]
    assert state["state"] == "remote-changed"
    (repo / path).write_text("// footer ours\n")
    commit_all(repo, "footer")
    conflict = kamsync("push", "--json")
    assert conflict.code == 3, conflict.output
    [refused] = conflict.json()["refused"]
    assert (refused["kind"], refused["entity_id"], refused["personalization_id"], refused["state"]) == (
        "personalization-variation",
        mapped["footer"],
        mapped["draft"],
        "conflict",
    )
    assert f"variation {mapped['footer']} (personalization {mapped['draft']}) jsCode" in conflict.stderr
    assert not api_requests(sandbox, "PATCH")

    pulled = kamsync("pull", "--json")
    assert pulled.code == 3, pulled.output  # both sides changed the only line: a conflict to resolve
    assert pulled.json()["conflicts"] == [path]
    assert "// footer from the UI" in (repo / path).read_text() and "// footer ours" in (repo / path).read_text()


def test_pull_brings_a_ui_edit_of_a_personalization_into_the_repository(kamsync, repo, sandbox, mapped):
    sandbox.store.ui_edit_personalization(mapped["draft"], globalScript="window.banner = 2;")
    pulled = kamsync("pull", "--json")
    assert pulled.code == 0, pulled.output
    [written] = pulled.json()["written"]
    assert (written["kind"], written["personalization_id"], written["field"]) == (
        "personalization",
        mapped["draft"],
        "globalScript",
    )
    assert (repo / mapped["folder"] / "script.js").read_text() == "window.banner = 2;\n"
    git(repo, "commit", "-q", "-m", "Adopt the UI edit")
    assert {e["state"] for e in entries(kamsync("status", "--json")).values()} == {"in-sync"}


def test_a_personalization_gone_from_kameleoon_is_remote_missing(kamsync, repo, sandbox, mapped):
    sandbox.store.ui_edit_personalization(mapped["draft"], variationIds=[mapped["top"]])
    sandbox.store.ui_edit_variation(mapped["footer"], personalizationId=LIVE)
    found = entries(kamsync("status", "--json"))
    assert found[("personalization-variation", mapped["footer"], "jsCode")]["state"] == "remote-missing"
    assert found[("personalization-variation", mapped["top"], "jsCode")]["state"] == "in-sync"


def test_the_pre_push_hook_blocks_a_push_over_a_personalization_edited_in_the_ui(
    kamsync, repo, env, sandbox, mapped, tmp_path
):
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare), env=env)
    git(repo, "remote", "add", "origin", str(bare), env=env)
    git(repo, "push", "-q", "origin", "main", env=env)
    assert kamsync("hook", "install").code == 0
    before = git(bare, "rev-parse", "refs/heads/main", env=env)
    sandbox.store.ui_edit_variation(mapped["top"], cssCode=".top { color: red }")
    css = f"{mapped['folder']}/variations/top-bar/variation.css"
    (repo / css).write_text(".top { color: blue }\n")
    commit_all(repo, "blue")

    done = run_git(repo, "push", "origin", "main", env=env)
    assert done.returncode != 0
    assert f"{css} (variation {mapped['top']} (personalization {mapped['draft']}) cssCode): edited in" in done.stderr
    assert git(bare, "rev-parse", "refs/heads/main", env=env) == before, "git did not push"


def test_pull_maps_a_variation_added_to_a_personalization_in_kameleoon_and_follows_a_rename(
    kamsync, repo, sandbox, mapped
):
    store = sandbox.store
    new = store.create_variation(
        {"name": "Side panel", "siteId": 1, "personalizationId": mapped["draft"], "jsCode": "// side"}
    )["id"]
    store.ui_edit_personalization(mapped["draft"], variationIds=[mapped["top"], mapped["footer"], new])
    store.ui_edit_variation(mapped["top"], name="Top banner")
    status = kamsync("status", "--json")
    assert status.json()["new_variations"] == [
        {"experiment_id": None, "personalization_id": mapped["draft"], "variation_id": new, "name": "Side panel"}
    ]
    human = kamsync("status").stdout
    assert f"new in Kameleoon: variation {new} 'Side panel' of personalization {mapped['draft']}" in human

    pulled = kamsync("pull", "--json")
    assert pulled.code == 0, pulled.output
    payload = pulled.json()
    assert payload["added_variations"] == [
        {"experiment_id": None, "personalization_id": mapped["draft"], "variation_id": new, "dir": "side-panel"}
    ]
    assert payload["renamed"] == [{"variation_id": mapped["top"], "name": "Top banner"}]
    folder = repo / mapped["folder"] / "variations" / "side-panel"
    assert (folder / "variation.js").read_text() == "// side\n"
    manifest = (repo / "kamsync.yaml").read_text()
    assert f"      - id: {new}\n        name: Side panel\n        dir: side-panel\n" in manifest
    assert "name: Top banner\n        dir: top-bar\n" in manifest, "a rename never moves the files"
    git(repo, "commit", "-q", "-m", "Map the side panel")
    after = kamsync("status", "--json")
    assert {e["state"] for e in after.json()["entries"]} == {"in-sync"} and after.json()["new_variations"] == []


def test_a_legacy_personalization_with_a_single_variation_id_maps_that_variation() -> None:
    legacy = personalization_from_payload({"id": "5", "status": "ACTIVE", "variationId": "77", "javaScriptCode": None})
    assert legacy is not None
    assert (legacy.id, legacy.variation_ids, legacy.code, legacy.is_live) == (5, (77,), {"javaScriptCode": ""}, True)
    none = personalization_from_payload({"id": 6, "variationId": None})
    assert none is not None and none.variation_ids == ()
    newer = personalization_from_payload({"id": 7, "variationIds": [8, "9", {"id": 10}], "globalScript": 3})
    assert newer is not None and (newer.variation_ids, newer.code) == ((8, 9, 10), {})
    unlisted = personalization_from_payload({"id": 8})
    assert unlisted is not None and unlisted.variation_ids is None


def test_a_saved_plan_of_a_personalization_is_applied_and_refused_once_it_changed(
    kamsync, repo, sandbox, mapped, tmp_path
):
    (repo / mapped["folder"] / "code.css").write_text(".banner { top: 8px }\n")
    commit_all(repo, "css")
    plan = tmp_path / "plan.json"
    assert kamsync("push", "--dry-run", "--out", str(plan)).code == 0
    sandbox.store.ui_edit_personalization(mapped["draft"], status="ACTIVE")
    went_live = kamsync("apply", str(plan))
    assert went_live.code == 3, went_live.output
    assert f"personalization {mapped['draft']} went live (status active) since the plan was made" in went_live.stderr
    sandbox.store.ui_edit_personalization(mapped["draft"], status="DRAFT")
    applied = kamsync("apply", str(plan))
    assert applied.code == 0, applied.output
    assert sandbox.store.personalization(mapped["draft"])["cssCode"] == ".banner { top: 8px }\n"


def test_doctor_counts_the_personalizations_it_maps(kamsync, mapped):
    result = kamsync("doctor")
    assert "kamsync.yaml is valid: 2 experiment(s), 2 personalization(s), 22 field(s) mapped" in result.stdout


def test_diff_shows_what_kameleoon_holds_for_a_personalization_and_its_variation(kamsync, sandbox, mapped):
    sandbox.store.ui_edit_personalization(mapped["draft"], cssCode=".banner { top: 2px }")
    sandbox.store.ui_edit_variation(mapped["top"], jsCode="// top from the UI")
    diff = kamsync("diff", "--json", "--exit-code")
    assert diff.code == 1, diff.output
    shown = {(e["kind"], e["field"]): e for e in diff.json()["entries"]}
    assert set(shown) == {("personalization", "cssCode"), ("personalization-variation", "jsCode")}
    assert "-.banner { top: 2px }\n+.banner { top: 0 }" in shown[("personalization", "cssCode")]["diff"]
    assert shown[("personalization-variation", "jsCode")]["personalization_id"] == mapped["draft"]
    human = kamsync("diff").stdout
    assert f"# remote-changed: personalization {mapped['draft']} cssCode" in human
    assert f"# remote-changed: variation {mapped['top']} (personalization {mapped['draft']}) jsCode" in human
