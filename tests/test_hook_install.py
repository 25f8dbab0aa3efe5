"""Installing kamsync's pre-push hook, and what it does when git runs it during a real `git push`.

The kamsync half of the hook runs ``<python> -c <entry> hook run pre-push …``; here ``<python>`` is a stub
executable that records its arguments and standard input (the operating-system seam), so these tests prove
what the hook script hands kamsync. Another tool's hook is a real script too.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from kamsync.core.errors import UsageError
from kamsync.git.repo import GitRepo
from kamsync.hook.install import (
    CHAINED_NAME,
    ENTRY,
    MARKER,
    HookMode,
    HookSettings,
    hook_command,
    install,
    read_installed,
    render_hook,
    settings_for,
    skip_requested,
    uninstall,
)
from tests.gitutil import commit, git, new_repo, pin_git, run_git

ZERO = "0" * 40


@pytest.fixture(autouse=True)
def pinned_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pin_git(monkeypatch, tmp_path)


class Stage:
    """A repository with a bare remote, a stub Python and a log that the hooks write to."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.remote = new_repo(tmp_path / "remote.git", bare=True)
        self.top = new_repo(tmp_path / "work")
        git(self.top, "remote", "add", "origin", str(self.remote))
        self.first = commit(self.top, {"a.js": "a\n"})
        self.log = tmp_path / "log"
        self.log.mkdir()
        self.python = self.script(tmp_path / "bin" / "python", "kamsync", exit_variable="STUB_EXIT")
        self.repo = GitRepo.discover(self.top)

    def script(self, path: Path, name: str, *, exit_variable: str) -> Path:
        """An executable that appends ``name`` to the log's order file and records its argv and stdin."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "#!/bin/sh\n"
            f"echo {name} >> '{self.log}/order'\n"
            f"printf '%s\\n' \"$@\" > '{self.log}/{name}.args'\n"
            f"cat > '{self.log}/{name}.stdin'\n"
            f'exit "${{{exit_variable}:-0}}"\n'
        )
        path.chmod(0o755)
        return path

    def foreign_hook(self, hooks: Path | None = None) -> Path:
        return self.script((hooks or self.repo.hooks_dir()) / "pre-push", "foreign", exit_variable="FOREIGN_EXIT")

    def push(self, *args: str, cwd: Path | None = None, **env: str) -> tuple[int, str]:
        done = run_git(cwd or self.top, "push", "-q", *args, env=env)
        return done.returncode, done.stderr

    def record(self, name: str) -> str | None:
        path = self.log / name
        return path.read_text() if path.exists() else None

    def order(self) -> list[str]:
        return (self.record("order") or "").split()

    def remote_head(self, branch: str = "main") -> str | None:
        done = run_git(self.remote, "rev-parse", "-q", "--verify", f"refs/heads/{branch}")
        return done.stdout.strip() or None

    def clear(self) -> None:
        for path in self.log.iterdir():
            path.unlink()


@pytest.fixture
def stage(tmp_path: Path) -> Stage:
    return Stage(tmp_path)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


# --- installing and removing -------------------------------------------------------------------------------


def test_install_writes_an_executable_hook_that_reads_back_as_kamsyncs(stage: Stage) -> None:
    result = install(stage.repo, python=str(stage.python))
    path = stage.top / ".git" / "hooks" / "pre-push"
    assert result.path == path
    assert (result.updated, result.previous, result.chained, result.moved_aside) == (False, None, None, False)
    assert mode_of(path) == 0o755
    text = path.read_text()
    assert text.splitlines()[:2] == ["#!/bin/sh", MARKER]
    assert read_installed(text) == HookSettings(HookMode.CHECK, ("main",), False, False, str(stage.python), None)
    assert result.settings == read_installed(text)


def test_install_checks_the_default_branch_unless_told_which(tmp_path: Path) -> None:
    origin = new_repo(tmp_path / "origin")
    git(origin, "checkout", "-q", "-b", "trunk")
    commit(origin, {"a.js": "a\n"})
    git(tmp_path, "clone", "-q", str(origin), "clone")
    repo = GitRepo.discover(tmp_path / "clone")
    assert install(repo).settings.branches == ("trunk",)
    again = install(repo, mode="push", branches=["refs/heads/main", "release/2", "main"], allow_live=True)
    assert again.settings.branches == ("main", "release/2")
    assert (again.updated, again.previous and again.previous.branches) == (True, ("trunk",))
    assert read_installed(again.path.read_text()) == again.settings


def test_install_over_kamsyncs_hook_rewrites_it_and_keeps_the_chained_hook(stage: Stage) -> None:
    foreign = stage.foreign_hook()
    original = foreign.read_bytes()
    first = install(stage.repo, python=str(stage.python))
    assert (first.moved_aside, first.chained) == (True, foreign.with_name(CHAINED_NAME))
    second = install(stage.repo, mode="push", branches=["main", "next"], python=str(stage.python))
    assert (second.updated, second.moved_aside, second.chained) == (True, False, foreign.with_name(CHAINED_NAME))
    assert second.previous == first.settings
    assert foreign.with_name(CHAINED_NAME).read_bytes() == original


def test_uninstall_removes_the_hook_and_restores_the_one_it_replaced(stage: Stage) -> None:
    foreign = stage.foreign_hook()
    foreign.chmod(0o750)
    original = foreign.read_bytes()
    install(stage.repo, python=str(stage.python))
    result = uninstall(stage.repo)
    assert (result.path, result.removed, result.restored, result.nothing_installed) == (foreign, True, True, False)
    assert foreign.read_bytes() == original
    assert mode_of(foreign) == 0o750
    assert not foreign.with_name(CHAINED_NAME).exists()


def test_uninstall_with_nothing_installed_says_so(stage: Stage) -> None:
    result = uninstall(stage.repo)
    assert result.nothing_installed
    install(stage.repo, python=str(stage.python))
    assert uninstall(stage.repo).removed
    assert not result.path.exists()
    assert uninstall(stage.repo).nothing_installed


def test_uninstall_leaves_another_tools_hook_alone(stage: Stage) -> None:
    foreign = stage.foreign_hook()
    assert uninstall(stage.repo).nothing_installed
    assert "foreign" in foreign.read_text()


def test_uninstall_refuses_to_remove_another_tools_hook_standing_where_kamsyncs_should(stage: Stage) -> None:
    install(stage.repo, python=str(stage.python))
    stage.foreign_hook()  # put over kamsync's hook, which had chained nothing
    chained = stage.repo.hooks_dir() / CHAINED_NAME
    chained.write_text("#!/bin/sh\n")
    with pytest.raises(UsageError) as error:
        uninstall(stage.repo)
    assert "is not kamsync's hook; kamsync leaves it alone" in str(error.value)


def test_install_refuses_when_the_chained_name_is_taken(stage: Stage) -> None:
    foreign = stage.foreign_hook()
    taken = foreign.with_name(CHAINED_NAME)
    taken.write_text("#!/bin/sh\nexit 0\n")
    with pytest.raises(UsageError) as error:
        install(stage.repo, python=str(stage.python))
    assert str(error.value) == (
        f"{foreign} is another hook, and {taken} (where kamsync keeps the hook it replaces) is taken too; "
        "move one of them away, then run `kamsync hook install` again"
    )
    assert "foreign" in foreign.read_text()


def test_a_folder_named_pre_push_is_refused(stage: Stage) -> None:
    folder = stage.repo.hooks_dir() / "pre-push"
    folder.mkdir(parents=True)
    with pytest.raises(UsageError, match=r"is a folder, not a hook; move it away, then try again$"):
        install(stage.repo, python=str(stage.python))


def test_install_over_a_hook_with_a_damaged_settings_line_rewrites_it(stage: Stage) -> None:
    path = install(stage.repo, python=str(stage.python)).path
    path.write_text(path.read_text().replace('"mode": "check"', '"mode": 3'))
    with pytest.raises(UsageError) as error:
        read_installed(path.read_text())
    assert str(error.value) == (
        "the kamsync pre-push hook has a damaged settings line; run `kamsync hook install` to rewrite it"
    )
    again = install(stage.repo, python=str(stage.python))
    assert (again.updated, again.previous) == (True, None)
    assert read_installed(path.read_text()) == again.settings


@pytest.mark.parametrize("branch", ["two words", "-x", "a..b", "refs/heads/", "x.lock", "a:b", "@", "end/"])
def test_branch_names_git_would_refuse_are_refused(branch: str) -> None:
    with pytest.raises(UsageError) as error:
        settings_for("check", [branch], allow_live=False, require_credentials=False, python="/p", manifest=None)
    assert str(error.value) == f"--branch {branch!r} is not a valid branch name; give a name like main or release/2"


@pytest.mark.parametrize(
    ("mode", "branches", "message"),
    [
        ("block", ["main"], "--mode must be one of check, push, not 'block'"),
        ("check", [], "the hook needs at least one branch to check; pass --branch NAME"),
    ],
)
def test_mode_and_branches_are_required(mode: str, branches: list[str], message: str) -> None:
    with pytest.raises(UsageError) as error:
        settings_for(mode, branches, allow_live=False, require_credentials=False, python="/p", manifest=None)
    assert str(error.value) == message


def test_hook_command_carries_every_setting_before_gits_arguments() -> None:
    settings = HookSettings(HookMode.PUSH, ("main", "it's"), True, True, "/p", "site/kamsync.yaml")
    assert hook_command(settings) == [
        "--manifest",
        "site/kamsync.yaml",
        "hook",
        "run",
        "pre-push",
        "--mode",
        "push",
        "--branch",
        "main",
        "--branch",
        "it's",
        "--allow-live",
        "--require-credentials",
        "--",
    ]
    assert read_installed(render_hook(settings)) == settings
    assert read_installed("#!/bin/sh\n# pre-commit hook\nexec pre-commit\n") is None


def test_skip_is_requested_by_kamsync_skip_1_only() -> None:
    assert skip_requested({"KAMSYNC_SKIP": "1"})
    assert not skip_requested({})
    assert not skip_requested({"KAMSYNC_SKIP": "0"})
    assert not skip_requested({"KAMSYNC_SKIP": ""})


# --- what the hook does during a real `git push` -----------------------------------------------------------


def test_push_runs_the_chained_hook_then_kamsync_with_gits_arguments_and_refs(stage: Stage) -> None:
    stage.foreign_hook()
    install(stage.repo, branches=["main"], python=str(stage.python))
    head = commit(stage.top, {"b.js": "b\n"})
    code, err = stage.push("origin", "main")
    assert code == 0, err
    refs = f"refs/heads/main {head} refs/heads/main {ZERO}\n"
    assert stage.order() == ["foreign", "kamsync"]
    assert stage.record("foreign.args") == f"origin\n{stage.remote}\n"
    assert stage.record("foreign.stdin") == refs
    assert stage.record("kamsync.args") == (
        f"-c\n{ENTRY}\nhook\nrun\npre-push\n--mode\ncheck\n--branch\nmain\n--\norigin\n{stage.remote}\n"
    )
    assert stage.record("kamsync.stdin") == refs
    assert stage.remote_head() == head


def test_push_of_several_refs_hands_kamsync_every_line(stage: Stage) -> None:
    install(stage.repo, python=str(stage.python))
    code, err = stage.push("origin", "main")
    assert code == 0, err
    git(stage.top, "checkout", "-q", "-b", "feature")
    feature = commit(stage.top, {"f.js": "f\n"})
    git(stage.top, "tag", "v1")
    stage.clear()
    code, err = stage.push("origin", "feature", "feature:main", "v1")
    assert code == 0, err
    lines = sorted((stage.record("kamsync.stdin") or "").splitlines())
    assert lines == sorted(
        [
            f"refs/heads/feature {feature} refs/heads/feature {ZERO}",
            f"refs/heads/feature {feature} refs/heads/main {stage.first}",
            f"refs/tags/v1 {feature} refs/tags/v1 {ZERO}",
        ]
    )


def test_a_failing_chained_hook_blocks_the_push_before_kamsync_runs(stage: Stage) -> None:
    stage.foreign_hook()
    install(stage.repo, python=str(stage.python))
    code, _ = stage.push("origin", "main", FOREIGN_EXIT="3")
    assert code != 0
    assert stage.order() == ["foreign"]
    assert stage.remote_head() is None


def test_a_failing_kamsync_blocks_the_push(stage: Stage) -> None:
    install(stage.repo, python=str(stage.python))
    code, _ = stage.push("origin", "main", STUB_EXIT="3")
    assert code != 0
    assert stage.order() == ["kamsync"]
    assert stage.remote_head() is None


def test_kamsync_skip_skips_kamsync_but_not_the_chained_hook(stage: Stage) -> None:
    stage.foreign_hook()
    install(stage.repo, python=str(stage.python))
    code, err = stage.push("origin", "main", KAMSYNC_SKIP="1", STUB_EXIT="3")
    assert code == 0, err
    assert stage.order() == ["foreign"]
    assert "kamsync: KAMSYNC_SKIP=1, this push is not checked" in err
    assert stage.remote_head() == stage.first


def test_no_verify_skips_every_hook(stage: Stage) -> None:
    stage.foreign_hook()
    install(stage.repo, python=str(stage.python))
    code, err = stage.push("--no-verify", "origin", "main", FOREIGN_EXIT="3", STUB_EXIT="3")
    assert code == 0, err
    assert stage.order() == []
    assert stage.remote_head() == stage.first


def test_after_uninstall_only_the_restored_hook_runs(stage: Stage) -> None:
    stage.foreign_hook()
    install(stage.repo, python=str(stage.python))
    uninstall(stage.repo)
    code, err = stage.push("origin", "main")
    assert code == 0, err
    assert stage.order() == ["foreign"]


def test_a_symlinked_foreign_hook_is_moved_as_a_link_and_still_runs(stage: Stage) -> None:
    target = stage.script(stage.tmp / "tools" / "their-hook", "foreign", exit_variable="FOREIGN_EXIT")
    hooks = stage.repo.hooks_dir()
    hooks.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(target, hooks), hooks / "pre-push")
    install(stage.repo, python=str(stage.python))
    assert (hooks / CHAINED_NAME).is_symlink()
    code, err = stage.push("origin", "main")
    assert code == 0, err
    assert stage.order() == ["foreign", "kamsync"]
    uninstall(stage.repo)
    assert (hooks / "pre-push").is_symlink() and (hooks / "pre-push").resolve() == target.resolve()


def test_a_foreign_hook_that_is_not_executable_stays_inert_as_git_left_it(stage: Stage) -> None:
    stage.foreign_hook().chmod(0o644)
    install(stage.repo, python=str(stage.python))
    code, err = stage.push("origin", "main")
    assert code == 0, err
    assert stage.order() == ["kamsync"]
    uninstall(stage.repo)
    assert mode_of(stage.repo.hooks_dir() / "pre-push") == 0o644


def test_core_hooks_path_relative_and_absolute(stage: Stage) -> None:
    git(stage.top, "config", "core.hooksPath", ".githooks")
    result = install(stage.repo, python=str(stage.python))
    assert result.path == stage.top / ".githooks" / "pre-push"
    code, err = stage.push("origin", "main")
    assert (code, stage.order()) == (0, ["kamsync"]), err

    shared = stage.tmp / "shared hooks"
    git(stage.top, "config", "core.hooksPath", str(shared))
    stage.foreign_hook(shared)
    assert install(stage.repo, python=str(stage.python)).path == shared / "pre-push"
    stage.clear()
    commit(stage.top, {"c.js": "c\n"})
    code, err = stage.push("origin", "main")
    assert (code, stage.order()) == (0, ["foreign", "kamsync"]), err


def test_a_linked_worktree_shares_the_hook(stage: Stage) -> None:
    git(stage.top, "worktree", "add", "-q", "-b", "feature", str(stage.tmp / "wt"))
    worktree = GitRepo.discover(stage.tmp / "wt")
    result = install(worktree, python=str(stage.python), branches=["feature"])
    assert result.path == stage.top / ".git" / "hooks" / "pre-push"
    head = commit(stage.tmp / "wt", {"w.js": "w\n"})
    code, err = stage.push("origin", "feature", cwd=stage.tmp / "wt")
    assert code == 0, err
    assert stage.record("kamsync.stdin") == f"refs/heads/feature {head} refs/heads/feature {ZERO}\n"


def test_when_the_python_is_gone_the_hook_uses_kamsync_on_path(stage: Stage) -> None:
    install(stage.repo, python=str(stage.tmp / "gone" / "python"))
    on_path = stage.script(stage.tmp / "path-bin" / "kamsync", "kamsync", exit_variable="STUB_EXIT")
    path = f"{on_path.parent}{os.pathsep}{os.environ['PATH']}"
    code, err = stage.push("origin", "main", PATH=path)
    assert code == 0, err
    assert (stage.record("kamsync.args") or "").startswith("hook\nrun\npre-push\n--mode\ncheck\n")


def test_when_kamsync_cannot_be_found_the_push_stops_and_says_how_to_skip(stage: Stage) -> None:
    gone = stage.tmp / "gone" / "python"
    hook = install(stage.repo, python=str(gone)).path
    git_dir = Path(run_git(stage.top, "--exec-path").stdout.strip())
    path = os.pathsep.join([str(git_dir), "/usr/bin", "/bin"])  # git and sh, and no kamsync
    code, err = stage.push("origin", "main", PATH=path)
    assert code != 0
    assert f"kamsync pre-push hook: kamsync is not installed ({gone} is gone, no kamsync on PATH)." in err
    assert "KAMSYNC_SKIP=1 git push; or remove this hook: rm " in err
    assert stage.remote_head() is None
    code, err = stage.push("origin", "main", PATH=path, KAMSYNC_SKIP="1")
    assert code == 0, err
    assert hook.exists()


def test_an_empty_ref_list_reaches_kamsync_empty(stage: Stage) -> None:
    hook = install(stage.repo, python=str(stage.python)).path
    done = subprocess.run([str(hook), "origin", "url"], cwd=stage.top, input="", capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert stage.record("kamsync.stdin") == ""
    assert (stage.record("kamsync.args") or "").endswith("--\norigin\nurl\n")
