"""`kamsync pull --site` end to end: a whole site mapped from a seeded sandbox over HTTP into a real repository,
its request count checked against the sandbox's log."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from kamsync.core.normalize import normalize
from kamsync.sandbox import Sandbox
from tests.gitutil import git
from tests.helpers import api_requests, commit_all, states
from tests.seeding import account, experiment, many, personalization, seeded_sandbox, site, variation

REDIRECT = {"type": "GLOBAL_REDIRECTION", "url": "https://outlet0002.example/new-checkout"}
SHOP = account(
    sites=[site(2, "outlet0002", "Outlet"), site(3, "empty00003")],
    experiments=[
        experiment(
            100010,
            "Spring sale",
            2,
            [200010],
            status="ACTIVE",
            commonJavaScriptCode="// spring",
            commonCssCode=".spring { color: red }",
            globalScript="window.spring = 1;",
        ),
        experiment(100011, "Graphic hero", 2, [200011]),
        experiment(100012, "Go to the new checkout", 2, [200012]),
        experiment(100013, "Widget popin", 2, [200013]),
        experiment(100014, "Paused test", 2, [200014, 200015], status="Paused"),
        experiment(100015, "Liar", 2, [200016, 299999]),
    ],
    variations=[
        variation(200010, "Red banner", 2, 100010, jsCode="// red", cssCode=".red { color: red }"),
        variation(200011, "Bigger", 2, 100011, generatedJsCode="document.body.style.zoom = 2;", creationMode="GRAPHIC"),
        variation(200012, "New checkout", 2, 100012, redirection=REDIRECT),
        variation(200013, "Popin", 2, 100013, widgetTemplateInput={"title": "Hello"}),
        variation(200014, "A", 2, 100014, jsCode="// a"),
        variation(200015, "B", 2, 100014, cssCode=".b {}"),
        variation(200016, "Told", 2, 100015),
        variation(200017, "VIP", 2, 300002, jsCode="// vip"),
    ],
    personalizations=[personalization(300002, "VIP banner", 2, [200017], javaScriptCode="// vip")],
)
MANIFEST = "# Our experiments: kamsync adds to this file, keeping this comment.\nversion: 1\nexperiments: []\n"


@pytest.fixture
def seed() -> dict:  # type: ignore[type-arg]
    return SHOP


sandbox = seeded_sandbox  # the seeded sandbox stands in for conftest's


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Path:
    """A repository with a commented manifest mapping nothing yet."""
    folder = tmp_path / "site-repo"
    folder.mkdir()
    git(folder, "init", "-q", "-b", "main", env=env)
    (folder / "kamsync.yaml").write_text(MANIFEST)
    commit_all(folder, "start mapping")
    return folder


def _pages(sandbox: Sandbox) -> list[tuple[str, str]]:
    return [(r.path, r.query.get("page", [""])[0]) for r in api_requests(sandbox)]


def test_bootstrap_maps_every_code_experiment_of_the_site_and_leaves_out_editor_and_redirect_ones(
    kamsync, repo, sandbox
):
    result = kamsync("pull", "--site", "outlet0002", "--json")
    assert result.code == 0, result.output
    payload = result.json()
    assert payload["added_experiments"] == [100010, 100014]
    assert payload["added_personalizations"] == [300002]
    assert {"experiment_id": None, "personalization_id": 300002, "variation_id": 200017, "dir": "vip"} in (
        payload["added_variations"]
    )
    assert payload["requests"] == 5, "token + site + one page each of experiments, variations, personalizations"
    assert _pages(sandbox) == [
        ("/oauth/token", ""),
        ("/sites", "1"),
        ("/experiments", "1"),
        ("/variations", "1"),
        ("/personalizations", "1"),
    ]
    left_out = {n["id"]: n["reason"] for n in payload["not_mapped"]}
    assert set(left_out) == {100011, 100012, 100013, 100015}
    assert "graphic editor" in left_out[100011] and "redirects" in left_out[100012]
    assert "widget" in left_out[100013] and "299999" in left_out[100015]
    manifest = (repo / "kamsync.yaml").read_text()
    assert manifest.startswith("# Our experiments: kamsync adds to this file, keeping this comment.\n")
    assert "dir: experiments/100010-spring-sale" in manifest and "dir: experiments/100014-paused-test" in manifest
    for absent in ("100011", "100012", "100013", "100015", "200011", "200012"):
        assert absent not in manifest
    spring = repo / "experiments" / "100010-spring-sale"
    assert (spring / "common.js").read_text() == "// spring\n"
    assert (spring / "script.js").read_text() == "window.spring = 1;\n"
    assert (spring / "variations" / "red-banner" / "variation.css").read_text() == ".red { color: red }\n"
    assert sorted(p.name for p in (repo / "experiments").iterdir()) == ["100010-spring-sale", "100014-paused-test"]
    vip = repo / "personalizations" / "300002-vip-banner"
    assert "dir: personalizations/300002-vip-banner" in manifest
    assert (vip / "code.js").read_text() == "// vip\n" and (vip / "code.css").read_text() == ""
    assert (vip / "variations" / "vip" / "variation.js").read_text() == "// vip\n"
    assert git(repo, "rev-parse", "-q", "--verify", "MERGE_HEAD"), "the values are recorded as a pulled commit"
    found = states(kamsync("status", "--json"))
    assert len(found) == (3 + 2) + (3 + 2 * 2) + (3 + 2) and set(found.values()) == {"in-sync"}


def test_bootstrap_text_says_what_it_left_out_and_what_it_cost(kamsync, repo, sandbox):
    result = kamsync("pull", "--site", "outlet0002")
    assert result.code == 0, result.output
    assert "not mapped: experiment 100011 'Graphic hero': variation 200011 was made in the graphic editor" in (
        result.stderr
    )
    assert "not mapped: experiment 100012 'Go to the new checkout': variation 200012 redirects" in result.stderr
    assert "site outlet0002: 2 experiments and 1 personalization mapped, 4 left out" in result.stderr, result.stderr
    assert "5 requests used" in result.stdout


def test_bootstrap_run_again_adds_only_what_is_new(kamsync, repo, sandbox):
    assert kamsync("pull", "--site", "outlet0002").code == 0
    commit_all(repo, "map the outlet")
    before = (repo / "kamsync.yaml").read_text()
    (repo / "experiments" / "100010-spring-sale" / "common.js").write_text("// spring, edited here\n")
    commit_all(repo, "edit the spring sale")
    new = sandbox.store.add_experiment(
        "Summer sale", site_id=2, commonCssCode=".summer {}", variations=[{"name": "Sun", "jsCode": "// sun"}]
    )
    sandbox.store.clear_requests()
    again = kamsync("pull", "--site", "outlet0002", "--json")
    assert again.code == 0, again.output
    payload = again.json()
    assert payload["added_experiments"] == [new]
    assert {f["experiment_id"] for f in payload["written"]} == {new}
    after = (repo / "kamsync.yaml").read_text()
    changes = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:2] in ("- ", "+ ")]
    assert all(line.startswith("+ ") for line in changes), "the mapped entries are left as they were"
    assert changes[0] == f"+   - id: {new}" and f"+     dir: experiments/{new}-summer-sale" in changes
    assert (repo / "experiments" / "100010-spring-sale" / "common.js").read_text() == "// spring, edited here\n"
    assert payload["requests"] == 4, "the token is cached: the site and three lists"
    commit_all(repo, "map the summer sale")
    third = kamsync("pull", "--site", "outlet0002", "--json").json()
    assert third["added_experiments"] == [] and third["written"] == [] and not third["manifest_changed"]


def test_bootstrap_by_status_maps_only_those(kamsync, repo, sandbox):
    result = kamsync("pull", "--site", "outlet0002", "--status", "paused", "--json")
    assert result.code == 0, result.output
    assert result.json()["added_experiments"] == [100014]


def test_bootstrap_of_a_site_without_experiments_writes_nothing(kamsync, repo, sandbox):
    result = kamsync("pull", "--site", "empty00003", "--json")
    assert result.code == 0, result.output
    assert result.json()["added_experiments"] == [] and result.json()["requests"] == 5
    assert (repo / "kamsync.yaml").read_text() == MANIFEST
    assert git(repo, "status", "--porcelain") == ""


def test_bootstrap_in_a_repository_without_a_manifest_creates_one(kamsync, repo, sandbox):
    git(repo, "rm", "-q", "kamsync.yaml")
    commit_all(repo, "no manifest")
    result = kamsync("pull", "--site", "outlet0002")
    assert result.code == 0, result.output
    assert (repo / "kamsync.yaml").read_text().startswith("# yaml-language-server: $schema=")


def test_bootstrap_priced_beyond_max_requests_is_refused_before_any_request(kamsync, repo, sandbox):
    result = kamsync("pull", "--site", "outlet0002", "--max-requests", "4")
    assert result.code == 3, result.output
    assert "kamsync pull --site" in result.stderr and "nothing was written" in result.stderr
    assert api_requests(sandbox) == []


def test_bootstrap_refuses_options_that_do_not_go_with_it(kamsync, repo, sandbox):
    for args in (["--experiment", "100010"], ["--force"], ["experiments"], ["--from", "HEAD"]):
        result = kamsync("pull", "--site", "outlet0002", *args)
        assert result.code == 2 and "--site maps new experiments only" in result.stderr, (args, result.output)
    alone = kamsync("pull", "--status", "active")
    assert alone.code == 2 and "--status goes with --site" in alone.stderr
    assert api_requests(sandbox) == []


HOSTILE_NAMES = [
    "../../../etc/passwd",
    ".git",
    "CON",
    "nul.js",
    "",
    "\x1b[2J\x1b[1;1Hcleared",
    "Ünïcödé ☃ test",
    "x" * 500,
    "Same name",
    "Same name",
]
HOSTILE = account(
    sites=[site(2, "hostile002")],
    experiments=[experiment(120001 + n, name, 2, [220001 + n]) for n, name in enumerate(HOSTILE_NAMES)]
    + [experiment(120100, "Three of a name", 2, [220100, 220101, 220102, 220103])],
    variations=[variation(220001 + n, name, 2, 120001 + n) for n, name in enumerate(HOSTILE_NAMES)]
    + [variation(220100 + n, name, 2, 120100) for n, name in enumerate(["Con", "con", "CON", ".."])],
)


@pytest.mark.parametrize("seed", [HOSTILE], ids=["hostile-names"])
def test_bootstrap_folder_names_from_hostile_names_stay_readable_unique_and_inside(kamsync, repo, sandbox):
    result = kamsync("pull", "--site", "hostile002", "--json")
    assert result.code == 0, result.output
    folders = sorted(p.relative_to(repo).as_posix() for p in (repo / "experiments").glob("*/variations/*"))
    assert len(folders) == len(HOSTILE_NAMES) + 4
    devices = {"con", "nul", "prn", "aux"}
    for folder in folders:
        parts = folder.split("/")
        assert parts[0] == "experiments" and len(parts) == 4 and ".." not in parts, folder
        assert all(p.split(".")[0].lower() not in devices and p.isascii() and len(p) <= 68 for p in parts), folder
    assert len({f.lower() for f in folders}) == len(folders), "unique even where case is ignored"
    assert "experiments/120001-etc-passwd/variations/etc-passwd" in folders
    assert "experiments/120002-git/variations/git" in folders
    assert "experiments/120003-con/variations/con-220003" in folders
    assert "experiments/120005/variations/220005" in folders
    assert "experiments/120009-same-name/variations/same-name" in folders
    assert "experiments/120010-same-name/variations/same-name" in folders
    three = [f.rsplit("/", 1)[1] for f in folders if f.startswith("experiments/120100")]
    assert three == ["220103", "con-220100", "con-220101", "con-220102"]
    assert not (repo / ".git" / "hooks" / "passwd").exists()
    text = kamsync("pull", "--site", "hostile002")
    assert "\x1b" not in text.output
    found = states(kamsync("status", "--json"))
    assert set(found.values()) == {"in-sync"}


@pytest.mark.parametrize("seed", [HOSTILE], ids=["hostile-names"])
def test_bootstrap_refuses_to_write_through_a_folder_that_leads_outside(kamsync, repo, sandbox, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "experiments").symlink_to(outside, target_is_directory=True)
    result = kamsync("pull", "--site", "hostile002")
    assert result.code == 2, result.output
    assert "nothing was written" in result.stderr
    assert list(outside.iterdir()) == []
    assert (repo / "kamsync.yaml").read_text() == MANIFEST


@pytest.mark.parametrize("seed", [account(**many(2, 201), sites=[site(2, "paged00002")])], ids=["201-experiments"])
def test_bootstrap_pages_through_every_list_and_costs_what_the_formula_says(kamsync, repo, sandbox):
    result = kamsync("pull", "--site", "paged00002", "--json")
    assert result.code == 0, result.output
    payload = result.json()
    assert len(payload["added_experiments"]) == 201
    # ⌊201/200⌋ + 1 = 2 pages of experiments and of variations, 1 of personalizations, the site, the token.
    assert payload["requests"] == 1 + 1 + 2 + 2 + 1
    assert _pages(sandbox)[1:] == [
        ("/sites", "1"),
        ("/experiments", "1"),
        ("/experiments", "2"),
        ("/variations", "1"),
        ("/variations", "2"),
        ("/personalizations", "1"),
    ]
    assert normalize((repo / "experiments" / "110201-test-200" / "common.js").read_text()) == "// 200"


def test_bootstrap_stops_a_server_whose_pages_never_end_and_writes_nothing(kamsync, repo, sandbox):
    sandbox.faults.arm("GET 3x1000=fresh-pages")  # from the variations on: full pages of objects never seen
    result = kamsync("pull", "--site", "outlet0002")
    assert result.code == 4, result.output
    assert "none of which its filter asks for" in result.stderr
    assert (repo / "kamsync.yaml").read_text() == MANIFEST and not (repo / "experiments").exists()
    assert len(api_requests(sandbox, "GET")) == 3


def test_list_after_a_bootstrap_says_where_each_experiment_and_personalization_lives(kamsync, repo, sandbox):
    assert kamsync("pull", "--site", "outlet0002").code == 0
    listed = kamsync("list", "--site", "outlet0002", "--json").json()["entities"]
    where = {(e["kind"], e["id"]): e["dir"] for e in listed}
    assert where[("personalization", 300002)] == "personalizations/300002-vip-banner"
    assert where[("experiment", 100010)] == "experiments/100010-spring-sale"
    assert where[("experiment", 100011)] is None, "left out by the bootstrap: listed, not mapped"


def test_bootstrap_beside_a_manifest_in_a_subfolder_writes_under_that_folder(kamsync, repo, sandbox):
    web = repo / "web"
    web.mkdir()
    git(repo, "mv", "kamsync.yaml", "web/kamsync.yaml")
    commit_all(repo, "the manifest lives with the web code")
    result = kamsync("pull", "--site", "outlet0002", "--status", "active", cwd=web)
    assert result.code == 0, result.output
    assert (web / "experiments" / "100010-spring-sale" / "common.js").read_text() == "// spring\n"
    assert not (repo / "experiments").exists()
    assert set(states(kamsync("status", "--json", cwd=web)).values()) == {"in-sync"}


@pytest.mark.parametrize(
    ("experiment_id", "why"),
    [
        pytest.param("100011", "variation 200011 was made in the graphic editor", id="graphic editor"),
        pytest.param("100012", "variation 200012 redirects to another URL", id="redirect"),
        pytest.param("100013", "variation 200013 is a widget variation", id="widget"),
    ],
)
def test_pull_of_one_experiment_whose_code_kameleoon_makes_is_refused_and_writes_nothing(
    kamsync, repo, sandbox, experiment_id, why
):
    result = kamsync("pull", "--experiment", "100010", "--experiment", experiment_id)

    assert result.code == 3, result.output
    assert f"--experiment {experiment_id}: {why}" in result.stderr and "nothing was written" in result.stderr
    assert (repo / "kamsync.yaml").read_text() == MANIFEST and not (repo / "experiments").exists()
    assert kamsync("pull", "--experiment", "100010").code == 0, "an experiment of hand-written code still maps"
