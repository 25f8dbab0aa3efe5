"""Requests and wall time of `kamsync pull --site` bootstrapping a whole site. Not a test.

A sandbox on 127.0.0.1, with Kameleoon's real limits (50/10 s, 1000/1 h), holds the demo site grown to E
experiments of 2 variations each and P personalizations of 1 variation each. A new git repository, a cold token
cache and an empty rate ledger; then `kamsync pull --site demoshop01 --json`, and a second run with nothing new.
The count is compared with the formula: the token, the site lookup, and ⌊N/200⌋ + 1 pages for each list of N
objects (experiments, variations, personalizations).

    .venv/bin/python benchmarks/bootstrap_bench.py                   # 500 experiments
    .venv/bin/python benchmarks/bootstrap_bench.py --experiments 1000

Exits 1 when a count differs from the formula, 2 when kamsync failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchenv import clean_env, git

from kamsync.budget.windows import DEFAULT_RATE_LIMIT
from kamsync.sandbox import Sandbox

SITE = "demoshop01"
PER_PAGE = 200


def pages(n: int) -> int:
    return n // PER_PAGE + 1


def populate(sandbox: Sandbox, experiments: int, personalizations: int) -> tuple[int, int, int]:
    """Grow the demo site to ``experiments`` experiments and ``personalizations`` personalizations (straight into
    the store: no request is counted); the totals of each list."""
    store = sandbox.store
    for n in range(experiments - len(store.all("experiment"))):
        store.add_experiment(
            f"Bench experiment {n}",
            commonJavaScriptCode=f"// experiment {n}\n",
            variations=[{"name": "Control copy", "jsCode": f"// {n} a\n"}, {"name": "Challenger", "cssCode": ".b{}"}],
        )
    for n in range(personalizations - len(store.all("personalization"))):
        store.add_personalization(f"Bench personalization {n}", variations=[{"name": "Only", "jsCode": "// p\n"}])
    return len(store.all("experiment")), len(store.all("variation")), len(store.all("personalization"))


def run(repo: Path, env: dict[str, str]) -> tuple[dict[str, object], float]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "kamsync", "pull", "--site", SITE, "--json"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        raise SystemExit(2)
    payload: dict[str, object] = json.loads(proc.stdout)
    return payload, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=500)
    parser.add_argument("--personalizations", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Sandbox(rate_limit=DEFAULT_RATE_LIMIT) as sandbox:
        root = Path(tmp)
        e, v, p = populate(sandbox, args.experiments, args.personalizations)
        home, repo = root / "home", root / "repo"
        home.mkdir()
        repo.mkdir()
        (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
        env = clean_env(home, sandbox.url)
        git(repo, env, "init", "-q")
        rows = []
        for label, token in (("first run (cold token cache)", 1), ("run again, nothing new", 0)):
            sandbox.store.clear_requests()
            payload, wall = run(repo, env)
            formula = token + 1 + pages(e) + pages(v) + pages(p)
            served = len(sandbox.store.requests)
            added = len(payload["added_experiments"]) + len(payload["added_personalizations"])  # type: ignore[arg-type]
            rows.append((label, payload["requests"], served, formula, added, wall))
            if token:
                git(repo, env, "add", "-A")
                git(repo, env, "commit", "-q", "-m", "map the site")
    print(f"site {SITE}: {e} experiments, {v} variations, {p} personalizations; limits {DEFAULT_RATE_LIMIT}")
    print("| run | requests (kamsync) | requests (sandbox) | formula | mapped | wall (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, requests, served, formula, added, wall in rows:
        print(f"| {label} | {requests} | {served} | {formula} | {added} | {wall:.1f} |")
    failed = [r for r in rows if not r[1] == r[2] == r[3]]
    print("GOAL FAILED: a count differs from the formula" if failed else "every count equals the formula")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
