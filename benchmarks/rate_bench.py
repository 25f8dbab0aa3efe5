"""Time `kamsync push` against the sandbox with Kameleoon's real rate limits (50/10s, 1000/1h). Not a test.

For each case, a sandbox on 127.0.0.1 holds E new experiments with V variations between them; a real git
repository maps them all (each experiment its common.js, each variation its variation.js) with the sandbox's
values committed, then a second commit changes K variations. The real `kamsync push --json` runs as a new
process with a cold token cache, an empty rate-limit ledger and the default limits. The sandbox's request log
gives the requests sent and the 429s received. Prints a markdown table and whether every goal held:

- requests = the lower bound ⌈E/200⌉ + ⌈V/200⌉ + K + 1 (the token: the cache is cold);
- wall ≤ 1.1 * floor + 1 s, the floor being when the last request may leave at the earliest: the k-th request
  (from 0) not before ⌊k/50⌋ * 10 s (nor ⌊k/1000⌋ * 1 h);
- no 429.

    .venv/bin/python benchmarks/rate_bench.py              # every case (the last one takes over a minute)
    .venv/bin/python benchmarks/rate_bench.py --cases 1,2  # a quick check

Exits 1 when a goal failed, 2 when a push itself failed.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchenv import clean_env, git

from kamsync.budget.windows import DEFAULT_RATE_LIMIT, Window, parse_rate_limit
from kamsync.sandbox import RequestRecord, Sandbox
from kamsync.ui.progress import Progress

PER_PAGE = 200
PUSH_TIMEOUT = 600.0


@dataclass(frozen=True, slots=True)
class Case:
    experiments: int  # E
    variations: int  # V
    changed: int  # K


CASES = (Case(5, 10, 2), Case(50, 150, 10), Case(100, 400, 300))


@dataclass(frozen=True, slots=True)
class Outcome:
    case: Case
    requests: int
    lower_bound: int
    wall: float
    floor: float
    rejected: int  # 429s received
    first_request: float  # seconds from launch to the first request's answer
    last_request: float  # seconds from launch to the last request's answer

    @property
    def wall_goal(self) -> float:
        return 1.1 * self.floor + 1.0

    @property
    def met(self) -> bool:
        return self.requests == self.lower_bound and self.wall <= self.wall_goal and self.rejected == 0


# -- pure arithmetic -----------------------------------------------------------------------------------------


def lower_bound(case: Case, *, cold_token: bool = True) -> int:
    """The fewest requests a push can make: the list pages of both kinds, one PATCH per changed entity, and
    the token request when no cached token is valid."""
    pages = math.ceil(case.experiments / PER_PAGE) + math.ceil(case.variations / PER_PAGE)
    return pages + case.changed + (1 if cold_token else 0)


def rate_floor(requests: int, windows: Sequence[Window]) -> float:
    """The earliest time the last of ``requests`` requests may leave: request k (from 0) waits ⌊k/N⌋ * D for
    every window (N, D)."""
    if requests <= 0:
        return 0.0
    last = requests - 1
    return max((last // w.limit * w.seconds for w in windows), default=0.0)


def spread(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` counts differing by at most one."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def pick(items: Sequence[int], count: int) -> list[int]:
    """``count`` of ``items``, spread evenly over them."""
    step = max(1, len(items) // count) if count else 1
    return list(items[::step][:count])


def markdown_table(outcomes: Sequence[Outcome]) -> str:
    rows = [
        # The column names the goal as the README writes it (a real multiplication sign).
        "| E | V | K | requests | lower bound | wall (s) | floor (s) | 1.1×floor+1 (s) | 429s |",  # noqa: RUF001
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        c = o.case
        rows.append(
            f"| {c.experiments} | {c.variations} | {c.changed} | {o.requests} | {o.lower_bound} | {o.wall:.1f} "
            f"| {o.floor:.0f} | {o.wall_goal:.1f} | {o.rejected} |"
        )
    return "\n".join(rows)


def verdict(outcomes: Sequence[Outcome]) -> str:
    failed = [o for o in outcomes if not o.met]
    if not failed:
        return "every goal held: requests = lower bound, wall ≤ 1.1 * floor + 1 s, zero 429s"
    problems = []
    for o in failed:
        c = o.case
        what = []
        if o.requests != o.lower_bound:
            what.append(f"{o.requests} requests instead of {o.lower_bound}")
        if o.wall > o.wall_goal:
            what.append(f"wall {o.wall:.1f} s over {o.wall_goal:.1f} s")
        if o.rejected:
            what.append(f"{o.rejected} 429s")
        problems.append(f"(E={c.experiments}, V={c.variations}, K={c.changed}): {', '.join(what)}")
    return "GOAL FAILED " + "; ".join(problems)


def parse_cases(spec: str | None) -> list[int]:
    if not spec:
        return list(range(1, len(CASES) + 1))
    chosen = [int(part) for part in spec.split(",") if part.strip()]
    bad = [n for n in chosen if not 1 <= n <= len(CASES)]
    if bad:
        raise SystemExit(f"--cases: no case {bad[0]}; choose among 1..{len(CASES)}, e.g. --cases 1,2")
    return chosen


# -- the edges: a sandbox, a repository, the real command ---------------------------------------------------


def variation_code(variation_id: int, experiment_id: int) -> str:
    return f"// variation {variation_id} of experiment {experiment_id}\nconsole.log({variation_id});\n"


def populate(sandbox: Sandbox, case: Case) -> dict[int, list[int]]:
    """E experiments holding V variations between them, straight into the store (no request is counted)."""
    mapping: dict[int, list[int]] = {}
    for n, count in enumerate(spread(case.variations, case.experiments)):
        experiment_id = sandbox.store.add_experiment(
            f"Bench {n}",
            commonJavaScriptCode="// common\n",
            variations=[{"name": f"Variation {i}"} for i in range(count)],
        )
        variation_ids = list(sandbox.store.get("experiment", experiment_id)["variations"])
        for variation_id in variation_ids:
            sandbox.store.ui_edit_variation(variation_id, jsCode=variation_code(variation_id, experiment_id))
        mapping[experiment_id] = variation_ids
    return mapping


def build_repo(repo: Path, env: Mapping[str, str], mapping: Mapping[int, list[int]], changed: Sequence[int]) -> None:
    """Map everything with the sandbox's values, commit; change the ``changed`` variations, commit."""
    lines = ["version: 1", "experiments:"]
    paths: dict[int, Path] = {}
    for experiment_id, variation_ids in mapping.items():
        folder = repo / "experiments" / str(experiment_id)
        folder.mkdir(parents=True)
        (folder / "common.js").write_text("// common\n", encoding="utf-8")
        lines += [f"  - id: {experiment_id}", f"    dir: experiments/{experiment_id}"]
        if variation_ids:
            lines.append("    variations:")
        for n, variation_id in enumerate(variation_ids):
            lines += [f"      - id: {variation_id}", f"        name: Variation {n}", f"        dir: v{variation_id}"]
            path = folder / "variations" / f"v{variation_id}" / "variation.js"
            path.parent.mkdir(parents=True)
            path.write_text(variation_code(variation_id, experiment_id), encoding="utf-8")
            paths[variation_id] = path
    (repo / "kamsync.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    git(repo, env, "init", "-q", "-b", "main")
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-q", "-m", "Map the benchmark experiments")
    for variation_id in changed:
        with paths[variation_id].open("a", encoding="utf-8") as handle:
            handle.write("console.log('changed');\n")
    git(repo, env, "commit", "-q", "-a", "-m", f"Change {len(changed)} variations")


def say(progress: Progress, text: str) -> None:
    """A permanent line on stderr: above the status line on a terminal, plainly otherwise."""
    if progress.enabled:
        progress.note(text)
    else:
        print(text, file=sys.stderr, flush=True)


def run_case(number: int, case: Case, windows: Sequence[Window], progress: Progress) -> Outcome:
    label = f"case {number} (E={case.experiments}, V={case.variations}, K={case.changed})"
    with tempfile.TemporaryDirectory(prefix="kamsync-rate-bench-") as tmp:
        root = Path(tmp)
        home = root / "home"
        repo = root / "repo"
        home.mkdir()
        repo.mkdir()
        (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n", encoding="utf-8")
        with Sandbox(rate_limit=DEFAULT_RATE_LIMIT, state_file=root / "sandbox-state.json") as sandbox:
            say(progress, f"{label}: setting up the sandbox and the repository")
            mapping = populate(sandbox, case)
            changed = pick([v for ids in mapping.values() for v in ids], case.changed)
            env = clean_env(home, sandbox.url)
            build_repo(repo, env, mapping, changed)
            sandbox.store.clear_requests()

            expected = lower_bound(case)
            floor = rate_floor(expected, windows)
            say(progress, f"{label}: kamsync push ({expected} requests at best, not done before {floor:.0f} s)")
            progress.start(expected, f"{label}: starting kamsync push")
            launched_wall = time.time()
            launched = time.monotonic()
            proc = subprocess.Popen(
                [sys.executable, "-m", "kamsync", "push", "--json"],
                cwd=repo,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            stdout, stderr = _wait_showing_requests(proc, sandbox, progress, launched)
            wall = time.monotonic() - launched
            progress.start(0, "")
            requests = sandbox.store.requests

        if proc.returncode != 0:
            raise SystemExit(
                f"{label}: kamsync push exited {proc.returncode}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
            )
        written = json.loads(stdout)["written"]
        if len(written) != case.changed:
            raise SystemExit(f"{label}: {len(written)} entities written instead of {case.changed}\n{stdout}")
        times = [r.time - launched_wall for r in requests] or [0.0]
        return Outcome(
            case=case,
            requests=len(requests),
            lower_bound=expected,
            wall=wall,
            floor=rate_floor(len(requests), windows),
            rejected=sum(1 for r in requests if r.status == 429),
            first_request=min(times),
            last_request=max(times),
        )


def _wait_showing_requests(
    proc: subprocess.Popen[str], sandbox: Sandbox, progress: Progress, launched: float
) -> tuple[str, str]:
    """Wait for the push, drawing the requests the sandbox has answered so far about once a second."""
    while True:
        try:
            return proc.communicate(timeout=1.0)
        except subprocess.TimeoutExpired:
            elapsed = time.monotonic() - launched
            if elapsed > PUSH_TIMEOUT:
                proc.kill()
                raise SystemExit(f"kamsync push still running after {PUSH_TIMEOUT:.0f} s: killed") from None
            log: list[RequestRecord] = sandbox.store.requests
            rejected = sum(1 for r in log if r.status == 429)
            progress.item(len(log), f"requests answered, {rejected} 429s, {elapsed:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cases", help="comma-separated case numbers (1-3) to run; default: all")
    args = parser.parse_args(argv)
    windows = parse_rate_limit(DEFAULT_RATE_LIMIT)
    outcomes: list[Outcome] = []
    # The benchmark's own status line (on a terminal): which case, how many requests the push has made so far.
    with Progress.create(sys.stderr, json_mode=False) as progress:
        for number in parse_cases(args.cases):
            outcome = run_case(number, CASES[number - 1], windows, progress)
            say(
                progress,
                f"case {number}: {outcome.requests} requests in {outcome.wall:.1f} s; the first answered "
                f"{outcome.first_request:.2f} s after launch, the last {outcome.last_request:.2f} s; "
                f"{outcome.rejected} 429s",
            )
            outcomes.append(outcome)
    print(f"kamsync push against the sandbox, rate limit {DEFAULT_RATE_LIMIT} (the default), cold token cache\n")
    print(markdown_table(outcomes))
    print()
    print(verdict(outcomes))
    return 0 if all(o.met for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
