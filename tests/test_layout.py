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


# Use cases return values and report events; what a person or a program sees is made in ui/ and written there.
# They know nothing of ui/ (not even its renderers): they hand values to their Report port.
SAYS_NOTHING = {"sync", "hook", "preview"}


def _writer(module: str) -> bool:
    return (
        module == "click" or module.startswith("click.") or module == "kamsync.ui" or module.startswith("kamsync.ui.")
    )


def output_written(path: Path) -> list[str]:
    """Every place ``path`` imports ui/ or click, or writes to the process's streams itself."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            found += [f"line {node.lineno}: imports {n}" for n in names if _writer(n)]
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: imports {a.name}" for a in node.names if _writer(a.name)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            found.append(f"line {node.lineno}: print()")
        elif isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr", "echo", "secho"):
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


@pytest.mark.parametrize(
    "path", [p for p in modules() if p.relative_to(PACKAGE).parts[0] in SAYS_NOTHING], ids=lambda p: p.name
)
def test_use_cases_write_no_output(path):
    written = output_written(path)
    assert not written, f"{path.relative_to(PACKAGE)} writes output: {written}; return a value or report an event"


def test_the_output_check_sees_a_writer():
    # The check above would pass vacuously if it could not see the console being used.
    assert output_written(PACKAGE / "ui" / "status.py")
    assert output_written(PACKAGE / "cli" / "main.py")


# A function longer than this is split into named steps; one that reads better whole says why, here.
MAX_FUNCTION_LINES = 50
WHOLE_FUNCTIONS: dict[str, str] = {}


def function_lengths(source: str) -> list[tuple[str, int]]:
    """Lines of every function and method in ``source`` (a nested one counts in its parent too)."""
    return [
        (node.name, (node.end_lineno or node.lineno) - node.lineno + 1)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def long_functions() -> dict[str, int]:
    found = {}
    for path in modules():
        for name, length in function_lengths(path.read_text(encoding="utf-8")):
            where = f"{path.relative_to(PACKAGE).as_posix()}:{name}"
            if length > MAX_FUNCTION_LINES and where not in WHOLE_FUNCTIONS:
                found[where] = max(length, found.get(where, 0))
    return found


def test_the_length_check_counts_each_function_whole():
    body = "".join(f"        x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    source = "class A:\n    def run(self):\n" + body + "class B:\n    def run(self):\n        pass\n"
    assert function_lengths(source) == [("run", MAX_FUNCTION_LINES + 1), ("run", 2)]


def test_functions_stay_short_enough_to_read_at_a_glance():
    assert not long_functions(), f"split these functions into named steps: {long_functions()}"


def test_one_clock_time_formatter():
    # Every "until 10:42:13" and "since 12:01:03" reads the same way: core/durations.clock_time says it.
    formatting = [
        f"{path.relative_to(PACKAGE).as_posix()}:{node.lineno}"
        for path in modules()
        if path.relative_to(PACKAGE).parts[0] != "sandbox"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value == "%H:%M:%S"
    ]
    assert formatting == ["core/durations.py:42"]
