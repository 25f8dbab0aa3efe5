"""Time History.find and GitRepo.uncommitted on a repository the size of a large kamsync project.

Builds (with `git fast-import`, in a temp dir) 2,000 mapped files and 1,000 commits on main that each change
a few files, plus a 50-commit side branch and a tag every 100 commits; then prints timings. Not a test.

    .venv/bin/python benchmarks/history_bench.py
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from kamsync.core.normalize import normalize
from kamsync.git.history import History
from kamsync.git.repo import GitRepo

FILES = 2000
COMMITS = 1000
SIDE_COMMITS = 50
CHANGES_PER_COMMIT = 5
T = TypeVar("T")


def path_of(i: int) -> str:
    return f"experiments/{i // 5}/variations/{i}/variation.js"


def content(i: int, version: int) -> str:
    body = "\n".join(f"  document.body.dataset.v{i}_{line} = {version};" for line in range(30))
    return f"// file {i} version {version}\n(function () {{\n{body}\n}})();\n"


def build(top: Path) -> dict[int, list[str]]:
    """Create the repository; return every committed content per file, oldest first."""
    rng = random.Random(42)
    versions: dict[int, list[str]] = {i: [content(i, 0)] for i in range(FILES)}
    out: list[bytes] = []

    def blob(text: str) -> None:
        data = text.encode()
        out.append(b"data %d\n" % len(data) + data + b"\n")

    def commit(ref: str, mark: int, parent: int | None, changes: dict[int, str]) -> None:
        stamp = 1_700_000_000 + mark
        out.append(f"commit {ref}\nmark :{mark}\ncommitter Bench <b@example.com> {stamp} +0000\n".encode())
        blob(f"commit {mark}")
        if parent is not None:
            out.append(f"from :{parent}\n".encode())
        for i, text in changes.items():
            out.append(f"M 100644 inline {path_of(i)}\n".encode())
            blob(text)

    commit("refs/heads/main", 1, None, {i: versions[i][0] for i in range(FILES)})
    for mark in range(2, COMMITS + 1):
        changed = rng.sample(range(FILES), CHANGES_PER_COMMIT)
        for i in changed:
            versions[i].append(content(i, len(versions[i])))
        commit("refs/heads/main", mark, mark - 1, {i: versions[i][-1] for i in changed})
        if mark % 100 == 0:
            out.append(f"reset refs/tags/v{mark // 100}\nfrom :{mark}\n\n".encode())
    for n in range(SIDE_COMMITS):
        mark = COMMITS + 1 + n
        changed = rng.sample(range(FILES), CHANGES_PER_COMMIT)
        for i in changed:
            versions[i].append(content(i, len(versions[i])))
        commit("refs/heads/side", mark, 900 if n == 0 else mark - 1, {i: versions[i][-1] for i in changed})

    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", str(top)], check=True, env=env)
    subprocess.run(["git", "-C", str(top), "fast-import", "--quiet"], input=b"".join(out), check=True, env=env)
    subprocess.run(["git", "-C", str(top), "checkout", "-q", "-f", "main"], check=True, env=env)
    return versions


def timed(label: str, action: Callable[[], T], runs: int = 5) -> T:
    best = float("inf")
    result: T
    for _ in range(runs):
        start = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<62} best of {runs}: {best * 1000:8.1f} ms")
    return result


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="kamsync-bench-") as tmp:
        top = Path(tmp) / "repo"
        start = time.perf_counter()
        versions = build(top)
        print(f"built {FILES} files, {COMMITS}+{SIDE_COMMITS} commits in {time.perf_counter() - start:.1f} s")
        repo = GitRepo.discover(top)

        # The 20 most edited files, asking for their first, latest and an unknown value each.
        busiest = sorted(versions, key=lambda i: -len(versions[i]))[:20]
        wanted = {path_of(i): [versions[i][0], versions[i][-1], "unknown();"] for i in busiest}
        found = timed("History.find, 20 paths x 3 values", lambda: History(repo).find(wanted))
        print(f"  {len(found)} sightings, {sum(s.in_head for s in found.values())} in HEAD")

        everything = {path_of(i): [versions[i][-1]] for i in range(FILES)}
        found = timed("History.find, all 2000 paths x 1 value", lambda: History(repo).find(everything), runs=3)
        print(f"  {len(found)} sightings")

        for i in range(0, FILES, 400):  # a few local edits, so status has something to report
            (top / path_of(i)).write_text(normalize(versions[i][-1]) + "\n// edited\n")
        (top / "experiments" / "new.js").write_text("new\n")
        paths = [path_of(i) for i in range(FILES)] + ["experiments/new.js"]
        dirty = timed("GitRepo.uncommitted, 2001 paths", lambda: repo.uncommitted(paths))
        print(f"  {len(dirty)} uncommitted")
        timed("GitRepo.head (one git call, for scale)", repo.head)


if __name__ == "__main__":
    main()
