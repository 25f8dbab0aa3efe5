"""Several machines pushing at once through one Redis ledger, against the sandbox with Kameleoon's real limits
(50/10s, 1000/1h). Not a test.

For each case, N `kamsync push --json` processes start together, each with a HOME and state folders of its own
(separate machines: they share nothing but the Redis server) and a repository of its own mapping an experiment
whose K variations it changes. The sandbox's request log gives what they sent together and the 429s received.

The aggregate rate counts what the shortest window allows beyond its first burst: the first 50 requests may
leave at once, every later 50 need 10 s more, so (requests - 50) over the time from the first answer to the last
is at most 50 per 10 s. Goals: zero 429s, that rate >= 0.9 of 50 per 10 s.

    .venv/bin/python benchmarks/redis_bench.py              # 3 and 6 processes (about two minutes)
    .venv/bin/python benchmarks/redis_bench.py --processes 3

Needs `redis-server` (scripts/install-test-deps.sh installs it). Exits 1 when a goal failed, 2 when a push
itself failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' Redis starter

from benchenv import clean_env  # noqa: E402
from rate_bench import Case, build_repo, populate  # noqa: E402

from kamsync.budget.windows import DEFAULT_RATE_LIMIT, parse_rate_limit  # noqa: E402
from kamsync.sandbox import Sandbox  # noqa: E402
from tests.redisutil import RedisServer  # noqa: E402

CHANGED = 47  # per process: with the token and two list reads, 50 requests each
GOAL_SHARE = 0.9


@dataclass(frozen=True, slots=True)
class Outcome:
    processes: int
    requests: int
    rejected: int
    span: float  # seconds from the first answer to the last
    wall: float

    @property
    def per_10s(self) -> float:
        limit = parse_rate_limit(DEFAULT_RATE_LIMIT)[0]
        beyond = max(0, self.requests - limit.limit)
        return beyond / self.span * limit.seconds if self.span > 0 else 0.0

    @property
    def share(self) -> float:
        return self.per_10s / parse_rate_limit(DEFAULT_RATE_LIMIT)[0].limit

    @property
    def met(self) -> bool:
        return self.rejected == 0 and self.share >= GOAL_SHARE


def run_case(processes: int, server: RedisServer, db: int) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="kamsync-redis-bench-") as tmp:
        root = Path(tmp)
        with Sandbox(rate_limit=DEFAULT_RATE_LIMIT, state_file=root / "sandbox-state.json") as sandbox:
            envs, repos = [], []
            for n in range(processes):
                home, repo = root / f"m{n}" / "home", root / f"m{n}" / "repo"
                home.mkdir(parents=True)
                repo.mkdir()
                (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n", encoding="utf-8")
                env = clean_env(home, sandbox.url, KAMSYNC_LEDGER_URL=server.url(db), KAMSYNC_PROGRESS="0")
                mapping = populate_one(sandbox, n)
                build_repo(repo, env, mapping, [v for ids in mapping.values() for v in ids])
                envs.append(env)
                repos.append(repo)
            sandbox.store.clear_requests()
            started = time.monotonic()
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "kamsync", "push", "--json"],
                    cwd=repo,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for repo, env in zip(repos, envs, strict=True)
            ]
            outputs = [p.communicate(timeout=600) for p in procs]
            wall = time.monotonic() - started
            requests = sandbox.store.requests
        for proc, (stdout, stderr) in zip(procs, outputs, strict=True):
            if proc.returncode != 0 or len(json.loads(stdout)["written"]) != CHANGED:
                raise SystemExit(f"a push exited {proc.returncode}\n--- stdout\n{stdout}\n--- stderr\n{stderr}")
        times = sorted(r.time for r in requests)
        return Outcome(
            processes=processes,
            requests=len(requests),
            rejected=sum(1 for r in requests if r.status == 429),
            span=times[-1] - times[0] if times else 0.0,
            wall=wall,
        )


def populate_one(sandbox: Sandbox, n: int) -> dict[int, list[int]]:
    """One experiment of CHANGED variations for process ``n``."""
    return populate(sandbox, Case(1, CHANGED, CHANGED))


def table(outcomes: Sequence[Outcome]) -> str:
    rows = [
        "| processes | requests | 429s | first to last answer (s) | rate beyond the first burst (/10 s) "
        "| share of 50/10 s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        rows.append(f"| {o.processes} | {o.requests} | {o.rejected} | {o.span:.1f} | {o.per_10s:.1f} | {o.share:.2f} |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--processes", default="3,6", help="comma-separated process counts (default: 3,6)")
    args = parser.parse_args(argv)
    counts = [int(part) for part in args.processes.split(",") if part.strip()]
    server = RedisServer(password="bench-" + os.urandom(6).hex()).start()
    outcomes = []
    try:
        for db, count in enumerate(counts, start=1):
            print(f"{count} processes pushing {CHANGED} variations each…", file=sys.stderr, flush=True)
            outcomes.append(run_case(count, server, db))
    finally:
        server.stop()
    print(f"kamsync push from separate machines sharing a Redis ledger, sandbox limits {DEFAULT_RATE_LIMIT}\n")
    print(table(outcomes))
    print()
    failed = [o for o in outcomes if not o.met]
    print(
        "every goal held: zero 429s, share >= 0.9"
        if not failed
        else "GOAL FAILED for " + ", ".join(f"{o.processes} processes" for o in failed)
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
