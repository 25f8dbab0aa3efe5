"""The layout shows the architecture: sub-packages in layers, each saying what lives there, none importing upward."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kamsync"
# Lowest first: a sub-package may import those before it, never those after it.
LAYERS = ("core", "state", "budget", "manifest", "git", "watch", "api", "ui", "sync", "preview", "hook", "cli")
# The sandbox imitates the API on its own: it shares only pure values with kamsync.
SANDBOX_MAY_IMPORT = {"core", "state", "budget", "sandbox"}


def imported_subpackages(path: Path) -> set[tuple[str, int]]:
    """The kamsync sub-packages ``path`` imports (at any depth of the module), with the line of each import."""
    found: set[tuple[str, int]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "kamsync" else [f"kamsync.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "kamsync" and len(parts) > 1 and parts[1] != "__version__":
                found.add((parts[1], node.lineno))
    return found


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE)


def test_the_package_holds_only_sub_packages_beside_its_entry_points():
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py"]
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()) == sorted(
        (*LAYERS, "sandbox")
    )


@pytest.mark.parametrize("name", [*LAYERS, "sandbox"])
def test_every_sub_package_says_what_lives_there(name):
    doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text(encoding="utf-8")))
    assert doc and len(doc) > 80, f"kamsync/{name}/__init__.py needs a docstring saying what lives there"


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_module_imports_upward(path):
    own = path.relative_to(PACKAGE).parts[0]
    allowed = SANDBOX_MAY_IMPORT if own == "sandbox" else set(LAYERS[: LAYERS.index(own) + 1])
    if own == "cli":
        allowed.add("sandbox")  # `kamsync sandbox` serves it
    upward = sorted(f"line {line}: kamsync.{sub}" for sub, line in imported_subpackages(path) if sub not in allowed)
    assert not upward, f"{path.relative_to(PACKAGE)} imports upward: {upward}"


def test_modules_stay_small_enough_to_read_whole():
    large = {p.relative_to(PACKAGE).as_posix(): n for p in modules() if (n := len(p.read_text().splitlines())) > 420}
    assert not large, f"split these modules along a seam: {large}"


# The CLI builds the settings from the environment once; git's own environment is an OS seam of the git edge.
READS_THE_ENVIRONMENT = {"cli", "sandbox"}
ENVIRONMENT_SEAMS = {"git/repo.py"}


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_only_the_cli_reads_the_process_environment(path):
    rel = path.relative_to(PACKAGE).as_posix()
    if rel.split("/")[0] in READS_THE_ENVIRONMENT or rel in ENVIRONMENT_SEAMS:
        return
    reads = [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute)
        and node.attr in ("environ", "getenv", "environb")
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    ]
    assert not reads, f"{rel} reads os.environ at line(s) {reads}: take it from the settings (Options.environ)"
