"""`push --force` keeps what it overwrites, keyed by entity and field, inside its own run's backup folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kamsync.core.model import FieldRef
from kamsync.core.normalize import normalize
from kamsync.sync.writes import backup_name
from tests.helpers import commit_all

HERO = "experiments/100001-homepage-hero"


def _manifest_in_subfolder(repo: Path, manifest_dir: str, experiment_dir: str) -> str:
    """Map experiment 100001 from a manifest in ``manifest_dir``, its folder moved to ``<repo>/exp`` and written
    ``experiment_dir`` in the manifest; commit. Returns the manifest's path, relative to the repository."""
    shutil.move(str(repo / HERO), str(repo / "exp"))
    (repo / "kamsync.yaml").unlink()
    (repo / manifest_dir).mkdir(parents=True)
    (repo / manifest_dir / "kamsync.yaml").write_text(
        "version: 1\n"
        "experiments:\n"
        "  - id: 100001\n"
        f"    dir: {experiment_dir}\n"
        "    variations:\n"
        "      - {id: 200001, name: Red button, dir: red-button}\n"
        "      - {id: 200002, name: Big headline, dir: big-headline}\n"
    )
    commit_all(repo, "Manifest in a subfolder")
    return f"{manifest_dir}/kamsync.yaml"


def _files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_forced_push_never_writes_its_backup_onto_the_working_tree_file(kamsync, repo, sandbox):
    manifest = _manifest_in_subfolder(repo, "a/b/c/d", "../../../../exp")
    sandbox.store.ui_edit_experiment(100001, commonJavaScriptCode="// edited in the UI")
    (repo / "exp" / "common.js").write_text("// from git\n")
    commit_all(repo, "Change the common code")

    forced = kamsync("--manifest", manifest, "push", "--force", "--json")

    assert forced.code == 0, forced.output
    assert (repo / "exp" / "common.js").read_text() == "// from git\n", "the local work is intact"
    assert normalize(sandbox.store.experiment(100001)["commonJavaScriptCode"]) == "// from git"
    backup = Path(forced.json()["backup"])
    backups = repo / ".git" / "kamsync" / "backups"
    assert backup.parent == backups
    assert _files_under(backup) == {"index.json", "experiment-100001-commonJavaScriptCode.js"}
    assert (backup / "experiment-100001-commonJavaScriptCode.js").read_text() == "// edited in the UI\n"
    assert _files_under(backups) == {f"{backup.name}/{name}" for name in _files_under(backup)}


def test_successive_forced_pushes_keep_each_runs_backup(kamsync, repo, sandbox):
    manifest = _manifest_in_subfolder(repo, "a", "../exp")
    css = repo / "exp" / "variations" / "red-button" / "variation.css"
    runs = []
    for n in (1, 2):
        sandbox.store.ui_edit_variation(200001, cssCode=f".ui-{n} {{}}")
        css.write_text(f".git-{n} {{}}\n")
        commit_all(repo, f"Change {n}")
        forced = kamsync("--manifest", manifest, "push", "--force", "--json")
        assert forced.code == 0, forced.output
        runs.append(Path(forced.json()["backup"]))

    first, second = runs
    assert first != second
    assert (first / "variation-200001-cssCode.css").read_text() == ".ui-1 {}\n"
    assert (second / "variation-200001-cssCode.css").read_text() == ".ui-2 {}\n"
    backups = repo / ".git" / "kamsync" / "backups"
    assert {p.name for p in backups.iterdir()} == {first.name, second.name}, "nothing lands beside the runs"


def test_backup_index_names_the_file_field_and_mapped_path(kamsync, repo, sandbox):
    manifest = _manifest_in_subfolder(repo, "a", "../exp")
    sandbox.store.ui_edit_variation(200002, jsCode="// ui")
    (repo / "exp" / "variations" / "big-headline" / "variation.js").write_text("// git\n")
    commit_all(repo, "Change")
    backup = Path(kamsync("--manifest", manifest, "push", "--force", "--json").json()["backup"])
    assert json.loads((backup / "index.json").read_text()) == [
        {
            "file": "variation-200002-jsCode.js",
            "path": "../exp/variations/big-headline/variation.js",
            "experiment_id": 100001,
            "variation_id": 200002,
            "field": "jsCode",
            "state": "conflict",
        }
    ]


@pytest.mark.parametrize(
    ("ref", "name"),
    [
        (FieldRef.of_experiment(100001, "commonJavaScriptCode"), "experiment-100001-commonJavaScriptCode.js"),
        (FieldRef.of_experiment(100001, "commonCssCode"), "experiment-100001-commonCssCode.css"),
        (FieldRef.of_experiment(100001, "globalScript"), "experiment-100001-globalScript.js"),
        (FieldRef.of_variation(100001, 200001, "jsCode"), "variation-200001-jsCode.js"),
        (FieldRef.of_variation(100001, 200001, "cssCode"), "variation-200001-cssCode.css"),
    ],
)
def test_backup_file_is_named_by_entity_and_field(ref, name):
    assert backup_name(ref) == name
