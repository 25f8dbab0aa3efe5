"""The pre-push hook, end to end: `kamsync hook install`, then a real `git push` to a bare remote.

The hook runs the real kamsync (the interpreter running these tests) against the sandbox; the sandbox counts
every request, so "no request" is measured, not assumed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kamsync.core.normalize import normalize
from tests.gitutil import git, run_git
from tests.helpers import api_requests, commit_all

BIG_HEADLINE_JS = "experiments/100001-homepage-hero/variations/big-headline/variation.js"
RED_BUTTON_JS = "experiments/100001-homepage-hero/variations/red-button/variation.js"
BADGES_JS = "experiments/100002-checkout-trust-badges/variations/badges-above-total/variation.js"


@pytest.fixture
def remote(tmp_path: Path, repo: Path, env: dict[str, str]) -> Path:
    """A bare remote `origin` holding main as committed by the `repo` fixture."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare), env=env)
    git(repo, "remote", "add", "origin", str(bare), env=env)
    git(repo, "push", "-q", "origin", "main", env=env)
    git(repo, "fetch", "-q", "origin", env=env)
    git(repo, "remote", "set-head", "origin", "main", env=env)
    return bare


def push(repo: Path, env: dict[str, str], *args: str, extra: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """``git push`` in the kamsync environment ``env``, changed by ``extra`` (None removes a variable)."""
    environ = {k: v for k, v in {**env, **(extra or {})}.items() if v is not None}
    return run_git(repo, "push", *args, env=environ)


def remote_head(remote: Path, env: dict[str, str], branch: str = "main") -> str:
    return git(remote, "rev-parse", f"refs/heads/{branch}", env=env)


def edit(repo: Path, path: str, text: str, message: str) -> str:
    (repo / path).write_text(text)
    return commit_all(repo, message)


@pytest.fixture
def installed(kamsync, remote):  # type: ignore[no-untyped-def]
    def install(*args: str) -> None:
        result = kamsync("hook", "install", *args)
        assert result.code == 0, result.output

    return install


def test_a_push_that_changes_no_mapped_file_sends_no_request(repo, env, sandbox, remote, installed):
    installed()
    head = edit(repo, "NOTES.md", "not mapped\n", "notes")
    sandbox.store.clear_requests()
    done = push(repo, env, "origin", "main")
    assert done.returncode == 0, done.stderr
    assert "no mapped file changed in the pushed commits" in done.stderr
    assert api_requests(sandbox) == []
    assert remote_head(remote, env) == head


def test_check_mode_lets_a_push_through_when_kameleoon_has_no_edit_to_lose(repo, env, sandbox, remote, installed):
    installed()
    head = edit(repo, RED_BUTTON_JS, "// new red\n", "red button")
    done = push(repo, env, "origin", "main")
    assert done.returncode == 0, done.stderr
    assert "1 mapped field(s) checked: Kameleoon has no edit to lose" in done.stderr
    assert remote_head(remote, env) == head
    assert not api_requests(sandbox, "PATCH"), "check mode never writes"


def test_check_mode_blocks_a_push_over_an_edit_made_in_the_kameleoon_ui(repo, env, sandbox, remote, installed):
    installed()
    before = remote_head(remote, env)
    sandbox.store.ui_edit_variation(200002, jsCode="// edited in the UI\n")
    edit(repo, BIG_HEADLINE_JS, "// ours\n", "big headline")
    done = push(repo, env, "origin", "main")
    assert done.returncode != 0
    assert f"{BIG_HEADLINE_JS} (variation 200002 (experiment 100001) jsCode): edited in the Kameleoon UI" in done.stderr
    assert "kamsync pull" in done.stderr and "KAMSYNC_SKIP=1 git push" in done.stderr
    assert remote_head(remote, env) == before, "git did not push"


def test_check_mode_warns_about_a_live_experiment_and_lets_the_push_through(repo, env, remote, installed):
    installed()
    edit(repo, BADGES_JS, "// badges v2\n", "badges")
    done = push(repo, env, "origin", "main")
    assert done.returncode == 0, done.stderr
    assert "experiment 100002 is live (status active)" in done.stderr


def test_push_mode_sends_the_pushed_code_before_git_pushes(repo, env, sandbox, remote, installed):
    installed("--mode", "push")
    head = edit(repo, RED_BUTTON_JS, "// pushed red\n", "red button")
    done = push(repo, env, "origin", "main")
    assert done.returncode == 0, done.stderr
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "// pushed red"
    assert [r.path for r in api_requests(sandbox, "PATCH")] == ["/variations/200001"]
    assert remote_head(remote, env) == head


def test_push_mode_refuses_drift_and_a_live_experiment_and_then_git_does_not_push(
    repo, env, sandbox, remote, installed
):
    installed("--mode", "push")
    before = remote_head(remote, env)
    sandbox.store.ui_edit_variation(200002, jsCode="// edited in the UI\n")
    edit(repo, BIG_HEADLINE_JS, "// ours\n", "big headline")
    edit(repo, BADGES_JS, "// badges v2\n", "badges")
    done = push(repo, env, "origin", "main")
    assert done.returncode != 0
    assert "changed both here and in Kameleoon since commit" in done.stderr  # a conflict: both sides moved
    assert "the experiment is live" in done.stderr
    assert not api_requests(sandbox, "PATCH")
    assert remote_head(remote, env) == before


def test_push_mode_installed_with_allow_live_updates_a_live_experiment(repo, env, sandbox, remote, installed):
    installed("--mode", "push", "--allow-live")
    edit(repo, BADGES_JS, "// badges v2\n", "badges")
    done = push(repo, env, "origin", "main")
    assert done.returncode == 0, done.stderr
    assert normalize(sandbox.store.variation(200003)["jsCode"]) == "// badges v2"


def test_a_new_branch_is_examined_from_its_merge_base_with_the_default_branch(repo, env, sandbox, remote, installed):
    installed("--branch", "feature")
    sandbox.store.ui_edit_variation(200002, jsCode="// edited in the UI\n")  # not touched by the branch
    git(repo, "checkout", "-q", "-b", "feature", env=env)
    edit(repo, "NOTES.md", "feature notes\n", "notes")
    sandbox.store.clear_requests()
    done = push(repo, env, "origin", "feature")
    assert done.returncode == 0, done.stderr
    assert "no mapped file changed" in done.stderr
    assert api_requests(sandbox) == []

    edit(repo, RED_BUTTON_JS, "// feature red\n", "red")
    git(repo, "checkout", "-q", "-b", "feature-two", env=env)
    installed("--branch", "feature-two")
    done = push(repo, env, "origin", "feature-two")
    assert done.returncode == 0, done.stderr
    assert "1 mapped field(s) checked" in done.stderr, "only the field changed since main is examined"


def test_a_new_branch_with_no_common_history_examines_every_mapped_file(repo, env, sandbox, remote, installed):
    installed("--branch", "orphan")
    sandbox.store.ui_edit_variation(200002, jsCode="// edited in the UI\n")
    git(repo, "checkout", "-q", "--orphan", "orphan", env=env)
    commit_all(repo, "a new root")
    done = push(repo, env, "origin", "orphan")
    assert done.returncode != 0
    assert "edited in the Kameleoon UI" in done.stderr


def test_deleting_a_branch_examines_nothing(repo, env, sandbox, remote, installed):
    git(repo, "push", "-q", "origin", "main:release", env=env)
    installed("--branch", "release")
    sandbox.store.clear_requests()
    done = push(repo, env, "origin", "--delete", "release")
    assert done.returncode == 0, done.stderr
    assert api_requests(sandbox) == []
    assert git(remote, "branch", "--list", "release", env=env) == ""


def test_several_refs_in_one_push_are_each_examined(repo, env, sandbox, remote, installed):
    git(repo, "push", "-q", "origin", "main:release", env=env)
    installed("--branch", "main", "--branch", "release")
    git(repo, "checkout", "-q", "-b", "release", "--track", "origin/release", env=env)
    sandbox.store.ui_edit_variation(200002, jsCode="// edited in the UI\n")
    edit(repo, BIG_HEADLINE_JS, "// release headline\n", "release change")
    git(repo, "checkout", "-q", "main", env=env)
    edit(repo, "NOTES.md", "main notes\n", "main change")
    release_before = remote_head(remote, env, "release")
    done = push(repo, env, "--atomic", "origin", "main", "release")
    assert done.returncode != 0
    assert "release: examining the mapped files changed" in done.stderr
    assert "edited in the Kameleoon UI" in done.stderr
    assert remote_head(remote, env, "release") == release_before


def test_a_pushed_commit_that_is_not_checked_out_is_read_from_git(repo, env, sandbox, remote, installed):
    installed()
    git(repo, "checkout", "-q", "-b", "feature", env=env)
    sandbox.store.ui_edit_variation(200002, jsCode="// edited in the UI\n")
    edit(repo, BIG_HEADLINE_JS, "// from feature\n", "feature change")
    git(repo, "checkout", "-q", "main", env=env)
    done = push(repo, env, "origin", "feature:main")
    assert done.returncode != 0
    assert f"{BIG_HEADLINE_JS} (variation 200002" in done.stderr


def test_a_foreign_pre_push_hook_is_chained_and_still_runs(repo, env, sandbox, remote, kamsync, tmp_path):
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    seen = tmp_path / "foreign-saw.txt"
    foreign = hooks / "pre-push"
    foreign.write_text(f'#!/bin/sh\necho "$1" > {seen}\ncat >> {seen}\n')
    foreign.chmod(0o755)
    installed = kamsync("hook", "install")
    assert installed.code == 0, installed.output
    assert "pre-push.kamsync-chained, still runs first" in installed.stdout
    head = edit(repo, RED_BUTTON_JS, "// red\n", "red")
    done = push(repo, env, "origin", "main")
    assert done.returncode == 0, done.stderr
    lines = seen.read_text().splitlines()
    assert lines[0] == "origin"
    assert lines[1].startswith(f"refs/heads/main {head} refs/heads/main ")
    assert "mapped field(s) checked" in done.stderr, "kamsync ran after it"

    removed = kamsync("hook", "uninstall")
    assert removed.code == 0, removed.output
    assert foreign.read_text().startswith("#!/bin/sh\necho")


def test_the_hook_goes_where_core_hookspath_points(repo, env, sandbox, remote, kamsync):
    git(repo, "config", "core.hooksPath", ".githooks", env=env)
    installed = kamsync("hook", "install")
    assert installed.code == 0, installed.output
    assert "is inside the work tree (core.hooksPath)" in installed.stderr
    assert (repo / ".githooks" / "pre-push").exists()
    assert not (repo / ".git" / "hooks" / "pre-push").exists()
    sandbox.store.ui_edit_variation(200002, jsCode="// edited in the UI\n")
    edit(repo, BIG_HEADLINE_JS, "// ours\n", "big headline")
    done = push(repo, env, "origin", "main")
    assert done.returncode != 0 and "edited in the Kameleoon UI" in done.stderr


@pytest.mark.parametrize(
    ("args", "extra"),
    [(("--no-verify",), None), ((), {"KAMSYNC_SKIP": "1"})],
    ids=["no-verify", "KAMSYNC_SKIP"],
)
def test_a_push_can_skip_the_hook(args, extra, repo, env, sandbox, remote, installed):
    installed()
    sandbox.store.ui_edit_variation(200002, jsCode="// edited in the UI\n")
    head = edit(repo, BIG_HEADLINE_JS, "// ours\n", "big headline")
    sandbox.store.clear_requests()
    done = push(repo, env, *args, "origin", "main", extra=extra)
    assert done.returncode == 0, done.stderr
    assert remote_head(remote, env) == head
    assert api_requests(sandbox) == []


def test_without_credentials_check_mode_warns_and_lets_the_push_through(repo, env, remote, installed):
    installed()
    head = edit(repo, RED_BUTTON_JS, "// red\n", "red")
    no_credentials = {"KAMELEOON_CLIENT_ID": None, "KAMELEOON_CLIENT_SECRET": None}
    done = push(repo, env, "origin", "main", extra=no_credentials)  # type: ignore[arg-type]
    assert done.returncode == 0, done.stderr
    assert "Kameleoon was not checked; the push goes on" in done.stderr
    assert remote_head(remote, env) == head


def test_with_require_credentials_a_push_without_them_is_blocked(repo, env, remote, installed):
    installed("--require-credentials")
    before = remote_head(remote, env)
    edit(repo, RED_BUTTON_JS, "// red\n", "red")
    no_credentials = {"KAMELEOON_CLIENT_ID": None, "KAMELEOON_CLIENT_SECRET": None}
    done = push(repo, env, "origin", "main", extra=no_credentials)  # type: ignore[arg-type]
    assert done.returncode != 0
    assert "set KAMELEOON_CLIENT_ID and KAMELEOON_CLIENT_SECRET" in done.stderr
    assert remote_head(remote, env) == before


def _pre_commit_config(repo: Path) -> None:
    """Use the shipped `kamsync-check` definition as a local hook (pre-commit would otherwise clone the
    project and build a virtualenv for it); `kamsync` is on PATH in the test environment."""
    import yaml

    (shipped,) = yaml.safe_load((Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text())
    hook = {**shipped, "language": "system", "verbose": True}  # show the output of a passing hook too
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": [hook]}]}))


def test_the_pre_commit_framework_hook_checks_the_pushed_range(repo, env, sandbox, remote):
    import shutil
    import sys

    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    assert pre_commit is not None, "pre-commit is a test dependency"
    path = f"{Path(sys.executable).parent}:{env['PATH']}"
    environ = {**env, "PATH": path, "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home")}
    _pre_commit_config(repo)
    commit_all(repo, "pre-commit config")
    done = subprocess.run(
        [pre_commit, "install", "--hook-type", "pre-push"], cwd=repo, env=environ, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr

    head = edit(repo, RED_BUTTON_JS, "// red\n", "red")
    done = push(repo, environ, "origin", "main")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 mapped field(s) checked" in done.stdout + done.stderr
    assert remote_head(remote, env) == head

    sandbox.store.ui_edit_variation(200002, jsCode="// edited in the UI\n")
    edit(repo, BIG_HEADLINE_JS, "// ours\n", "big headline")
    done = push(repo, environ, "origin", "main")
    assert done.returncode != 0
    assert "edited in the Kameleoon UI" in done.stdout + done.stderr
    assert remote_head(remote, env) == head


def test_a_mapped_file_that_is_a_symlink_is_pushed_when_its_target_changes(repo, env, sandbox, remote, installed):
    shared = repo / "shared" / "red.js"
    shared.parent.mkdir()
    shared.write_text("// shared red v1\n")
    link = repo / RED_BUTTON_JS
    link.unlink()
    link.symlink_to("../../../../shared/red.js")
    commit_all(repo, "share the red button's code")
    git(repo, "push", "-q", "--no-verify", "origin", "main", env=env)
    installed("--mode", "push")
    edit(repo, "shared/red.js", "// shared red v2\n", "change the shared code only")
    done = push(repo, env, "origin", "main")
    assert done.returncode == 0, done.stderr
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "// shared red v2"


def test_files_of_the_repository_never_shadow_pythons_own_modules_in_the_hook(repo, env, remote, installed):
    installed()
    (repo / "dataclasses.py").write_text("raise SystemExit('the repository copy of dataclasses.py ran')\n")
    head = edit(repo, RED_BUTTON_JS, "// red\n", "red")
    done = push(repo, env, "origin", "main")
    assert done.returncode == 0, done.stderr
    assert "repository copy" not in done.stderr
    assert remote_head(remote, env) == head


def test_a_manifest_edit_that_maps_nothing_new_needs_no_check(repo, env, sandbox, remote, installed):
    installed("--require-credentials")
    manifest = repo / "kamsync.yaml"
    head = edit(repo, "kamsync.yaml", manifest.read_text() + "# a comment\n", "comment the manifest")
    sandbox.store.clear_requests()
    no_credentials = {"KAMELEOON_CLIENT_ID": None, "KAMELEOON_CLIENT_SECRET": None}
    done = push(repo, env, "origin", "main", extra=no_credentials)  # type: ignore[arg-type]
    assert done.returncode == 0, done.stderr
    assert "no mapped file changed in the pushed commits" in done.stderr
    assert api_requests(sandbox) == []
    assert remote_head(remote, env) == head


def test_a_manifest_edit_that_only_drops_a_mapping_needs_no_check(repo, env, sandbox, remote, installed):
    # The same rule as `kamsync push --from`: a file that is no longer mapped is nothing to push or check.
    installed("--require-credentials")
    manifest = repo / "kamsync.yaml"
    dropped = "      - id: 200002\n        name: Big headline\n        dir: big-headline\n"
    assert dropped in manifest.read_text()
    head = edit(repo, "kamsync.yaml", manifest.read_text().replace(dropped, ""), "stop mapping big-headline")
    sandbox.store.clear_requests()
    no_credentials = {"KAMELEOON_CLIENT_ID": None, "KAMELEOON_CLIENT_SECRET": None}
    done = push(repo, env, "origin", "main", extra=no_credentials)  # type: ignore[arg-type]
    assert done.returncode == 0, done.stderr
    assert "no mapped file changed in the pushed commits" in done.stderr
    assert api_requests(sandbox) == []
    assert remote_head(remote, env) == head


def test_a_push_to_a_branch_the_hook_does_not_watch_says_so(repo, env, sandbox, remote, installed):
    installed()
    git(repo, "checkout", "-q", "-b", "feature", env=env)
    edit(repo, RED_BUTTON_JS, "// red\n", "red")
    sandbox.store.clear_requests()
    done = push(repo, env, "origin", "feature")
    assert done.returncode == 0, done.stderr
    assert "feature: branch feature is not one the hook checks" in done.stderr
    assert api_requests(sandbox) == []


def test_check_mode_blocks_a_push_that_would_revert_code_from_a_commit_it_lacks(repo, env, sandbox, remote, installed):
    installed()
    git(repo, "checkout", "-q", "-b", "newer", env=env)
    edit(repo, BIG_HEADLINE_JS, "// newer headline\n", "newer headline")
    git(repo, "push", "-q", "--no-verify", "origin", "newer", env=env)
    sandbox.store.ui_edit_variation(200002, jsCode="// newer headline\n")  # what pushing `newer` would send
    git(repo, "checkout", "-q", "main", env=env)
    edit(repo, BIG_HEADLINE_JS, "// main's headline\n", "main headline")
    done = push(repo, env, "origin", "main")
    assert done.returncode != 0
    assert (
        "Kameleoon holds code from commit" in done.stderr and "which the pushed history does not contain" in done.stderr
    )


def test_push_mode_writes_nothing_for_any_ref_when_one_of_them_is_refused(repo, env, sandbox, remote, installed):
    git(repo, "push", "-q", "origin", "main:release", env=env)
    installed("--mode", "push", "--branch", "main", "--branch", "release")
    git(repo, "checkout", "-q", "-b", "release", "--track", "origin/release", env=env)
    edit(repo, RED_BUTTON_JS, "// release red\n", "release change")
    git(repo, "checkout", "-q", "main", env=env)
    sandbox.store.ui_edit_variation(200002, jsCode="// edited in the UI\n")
    edit(repo, BIG_HEADLINE_JS, "// main headline\n", "main change")
    done = push(repo, env, "origin", "release", "main")
    assert done.returncode != 0
    assert "nothing was written for any ref" in done.stderr
    assert not api_requests(sandbox, "PATCH")


def test_each_ref_of_a_push_is_examined_at_its_own_commit(repo, env, sandbox, remote, installed):
    git(repo, "push", "-q", "origin", "main:release", env=env)
    installed("--mode", "push", "--branch", "main", "--branch", "release")
    git(repo, "checkout", "-q", "-b", "release", "--track", "origin/release", env=env)
    edit(repo, RED_BUTTON_JS, "// release red\n", "release change")
    git(repo, "checkout", "-q", "main", env=env)
    edit(repo, BIG_HEADLINE_JS, "// main headline\n", "main change")
    done = push(repo, env, "origin", "release", "main")
    assert done.returncode == 0, done.stderr
    assert "main: examining" in done.stderr and "release: examining" in done.stderr
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "// release red"
    assert normalize(sandbox.store.variation(200002)["jsCode"]) == "// main headline"


def test_push_mode_stops_at_the_first_ref_that_fails_to_write(repo, env, sandbox, remote, installed):
    git(repo, "push", "-q", "origin", "main:release", env=env)
    installed("--mode", "push", "--branch", "main", "--branch", "release")
    git(repo, "checkout", "-q", "-b", "release", "--track", "origin/release", env=env)
    edit(repo, BIG_HEADLINE_JS, "// release headline\n", "release change")
    git(repo, "checkout", "-q", "main", env=env)
    edit(repo, RED_BUTTON_JS, "// main red\n", "main change")
    sandbox.store.set_locked("variation", 200001, True)  # main's write will fail (423)
    done = push(repo, env, "origin", "main", "release")  # git hands the hook main's line first
    assert done.returncode != 0
    assert "main was not fully written; stopped before release" in done.stderr
    assert "/variations/200002" not in [r.path for r in api_requests(sandbox, "PATCH")]


def test_a_hook_push_does_not_finish_another_branchs_interrupted_push(repo, env, sandbox, remote, installed, kamsync):
    # An interrupted push of red-button's field (locked: skipped, so its journal stays).
    (repo / RED_BUTTON_JS).write_text("// unfinished red\n")
    commit_all(repo, "red")
    sandbox.store.set_locked("variation", 200001, True)
    assert kamsync("push").code == 4
    git(repo, "checkout", "-q", "-b", "release", "HEAD~1", env=env)
    git(repo, "push", "-q", "--no-verify", "origin", "release", env=env)
    installed("--mode", "push", "--branch", "release")
    edit(repo, BIG_HEADLINE_JS, "// release headline\n", "release change")
    sandbox.store.clear_requests()
    done = push(repo, env, "origin", "release")
    assert done.returncode != 0
    assert "an interrupted kamsync push has not finished" in done.stderr
    assert "run `kamsync push` from the branch it came from" in done.stderr
    assert not api_requests(sandbox, "PATCH")


# --- the manifest the hook reads --------------------------------------------------------------------------


def move_into_web(repo: Path) -> Path:
    web = repo / "web"
    web.mkdir()
    git(repo, "mv", "kamsync.yaml", "experiments", "web/")
    commit_all(repo, "move the Kameleoon code into web/")
    return web


def test_a_hook_installed_beside_a_manifest_in_a_subfolder_checks_that_manifest(repo, env, sandbox, remote, kamsync):
    web = move_into_web(repo)
    assert push(repo, env, "origin", "main").returncode == 0
    installed = kamsync("hook", "install", cwd=web)
    assert installed.code == 0, installed.output
    assert "branches main, manifest web/kamsync.yaml" in installed.stdout
    before = remote_head(remote, env)
    sandbox.store.ui_edit_variation(200002, jsCode="// edited in the UI\n")
    edit(repo, f"web/{BIG_HEADLINE_JS}", "// ours\n", "big headline")

    done = push(repo, env, "origin", "main")

    assert done.returncode != 0, done.stderr
    assert f"{BIG_HEADLINE_JS} (variation 200002 (experiment 100001) jsCode): edited in the Kameleoon UI" in done.stderr
    assert remote_head(remote, env) == before, "git did not push"


def test_hook_install_refuses_where_it_finds_no_manifest(repo, kamsync, remote):
    move_into_web(repo)

    result = kamsync("hook", "install")  # at the top: web/kamsync.yaml is below, not on the way up

    assert result.code == 2, result.output
    assert "no kamsync.yaml found in" in result.stderr
    assert "install it from the folder of kamsync.yaml" in result.stderr
    assert not (repo / ".git" / "hooks" / "pre-push").exists()


def test_an_alias_bomb_in_the_pushed_manifest_is_refused_at_its_line_without_hanging_the_push(
    repo, env, sandbox, remote, installed
):
    installed()
    manifest = repo / "kamsync.yaml"
    text = manifest.read_text()
    bomb = "l0: &l0 [" + ", ".join(['"lol"'] * 9) + "]\n"  # and eight levels of nine aliases: 9**9 strings
    bomb += "".join(f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]\n" for n in range(1, 9))
    manifest.write_text(text + bomb)
    edit(repo, RED_BUTTON_JS, "// new red\n", "red button, and a manifest of a billion nodes")
    before = remote_head(remote, env)
    sandbox.store.clear_requests()

    done = push(repo, env, "origin", "main")  # unguarded, the hook expands it for hours: push() times out

    assert done.returncode != 0
    assert f":kamsync.yaml:{text.count(chr(10)) + 5}: aliases expand the manifest" in done.stderr, done.stderr
    assert remote_head(remote, env) == before
    assert api_requests(sandbox) == []
