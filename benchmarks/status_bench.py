"""CPU of `kamsync status` at scale, against its floor. Not a test.

For each case, a sandbox on 127.0.0.1 holds V variations in V/4 experiments; a real git repository maps every
variation's JS and CSS (2 V mapped files) with the sandbox's values, over 100 commits of history (the last ones
change a few mapped files, so that status has drift to explain). Rate limits are lifted on both sides.

- status CPU: user + system CPU of one `kamsync status --json` process and the git processes it starts, with a
  warm token cache and a record already written (the run a developer repeats all day);
- floor: the CPU one Python process spends parsing the same manifest with libyaml and reading, normalising and
  hashing every mapped file;
- ratio: status CPU / floor (goal: at most 4).

    .venv/bin/python benchmarks/status_bench.py                 # 250, 2,500 and 10,000 variations
    .venv/bin/python benchmarks/status_bench.py --variations 250  # a quick check

Exits 1 when a goal failed, 2 when status itself failed.
"""

from __future__ import annotations

import argparse
import compileall
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchenv import clean_env, git

import kamsync
from kamsync.sandbox import Sandbox

LIFTED = "1000000/1s"
COMMITS = 100
GOAL = 4.0
PER_EXPERIMENT = 4

# What the floor process does: parse the manifest with libyaml (nodes carry their line numbers), then read,
# normalise and hash every mapped file.
FLOOR = r"""
import hashlib, sys
from pathlib import Path
import yaml
root = Path(sys.argv[1])
node = yaml.compose((root / "kamsync.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
paths = []
for experiment in node.value[1][1].value:
    exp = {k.value: v for k, v in experiment.value}
    base = exp["dir"].value
    for variation in exp["variations"].value:
        var = {k.value: v for k, v in variation.value}
        for name in ("variation.js", "variation.css"):
            paths.append(f"{base}/variations/{var['dir'].value}/{name}")
digest = hashlib.sha256()
for rel in paths:
    text = (root / rel).read_bytes().decode("utf-8").replace("\r\n", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    digest.update(hashlib.sha256("\n".join(lines).encode()).digest())
print(len(paths))
"""


@dataclass(frozen=True, slots=True)
class Outcome:
    variations: int
    files: int
    status_cpu: float
    floor_cpu: float
    requests: int

    @property
    def ratio(self) -> float:
        return self.status_cpu / self.floor_cpu if self.floor_cpu else float("inf")


def code(variation_id: int, kind: str) -> str:
    if kind == "js":
        return f"// variation {variation_id}\ndocument.body.dataset.v{variation_id} = 'on';\n" * 3
    return f".v{variation_id} {{ color: red; }}\n.v{variation_id} b {{ font-weight: 700; }}\n" * 3


def populate(sandbox: Sandbox, variations: int) -> dict[int, list[int]]:
    mapping: dict[int, list[int]] = {}
    for n in range(variations // PER_EXPERIMENT):
        experiment_id = sandbox.store.add_experiment(
            f"Bench {n}", variations=[{"name": f"Variation {i}"} for i in range(PER_EXPERIMENT)]
        )
        ids = list(sandbox.store.get("experiment", experiment_id)["variations"])
        for variation_id in ids:
            sandbox.store.ui_edit_variation(
                variation_id, jsCode=code(variation_id, "js"), cssCode=code(variation_id, "css")
            )
        mapping[experiment_id] = ids
    return mapping


def build_repo(repo: Path, env: Mapping[str, str], mapping: Mapping[int, list[int]]) -> list[Path]:
    lines = ["version: 1", "experiments:"]
    files: list[Path] = []
    for experiment_id, ids in mapping.items():
        lines += [f"  - id: {experiment_id}", f"    dir: experiments/{experiment_id}", "    variations:"]
        for variation_id in ids:
            lines += [
                f"      - id: {variation_id}",
                f"        name: Variation {variation_id}",
                f"        dir: v{variation_id}",
            ]
            folder = repo / "experiments" / str(experiment_id) / "variations" / f"v{variation_id}"
            folder.mkdir(parents=True)
            for kind, name in (("js", "variation.js"), ("css", "variation.css")):
                (folder / name).write_text(code(variation_id, kind), encoding="utf-8")
                files.append(folder / name)
    (repo / "kamsync.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    git(repo, env, "init", "-q", "-b", "main")
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-q", "-m", "Map the benchmark experiments")
    # History: 99 more commits, each touching a few mapped files and putting them back, the last one leaving
    # ten files changed (drift for status to explain).
    step = max(1, len(files) // 400)
    for n in range(1, COMMITS):
        touched = files[(n * step) % len(files) :: len(files) // 4 or 1][:4]
        for path in touched:
            with path.open("a", encoding="utf-8") as handle:
                handle.write(f"// edit {n}\n")
        git(repo, env, "commit", "-q", "-a", "-m", f"Edit {n}")
        if n < COMMITS - 1:
            for path in touched:
                text = path.read_text(encoding="utf-8")
                path.write_text(text[: text.rindex("// edit")], encoding="utf-8")
    return files


def cpu_of(argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """User + system CPU of the command and the processes it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(list(argv), cwd=cwd, env=dict(env), capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc


def run_case(variations: int, repeats: int) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="kamsync-status-bench-") as tmp:
        root = Path(tmp)
        home, repo = root / "home", root / "repo"
        home.mkdir()
        repo.mkdir()
        (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n", encoding="utf-8")
        with Sandbox(rate_limit=LIFTED) as sandbox:
            print(f"{variations} variations: building the sandbox and the repository…", file=sys.stderr, flush=True)
            mapping = populate(sandbox, variations)
            files = build_repo(repo, env := clean_env(home, sandbox.url, KAMSYNC_RATE_LIMIT=LIFTED), mapping)
            status = [sys.executable, "-m", "kamsync", "status", "--json"]
            warm, proc = cpu_of(status, repo, env)  # token cache and record written: the everyday case follows
            if proc.returncode not in (0, 1):
                raise SystemExit(f"kamsync status exited {proc.returncode}\n{proc.stderr}")
            sandbox.store.clear_requests()
            cpus = []
            for _ in range(repeats):
                cpu, proc = cpu_of(status, repo, env)
                if proc.returncode not in (0, 1):
                    raise SystemExit(f"kamsync status exited {proc.returncode}\n{proc.stderr}")
                cpus.append(cpu)
            requests = len(sandbox.store.requests) // repeats
            entries = json.loads(proc.stdout)["entries"]
            floors = [cpu_of([sys.executable, "-c", FLOOR, str(repo)], repo, env)[0] for _ in range(repeats)]
        print(
            f"{variations} variations: first status {warm:.2f} s CPU; {len(entries)} fields listed",
            file=sys.stderr,
            flush=True,
        )
        return Outcome(variations, len(files), statistics.median(cpus), statistics.median(floors), requests)


def markdown_table(outcomes: Sequence[Outcome]) -> str:
    rows = [
        "| variations | mapped files | requests | status CPU (s) | floor CPU (s) | ratio |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    rows += [
        f"| {o.variations:,} | {o.files:,} | {o.requests} | {o.status_cpu:.2f} | {o.floor_cpu:.2f} | {o.ratio:.1f}× |"  # noqa: RUF001
        for o in outcomes
    ]
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--variations", default="250,2500,10000", help="comma-separated case sizes")
    parser.add_argument("--repeats", type=int, default=5, help="runs per case; the median CPU counts")
    args = parser.parse_args(argv)
    # An installed kamsync has its bytecode (pip compiles it); a checkout run with PYTHONDONTWRITEBYTECODE set
    # would compile every module from source in every status run, a cost no user pays.
    compileall.compile_dir(str(Path(kamsync.__file__).parent), quiet=1)
    outcomes = [run_case(int(v), args.repeats) for v in args.variations.split(",") if v.strip()]
    print(f"kamsync status, {COMMITS} commits of history, rate limits lifted; CPU seconds, median of {args.repeats} runs\n")
    print(markdown_table(outcomes))
    worst = max(o.ratio for o in outcomes)
    print()
    held = "every case" if worst <= GOAL else "GOAL FAILED: not every case"
    print(f"{held} within {GOAL:.0f} times its floor (worst {worst:.1f})")
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
