"""The source distribution, built for real: it holds what its own test suite needs, a licence and project URLs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile

from tests.conftest import ROOT

# Build products and local state: never part of a checkout others get, never copied to the build folder.
_LOCAL = shutil.ignore_patterns(
    ".git", ".venv", "*.egg-info", "build", "dist", "__pycache__", ".*_cache", ".coverage*", "htmlcov"
)


def test_the_sdist_holds_the_tests_their_helpers_and_examples_a_license_and_project_urls(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=_LOCAL)
    out = tmp_path / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (archive,) = out.glob("kamsync-*.tar.gz")
    with tarfile.open(archive) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
        top = sdist.getnames()[0].split("/", 1)[0]
        metadata = sdist.extractfile(f"{top}/PKG-INFO").read().decode()  # type: ignore[union-attr]

    needed = {
        path.relative_to(ROOT).as_posix()
        for folder in ("tests", "examples", "scripts")
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert {"tests/conftest.py", "tests/helpers.py", "tests/gitutil.py", "tests/__init__.py"} <= needed
    assert sorted(needed - names) == []
    assert {"LICENSE", "README.md", "pyproject.toml", ".pre-commit-hooks.yaml", "kamsync/kamsync.schema.json"} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "Copyright (c) 2026 kamsync contributors" in (source / "LICENSE").read_text()
    assert "License-File: LICENSE" in metadata
    assert "Project-URL: Source, https://github.com/kamsync/kamsync" in metadata
    assert "Project-URL: Issues, https://github.com/kamsync/kamsync/issues" in metadata
