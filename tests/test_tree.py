"""Reading the manifest and mapped files from a commit (``--to REV``, the pre-push hook) or the work tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kamsync.core.errors import GitError, ManifestError, UsageError
from kamsync.core.model import Manifest, MappedFile
from kamsync.git.repo import GitRepo
from kamsync.git.tree import CommitTree, WorkTree, find_manifest_at, mapped_paths_at, top_relative
from kamsync.git.workspace import Workspace
from kamsync.manifest.parse import MAX_CODE_BYTES, load_manifest, read_code
from tests.gitutil import commit, git, new_repo, pin_git

MANIFEST = """\
version: 1
experiments:
  - id: 100
    dir: exp/100
    variations:
      - id: 200
        name: Red
        dir: red
"""
SECOND_EXPERIMENT = """\
  - id: 101
    dir: exp/101
"""
COMMON = "exp/100/common.js"
RED_JS = "exp/100/variations/red/variation.js"


@pytest.fixture(autouse=True)
def pinned_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pin_git(monkeypatch, tmp_path)


@pytest.fixture
def top(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose first commit maps experiment 100 with two files; the current folder is its top."""
    path = new_repo(tmp_path / "repo").resolve()
    commit(path, {"kamsync.yaml": MANIFEST, COMMON: "common();\n", RED_JS: "red();\n"}, "map experiment 100")
    monkeypatch.chdir(path)
    return path


def mapped(manifest: Manifest, path: str) -> MappedFile:
    return next(mf for mf in manifest.files() if mf.path == path)


def codes(manifest: Manifest, source: CommitTree | WorkTree) -> dict[str, str | None]:
    return {mf.path: code for mf, code in source.read_codes(manifest, manifest.files()).items()}


# --- reading files at a commit -----------------------------------------------------------------------------


def test_commit_tree_reads_a_commit_that_is_not_checked_out(top: Path) -> None:
    git(top, "checkout", "-q", "-b", "feature")
    commit(top, {RED_JS: "feature();\r\n"})
    git(top, "checkout", "-q", "main")
    (top / COMMON).write_text("uncommitted();\n")
    repo = GitRepo.discover(top)
    manifest = CommitTree(repo, "feature").load_manifest(top / "kamsync.yaml")

    assert codes(manifest, CommitTree(repo, "feature")) == {
        COMMON: "common();\n",
        RED_JS: "feature();\r\n",  # exactly as committed
        "exp/100/common.css": None,
        "exp/100/script.js": None,
        "exp/100/variations/red/variation.css": None,
    }
    assert codes(manifest, WorkTree(repo.top))[COMMON] == "uncommitted();\n"
    assert CommitTree(repo, "feature").read_code(manifest, mapped(manifest, RED_JS)) == "feature();\r\n"


def test_work_tree_reads_files_as_read_code_does(top: Path) -> None:
    manifest = load_manifest(top / "kamsync.yaml", top)
    (top / RED_JS).write_text("edited();\n")
    expected = {mf.path: read_code(manifest, mf, top) for mf in manifest.files()}
    assert codes(manifest, WorkTree(top)) == expected
    assert expected[RED_JS] == "edited();\n"


def test_a_file_deleted_at_the_commit_reads_as_absent_even_if_on_disk(top: Path) -> None:
    deleting = commit(top, {COMMON: None})
    (top / COMMON).write_text("untracked();\n")
    repo = GitRepo.discover(top)
    manifest = CommitTree(repo, deleting).load_manifest(top / "kamsync.yaml")
    assert codes(manifest, CommitTree(repo, deleting))[COMMON] is None
    assert codes(manifest, CommitTree(repo, "HEAD~1"))[COMMON] == "common();\n"


def test_a_non_utf8_file_at_the_commit_is_refused_as_on_disk(top: Path) -> None:
    commit(top, {RED_JS: b"ok();\n\xff\xfe();\n"})
    repo = GitRepo.discover(top)
    manifest = CommitTree(repo, "main").load_manifest(top / "kamsync.yaml")
    with pytest.raises(ManifestError) as at_commit:
        CommitTree(repo, "main").read_codes(manifest, manifest.files())
    assert str(at_commit.value) == (
        "main:kamsync.yaml:6: variation 200 (experiment 100) jsCode file 'exp/100/variations/red/variation.js' "
        "is not UTF-8 text (bad byte on its line 2); re-save it as UTF-8"
    )
    with pytest.raises(ManifestError) as on_disk:
        read_code(manifest, mapped(manifest, RED_JS), top)
    assert on_disk.value.problem == at_commit.value.problem


def test_a_file_over_1_mib_at_the_commit_is_refused_with_its_size(top: Path) -> None:
    head = commit(top, {RED_JS: "x" * (MAX_CODE_BYTES + 1), COMMON: "y" * MAX_CODE_BYTES})
    repo = GitRepo.discover(top)
    manifest = CommitTree(repo, head).load_manifest(top / "kamsync.yaml")
    tree = CommitTree(repo, head)
    assert tree.read_code(manifest, mapped(manifest, COMMON)) == "y" * MAX_CODE_BYTES  # 1 MiB is allowed
    with pytest.raises(ManifestError) as error:
        tree.read_codes(manifest, manifest.files())
    assert str(error.value) == (
        f"{head[:12]}:kamsync.yaml:6: variation 200 (experiment 100) jsCode file "
        "'exp/100/variations/red/variation.js' is 1048577 bytes, more than the 1 MiB (1048576 bytes) kamsync "
        "accepts; shrink or minify it"
    )


def test_a_folder_where_a_file_is_mapped_is_refused(top: Path) -> None:
    head = commit(top, {"exp/100/script.js/inner.js": "x\n"})
    repo = GitRepo.discover(top)
    manifest = CommitTree(repo, head).load_manifest(top / "kamsync.yaml")
    with pytest.raises(ManifestError) as error:
        CommitTree(repo, head).read_codes(manifest, manifest.files())
    assert error.value.problem == "experiment 100 globalScript file 'exp/100/script.js' is a folder; map a file instead"


def test_symlinks_are_followed_inside_the_commit_and_refused_when_they_leave_it(top: Path) -> None:
    (top / "shared").mkdir()
    (top / "shared" / "common.js").write_text("shared();\n")
    (top / COMMON).unlink()
    (top / COMMON).symlink_to("../../shared/common.js")
    (top / "exp/100/script.js").symlink_to("../../../outside.js")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "links")
    head = git(top, "rev-parse", "HEAD")
    repo = GitRepo.discover(top)
    manifest = CommitTree(repo, head).load_manifest(top / "kamsync.yaml")
    tree = CommitTree(repo, head)
    assert tree.read_code(manifest, mapped(manifest, COMMON)) == "shared();\n"
    with pytest.raises(ManifestError) as error:
        tree.read_code(manifest, mapped(manifest, "exp/100/script.js"))
    assert error.value.problem == (
        "experiment 100 globalScript file 'exp/100/script.js' goes through a symlink that resolves outside the "
        "repository (to ../outside.js); map a file inside the repository"
    )


def test_hook_variables_pointing_elsewhere_do_not_change_what_is_read(
    top: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = commit(top, {RED_JS: "pushed();\n"})
    other = new_repo(tmp_path / "other")
    commit(other, {"kamsync.yaml": "version: 1\nexperiments: []\n", RED_JS: "other();\n"})
    repo = GitRepo.discover(top)
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(other / ".git" / "objects"))
    manifest = CommitTree(repo, head).load_manifest(top / "kamsync.yaml")
    assert [e.id for e in manifest.experiments] == [100]
    assert codes(manifest, CommitTree(repo, head))[RED_JS] == "pushed();\n"
    assert mapped_paths_at(CommitTree(repo, head), top / "kamsync.yaml") >= {RED_JS}


def test_an_unknown_revision_is_named(top: Path) -> None:
    with pytest.raises(GitError) as error:
        CommitTree(GitRepo.discover(top), "no-such-branch")
    assert str(error.value) == f"`no-such-branch` is not a commit in {top}; check the name with `git log --oneline`"


# --- the manifest at a commit ------------------------------------------------------------------------------


def test_the_manifest_is_read_as_each_commit_has_it(top: Path) -> None:
    first = git(top, "rev-parse", "HEAD")
    second = commit(top, {"kamsync.yaml": MANIFEST + SECOND_EXPERIMENT, "exp/101/common.js": "c101();\n"})
    (top / "kamsync.yaml").write_text("version: 1\nexperiments: []\n")  # the work tree says something else
    repo = GitRepo.discover(top)

    at_first = CommitTree(repo, first).load_manifest(top / "kamsync.yaml")
    at_second = CommitTree(repo, second).load_manifest(top / "kamsync.yaml")
    assert [e.id for e in at_first.experiments] == [100]
    assert [e.id for e in at_second.experiments] == [100, 101]
    assert (at_second.path, at_second.root) == (str(top / "kamsync.yaml"), str(top))
    (top / "kamsync.yaml").write_text(MANIFEST + SECOND_EXPERIMENT)
    (top / "exp" / "101").mkdir(exist_ok=True)
    assert at_second.files() == load_manifest(top / "kamsync.yaml", top).files()  # as if it were on disk


def test_a_manifest_missing_at_the_commit_is_a_usage_error(top: Path) -> None:
    git(top, "checkout", "-q", "--orphan", "bare-start")
    git(top, "rm", "-q", "-r", "--cached", ".")
    commit(top, {"README.md": "nothing mapped\n"})
    (top / "kamsync.yaml").write_text(MANIFEST)
    with pytest.raises(UsageError) as error:
        CommitTree(GitRepo.discover(top), "bare-start").load_manifest(top / "kamsync.yaml")
    assert str(error.value) == (
        "kamsync.yaml does not exist in commit bare-start; commit the manifest there, or name one that commit "
        "holds with --manifest PATH"
    )


def test_a_bad_manifest_at_a_commit_is_located_at_rev_path_and_line(top: Path) -> None:
    commit(top, {"kamsync.yaml": MANIFEST.replace("    dir: exp/100\n", "    dir: exp/100\n    scirpt: s.js\n")})
    (top / "kamsync.yaml").write_text(MANIFEST)
    with pytest.raises(ManifestError) as error:
        CommitTree(GitRepo.discover(top), "HEAD").load_manifest(top / "kamsync.yaml")
    assert str(error.value).startswith(
        "HEAD:kamsync.yaml:5: unknown key 'scirpt' in experiment 100; did you mean 'script'? Allowed keys: "
    )


def test_a_non_utf8_manifest_at_a_commit_is_refused(top: Path) -> None:
    commit(top, {"kamsync.yaml": MANIFEST.encode() + b"# \xff\n"})
    with pytest.raises(ManifestError) as error:
        CommitTree(GitRepo.discover(top), "main").load_manifest(top / "kamsync.yaml")
    assert str(error.value) == "main:kamsync.yaml:9: the manifest is not UTF-8 text; re-save it as UTF-8"


def test_experiment_folders_are_checked_in_the_commit_not_on_disk(top: Path) -> None:
    head = commit(top, {"kamsync.yaml": MANIFEST + SECOND_EXPERIMENT})
    (top / "exp" / "101").mkdir()  # only on disk
    with pytest.raises(ManifestError) as error:
        CommitTree(GitRepo.discover(top), head).load_manifest(top / "kamsync.yaml")
    assert str(error.value) == (
        f"{head[:12]}:kamsync.yaml:10: 'dir' of experiment 101 (exp/101) does not exist; create the folder or fix "
        "'dir' (it is relative to the manifest's folder)"
    )
    fixed = commit(top, {"exp/101/common.js": "c();\n"})
    for path in (top / "exp").rglob("*.js"):
        path.unlink()  # folders present in the commit need not be on disk
    assert len(CommitTree(GitRepo.discover(top), fixed).load_manifest(top / "kamsync.yaml").experiments) == 2


def test_an_experiment_dir_that_is_a_file_in_the_commit_is_not_a_folder(top: Path) -> None:
    head = commit(top, {"kamsync.yaml": MANIFEST + SECOND_EXPERIMENT, "exp/101": "a file\n"})
    with pytest.raises(ManifestError, match=r"'dir' of experiment 101 \(exp/101\) is not a folder; "):
        CommitTree(GitRepo.discover(top), head).load_manifest(top / "kamsync.yaml")


def test_paths_leaving_the_repository_are_refused_by_their_text(top: Path) -> None:
    escaping = MANIFEST.replace("    dir: exp/100\n", "    dir: exp/100\n    script: ../x.js\n")
    head = commit(top, {"kamsync.yaml": escaping})
    with pytest.raises(ManifestError) as error:
        CommitTree(GitRepo.discover(top), head).load_manifest(top / "kamsync.yaml")
    assert str(error.value) == (
        f"{head[:12]}:kamsync.yaml:5: 'script' of experiment 100 ('../x.js') leaves the repository ({top}); "
        "use a path inside the repository"
    )


def test_a_manifest_in_a_subfolder_maps_paths_relative_to_it(top: Path) -> None:
    nested = MANIFEST.replace("dir: exp/100", "dir: ../exp/100")
    head = commit(top, {"site/kamsync.yaml": nested})
    repo = GitRepo.discover(top)
    manifest = CommitTree(repo, head).load_manifest(top / "site" / "kamsync.yaml")
    assert manifest.root == str(top / "site")
    assert {top_relative(top, manifest, mf.path) for mf in manifest.files()} >= {COMMON, RED_JS}
    assert codes(manifest, CommitTree(repo, head))["../" + COMMON] == "common();\n"


# --- finding the manifest in a commit ----------------------------------------------------------------------


def test_find_manifest_at_walks_up_in_the_commit(top: Path) -> None:
    (top / "kamsync.yaml").unlink()  # deleted in the work tree, still in the commit
    (top / "exp" / "100" / "deep").mkdir()
    tree = CommitTree(GitRepo.discover(top), "HEAD")
    assert find_manifest_at(tree, None, {}, top / "exp" / "100" / "deep") == top / "kamsync.yaml"
    assert find_manifest_at(tree, None, {}, top) == top / "kamsync.yaml"


def test_find_manifest_at_honours_the_option_and_the_variable(top: Path) -> None:
    head = commit(top, {"site/kamsync.yaml": MANIFEST.replace("dir: exp/100", "dir: ../exp/100")})
    tree = CommitTree(GitRepo.discover(top), head)
    assert find_manifest_at(tree, "site", {}, top) == top / "site" / "kamsync.yaml"
    assert find_manifest_at(tree, None, {"KAMSYNC_MANIFEST": "site/kamsync.yaml"}, top) == top / "site/kamsync.yaml"
    with pytest.raises(UsageError) as error:
        find_manifest_at(tree, "other/kamsync.yaml", {}, top)
    assert str(error.value) == (
        f"--manifest names {top}/other/kamsync.yaml, which does not exist in commit {head[:12]}; fix the path, "
        "or commit the manifest there"
    )


def test_find_manifest_at_says_when_the_commit_has_none(top: Path) -> None:
    head = commit(top, {"kamsync.yaml": None})
    with pytest.raises(UsageError) as error:
        find_manifest_at(CommitTree(GitRepo.discover(top), head), None, {}, top / "exp")
    assert str(error.value) == (
        f"commit {head[:12]} has no kamsync.yaml in {top}/exp and its parents up to {top}; pass --manifest PATH"
    )


# --- the workspace at a commit -----------------------------------------------------------------------------


def test_workspace_opened_at_a_commit_reads_it_and_plays_head(top: Path) -> None:
    first = git(top, "rev-parse", "HEAD")
    commit(top, {"kamsync.yaml": MANIFEST + SECOND_EXPERIMENT, "exp/101/common.js": "c();\n"})
    at_first = Workspace.open(None, {}, top / "exp", rev=first)
    assert [e.id for e in at_first.manifest.experiments] == [100]
    assert at_first.head == first
    assert at_first.source.read_code(at_first.manifest, mapped(at_first.manifest, RED_JS)) == "red();\n"
    assert at_first.top_relative(RED_JS) == RED_JS

    current = Workspace.open(None, {}, top)
    assert (current.head, current.tree) == ("HEAD", None)
    assert [e.id for e in current.manifest.experiments] == [100, 101]
    assert isinstance(current.source, WorkTree)


# --- the mapped paths the hook compares with a pushed range ------------------------------------------------


def test_mapped_paths_at_are_every_mapped_file_from_the_top(top: Path) -> None:
    head = commit(top, {"kamsync.yaml": MANIFEST + SECOND_EXPERIMENT, "exp/101/common.js": "c();\n"})
    tree = CommitTree(GitRepo.discover(top), head)
    manifest = tree.load_manifest(top / "kamsync.yaml")
    expected = {top_relative(top, manifest, mf.path) for mf in manifest.files()}
    assert len(expected) == 8
    assert mapped_paths_at(tree, top / "kamsync.yaml") == expected
    assert mapped_paths_at(tree, top / "kamsync.yaml") == expected  # remembered, same answer


def test_mapped_paths_at_follow_the_manifest_of_each_commit(top: Path) -> None:
    first = git(top, "rev-parse", "HEAD")
    second = commit(top, {"kamsync.yaml": MANIFEST + SECOND_EXPERIMENT, "exp/101/common.js": "c();\n"})
    repo = GitRepo.discover(top)
    for rev, count in ((first, 5), (second, 8), (first, 5), (second, 8)):
        assert len(mapped_paths_at(CommitTree(repo, rev), top / "kamsync.yaml")) == count


def test_mapped_paths_at_survive_a_damaged_memory_file(top: Path) -> None:
    repo = GitRepo.discover(top)
    expected = mapped_paths_at(CommitTree(repo, "HEAD"), top / "kamsync.yaml")
    memory = repo.state_dir() / "mapped-paths.json"
    assert json.loads(memory.read_text())["version"] == 1
    for damage in ("{not json", '{"entries": [{"key": 1}]}', "[]"):
        memory.write_text(damage)
        assert mapped_paths_at(CommitTree(repo, "HEAD"), top / "kamsync.yaml") == expected
    assert json.loads(memory.read_text())["version"] == 1


def test_mapped_paths_at_refuse_a_commit_without_the_manifest(top: Path) -> None:
    head = commit(top, {"kamsync.yaml": None})
    with pytest.raises(UsageError, match=r"^kamsync.yaml does not exist in commit "):
        mapped_paths_at(CommitTree(GitRepo.discover(top), head), top / "kamsync.yaml")


# --- what no commit's manifest may do ------------------------------------------------------------------------

HOOK_SCRIPT = MANIFEST.replace("    dir: exp/100\n", "    dir: exp/100\n    script: .git/hooks/pre-push\n")
BOMB = (
    "version: 1\nexperiments: []\nl0: &l0 ["
    + ", ".join(['"lol"'] * 9)
    + "]\n"
    + "".join(f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]\n" for n in range(1, 6))
)
HOSTILE_AT_COMMIT = {
    "a path into .git": (HOOK_SCRIPT, 5, ".git folder"),
    "an alias bomb": (BOMB, 7, "aliases expand the manifest"),
    "deep nesting": ("version: 1\nexperiments: " + "[" * 3000 + "]" * 3000 + "\n", 2, "deeper than 32"),
    "a python tag": ("version: 1\nexperiments: !!python/object/apply:os.system ['x']\n", 2, "YAML tag"),
}


@pytest.mark.parametrize("fast", [False, True], ids=["full parse", "the hook's fast parse"])
@pytest.mark.parametrize("case", sorted(HOSTILE_AT_COMMIT))
def test_a_hostile_manifest_at_a_commit_is_refused_at_rev_path_line(top: Path, case: str, fast: bool) -> None:
    text, line, words = HOSTILE_AT_COMMIT[case]
    head = commit(top, {"kamsync.yaml": text})
    tree = CommitTree(GitRepo.discover(top), head)

    with pytest.raises(ManifestError) as caught:
        tree.load_manifest(top / "kamsync.yaml", fast=fast)

    assert str(caught.value).startswith(f"{head[:12]}:kamsync.yaml:{line}: "), str(caught.value)
    assert words in str(caught.value)


def test_the_hooks_mapped_paths_refuse_a_hostile_manifest_and_remember_nothing(top: Path) -> None:
    repo = GitRepo.discover(top)
    memory = repo.git_dir / "kamsync" / "mapped-paths.json"
    for text, line, words in HOSTILE_AT_COMMIT.values():
        head = commit(top, {"kamsync.yaml": text})
        with pytest.raises(ManifestError) as caught:
            mapped_paths_at(CommitTree(repo, head), top / "kamsync.yaml")
        assert str(caught.value).startswith(f"{head[:12]}:kamsync.yaml:{line}: ") and words in str(caught.value)
        assert not memory.exists()


def test_a_commit_read_in_a_repository_with_a_separate_git_dir_refuses_that_dir(tmp_path: Path) -> None:
    top = tmp_path / "site"
    top.mkdir()
    git(top, "-c", "init.defaultBranch=main", "init", "-q", "--separate-git-dir", str(top / "meta"))
    manifest = MANIFEST.replace("    dir: exp/100\n", "    dir: exp/100\n    script: meta/hooks/pre-push\n")
    head = commit(top, {"kamsync.yaml": manifest, COMMON: "common();\n"})
    repo = GitRepo.discover(top)
    assert repo.git_dirs == ((top / "meta").resolve(),)

    with pytest.raises(ManifestError) as caught:
        CommitTree(repo, head).load_manifest(top / "kamsync.yaml", fast=True)

    assert str(caught.value).startswith(f"{head[:12]}:kamsync.yaml:5: 'script' of experiment 100"), str(caught.value)
    assert "is inside the repository's git directory" in str(caught.value)


def test_a_linked_worktree_knows_both_of_its_git_dirs(top: Path, tmp_path: Path) -> None:
    git(top, "worktree", "add", "-q", "-b", "side", str(tmp_path / "side"))
    repo = GitRepo.discover(tmp_path / "side")
    assert repo.git_dirs == ((top / ".git" / "worktrees" / "side").resolve(), (top / ".git").resolve())


def test_many_paths_get_the_blob_ids_each_path_asked_alone_gets(top: Path) -> None:
    files = {f"many/f{n}.js": f"f({n});\n" for n in range(80)}
    commit(top, {**files, "many/run.sh": "#!/bin/sh\n", "real/inner.js": "inner();\n"}, "many files")
    git(top, "update-index", "--chmod=+x", "many/run.sh")
    (top / "many" / "link.js").symlink_to("f1.js")
    (top / "linked").symlink_to("real")
    git(top, "add", "many/link.js", "linked")
    head = commit(top, {}, "links")
    asked = [*files, "many/run.sh", "many/link.js", "linked/inner.js", "linked", "linked/none.js", "many/none.js"]
    tree = CommitTree(GitRepo.discover(top), head)

    together = tree.blob_ids_at(asked)

    assert together == {rel: next(iter(tree.blob_ids_at([rel]).values())) for rel in asked}
    assert together["many/link.js"] == together["many/f1.js"] is not None
    assert together["linked/inner.js"] is not None
    assert (together["many/none.js"], together["linked"]) == (None, None)
