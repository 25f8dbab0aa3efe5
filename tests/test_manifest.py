"""Specification of ``kamsync.yaml``: finding it, what a valid one means, refusing bad ones, editing it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from ruamel.yaml import YAML

from kamsync.core.errors import ManifestError, UsageError
from kamsync.core.model import FieldRef, Manifest, MappedFile
from kamsync.core.paths import Resolver
from kamsync.manifest.edit import ManifestEditor
from kamsync.manifest.parse import (
    MANIFEST_NAME,
    SCHEMA_COMMENT,
    SCHEMA_URL,
    find_manifest,
    load_manifest,
    parse_manifest,
    read_code,
    slugify,
    unique_dir,
)
from kamsync.manifest.yamlread import MAX_ALIAS_NODES, ShapeGuard

VALID = f"""\
{SCHEMA_COMMENT}
version: 1
rate_limit: "50/10s,1000/1h"   # stay well under the quota
experiments:
  # the homepage test
  - id: 123456
    dir: experiments/homepage-hero
    script: ./shared/../global.js
    variations:
      - id: 987654
        name: Red button!
      - id: 987655
        dir: blue
        css: styles/blue.css
  - id: 222
    dir: experiments/other/
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository top with two experiment folders; the current folder is the top."""
    top = tmp_path / "repo"
    (top / "experiments" / "homepage-hero").mkdir(parents=True)
    (top / "experiments" / "other").mkdir()
    (tmp_path / "outside").mkdir()
    monkeypatch.chdir(top)
    return top


def write_manifest(repo: Path, text: str) -> Path:
    path = repo / MANIFEST_NAME
    path.write_text(text, encoding="utf-8")
    return path


# --- a valid manifest --------------------------------------------------------------------------------------


def test_valid_manifest_maps_every_field_to_a_normalised_path_and_its_line(repo: Path) -> None:
    manifest = load_manifest(write_manifest(repo, VALID), repo)

    assert (manifest.path, manifest.root) == (str(repo / MANIFEST_NAME), str(repo.resolve()))
    assert (manifest.version, manifest.rate_limit) == (1, "50/10s,1000/1h")
    assert [(e.id, e.dir, e.line) for e in manifest.experiments] == [
        (123456, "experiments/homepage-hero", 6),
        (222, "experiments/other", 15),
    ]
    hero = manifest.experiments[0]
    assert [(v.id, v.name, v.dir, v.line) for v in hero.variations] == [
        (987654, "Red button!", "red-button", 10),
        (987655, None, "blue", 12),
    ]
    assert [(f.ref, f.path, f.line) for f in manifest.files()] == [
        (FieldRef.of_experiment(123456, "commonJavaScriptCode"), "experiments/homepage-hero/common.js", 6),
        (FieldRef.of_experiment(123456, "commonCssCode"), "experiments/homepage-hero/common.css", 6),
        (FieldRef.of_experiment(123456, "globalScript"), "global.js", 8),
        (
            FieldRef.of_variation(123456, 987654, "jsCode"),
            "experiments/homepage-hero/variations/red-button/variation.js",
            10,
        ),
        (
            FieldRef.of_variation(123456, 987654, "cssCode"),
            "experiments/homepage-hero/variations/red-button/variation.css",
            10,
        ),
        (FieldRef.of_variation(123456, 987655, "jsCode"), "experiments/homepage-hero/variations/blue/variation.js", 12),
        (FieldRef.of_variation(123456, 987655, "cssCode"), "styles/blue.css", 14),
        (FieldRef.of_experiment(222, "commonJavaScriptCode"), "experiments/other/common.js", 15),
        (FieldRef.of_experiment(222, "commonCssCode"), "experiments/other/common.css", 15),
        (FieldRef.of_experiment(222, "globalScript"), "experiments/other/script.js", 15),
    ]


def test_minimal_manifest_and_defaults(repo: Path) -> None:
    text = "version: 1\nexperiments:\n- id: 5\n  dir: experiments/other\n  variations:\n  - id: 6\n"
    text += "  - id: 7\n    name: '!!'\n"
    manifest = load_manifest(write_manifest(repo, text), repo)

    assert manifest.rate_limit is None
    assert [(v.dir, v.name) for v in manifest.experiments[0].variations] == [("6", None), ("7", "!!")]


def test_manifest_in_a_subfolder_may_map_files_elsewhere_in_the_repository(repo: Path) -> None:
    sub = repo / "web"
    (sub / "exp").mkdir(parents=True)
    path = sub / MANIFEST_NAME
    path.write_text("version: 1\nexperiments:\n  - id: 1\n    dir: exp\n    script: ../shared/g.js\n")

    manifest = load_manifest(path, repo)

    assert manifest.root == str(sub.resolve())
    assert manifest.experiments[0].files[2].path == "../shared/g.js"


def test_empty_experiments_list_is_valid(repo: Path) -> None:
    assert load_manifest(write_manifest(repo, "version: 1\nexperiments: []\n"), repo).experiments == ()


# --- bad manifests: each refused at file:line with the fix -------------------------------------------------

EXP = "version: 1\nexperiments:\n  - id: 1\n    dir: experiments/homepage-hero\n"  # experiment id on line 3
OTHER = "  - id: 2\n    dir: experiments/other\n"

BAD: list[tuple[str, str, int, tuple[str, ...]]] = [
    # (case, manifest text, line, words the message must contain)
    ("syntax error", EXP + "    script: [a.js\n", 5, ("YAML syntax error", "fix the syntax")),
    ("tab indentation", "version: 1\nexperiments:\n\t- id: 1\n", 3, ("YAML syntax error",)),
    ("duplicate key", EXP + "    dir: experiments/other\n", 5, ("duplicate key 'dir'", "remove one")),
    ("empty file", "", 1, ("manifest is empty", "version: 1", "kamsync pull --experiment ID")),
    ("only comments", "# nothing yet\n", 1, ("manifest is empty",)),
    (
        "top level is a list",
        "- 1\n- 2\n",
        1,
        ("must be a mapping", "version, rate_limit, experiments", "a list"),
    ),
    ("top level is text", "hello\n", 1, ("must be a mapping",)),
    (
        "unknown top-level key",
        "version: 1\nexperiment: []\n",
        2,
        ("unknown key 'experiment' at the top", "did you mean 'experiments'?", "Allowed keys: version"),
    ),
    ("missing version", "experiments: []\n", 1, ("has no 'version'", "add `version: 1`")),
    ("missing experiments", "version: 1\n", 1, ("has no 'experiments'",)),
    ("version 2", "version: 2\nexperiments: []\n", 1, ("'version' must be 1", "upgrade kamsync")),
    ("version as string", "version: '1'\nexperiments: []\n", 1, ("'version' must be 1", "the string '1'")),
    ("experiments is a mapping", "version: 1\nexperiments:\n  a: 1\n", 2, ("'experiments' must be a list",)),
    (
        "rate_limit not a string",
        "version: 1\nrate_limit: 5\nexperiments: []\n",
        2,
        ("'rate_limit'", "string"),
    ),
    (
        "entry is a scalar",
        "version: 1\nexperiments:\n  - 123\n",
        3,
        ("experiment entry 1 must be a mapping",),
    ),
    (
        "unknown experiment key",
        EXP.replace("id: 1", "id: 123456") + "    variation: []\n",
        5,
        (
            "unknown key 'variation' in experiment 123456; did you mean 'variations'? "
            "Allowed keys: id, dir, common_js, common_css, script, variations",
        ),
    ),
    (
        "unknown key without a close match",
        EXP + "    zzz: 1\n",
        5,
        ("unknown key 'zzz' in experiment 1; remove it or fix its spelling",),
    ),
    (
        "missing id",
        "version: 1\nexperiments:\n  - dir: experiments/other\n",
        3,
        ("experiment entry 1 has no 'id'",),
    ),
    ("missing dir", "version: 1\nexperiments:\n  - id: 1\n", 3, ("experiment 1 has no 'dir'",)),
    (
        "quoted id",
        EXP.replace("id: 1", 'id: "12"'),
        3,
        ("'id' of experiment entry 1 must be a positive integer", "the string '12'", "remove the quotes"),
    ),
    ("fractional id", EXP.replace("id: 1", "id: 1.5"), 3, ("positive integer", "1.5", "whole number")),
    ("boolean id", EXP.replace("id: 1", "id: true"), 3, ("positive integer", "a boolean (true)")),
    ("negative id", EXP.replace("id: 1", "id: -4"), 3, ("positive integer",)),
    ("empty dir", "version: 1\nexperiments:\n  - id: 1\n    dir: ''\n", 4, ("'dir'", "non-empty string")),
    ("numeric dir", "version: 1\nexperiments:\n  - id: 1\n    dir: 5\n", 4, ("non-empty string", "quote it")),
    ("null explicit path", EXP + "    script:\n", 5, ("'script' of experiment 1", "non-empty string")),
    (
        "duplicate experiment id",
        EXP + EXP.split("\n", 2)[2],
        5,
        ("experiment 1 is listed twice (also at line 3)", "one entry per experiment"),
    ),
    (
        "duplicate variation id in two experiments",
        EXP + "    variations:\n      - id: 9\n" + OTHER + "    variations:\n      - id: 9\n",
        10,
        ("variation 9 is listed twice (also at line 6, in experiment 1)",),
    ),
    (
        "variation entry is a scalar",
        EXP + "    variations:\n      - 9\n",
        6,
        ("variation entry 1 of experiment 1 must be a mapping",),
    ),
    ("variations is a mapping", EXP + "    variations:\n      a: 1\n", 5, ("'variations' of experiment 1",)),
    (
        "unknown variation key",
        EXP + "    variations:\n      - id: 9\n        nmae: x\n",
        7,
        ("unknown key 'nmae' in variation 9; did you mean 'name'?", "Allowed keys: id, name, dir, js, css"),
    ),
    ("quoted variation id", EXP + "    variations:\n      - id: '9'\n", 6, ("'id' of variation",)),
    ("numeric variation name", EXP + "    variations:\n      - id: 9\n        name: 12\n", 7, ("quote it",)),
    (
        "explicit path collides with a conventional one",
        EXP + "    common_js: experiments/homepage-hero/script.js\n",
        3,
        (
            "experiment 1 globalScript and experiment 1 commonJavaScriptCode (line 5)",
            "experiments/homepage-hero/script.js",
        ),
    ),
    (
        "two explicit paths to one file after normalisation",
        EXP + "    common_js: a.js\n    common_css: ./x/../a.js\n",
        6,
        ("experiment 1 commonCssCode and experiment 1 commonJavaScriptCode (line 5) both map to 'a.js'",),
    ),
    (
        "two variations with the same default folder",
        EXP + "    variations:\n      - id: 8\n        name: Red\n      - id: 9\n        name: red\n",
        8,
        (
            "variation 9 (experiment 1) jsCode and variation 8 (experiment 1) jsCode (line 6)",
            "distinct 'dir'",
        ),
    ),
    (
        "experiment dir missing",
        "version: 1\nexperiments:\n  - id: 1\n    dir: experiments/nope\n",
        4,
        ("(experiments/nope) does not exist", "create the folder or fix 'dir'"),
    ),
    (
        "experiment dir is a file",
        "version: 1\nexperiments:\n  - id: 1\n    dir: README\n",
        4,
        ("(README) is not a folder",),
    ),
    (
        "dir leaves the repository",
        "version: 1\nexperiments:\n  - id: 1\n    dir: ../outside\n",
        4,
        ("leaves the repository",),
    ),
    (
        "absolute dir",
        "version: 1\nexperiments:\n  - id: 1\n    dir: /tmp\n",
        4,
        ("absolute path", "relative to"),
    ),
    ("backslash dir", "version: 1\nexperiments:\n  - id: 1\n    dir: 'a\\b'\n", 4, ("backslash",)),
    (
        "explicit path leaves",
        EXP + "    script: x/../../../etc/passwd\n",
        5,
        ("'script'", "leaves the repository"),
    ),
    (
        "variation dir leaves",
        EXP + "    variations:\n      - id: 9\n        dir: ../../../../x\n",
        7,
        ("'dir' of variation 9", "leaves the repository"),
    ),
    (
        "dir through a symlink out of the repository",
        "version: 1\nexperiments:\n  - id: 1\n    dir: escape\n",
        4,
        ("symlink", "outside the repository"),
    ),
    (
        "explicit path through a symlinked folder",
        EXP + "    script: escape/g.js\n",
        5,
        ("'script' of experiment 1", "symlink"),
    ),
]


@pytest.mark.parametrize(("text", "line", "words"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_manifest_is_refused_at_file_line_with_the_fix(
    repo: Path, text: str, line: int, words: tuple[str, ...]
) -> None:
    (repo / "README").write_text("hi\n")
    (repo / "escape").symlink_to(repo.parent / "outside")
    path = write_manifest(repo, text)

    with pytest.raises(ManifestError) as caught:
        load_manifest(path, repo)

    message = str(caught.value)
    assert message.startswith(f"kamsync.yaml:{line}: "), message
    for word in words:
        assert word in message, message


def test_error_names_the_manifest_by_absolute_path_outside_the_current_folder(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_manifest(repo, "version: 3\nexperiments: []\n")
    monkeypatch.chdir(tmp_path / "outside")

    with pytest.raises(ManifestError, match=rf"^{path}:1: 'version' must be 1"):
        load_manifest(path, repo)


def test_manifest_not_utf8_is_refused(repo: Path) -> None:
    path = repo / MANIFEST_NAME
    path.write_bytes(b"version: 1\nexperiments: []\n# caf\xe9\n")

    with pytest.raises(ManifestError, match=r"^kamsync.yaml:3: the manifest is not UTF-8"):
        load_manifest(path, repo)


# --- finding the manifest ----------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tmp/kamsync.yaml (above the top), tmp/top/kamsync.yaml, tmp/top/a/b, tmp/opt.yaml, tmp/env.yaml."""
    for name in ("kamsync.yaml", "top/kamsync.yaml", "opt.yaml", "env.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("version: 1\n")
    (tmp_path / "top" / "a" / "b").mkdir(parents=True)
    return tmp_path


FIND: list[tuple[str, str | None, str | None, str, str]] = [
    # (case, --manifest, KAMSYNC_MANIFEST, cwd, expected, all relative to the tree)
    ("option wins over env and walk-up", "opt.yaml", "env.yaml", "top/a/b", "opt.yaml"),
    ("env wins over walk-up", None, "env.yaml", "top/a/b", "env.yaml"),
    ("walk up to the nearest", None, None, "top/a/b", "top/kamsync.yaml"),
    ("in the current folder", None, None, "top", "top/kamsync.yaml"),
    ("option naming a folder", "top", None, "top/a", "top/kamsync.yaml"),
    ("empty env is ignored", None, "", "top/a", "top/kamsync.yaml"),
]


@pytest.mark.parametrize(("option", "env", "cwd", "expected"), [c[1:] for c in FIND], ids=[c[0] for c in FIND])
def test_find_manifest_precedence(tree: Path, option: str | None, env: str | None, cwd: str, expected: str) -> None:
    environ = {} if env is None else {"KAMSYNC_MANIFEST": env if not env else str(tree / env)}
    found = find_manifest(option and str(tree / option), environ, tree / cwd, tree / "top")
    assert found == tree / expected


def test_find_manifest_relative_option_is_relative_to_cwd(tree: Path) -> None:
    assert find_manifest("../../opt.yaml", {}, tree / "top" / "a", tree / "top") == tree / "opt.yaml"


def test_find_manifest_stops_at_the_top_level(tree: Path) -> None:
    (tree / "top" / "kamsync.yaml").unlink()

    with pytest.raises(UsageError) as caught:
        find_manifest(None, {}, tree / "top" / "a", tree / "top")

    message = str(caught.value)
    assert f"no kamsync.yaml found in {tree / 'top' / 'a'} and its parents up to {tree / 'top'}" in message
    assert "create one with `kamsync pull --experiment ID`, or pass --manifest PATH" in message


@pytest.mark.parametrize(
    ("option", "env", "origin"), [("nope.yaml", None, "--manifest"), (None, "nope.yaml", "KAMSYNC_MANIFEST")]
)
def test_find_manifest_explicit_path_must_exist(tree: Path, option: str | None, env: str | None, origin: str) -> None:
    environ = {"KAMSYNC_MANIFEST": env} if env else {}
    with pytest.raises(UsageError, match=rf"^{origin} names .*nope.yaml, which does not exist"):
        find_manifest(option, environ, tree / "top", tree / "top")


# --- reading mapped code -----------------------------------------------------------------------------------


@pytest.fixture
def loaded(repo: Path) -> Manifest:
    return load_manifest(write_manifest(repo, EXP + "    script: code/g.js\n"), repo)


def script_of(manifest: Manifest) -> MappedFile:
    return manifest.experiments[0].files[2]


def test_read_code_returns_none_for_a_missing_file(repo: Path, loaded: Manifest) -> None:
    assert read_code(loaded, script_of(loaded), repo) is None


def test_read_code_returns_the_text_exactly_as_on_disk(repo: Path, loaded: Manifest) -> None:
    (repo / "code").mkdir()
    (repo / "code" / "g.js").write_bytes("a();\r\n// é  \n\n".encode())
    assert read_code(loaded, script_of(loaded), repo) == "a();\r\n// é  \n\n"


def test_read_code_accepts_exactly_one_mib(repo: Path, loaded: Manifest) -> None:
    (repo / "code").mkdir()
    (repo / "code" / "g.js").write_bytes(b"x" * 1_048_576)
    assert len(read_code(loaded, script_of(loaded), repo) or "") == 1_048_576


BAD_CODE: list[tuple[str, Callable[[Path], object], tuple[str, ...]]] = [
    (
        "not UTF-8",
        lambda p: p.write_bytes(b"ok\n\xff\n"),
        ("is not UTF-8 text", "line 2", "re-save it as UTF-8"),
    ),
    ("larger than 1 MiB", lambda p: p.write_bytes(b"x" * 1_048_577), ("1048577 bytes", "1 MiB")),
    ("a folder", lambda p: p.mkdir(), ("is a folder",)),
    (
        "a symlink out of the repository",
        lambda p: p.symlink_to(p.parents[2] / "outside" / "g.js"),
        ("symlink",),
    ),
]


@pytest.mark.parametrize(("make", "words"), [c[1:] for c in BAD_CODE], ids=[c[0] for c in BAD_CODE])
def test_read_code_refuses_at_the_mapping_line(
    repo: Path, loaded: Manifest, make: Callable[[Path], object], words: tuple[str, ...]
) -> None:
    (repo / "code").mkdir()
    (repo.parent / "outside" / "g.js").write_text("x\n")
    make(repo / "code" / "g.js")

    with pytest.raises(ManifestError) as caught:
        read_code(loaded, script_of(loaded), repo)

    message = str(caught.value)
    assert message.startswith("kamsync.yaml:5: experiment 1 globalScript file 'code/g.js' "), message
    for word in words:
        assert word in message, message


def test_read_code_refuses_a_conventional_path_whose_folder_became_a_symlink_out(repo: Path) -> None:
    manifest = load_manifest(write_manifest(repo, EXP), repo)
    (repo / "experiments" / "homepage-hero" / "common.js").symlink_to(repo.parent / "outside" / "c.js")

    with pytest.raises(ManifestError, match=r"^kamsync.yaml:3: .*symlink"):
        read_code(manifest, manifest.experiments[0].files[0], repo)


# --- folder names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Red button!", "red-button"),
        ("  Crème brûlée  ", "creme-brulee"),
        ("A/B -- test #2", "a-b-test-2"),
        ("日本語", ""),
        ("", ""),
        ("x" * 80, "x" * 60),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


@pytest.mark.parametrize(
    ("name", "fallback", "taken", "expected"),
    [
        ("Red", "1", set(), "red"),
        ("Red", "1", {"red"}, "red-2"),
        ("Red", "1", {"red", "red-2"}, "red-3"),
        (None, "987654", set(), "987654"),
        ("!!!", "987654", {"987654"}, "987654-2"),
    ],
)
def test_unique_dir(name: str | None, fallback: str, taken: set[str], expected: str) -> None:
    assert unique_dir(name, fallback, taken) == expected


# --- editing -----------------------------------------------------------------------------------------------


def test_editor_keeps_comments_and_key_order_and_writes_a_loadable_manifest(repo: Path) -> None:
    path = write_manifest(repo, VALID)

    editor = ManifestEditor.open(path)
    editor.add_variation(123456, 987656, "Green: bold", "green")
    editor.set_variation_name(123456, 987655, "Blue")
    editor.set_variation_name(123456, 987654, "Red")
    editor.add_experiment(333, "experiments/other/nested", [(41, "A", "a"), (42, "", "42")])
    (repo / "experiments" / "other" / "nested").mkdir()
    editor.save()

    assert path.read_text() == VALID.replace("name: Red button!", "name: Red").replace(
        "      - id: 987655\n", "      - id: 987655\n        name: Blue\n"
    ).replace(
        "    css: styles/blue.css\n",
        "    css: styles/blue.css\n      - id: 987656\n        name: 'Green: bold'\n        dir: green\n",
    ) + (
        "  - id: 333\n    dir: experiments/other/nested\n    variations:\n"
        "      - id: 41\n        name: A\n        dir: a\n      - id: 42\n        dir: '42'\n"
    )
    manifest = load_manifest(path, repo)
    assert [v.name for v in manifest.experiments[0].variations] == ["Red", "Blue", "Green: bold"]
    assert [v.dir for v in manifest.experiments[2].variations] == ["a", "42"]


def test_editor_keeps_a_users_indentation_and_adds_no_schema_comment(repo: Path) -> None:
    text = "version: 1  # mine\nexperiments:\n- id: 1\n  dir: experiments/other\n  variations: []\n"
    path = write_manifest(repo, text)

    editor = ManifestEditor.open(path)
    editor.add_variation(1, 2, "B", "b")
    editor.save()

    assert path.read_text() == (
        "version: 1  # mine\nexperiments:\n- id: 1\n  dir: experiments/other\n  variations:\n"
        "  - id: 2\n    name: B\n    dir: b\n"
    )


def test_editor_save_without_changes_leaves_the_file_untouched(repo: Path) -> None:
    path = write_manifest(repo, "version:    1\nexperiments:   []   # none\n")
    ManifestEditor.open(path).save()
    assert path.read_text() == "version:    1\nexperiments:   []   # none\n"


def test_create_starts_with_the_schema_comment(repo: Path) -> None:
    path = repo / "sub" / MANIFEST_NAME

    editor = ManifestEditor.create(path)
    editor.add_experiment(123456, "../experiments/homepage-hero", [(987654, "Red button", "red-button")])
    editor.save()

    assert path.read_text() == (
        f"{SCHEMA_COMMENT}\nversion: 1\nexperiments:\n  - id: 123456\n    dir: ../experiments/homepage-hero\n"
        "    variations:\n      - id: 987654\n        name: Red button\n        dir: red-button\n"
    )
    assert load_manifest(path, repo).experiments[0].variations[0].dir == "red-button"


def test_create_of_an_empty_manifest(repo: Path) -> None:
    path = repo / MANIFEST_NAME
    ManifestEditor.create(path).save()
    assert path.read_text() == f"{SCHEMA_COMMENT}\nversion: 1\nexperiments: []\n"
    assert load_manifest(path, repo).experiments == ()


EDIT_REFUSALS: list[tuple[str, Callable[[ManifestEditor], None], str]] = [
    ("experiment already there", lambda e: e.add_experiment(1, "x", []), "experiment 1 is already in"),
    ("variation already there", lambda e: e.add_variation(2, 9, "n", "n"), "variation 9 is already in"),
    (
        "variation of a new experiment already there",
        lambda e: e.add_experiment(3, "x", [(9, "n", "n")]),
        "variation 9",
    ),
    ("unknown experiment", lambda e: e.add_variation(5, 10, "n", "n"), "experiment 5 is not in"),
    (
        "unknown variation",
        lambda e: e.set_variation_name(1, 10, "n"),
        "variation 10 of experiment 1 is not in",
    ),
]


@pytest.mark.parametrize(("edit", "words"), [c[1:] for c in EDIT_REFUSALS], ids=[c[0] for c in EDIT_REFUSALS])
def test_editor_refuses_inconsistent_edits(repo: Path, edit: Callable[[ManifestEditor], None], words: str) -> None:
    path = write_manifest(repo, EXP + "    variations:\n      - id: 9\n" + OTHER)
    with pytest.raises(UsageError, match=words):
        edit(ManifestEditor.open(path))


def test_create_refuses_to_overwrite(repo: Path) -> None:
    with pytest.raises(UsageError, match="already exists"):
        ManifestEditor.create(write_manifest(repo, VALID))


def test_open_refuses_bad_yaml_at_its_line(repo: Path) -> None:
    with pytest.raises(ManifestError, match=r"^kamsync.yaml:2: YAML syntax error"):
        ManifestEditor.open(write_manifest(repo, "version: 1\nexperiments: [\n"))


# --- the shipped JSON Schema -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> jsonschema.Draft7Validator:
    document = json.loads(resources.files("kamsync").joinpath("kamsync.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(document)
    assert document["$id"] == SCHEMA_URL
    return jsonschema.Draft7Validator(document)


def as_json(text: str) -> Any:
    return json.loads(json.dumps(YAML(typ="safe").load(text)))


def test_schema_comment_names_the_schema_url() -> None:
    assert f"# yaml-language-server: $schema={SCHEMA_URL}" == SCHEMA_COMMENT


@pytest.mark.parametrize(
    "text",
    [
        VALID,
        "version: 1\nexperiments: []\n",
        EXP + "    variations:\n",
        "version: 1\nrate_limit: 20/10s, 500/1h\nexperiments: []\n",
    ],
    ids=["full", "empty", "null list", "rate limit"],
)
def test_schema_accepts_valid_manifests(schema: jsonschema.Draft7Validator, text: str) -> None:
    assert list(schema.iter_errors(as_json(text))) == []


@pytest.mark.parametrize(
    "text",
    [
        EXP + "    variation: []\n",
        "version: 1\nexperiments: []\nextra: 1\n",
        EXP.replace("id: 1", 'id: "12"'),
        EXP + "    variations:\n      - id: '9'\n",
        EXP.replace("experiments/homepage-hero", "/abs"),
        "version: 2\nexperiments: []\n",
        "version: 1\n",
        "version: 1\nrate_limit: fast\nexperiments: []\n",
    ],
    ids=[
        "unknown experiment key",
        "unknown top key",
        "string id",
        "string variation id",
        "absolute",
        "v2",
        "no list",
        "bad rate limit",
    ],
)
def test_schema_rejects_invalid_manifests(schema: jsonschema.Draft7Validator, text: str) -> None:
    assert not schema.is_valid(as_json(text))


def test_the_fast_parse_maps_the_same_files_as_the_full_one():
    root = Path(__file__).resolve().parent.parent / "examples" / "repo-layout"
    text = (root / "kamsync.yaml").read_text()
    full = parse_manifest(text, root / "kamsync.yaml", root)
    fast = parse_manifest(text, root / "kamsync.yaml", root, fast=True)
    assert [(mf.ref, mf.path) for mf in fast.files()] == [(mf.ref, mf.path) for mf in full.files()]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("version: 1\nexperiments:\n  - id: 1\n    dir: a\n    id: 2\n", "kamsync.yaml:5"),  # duplicate key
        ("version: 1\nexperiments:\n  - id: 1\n    dri: a\n", "kamsync.yaml:4"),  # unknown key
    ],
)
def test_a_bad_manifest_is_reported_with_its_line_even_by_the_fast_parse(tmp_path, text, where):
    (tmp_path / "a").mkdir()
    with pytest.raises(ManifestError) as error:
        parse_manifest(text, tmp_path / "kamsync.yaml", tmp_path, shown="kamsync.yaml", fast=True)
    assert str(error.value).startswith(where), str(error.value)


@pytest.mark.parametrize(
    "variation",
    ["- id: 010", "- id: 7\n        dir: 1e3", "- id: 7\n        name: yes", "- id: 7\n        dir: 0o10"],
    ids=["leading zero", "exponent", "yes", "0o"],
)
def test_the_fast_parse_never_reads_a_scalar_differently_from_the_full_one(tmp_path, variation):
    (tmp_path / "exp").mkdir()
    text = f"version: 1\nexperiments:\n  - id: 1\n    dir: exp\n    variations:\n      {variation}\n"

    def parsed(fast: bool) -> object:
        try:
            manifest = parse_manifest(text, tmp_path / "kamsync.yaml", tmp_path, shown="kamsync.yaml", fast=fast)
        except ManifestError as error:
            return str(error)
        return [(mf.ref, mf.path) for mf in manifest.files()]

    assert parsed(fast=True) == parsed(fast=False)


# --- paths into git's own files ------------------------------------------------------------------------------

INTO_GIT: list[tuple[str, str, int, tuple[str, ...]]] = [
    ("a hook", EXP + "    script: .git/hooks/pre-push\n", 5, ("'script' of experiment 1", ".git folder")),
    ("the git config", EXP + "    common_css: .git/config\n", 5, ("'common_css'", ".git folder")),
    ("an experiment dir", "version: 1\nexperiments:\n  - id: 1\n    dir: .git/hooks\n", 4, ("'dir'", ".git")),
    (
        "a variation dir",
        EXP + "    variations:\n      - id: 9\n        dir: ../../../.git/hooks\n",
        7,
        ("'dir' of variation 9", ".git folder"),
    ),
    ("a nested repository", EXP + "    script: vendor/lib/.git/config\n", 5, (".git folder",)),
    ("another letter case", EXP + "    script: .GIT/config\n", 5, (".git folder",)),
    ("a Windows spelling", EXP + "    script: '.git. /config'\n", 5, (".git folder",)),
    ("a Windows short name", EXP + "    script: GIT~1/config\n", 5, (".git folder",)),
    (
        "a symlinked folder",
        "version: 1\nexperiments:\n  - id: 1\n    dir: gitlink\n",
        4,
        ("'dir' of experiment 1", "symlink", ".git folder"),
    ),
    ("a path through a symlinked folder", EXP + "    script: gitlink/config\n", 5, ("symlink", ".git folder")),
    ("a git dir by another name", EXP + "    script: meta/hooks/pre-push\n", 5, ("git directory", "meta")),
    ("a symlink to that git dir", EXP + "    script: metalink/config\n", 5, ("symlink", "git directory")),
]


@pytest.mark.parametrize(("text", "line", "words"), [c[1:] for c in INTO_GIT], ids=[c[0] for c in INTO_GIT])
def test_a_path_into_a_git_directory_is_refused_at_file_line(
    repo: Path, text: str, line: int, words: tuple[str, ...]
) -> None:
    (repo / ".git" / "hooks").mkdir(parents=True)
    (repo / "meta").mkdir()  # the repository's git dir, as `git init --separate-git-dir` makes it
    (repo / "gitlink").symlink_to(".git")
    (repo / "metalink").symlink_to("meta")
    path = write_manifest(repo, text)

    with pytest.raises(ManifestError) as caught:
        load_manifest(path, repo, (repo / "meta",))

    message = str(caught.value)
    assert message.startswith(f"kamsync.yaml:{line}: "), message
    for word in (*words, "kamsync never reads or writes there"):
        assert word in message, message


def test_a_mapped_file_that_is_a_symlink_into_git_is_refused_when_read(repo: Path) -> None:
    (repo / ".git").mkdir()
    (repo / ".git" / "config").write_text("[http]\n\textraheader = AUTHORIZATION: basic c2VjcmV0\n")
    (repo / "experiments" / "homepage-hero" / "script.js").symlink_to("../../.git/config")
    manifest = load_manifest(write_manifest(repo, EXP), repo)
    script = next(mf for mf in manifest.files() if mf.ref.field == "globalScript")

    with pytest.raises(ManifestError) as caught:
        read_code(manifest, script, repo)

    assert str(caught.value).startswith("kamsync.yaml:3: experiment 1 globalScript file"), str(caught.value)
    assert "symlink" in str(caught.value) and ".git folder" in str(caught.value)
    assert "c2VjcmV0" not in str(caught.value)


def test_names_that_only_look_like_git_are_mapped(repo: Path) -> None:
    (repo / ".github").mkdir()
    text = EXP + "    script: .github/scripts/my.git.js\n    common_css: .gitlab/git.css\n    common_js: x.git/a.js\n"
    manifest = load_manifest(write_manifest(repo, text), repo, (repo / ".git",))
    assert {mf.path for mf in manifest.files()} == {".github/scripts/my.git.js", ".gitlab/git.css", "x.git/a.js"}


@pytest.mark.parametrize("what", ["dir", "code file"])
def test_a_symlink_loop_is_refused_at_file_line(repo: Path, what: str) -> None:
    if what == "dir":
        (repo / "loop").symlink_to("loop")
        text = "version: 1\nexperiments:\n  - id: 1\n    dir: loop\n"
    else:
        (repo / "experiments" / "homepage-hero" / "common.js").symlink_to("common.js")
        text = EXP
    path = write_manifest(repo, text)

    with pytest.raises(ManifestError) as caught:
        manifest = load_manifest(path, repo)
        read_code(manifest, manifest.files()[0], repo)

    assert str(caught.value).startswith("kamsync.yaml:"), str(caught.value)
    assert "symlink loop" in str(caught.value) or "symbolic links" in str(caught.value), str(caught.value)


# --- hostile YAML: refused by every parse before it costs anything ---------------------------------------


def alias_bomb(levels: int) -> str:
    """A manifest of about a kilobyte whose aliases stand for 9**levels strings once expanded."""
    lines = ["version: 1", "experiments: []", "l0: &l0 [" + ", ".join(['"lol"'] * 9) + "]"]
    lines += [f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


HOSTILE: list[tuple[str, str, int, tuple[str, ...]]] = [
    ("alias bomb", alias_bomb(6), 7, ("aliases expand the manifest by more than 10,000 nodes", "*l3")),
    ("deep flow nesting", "version: 1\nexperiments: " + "[" * 5000 + "]" * 5000 + "\n", 2, ("deeper than 32",)),
    (
        "deep block nesting",
        "version: 1\nexperiments:\n" + "".join(" " * i + "-\n" for i in range(40)),
        34,
        ("deeper than 32",),
    ),
    ("recursive alias", "version: 1\nexperiments: &a [*a]\n", 2, ("*a refers to a node that contains it",)),
    (
        "python tag",
        "version: 1\nexperiments: !!python/object/apply:os.system ['echo owned']\n",
        2,
        ("YAML tag '!!python/object/apply:os.system' is not allowed",),
    ),
    ("local tag", "version: !ver 1\nexperiments: []\n", 1, ("YAML tag '!ver' is not allowed",)),
    (
        "standard tag on a value",
        EXP + "    variations:\n      - id: !!int 9\n",
        6,
        ("YAML tag '!!int' is not allowed",),
    ),
    ("tagged key", "version: 1\n!!python/name:os.system : 1\nexperiments: []\n", 2, ("YAML tag",)),
]


def _parse_full(repo: Path, text: str) -> object:
    return parse_manifest(text, repo / MANIFEST_NAME, repo, shown="kamsync.yaml")


def _parse_fast(repo: Path, text: str) -> object:
    return parse_manifest(text, repo / MANIFEST_NAME, repo, shown="kamsync.yaml", fast=True)


def _open_editor(repo: Path, text: str) -> object:
    return ManifestEditor.open(write_manifest(repo, text))


@pytest.mark.parametrize("parse", [_parse_full, _parse_fast, _open_editor], ids=["full", "fast", "editor"])
@pytest.mark.parametrize(("text", "line", "words"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_every_parse_refuses_hostile_yaml_at_file_line(
    repo: Path, parse: Callable[[Path, str], object], text: str, line: int, words: tuple[str, ...]
) -> None:
    with pytest.raises(ManifestError) as caught:
        parse(repo, text)

    message = str(caught.value)
    assert message.startswith(f"kamsync.yaml:{line}: "), message
    for word in words:
        assert word in message, message


def test_an_alias_bomb_is_refused_before_its_parse_reaches_the_end_of_the_text() -> None:
    """The bounded work, measured: the guard refuses the bomb while reading its parse events (as many as the
    text is long), and never builds a node; 9**9 strings would take the unguarded parse hours."""
    text = alias_bomb(9)
    events = list(yaml.parse(text, Loader=yaml.SafeLoader))
    guard = ShapeGuard("kamsync.yaml")
    seen = 0

    with pytest.raises(ManifestError) as caught:
        for event in events:
            guard.see(event)
            seen += 1

    assert len(text) < 1100 and len(events) < 150
    assert seen < len(events) - 9 * 4, "refused with several lines of aliases still unread"
    level3 = 1 + 9 * (1 + 9 * (1 + 9 * (1 + 9)))  # what one *l3 stands for: 7,381 nodes
    assert MAX_ALIAS_NODES < guard.alias_nodes <= MAX_ALIAS_NODES + level3
    assert str(caught.value).startswith("kamsync.yaml:7: aliases expand"), str(caught.value)


def test_a_few_aliases_are_still_a_valid_manifest(repo: Path) -> None:
    text = EXP + "    variations:\n      - id: 9\n        name: &n Red\n      - id: 10\n        name: *n\n"
    text += "        dir: red-2\n"
    for fast in (False, True):
        manifest = parse_manifest(text, repo / MANIFEST_NAME, repo, shown="kamsync.yaml", fast=fast)
        assert [v.name for v in manifest.experiments[0].variations] == ["Red", "Red"]


# --- one parse for every command: libyaml's, with the round-trip one's lines ------------------------------


def _every_line(manifest: Manifest) -> list[tuple[object, ...]]:
    specs = [(e.id, e.line) for e in manifest.experiments] + [
        (v.id, v.line) for e in manifest.experiments for v in e.variations
    ]
    return [*specs, *((mf.ref, mf.path, mf.line) for mf in manifest.files())]


def test_the_libyaml_parse_gives_every_spec_and_mapped_file_the_round_trip_parse_s_line(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for folder in ("experiments/homepage-hero", "experiments/other", "shared", "styles"):
        (repo / folder).mkdir(parents=True)
    text = VALID.replace("  - id: 222", "  # a comment between two entries\n\n  - id: 222")

    fast = parse_manifest(text, repo / MANIFEST_NAME, repo, shown="kamsync.yaml")
    full = parse_manifest(text, repo / MANIFEST_NAME, repo, shown="kamsync.yaml", fast=False)

    assert _every_line(fast) == _every_line(full)
    assert fast == full


def test_a_valid_manifest_is_read_without_loading_the_round_trip_parser(tmp_path: Path) -> None:
    (tmp_path / "exp").mkdir()
    (tmp_path / MANIFEST_NAME).write_text("version: 1\nexperiments:\n  - id: 1\n    dir: exp\n", encoding="utf-8")
    probe = (
        "import sys; from pathlib import Path; from kamsync.manifest.parse import load_manifest; "
        f"m = load_manifest(Path({str(tmp_path / MANIFEST_NAME)!r}), Path({str(tmp_path)!r})); "
        "print(len(m.experiments), sorted(n for n in sys.modules if n.startswith('ruamel')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["1", "[]"]


def test_a_manifest_with_an_alias_is_read_by_the_round_trip_parse_with_its_lines(tmp_path: Path) -> None:
    (tmp_path / "exp").mkdir()
    text = (
        "version: 1\nexperiments:\n  - id: 1\n    dir: exp\n    variations:\n"
        "      - id: 7\n        name: &red Red\n      - id: 8\n        name: *red\n        dir: other\n"
    )

    manifest = parse_manifest(text, tmp_path / MANIFEST_NAME, tmp_path, shown="kamsync.yaml")

    assert [(v.id, v.name, v.dir, v.line) for v in manifest.experiments[0].variations] == [
        (7, "Red", "red", 6),
        (8, "Red", "other", 8),
    ]


def test_the_shared_resolver_answers_as_path_resolve_through_links_and_dot_dots(tmp_path: Path) -> None:
    (tmp_path / "real" / "deep").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real" / "deep")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    resolver = Resolver()
    for written in ("link", "link/..", "link/../x", "real/deep/../../link/a.js", "missing/../real", "link/b/.."):
        assert resolver.resolve(tmp_path / written) == (tmp_path / written).resolve(), written
    with pytest.raises((OSError, RuntimeError)):  # RuntimeError before Python 3.13, as Path.resolve raises
        resolver.resolve(tmp_path / "loop" / "a.js")
