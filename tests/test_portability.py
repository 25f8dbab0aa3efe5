"""kamsync runs where POSIX-only modules do not exist (Windows): a regression shows on Linux too.

Each `kamsync` process here starts through a bootstrap whose import hook refuses every POSIX-only module, as
Windows' Python would; it imports every kamsync module, then runs the command against the sandbox in a real
repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kamsync.core.normalize import normalize
from kamsync.state.process import pid_alive
from tests.conftest import ROOT, Result
from tests.helpers import path_of, states

# The standard library modules that exist only on POSIX systems (and curses and readline, which Windows lacks).
POSIX_ONLY = ("fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "syslog", "crypt", "spwd", "nis")
WINDOWS_LACKS = ("curses", "_curses", "readline", "posix_ipc")

REFUSE = """
import importlib, importlib.abc, pkgutil, runpy, sys

BLOCKED = frozenset(sys.argv.pop(1).split(","))


class NoPosixOnlyModules(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (absent on Windows)", name=name)
        return None


for name in BLOCKED:
    sys.modules.pop(name, None)
sys.meta_path.insert(0, NoPosixOnlyModules())
try:
    import fcntl
except ModuleNotFoundError:
    pass
else:
    raise SystemExit("the import hook let fcntl through")
"""

BOOTSTRAP = (
    REFUSE
    + """
import kamsync

for module in pkgutil.walk_packages(kamsync.__path__, "kamsync."):
    if module.name != "kamsync.__main__":  # that one runs the command, below
        importlib.import_module(module.name)
sys.argv = ["kamsync", *sys.argv[1:]]
runpy.run_module("kamsync", run_name="__main__", alter_sys=True)
"""
)

HOLDER = (
    REFUSE
    + """
from pathlib import Path
from kamsync.state.lock import repo_lock

with repo_lock(Path(sys.argv[1]), sys.argv[2], wait=float(sys.argv[3])):
    print("locked", flush=True)
    sys.stdin.readline()
"""
)
BLOCKED = ",".join(POSIX_ONLY + WINDOWS_LACKS)


def run_without_posix(env: dict[str, str], repo: Path, *args: str) -> Result:
    proc = subprocess.run(
        [sys.executable, "-c", BOOTSTRAP, BLOCKED, *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_the_bootstrap_fails_a_kamsync_that_imports_a_posix_only_module(env, repo):
    fine = run_without_posix(env, repo, "--version")
    assert fine.code == 0, fine.output
    broken = BOOTSTRAP.replace("import kamsync\n", "import kamsync, pwd\n")
    proc = subprocess.run(
        [sys.executable, "-c", broken, BLOCKED, "--version"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "ModuleNotFoundError: No module named 'pwd' (absent on Windows)" in proc.stderr


def test_status_runs_without_posix_only_modules(env, repo):
    result = run_without_posix(env, repo, "status", "--json")
    assert result.code == 0, result.output
    assert set(states(result).values()) == {"in-sync"}
    assert result.stderr == ""


def test_push_runs_without_posix_only_modules_and_leaves_no_lock_behind(env, repo, sandbox):
    path = path_of(run_without_posix(env, repo, "status", "--json"), 200001, "jsCode")
    (repo / path).write_text("document.body.dataset.variant = 'portable';\n")
    push = run_without_posix(env, repo, "push")
    assert push.code == 0, push.output
    assert "updated variation 200001 (experiment 100001): jsCode" in push.stdout
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "document.body.dataset.variant = 'portable';"
    after = run_without_posix(env, repo, "status", "--json", "--exit-code")
    assert after.code == 0, after.output
    assert not list((repo / ".git" / "kamsync").glob("*.soft")), "every lock was released"


def lock_without_posix(state_dir: Path, command: str, wait: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, BLOCKED, str(state_dir), command, str(wait)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )


def test_without_an_os_lock_the_repository_lock_still_admits_one_process_and_frees_when_it_is_killed(
    tmp_path: Path,
) -> None:
    with lock_without_posix(tmp_path, "kamsync push", 0) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        second = lock_without_posix(tmp_path, "kamsync pull", 0.2)
        _, err = second.communicate("done\n", timeout=60)
        assert second.returncode != 0
        assert f"another kamsync process (pid {holder.pid}, `kamsync push`, since " in err
        holder.kill()
        holder.wait()
    third = lock_without_posix(tmp_path, "kamsync pull", 0)
    out, err = third.communicate("done\n", timeout=60)
    assert (third.returncode, out) == (0, "locked\n"), err


def test_asking_whether_a_process_runs_leaves_it_running() -> None:
    # os.kill(pid, 0) terminates the process on Windows: the ledger would kill the kamsync whose slot it checks.
    with subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE, text=True) as child:
        assert pid_alive(child.pid)
        assert child.poll() is None, "the question ended the process"
        child.communicate("done\n", timeout=60)
    assert child.returncode == 0
    assert not pid_alive(child.pid)


@pytest.mark.parametrize("pid", [0, -1])
def test_no_process_group_or_nonsense_pid_counts_as_running(pid: int) -> None:
    assert not pid_alive(pid)


def test_this_process_counts_as_running() -> None:
    assert pid_alive(os.getpid())
