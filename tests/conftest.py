"""Shared fixtures: a sandbox API on loopback, real git repositories, and the real `kamsync` command.

Git helpers live in ``tests/gitutil.py``; ``git`` is re-exported here for the tests that import it from here.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kamsync.budget.ledger import Ledger
from kamsync.budget.windows import parse_rate_limit
from kamsync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox
from tests import runner
from tests.gitutil import IDENTITY, git, git_environment, pin_git
from tests.redisutil import DATABASES, RedisServer
from tests.runner import Result, run_kamsync

__all__ = ["GIT_ENV", "Budgets", "Result", "base_env", "git"]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "repo-layout"
# Generous by default so tests that are not about rate limits never wait; rate-limit tests pass short windows.
TEST_RATE_LIMIT = "200/1s"

GIT_ENV = {**IDENTITY, "GIT_CONFIG_NOSYSTEM": "1"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--processes",
        action="store_true",
        help="run every `kamsync` command of the tests as a new process (slower; the default runs kamsync's main "
        "in the test's process with a new process's environment, see tests/runner.py)",
    )


def pytest_configure(config: pytest.Config) -> None:
    runner.ALWAYS_NEW_PROCESS = bool(config.getoption("processes"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses Redis runs on one worker (``--dist=loadgroup``): one Redis server per test run."""
    for item in items:
        if "redis_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("redis"))


def base_env(home: Path) -> dict[str, str]:
    """The environment of a kamsync process: pinned git, its own ``home``, none of the caller's kamsync settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "KAMELEOON_", "KAMSYNC_"))}
    env.update(git_environment(home))
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    env["XDG_STATE_HOME"] = str(home / ".state")
    # Windows ignores XDG_*: without these, every test would share the user's real ledger and token cache.
    env["WIN_PD_OVERRIDE_LOCAL_APPDATA"] = str(home / "AppData" / "Local")
    env["WIN_PD_OVERRIDE_APPDATA"] = str(home / "AppData" / "Roaming")
    env["NO_COLOR"] = "1"
    return env


@pytest.fixture(autouse=True)
def pinned_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Git run by any test sees only what the test sets up (modules override this to fix commit dates)."""
    pin_git(monkeypatch, tmp_path, date=None)


# Makes the client's rate budget: ``budgets("3/10s", clock=…, sleep=…, on_wait=…)``.
Budgets = Callable[..., Ledger]


@pytest.fixture
def budgets(tmp_path: Path) -> Budgets:
    """The client's real rate budget, the shared ledger, kept in this test's own folders: each one made is
    fresh, as a separate process's would be with its own state folder."""
    made = itertools.count(1)

    def make(spec: str = "1000/1s", **kwargs: object) -> Ledger:
        state_dir = tmp_path / "ledgers" / str(next(made))
        return Ledger.open(state_dir, "http://127.0.0.1", DEFAULT_CLIENT_ID, parse_rate_limit(spec), **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    return folder


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(state_file=str(tmp_path / "sandbox-state.json"), rate_limit=TEST_RATE_LIMIT) as sb:
        yield sb


@pytest.fixture
def env(home: Path, sandbox: Sandbox) -> dict[str, str]:
    environ = base_env(home)
    environ.update(
        KAMELEOON_API_URL=sandbox.url,
        KAMELEOON_CLIENT_ID=DEFAULT_CLIENT_ID,
        KAMELEOON_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
        KAMSYNC_RATE_LIMIT=TEST_RATE_LIMIT,
        KAMSYNC_LOCK_WAIT="2",
    )
    return environ


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Path:
    """A real git repository holding a copy of examples/repo-layout, committed on main."""
    folder = tmp_path / "repo"
    shutil.copytree(EXAMPLE, folder)
    git(folder, "init", "-q", "-b", "main", env=env)
    git(folder, "add", "-A", env=env)
    git(folder, "commit", "-q", "-m", "Import experiments", env=env)
    return folder


@pytest.fixture
def kamsync(env: dict[str, str], repo: Path):  # type: ignore[no-untyped-def]
    """Run the real `kamsync` command in the repository: its ``main`` with a new process's environment, or a new
    process when the environment needs one, ``process=True`` or ``pytest --processes`` (``tests/runner.py``)."""

    def run(
        *args: str, cwd: Path | None = None, extra_env: dict[str, str | None] | None = None, process: bool | None = None
    ) -> Result:
        environ = {k: v for k, v in {**env, **(extra_env or {})}.items() if v is not None}
        return run_kamsync(args, cwd=cwd or repo, environ=environ, process=process)

    return run


# -- a real Redis server for the shared ledger's tests: one per test run (its tests share one worker) ---------

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(password="r3dis-" + os.urandom(8).hex()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_db(redis_server: RedisServer) -> int:
    """A database of the test run's Redis of this test's own, emptied first."""
    db = next(_databases) % DATABASES or next(_databases) % DATABASES
    with redis_server.client(db) as client:
        client.flushdb()
    return db
