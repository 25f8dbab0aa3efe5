"""Someone who can read a repository but not write its `.git` can still look: `status`, `diff` and
`push --dry-run` work without the lock, after one warning, and leave `.git` as it was; writing commands say
which file they cannot write.

The `.git` folder is really made read-only (`chmod -R a-w`). Root ignores modes, so when the tests run as root
kamsync is started through a launcher that drops the capabilities overriding them (the bounding set, so the
exec'ed kamsync and its git children never regain them) before it execs: a root that obeys file modes."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Result
from tests.helpers import api_requests, commit_all, path_of

# Linux prctl(PR_CAPBSET_DROP) of CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER, then exec the command.
DROP_AND_EXEC = """
import ctypes, os, sys

if os.geteuid() == 0:
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):
        if libc.prctl(24, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
os.execv(sys.argv[1], sys.argv[1:])
"""


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def _set_writable(folder: Path, writable: bool) -> None:
    for path in [folder, *folder.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


@pytest.fixture
def read_only_git(repo: Path) -> Iterator[Path]:
    """The repository's `.git`, made read-only for the test (and writable again after it)."""
    git_dir = repo / ".git"
    _set_writable(git_dir, False)
    try:
        yield git_dir
    finally:
        _set_writable(git_dir, True)


@pytest.fixture(params=["earlier run", "fresh clone"])
def local_change(request: pytest.FixtureRequest, kamsync, repo: Path) -> str:
    """A local edit to push; `.git/kamsync/` made by an earlier run, or absent as in a fresh clone."""
    path = path_of(kamsync("status", "--json"), 200001, "jsCode")
    (repo / path).write_text("console.log('from git');\n")
    commit_all(repo, "A change from git")
    if request.param == "fresh clone":
        shutil.rmtree(repo / ".git" / "kamsync")
    return path


def as_reader(env: dict[str, str], *command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``command`` as a user for whom file modes apply."""
    return subprocess.run(
        [sys.executable, "-c", DROP_AND_EXEC, *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def reader(env: dict[str, str], repo: Path, *args: str) -> Result:
    """`kamsync ARGS` in ``repo``, as a user for whom file modes apply."""
    proc = as_reader(env, sys.executable, "-m", "kamsync", *args, cwd=repo)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _the_git_dir_really_is_read_only(env: dict[str, str], repo: Path) -> None:
    probe = as_reader(env, sys.executable, "-c", "import sys; open(sys.argv[1], 'w')", str(repo / ".git" / "probe"))
    assert probe.returncode != 0 and "PermissionError" in probe.stderr, probe.stderr


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (("status",), "local-changed"),
        (("diff",), "+console.log('from git');"),
        (("push", "--dry-run"), "would update variation 200001 (experiment 100001): jsCode"),
    ],
)
def test_read_only_commands_work_without_write_access_to_git(args, shown, env, repo, local_change, sandbox, request):
    git_dir = repo / ".git"
    before = _snapshot(git_dir)
    lock = git_dir / "kamsync" / "lock"
    request.getfixturevalue("read_only_git")
    _the_git_dir_really_is_read_only(env, repo)

    result = reader(env, repo, *args)

    assert result.code == 0, result.output
    assert shown in result.stdout
    assert result.stderr.splitlines() == [
        f"warning: cannot write {lock} (the repository lock): permission denied; "
        f"`kamsync {args[0]}` goes on without it, as it only reads",
        *(["12 fields: 11 in-sync, 1 local-changed"] if args == ("status",) else []),
    ]
    assert _snapshot(git_dir) == before, "nothing under .git changed"
    assert not api_requests(sandbox, "PATCH")


def test_push_without_write_access_to_git_names_the_lock_and_sends_nothing(env, repo, local_change, sandbox, request):
    lock = repo / ".git" / "kamsync" / "lock"
    request.getfixturevalue("read_only_git")
    sandbox.store.clear_requests()

    result = reader(env, repo, "push")

    assert result.code == 2, result.output
    assert result.stderr.splitlines() == [
        f"error: cannot write {lock} (the repository lock): permission denied; it was left as it was; "
        "make it writable for this user, then run the same command again"
    ]
    assert not api_requests(sandbox), "nothing sent"


def test_record_save_skips_with_a_warning_when_the_state_folder_is_not_writable(env, repo, local_change, request):
    state = repo / ".git" / "kamsync"
    before = (state / "record.json").read_bytes() if (state / "record.json").exists() else None
    request.getfixturevalue("read_only_git")
    script = (
        "import sys; from pathlib import Path; from kamsync.core.model import FieldRef\n"
        "from kamsync.state.record import Record\n"
        "record = Record.load(Path(sys.argv[1]))\n"
        "record.remember(FieldRef.of_variation(100001, 200001, 'jsCode'), 'console.log(1);')\n"
        "print(record.save())\n"
    )
    result = as_reader(env, sys.executable, "-c", script, str(state))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"cannot update {state / 'record.json'} (not writable): later runs judge this run's values from git alone\n"
    )
    after = (state / "record.json").read_bytes() if (state / "record.json").exists() else None
    assert after == before, "the record is left as it was"
