"""Specification of the manifest's ``personalizations:`` and ``site:`` keys: what they map, what they refuse."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from kamsync.core.errors import ManifestError
from kamsync.core.model import Entity, FieldRef
from kamsync.manifest.edit import ManifestEditor
from kamsync.manifest.parse import MANIFEST_NAME, load_manifest

PERSO = """\
version: 1
experiments: []
personalizations:
  # the welcome banner
  - id: 300001
    dir: personalizations/welcome
    script: shared/welcome-global.js
    variations:
      - id: 400001
        name: Big banner
      - id: 400002
        dir: small
        js: shared/small.js
site:
  code: demoshop01
  script: site/global.js
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    top = tmp_path / "repo"
    (top / "personalizations" / "welcome").mkdir(parents=True)
    (top / "experiments" / "hero").mkdir(parents=True)
    monkeypatch.chdir(top)
    return top


def load(repo: Path, text: str) -> Any:
    path = repo / MANIFEST_NAME
    path.write_text(text, encoding="utf-8")
    return load_manifest(path, repo)


def test_a_personalization_maps_its_own_code_and_its_variations_like_an_experiment(repo: Path) -> None:
    manifest = load(repo, PERSO)

    [perso] = manifest.personalizations
    assert (perso.id, perso.dir, perso.line) == (300001, "personalizations/welcome", 5)
    assert [(f.ref, f.path, f.line) for f in perso.files] == [
        (FieldRef(Entity.PERSONALIZATION, 300001, "javaScriptCode"), "personalizations/welcome/code.js", 5),
        (FieldRef(Entity.PERSONALIZATION, 300001, "cssCode"), "personalizations/welcome/code.css", 5),
        (FieldRef(Entity.PERSONALIZATION, 300001, "globalScript"), "shared/welcome-global.js", 7),
    ]
    big, small = perso.variations
    assert (big.dir, small.dir) == ("big-banner", "small")
    assert [(f.ref, f.path) for f in (*big.files, *small.files)] == [
        (
            FieldRef(Entity.PERSONALIZATION_VARIATION, 400001, "jsCode", 300001),
            "personalizations/welcome/variations/big-banner/variation.js",
        ),
        (
            FieldRef(Entity.PERSONALIZATION_VARIATION, 400001, "cssCode", 300001),
            "personalizations/welcome/variations/big-banner/variation.css",
        ),
        (FieldRef(Entity.PERSONALIZATION_VARIATION, 400002, "jsCode", 300001), "shared/small.js"),
        (
            FieldRef(Entity.PERSONALIZATION_VARIATION, 400002, "cssCode", 300001),
            "personalizations/welcome/variations/small/variation.css",
        ),
    ]
    assert manifest.personalization(300001) is perso
    assert manifest.variation_ids() == (400001, 400002)


def test_the_site_key_maps_the_site_global_script_by_site_code(repo: Path) -> None:
    manifest = load(repo, PERSO)

    assert manifest.site is not None
    assert manifest.site.code == "demoshop01"
    [script] = manifest.site.files
    assert script.ref == FieldRef(Entity.SITE, 0, "trackingScript", site_code="demoshop01")
    assert (script.path, script.ref.describe(), script.ref.key) == (
        "site/global.js",
        "site demoshop01 trackingScript",
        "site:demoshop01:trackingScript",
    )
    assert script in manifest.files()


def test_a_manifest_may_map_personalizations_alone(repo: Path) -> None:
    text = "version: 1\npersonalizations:\n  - id: 7\n    dir: personalizations/welcome\n"
    manifest = load(repo, text)
    assert manifest.experiments == ()
    assert [p.id for p in manifest.personalizations] == [7]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            PERSO.replace("site:\n  code: demoshop01\n  script: site/global.js\n", "")
            + "  - id: 300001\n    dir: personalizations/welcome\n",
            r"kamsync.yaml:14: personalization 300001 is listed twice \(also at line 5\)",
        ),
        (
            "version: 1\nexperiments:\n  - id: 1\n    dir: experiments/hero\n    variations:\n      - id: 400001\n"
            + PERSO.split("experiments: []\n")[1],
            r"kamsync.yaml:13: variation 400001 is listed twice \(also at line 6, in experiment 1\); "
            "a variation belongs to one personalization",
        ),
        (PERSO.replace("script: shared", "common_js: shared"), r"kamsync.yaml:7: unknown key 'common_js' in "),
        (PERSO.replace("code: demoshop01", "code: ../experiments"), r"kamsync.yaml:15: 'code' of site"),
        (PERSO.replace("code: demoshop01", "code: 12"), r"kamsync.yaml:15: 'code' of site must be a non-empty"),
        (PERSO.replace("  script: site/global.js\n", ""), r"kamsync.yaml:15: site has no 'script'"),
        (PERSO.replace("script: site/global.js", "script: ../outside.js"), r"kamsync.yaml:16: 'script' of site"),
        (PERSO.replace("script: site/global.js", "script: .git/hooks/pre-push"), r"kamsync.yaml:16: 'script'"),
        (
            PERSO.replace("script: site/global.js", "script: shared/small.js"),
            r"kamsync.yaml:16: site demoshop01 trackingScript and variation 400002 \(personalization 300001\) "
            r"jsCode \(line 13\) both map to 'shared/small.js'",
        ),
        (PERSO.replace("site:\n  code", "site:\n  url: x\n  code"), r"kamsync.yaml:15: unknown key 'url' in site"),
        (PERSO.replace("dir: personalizations/welcome", "dir: personalizations/none"), r"does not exist"),
        (PERSO.replace("site:\n  code: demoshop01\n  script: site/global.js\n", "site: demoshop01\n"), "mapping"),
        ("version: 1\npersonalizations: 3\n", r"kamsync.yaml:2: 'personalizations' must be a list"),
    ],
    ids=[
        "twice",
        "variation in two",
        "experiment key",
        "code path",
        "code number",
        "no script",
        "escapes",
        "git dir",
        "shared file",
        "site key",
        "no dir",
        "site string",
        "not a list",
    ],
)
def test_bad_personalizations_and_sites_are_refused_at_their_line(repo: Path, text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        load(repo, text)


def test_the_editor_appends_a_personalization_keeping_comments(repo: Path) -> None:
    path = repo / MANIFEST_NAME
    path.write_text(PERSO, encoding="utf-8")
    editor = ManifestEditor.open(path)
    editor.add_personalization(300009, "personalizations/300009-new", [(400009, "Only", "only")])
    editor.save()

    text = path.read_text(encoding="utf-8")
    assert "# the welcome banner" in text
    assert "  - id: 300009\n    dir: personalizations/300009-new\n    variations:\n      - id: 400009\n" in text
    (repo / "personalizations" / "300009-new").mkdir()
    assert [p.id for p in load_manifest(path, repo).personalizations] == [300001, 300009]


def test_the_editor_refuses_a_variation_a_personalization_already_maps(repo: Path) -> None:
    path = repo / MANIFEST_NAME
    path.write_text(PERSO, encoding="utf-8")
    with pytest.raises(Exception, match=r"variation 400001 is already in kamsync.yaml \(personalization 300001\)"):
        ManifestEditor.open(path).add_experiment(9, "experiments/hero", [(400001, "x", "x")])


@pytest.fixture(scope="module")
def schema() -> jsonschema.Draft7Validator:
    document = json.loads(resources.files("kamsync").joinpath("kamsync.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(document)
    return jsonschema.Draft7Validator(document)


def as_json(text: str) -> Any:
    return json.loads(json.dumps(YAML(typ="safe").load(text)))


def test_the_schema_knows_personalizations_and_the_site(schema: jsonschema.Draft7Validator) -> None:
    assert list(schema.iter_errors(as_json(PERSO))) == []
    assert list(schema.iter_errors(as_json("version: 1\npersonalizations: []\n"))) == []
    for bad in (
        PERSO.replace("script: shared", "common_js: shared"),
        PERSO.replace("code: demoshop01", "code: ../x"),
        PERSO.replace("  script: site/global.js\n", ""),
        "version: 1\n",
    ):
        assert list(schema.iter_errors(as_json(bad))), bad


def test_a_personalization_variation_needs_its_id_and_a_personalization_takes_no_traffic(repo: Path) -> None:
    no_id = PERSO.replace("      - id: 400001\n        name: Big banner\n", "      - name: Big banner\n")
    with pytest.raises(ManifestError, match=r"kamsync.yaml:9: variation entry 1 of personalization 300001 has no 'id'"):
        load(repo, no_id)
    with pytest.raises(ManifestError, match=r"kamsync.yaml:7: unknown key 'traffic' in personalization 300001"):
        load(repo, PERSO.replace("    script: shared", "    traffic: {origin: 1}\n    script: shared"))
