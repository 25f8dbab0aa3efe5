"""Variations created from the repository: an entry with a `name` and no `id` is created by `kamsync push
--allow-traffic-change` (or adopted when the site has exactly one variation of that name), attached with the
split the plan shows, and its id written into the manifest — never twice, even when killed half-way.

End to end: real `kamsync` processes, the sandbox over HTTP, real git repositories.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kamsync.core.creation import Adopt, Candidate, Create, Refuse, decide, equal_split
from kamsync.core.errors import ManifestError
from kamsync.manifest.parse import parse_manifest
from tests.gitutil import git
from tests.helpers import api_requests, commit_all, kill_push_when_held, states

EXPERIMENT = 100001  # draft, variations 200001 (red-button) and 200002 (big-headline), site 1
LIVE = 100002  # active, variation 200003
GREEN_JS = "experiments/100001-homepage-hero/variations/green-button/variation.js"
GREEN_CSS = "experiments/100001-homepage-hero/variations/green-button/variation.css"

NEW_ENTRY = """      - id: 200002
        name: Big headline
        dir: big-headline
      # created from the repository
      - name: Green button
"""


def _add_new_variation(repo: Path, entry: str = NEW_ENTRY, traffic: str = "") -> None:
    manifest = repo / "kamsync.yaml"
    text = manifest.read_text()
    old = "      - id: 200002\n        name: Big headline\n        dir: big-headline\n"
    assert old in text
    text = text.replace(old, entry)
    if traffic:
        text = text.replace(
            "    dir: experiments/100001-homepage-hero\n", f"    dir: experiments/100001-homepage-hero\n{traffic}"
        )
    manifest.write_text(text)
    (repo / GREEN_JS).parent.mkdir(parents=True)
    (repo / GREEN_JS).write_text("document.body.dataset.button = 'green';\n")
    (repo / GREEN_CSS).write_text(".cta { background: green; }\n")
    commit_all(repo, "Add a green button variation")


def _creations(sandbox) -> list:  # type: ignore[no-untyped-def, type-arg]
    return [r for r in api_requests(sandbox, "POST") if r.path == "/variations"]


def _named(sandbox, name: str) -> list[dict]:  # type: ignore[type-arg]
    return [v for v in sandbox.store.all("variation") if v["name"] == name]


def test_a_new_variation_is_refused_without_allow_traffic_change_and_the_plan_shows_the_split(kamsync, repo, sandbox):
    _add_new_variation(repo)
    sandbox.store.clear_requests()

    result = kamsync("push")

    assert result.code == 3, result.output
    assert "new variation 'Green button' of experiment 100001 (green-button): will be created" in result.stdout
    assert (
        "traffic of experiment 100001: origin 34% → 25%, variation 200001 (red-button) 33% → 25%, "
        "variation 200002 (big-headline) 33% → 25%, new 'Green button' (green-button) → 25%"
    ) in result.stdout
    assert "--allow-traffic-change" in result.stderr
    assert _creations(sandbox) == [] and api_requests(sandbox, "PATCH") == []
    assert _named(sandbox, "Green button") == []


def test_status_says_which_variations_a_push_would_create(kamsync, repo):
    _add_new_variation(repo)
    result = kamsync("status")
    assert result.code == 0, result.output
    assert (
        "new variation 'Green button' of experiment 100001 (green-button) has no id yet: "
        "`kamsync push --allow-traffic-change` creates it"
    ) in result.stderr


def test_a_dry_run_shows_the_creation_and_sends_nothing(kamsync, repo, sandbox):
    _add_new_variation(repo)
    sandbox.store.clear_requests()

    result = kamsync("push", "--dry-run", "--allow-traffic-change")

    assert result.code == 0, result.output
    assert "would be created" in result.stdout
    assert _creations(sandbox) == [] and api_requests(sandbox, "PATCH") == []
    assert _named(sandbox, "Green button") == []
    assert "      # created from the repository\n      - name: Green button\n" in (repo / "kamsync.yaml").read_text()


def test_a_creation_posts_once_attaches_with_equal_shares_and_writes_the_id_keeping_comments(kamsync, repo, sandbox):
    _add_new_variation(repo)
    sandbox.store.clear_requests()

    result = kamsync("push", "--allow-traffic-change")

    assert result.code == 0, result.output
    (made,) = _named(sandbox, "Green button")
    new_id = made["id"]
    assert made["jsCode"].strip() == "document.body.dataset.button = 'green';"
    assert made["cssCode"].strip() == ".cta { background: green; }"
    experiment = sandbox.store.experiment(EXPERIMENT)
    assert experiment["variations"] == [200001, 200002, new_id]
    assert experiment["deviations"] == {"origin": 0.25, "200001": 0.25, "200002": 0.25, str(new_id): 0.25}
    assert f"created variation {new_id} 'Green button' of experiment 100001" in result.stdout
    assert [r.path for r in _creations(sandbox)] == ["/variations"]
    assert [r.path for r in api_requests(sandbox, "PATCH")] == [f"/experiments/{EXPERIMENT}"]

    manifest = (repo / "kamsync.yaml").read_text()
    assert f"      # created from the repository\n      - id: {new_id}\n        name: Green button\n" in manifest

    commit_all(repo, "Record the green button's id")
    status = kamsync("status", "--json", "--exit-code")
    assert status.code == 0, status.output
    assert states(status)[(EXPERIMENT, new_id, "jsCode")] == "in-sync"

    sandbox.store.clear_requests()
    again = kamsync("push", "--allow-traffic-change")
    assert again.code == 0, again.output
    assert _creations(sandbox) == [], "a variation with an id is never created again"


def test_the_traffic_map_sets_the_split_the_manifest_gives(kamsync, repo, sandbox):
    traffic = "    traffic: {origin: 0.4, red-button: 0.2, big-headline: 0.2, green-button: 0.2}\n"
    _add_new_variation(repo, traffic=traffic)

    result = kamsync("push", "--allow-traffic-change")

    assert result.code == 0, result.output
    (made,) = _named(sandbox, "Green button")
    assert sandbox.store.experiment(EXPERIMENT)["deviations"] == {
        "origin": 0.4,
        "200001": 0.2,
        "200002": 0.2,
        str(made["id"]): 0.2,
    }
    assert "origin 34% → 40%" in result.stdout


def test_a_creation_on_a_live_experiment_needs_allow_live_too(kamsync, repo, sandbox):
    manifest = repo / "kamsync.yaml"
    old = "      - id: 200003\n        name: Badges above total\n        dir: badges-above-total\n"
    manifest.write_text(manifest.read_text().replace(old, old + "      - name: Badges below total\n"))
    commit_all(repo, "Add a variation to the live experiment")

    refused = kamsync("push", "--allow-traffic-change")
    assert refused.code == 3, refused.output
    assert "experiment 100002 is live" in refused.stderr and "--allow-live" in refused.stderr
    assert _named(sandbox, "Badges below total") == []

    allowed = kamsync("push", "--allow-traffic-change", "--allow-live")
    assert allowed.code == 0, allowed.output
    (made,) = _named(sandbox, "Badges below total")
    assert made["id"] in sandbox.store.experiment(LIVE)["variations"]


def test_an_unattached_variation_of_that_name_is_adopted_instead_of_created(kamsync, repo, sandbox):
    existing = sandbox.store.create_variation({"name": "Green button", "siteId": 1, "jsCode": ""})
    _add_new_variation(repo)
    sandbox.store.clear_requests()

    result = kamsync("push", "--allow-traffic-change")

    assert result.code == 0, result.output
    assert _creations(sandbox) == []
    assert f"adopted variation {existing['id']} 'Green button'" in result.stdout
    assert existing["id"] in sandbox.store.experiment(EXPERIMENT)["variations"]
    assert f"- id: {existing['id']}\n        name: Green button" in (repo / "kamsync.yaml").read_text()


def test_two_variations_of_the_site_with_that_name_are_refused(kamsync, repo, sandbox):
    for _ in range(2):
        sandbox.store.create_variation({"name": "Green button", "siteId": 1})
    _add_new_variation(repo)

    result = kamsync("push", "--allow-traffic-change")

    assert result.code == 3, result.output
    assert "2 variations of the site are named 'Green button'" in result.stderr
    assert len(_named(sandbox, "Green button")) == 2


def _start_push(repo: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kamsync", "push", "--allow-traffic-change"],
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_push_killed_between_the_post_and_the_patch_is_finished_without_a_duplicate(kamsync, repo, env, sandbox):
    _add_new_variation(repo)
    kill_push_when_held(sandbox, repo, env, "POST 2=hold", "--allow-traffic-change")  # POST 1: the token
    (orphan,) = _named(sandbox, "Green button")
    assert orphan["id"] not in sandbox.store.experiment(EXPERIMENT)["variations"], "killed before the attach"
    sandbox.store.clear_requests()

    rerun = kamsync("push", "--allow-traffic-change")

    assert rerun.code == 0, rerun.output
    assert _creations(sandbox) == [], "the POST is never repeated: the lookup finds the variation"
    assert _named(sandbox, "Green button") == [sandbox.store.variation(orphan["id"])]
    assert orphan["id"] in sandbox.store.experiment(EXPERIMENT)["variations"]
    assert f"- id: {orphan['id']}\n        name: Green button" in (repo / "kamsync.yaml").read_text()


def test_a_split_changed_in_kameleoon_meanwhile_aborts_the_attach_and_a_rerun_plans_afresh(kamsync, repo, env, sandbox):
    _add_new_variation(repo)
    (held,) = sandbox.faults.arm("POST 2=hold")  # the first POST fetches the token
    proc = _start_push(repo, env)
    try:
        assert sandbox.faults.reached(held).wait(timeout=60), "the push never reached its POST"
        sandbox.store.ui_edit_experiment(EXPERIMENT, deviations={"origin": 0.5, "200001": 0.5, "200002": 0.0})
    finally:
        sandbox.faults.release_all()
        sandbox.faults.clear()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 3, stderr
    assert "changed in Kameleoon while kamsync was creating variations" in stderr
    (made,) = _named(sandbox, "Green button")
    assert made["id"] not in sandbox.store.experiment(EXPERIMENT)["variations"]
    assert sandbox.store.experiment(EXPERIMENT)["deviations"]["origin"] == 0.5, "the UI's split was kept"

    rerun = kamsync("push", "--allow-traffic-change")

    assert rerun.code == 0, rerun.output
    assert "origin 50% → 25%" in rerun.stdout, "the rerun plans from the split Kameleoon has now"
    assert _named(sandbox, "Green button") == [sandbox.store.variation(made["id"])]
    assert made["id"] in sandbox.store.experiment(EXPERIMENT)["variations"]


def test_pushes_of_a_range_and_in_github_actions_refuse_creations(kamsync, repo, sandbox):
    _add_new_variation(repo)
    ranged = kamsync("push", "--allow-traffic-change", "--from", "HEAD~1", "--to", "HEAD")
    assert ranged.code == 3, ranged.output
    assert "a push of a git range" in ranged.stderr
    in_ci = kamsync("push", "--allow-traffic-change", extra_env={"GITHUB_ACTIONS": "true"})
    assert in_ci.code == 3, in_ci.output
    assert "GitHub Actions never creates them" in in_ci.stderr
    assert _named(sandbox, "Green button") == []


def test_the_pre_push_hook_refuses_a_commit_with_a_new_variation(kamsync, repo, env, sandbox, tmp_path):
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare), env=env)
    git(repo, "remote", "add", "origin", str(bare), env=env)
    git(repo, "push", "-q", "origin", "main", env=env)
    assert kamsync("hook", "install").code == 0
    _add_new_variation(repo)

    pushed = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo, env=env, capture_output=True, text=True)

    assert pushed.returncode != 0, pushed.stderr
    assert "never creates them" in pushed.stderr
    assert _named(sandbox, "Green button") == []


# --- the manifest -------------------------------------------------------------------------------------------

BASE = """version: 1
experiments:
  - id: 1
    dir: exp
{traffic}    variations:
      - id: 11
        dir: a
{new}"""


def _parse(tmp_path: Path, new: str, traffic: str = ""):  # type: ignore[no-untyped-def]
    (tmp_path / "exp").mkdir(exist_ok=True)
    path = tmp_path / "kamsync.yaml"
    text = BASE.format(new=new, traffic=traffic)
    path.write_text(text)
    return parse_manifest(text, path, tmp_path)


def test_an_entry_without_id_is_a_new_variation_with_its_files(tmp_path):
    manifest = _parse(tmp_path, "      - name: Blue Sky\n")
    ((exp, new),) = manifest.creations()
    assert (exp.id, new.name, new.dir) == (1, "Blue Sky", "blue-sky")
    assert [(f.field, f.path) for f in new.files] == [
        ("jsCode", "exp/variations/blue-sky/variation.js"),
        ("cssCode", "exp/variations/blue-sky/variation.css"),
    ]
    assert manifest.variation_ids() == (11,)
    assert all(f.ref.entity_id == 11 for f in manifest.files() if f.ref.variation_id is not None)


@pytest.mark.parametrize(
    ("new", "traffic", "message"),
    [
        ("      - dir: b\n", "", "has neither 'id' nor 'name'"),
        ("      - name: B\n      - name: B\n        dir: c\n", "", "two new variations named 'B'"),
        ("      - name: B\n        dir: a\n", "", "both map to"),
        ("      - name: B\n", "    traffic: {origin: 0.5, a: 0.5}\n", "has no share for b"),
        ("      - name: B\n", "    traffic: {origin: 0.5, a: 0.3, b: 0.3}\n", "sum to 1.1"),
        ("      - name: B\n", "    traffic: {origin: 0.5, a: 0.5, b: 0, zz: 0}\n", "names 'zz'"),
        ("      - name: B\n", "    traffic: {origin: 2, a: 0, b: 0}\n", "from 0 to 1"),
        ("      - name: B\n", "    traffic: [1]\n", "must be a mapping"),
    ],
)
def test_bad_new_variations_and_traffic_maps_are_refused_at_their_line(tmp_path, new, traffic, message):
    with pytest.raises(ManifestError) as caught:
        _parse(tmp_path, new, traffic)
    assert message in str(caught.value)


# --- the decisions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidates", "attached", "mapped", "expected"),
    [
        ([], [], [], Create()),
        ([Candidate(5, "other", None)], [], [], Create()),
        ([Candidate(5, "N", None)], [], [], Adopt(5, attached=False)),
        ([Candidate(5, "N", 1)], [5], [], Adopt(5, attached=True)),
        ([Candidate(5, "N", 2)], [], [], Refuse),
        ([Candidate(5, "N", None)], [], [5], Refuse),
        ([Candidate(5, "N", None), Candidate(6, "N", 1)], [], [], Refuse),
    ],
)
def test_the_name_lookup_decides_create_adopt_or_refuse(candidates, attached, mapped, expected):
    decision = decide("N", candidates, 1, attached, mapped)
    if expected is Refuse:
        assert isinstance(decision, Refuse)
    else:
        assert decision == expected


@pytest.mark.parametrize("count", [1, 2, 3, 4, 6, 7, 9])
def test_equal_shares_sum_to_exactly_one(count):
    shares = equal_split(count)
    assert len(shares) == count
    assert abs(sum(shares) - 1.0) < 1e-9
    assert max(shares) - min(shares) < 0.001


def test_a_variation_of_a_personalization_is_never_adopted_and_a_journaled_id_is_found_despite_a_rename():
    of_personalization = Candidate(7, "N", None, personalization_id=3)
    assert isinstance(decide("N", [of_personalization], 1, [], []), Refuse)
    renamed = Candidate(8, "N (renamed in the UI)", None)
    assert decide("N", [renamed], 1, [], [], journaled=8) == Adopt(8, attached=False)
