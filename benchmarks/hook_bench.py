"""Time what the pre-push hook does when a push changes no mapped file (budget: median ≤ 0.3 s).

Builds (with `git fast-import`, in a temp dir) a repository whose kamsync.yaml maps 2,000 files (200 experiments,
100 with 3 variations and 100 with 4: 200 x 3 experiment fields + 700 x 2 variation fields), with 1,000 commits
on main, and a bare remote that has all but the last 10; those 10 change only documentation. Then it times,
median over the runs, each building block the hook calls, the whole chain in this process, and the whole
chain in a fresh Python process (interpreter start and imports included). Not a test.

    .venv/bin/python benchmarks/hook_bench.py [--runs 15]
    .venv/bin/python benchmarks/hook_bench.py --real-push     # also time `git push` through the installed hook

``--real-push`` installs kamsync's hook (this interpreter) and times ``git push --dry-run``, which runs the
pre-push hook but sends nothing; it needs ``kamsync hook run pre-push``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kamsync.git.prepush import base_candidates, decide_all, parse_pre_push
from kamsync.git.repo import GitRepo
from kamsync.git.tree import CommitTree, mapped_paths_at

EXPERIMENTS = 200
COMMITS = 1000
UNPUSHED = 10  # the last commits, which touch only docs/
PUSHED_FILES_PER_COMMIT = 5


@dataclass(frozen=True)
class Stage:
    top: Path
    remote: Path
    local_id: str
    remote_id: str
    mapped: int

    @property
    def stdin(self) -> str:
        return f"refs/heads/main {self.local_id} refs/heads/main {self.remote_id}\n"


def _variations(e: int) -> int:
    return 3 if e % 2 == 0 else 4


def mapped_files() -> list[str]:
    files: list[str] = []
    for e in range(EXPERIMENTS):
        base = f"experiments/{100000 + e}"
        files += [f"{base}/common.js", f"{base}/common.css", f"{base}/script.js"]
        for v in range(_variations(e)):
            files += [f"{base}/variations/v{v}/variation.js", f"{base}/variations/v{v}/variation.css"]
    return files


def manifest_text() -> str:
    lines = ["version: 1", "experiments:"]
    for e in range(EXPERIMENTS):
        lines += [f"  - id: {100000 + e}", f"    dir: experiments/{100000 + e}", "    variations:"]
        for v in range(_variations(e)):
            lines += [f"      - id: {200000 + e * 10 + v}", f"        name: Variation {v}", f"        dir: v{v}"]
    return "\n".join(lines) + "\n"


def build(tmp: Path) -> Stage:
    files = mapped_files()
    out: list[bytes] = []

    def data(text: str) -> bytes:
        raw = text.encode()
        return b"data %d\n" % len(raw) + raw + b"\n"

    def commit(mark: int, changes: dict[str, str]) -> None:
        out.append(
            f"commit refs/heads/main\nmark :{mark}\ncommitter B <b@example.com> {1_700_000_000 + mark} +0000\n".encode()
        )
        out.append(data(f"commit {mark}"))
        if mark > 1:
            out.append(f"from :{mark - 1}\n".encode())
        for path, text in changes.items():
            out.append(f"M 100644 inline {path}\n".encode() + data(text))

    commit(1, {"kamsync.yaml": manifest_text(), "README.md": "bench\n", **{f: f"// {f}\n" for f in files}})
    for mark in range(2, COMMITS + 1):
        if mark > COMMITS - UNPUSHED:
            commit(mark, {f"docs/page{mark}.md": f"page {mark}\n"})
        else:
            start = (mark * PUSHED_FILES_PER_COMMIT) % len(files)
            chosen = files[start : start + PUSHED_FILES_PER_COMMIT]
            commit(mark, {f: f"// {f} v{mark}\n" for f in chosen})

    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    top, remote = tmp / "repo", tmp / "remote.git"
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", str(top)], check=True, env=env)
    subprocess.run(["git", "-C", str(top), "fast-import", "--quiet"], input=b"".join(out), check=True, env=env)
    subprocess.run(["git", "-C", str(top), "checkout", "-q", "-f", "main"], check=True, env=env)
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", "--bare", str(remote)], check=True, env=env)
    git = ["git", "-C", str(top)]
    subprocess.run([*git, "remote", "add", "origin", str(remote)], check=True, env=env)
    remote_id = subprocess.run([*git, "rev-parse", f"main~{UNPUSHED}"], check=True, env=env, capture_output=True)
    pushed = remote_id.stdout.decode().strip()
    subprocess.run([*git, "push", "-q", "origin", f"{pushed}:refs/heads/main"], check=True, env=env)
    subprocess.run([*git, "fetch", "-q", "origin"], check=True, env=env)
    local = subprocess.run([*git, "rev-parse", "main"], check=True, env=env, capture_output=True)
    return Stage(top, remote, local.stdout.decode().strip(), pushed, len(files))


# --- what the hook does, step by step ----------------------------------------------------------------------


def hook_chain(top: Path, stdin: str, remote: str = "origin") -> set[str]:
    """The building blocks in the hook's order: the mapped files the push changes (empty here)."""
    repo = GitRepo.discover(top)
    refs = parse_pre_push(stdin)
    default = repo.default_branch()

    def merge_base(local_id: str, branch: str) -> str | None:
        for candidate in base_candidates(remote, default, branch):
            if repo.commit_exists(candidate):
                return repo.merge_base(local_id, candidate)
        return None

    changed_mapped: set[str] = set()
    for decision in decide_all(refs, [default], known=repo.commit_exists, merge_base=merge_base):
        if decision.range is None:
            continue
        changed = repo.changed_paths(decision.range.from_rev, decision.range.to_rev)
        if not changed:
            continue
        tree = CommitTree(repo, decision.range.to_rev)
        changed_mapped |= changed & mapped_paths_at(tree, repo.top / "kamsync.yaml")
    return changed_mapped


FRESH_PROCESS = """\
import sys, time
start = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from hook_bench import hook_chain
found = hook_chain(__import__("pathlib").Path(sys.argv[2]), sys.stdin.read())
assert not found, found
"""


def time_command(
    argv: Sequence[str], *, cwd: Path, runs: int, stdin: str = "", env: dict[str, str] | None = None
) -> list[float]:
    """Wall times of running ``argv`` ``runs`` times; stops with its error output if it fails."""
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, text=True, env=env, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"`{' '.join(argv)}` failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return times


def time_call(action: Callable[[], object], runs: int) -> list[float]:
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def row(label: str, times: list[float]) -> None:
    print(f"{label:<58} median {statistics.median(times) * 1000:7.1f} ms   max {max(times) * 1000:7.1f} ms")


def time_real_push(stage: Stage, runs: int, *, cold: bool = False) -> list[float]:
    """Install kamsync's hook (this interpreter) and time `git push --dry-run`, which runs it. ``cold``: forget
    the remembered mapped paths before each push (the first push after a clone or a manifest change)."""
    from kamsync.hook.install import install

    repo = GitRepo.discover(stage.top)
    install(repo, branches=["main"], python=sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    argv = ["git", "push", "--dry-run", "-q", "origin", "main"]
    if not cold:
        return time_command(argv, cwd=stage.top, runs=runs, env=env)
    times: list[float] = []
    for _ in range(runs):
        (repo.state_dir() / "mapped-paths.json").unlink(missing_ok=True)
        times += time_command(argv, cwd=stage.top, runs=1, env=env)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--real-push", action="store_true", help="also time git push through the installed hook")
    args = parser.parse_args()
    runs: int = args.runs

    with tempfile.TemporaryDirectory(prefix="kamsync-hook-bench-") as tmp:
        start = time.perf_counter()
        stage = build(Path(tmp))
        print(
            f"built {stage.mapped} mapped files, {COMMITS} commits, remote {UNPUSHED} behind "
            f"in {time.perf_counter() - start:.1f} s; {runs} runs each\n"
        )
        repo = GitRepo.discover(stage.top)
        memory = repo.state_dir() / "mapped-paths.json"

        row("GitRepo.discover", time_call(lambda: GitRepo.discover(stage.top), runs))
        row("parse_pre_push (one ref)", time_call(lambda: parse_pre_push(stage.stdin), runs))
        row("GitRepo.commit_exists (remote id)", time_call(lambda: repo.commit_exists(stage.remote_id), runs))
        changed = repo.changed_paths(stage.remote_id, stage.local_id)
        row(
            f"GitRepo.changed_paths ({len(changed)} paths changed)",
            time_call(lambda: repo.changed_paths(stage.remote_id, stage.local_id), runs),
        )

        def cold() -> frozenset[str]:
            memory.unlink(missing_ok=True)
            return mapped_paths_at(CommitTree(repo, stage.local_id), repo.top / "kamsync.yaml")

        mapped = cold()
        row(f"mapped_paths_at, first time (parses {len(mapped)} paths)", time_call(cold, max(3, runs // 5)))
        cold()
        row(
            "mapped_paths_at, remembered",
            time_call(lambda: mapped_paths_at(CommitTree(repo, stage.local_id), repo.top / "kamsync.yaml"), runs),
        )
        row("intersect changed & mapped", time_call(lambda: changed & mapped, runs))
        row("whole chain, this process", time_call(lambda: hook_chain(stage.top, stage.stdin), runs))
        fresh = [sys.executable, "-c", FRESH_PROCESS, str(Path(__file__).parent), str(stage.top)]
        row("whole chain, fresh python process", time_command(fresh, cwd=stage.top, runs=runs, stdin=stage.stdin))
        row(
            "python -c pass (interpreter start, for scale)",
            time_command([sys.executable, "-c", "pass"], cwd=stage.top, runs=runs),
        )
        row(
            "python -c 'import kamsync.cli.main' (CLI imports, for scale)",
            time_command([sys.executable, "-c", "import kamsync.cli.main"], cwd=stage.top, runs=runs),
        )
        if args.real_push:
            if shutil.which("git") is None:
                raise SystemExit("git not found")
            row("git push --dry-run through the installed hook", time_real_push(stage, runs))
            row("  the same, first push after a manifest change", time_real_push(stage, runs, cold=True))


if __name__ == "__main__":
    main()
