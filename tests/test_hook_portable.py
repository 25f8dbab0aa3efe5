"""The pre-push hook script under the shells that run it: POSIX ``sh`` (dash), bash as Git for Windows runs it,
odd paths, and line ends. ``<python>`` is a stub executable that records what the hook hands it (the OS seam)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kamsync.hook.install import ENTRY, HookMode, HookSettings, install, read_installed, render_hook, sh_path
from tests.gitutil import commit
from tests.test_hook_install import ZERO, Stage


@pytest.fixture
def stage(tmp_path: Path) -> Stage:
    return Stage(tmp_path)


@pytest.mark.parametrize(
    ("path", "windows", "seen"),
    [
        ("C:\\Users\\Ann Lee\\venv\\Scripts\\python.exe", True, "C:/Users/Ann Lee/venv/Scripts/python.exe"),
        ("\\\\server\\share\\python.exe", True, "//server/share/python.exe"),
        ("C:/already/forward/python.exe", True, "C:/already/forward/python.exe"),
        ("/opt/back\\slash/python", False, "/opt/back\\slash/python"),  # an ordinary character of a POSIX name
        ("/usr/bin/python3", False, "/usr/bin/python3"),
    ],
)
def test_the_hook_names_the_python_as_its_sh_reads_paths(path: str, windows: bool, seen: str) -> None:
    assert sh_path(path, windows=windows) == seen


def test_a_hook_written_for_windows_names_the_python_with_forward_slashes_and_keeps_its_setting() -> None:
    settings = HookSettings(HookMode.CHECK, ("main",), False, False, "C:\\Program Files\\Python\\python.exe", None)
    text = render_hook(settings, windows=True)
    assert "\npython='C:/Program Files/Python/python.exe'\n" in text
    assert subprocess.run(["sh", "-n"], input=text, text=True, capture_output=True).returncode == 0


@pytest.mark.parametrize("shell", [["sh"], ["bash", "--posix"]], ids=["sh", "bash-posix"])
def test_the_hook_hands_kamsync_its_arguments_and_refs_under_each_shell(
    stage: Stage, tmp_path: Path, shell: list[str]
) -> None:
    assert shutil.which(shell[0]), f"{shell[0]} runs git's hooks on some system kamsync supports"
    odd = tmp_path / "with space" / "back\\slash" / "it's" / "python"
    python = stage.script(odd, "kamsync", exit_variable="STUB_EXIT")
    hook = install(stage.repo, python=str(python)).path
    refs = f"refs/heads/main {stage.first} refs/heads/main {ZERO}\n"
    done = subprocess.run(
        [*shell, str(hook), "origin", "https://example.test/a b.git"],
        cwd=stage.top,
        input=refs,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert stage.record("kamsync.args") == (
        f"-c\n{ENTRY}\nhook\nrun\npre-push\n--mode\ncheck\n--branch\nmain\n--\norigin\nhttps://example.test/a b.git\n"
    )
    assert stage.record("kamsync.stdin") == refs


def test_a_real_push_runs_the_hook_of_a_repository_whose_path_has_spaces_and_backslashes(tmp_path: Path) -> None:
    stage = Stage(tmp_path / "a folder" / "back\\slash")
    install(stage.repo, python=str(stage.python))
    head = commit(stage.top, {"b.js": "b\n"})
    code, err = stage.push("origin", "main")
    assert code == 0, err
    assert stage.record("kamsync.stdin") == f"refs/heads/main {head} refs/heads/main {ZERO}\n"


def test_the_hook_is_written_with_lf_line_ends_and_still_read_as_kamsyncs_after_a_crlf_rewrite(stage: Stage) -> None:
    result = install(stage.repo, python=str(stage.python))
    raw = result.path.read_bytes()
    assert b"\r" not in raw, "sh would read '\\r' as part of each command"
    result.path.write_bytes(raw.replace(b"\n", b"\r\n"))  # an editor on Windows saved it
    assert read_installed(result.path.read_text()) == result.settings
    again = install(stage.repo, python=str(stage.python))
    assert (again.updated, again.previous) == (True, result.settings)
    assert b"\r" not in again.path.read_bytes()
