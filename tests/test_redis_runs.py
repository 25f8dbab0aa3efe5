"""Real kamsync processes, each with a HOME and state folders of its own — separate machines that share only a
Redis server — against a sandbox counting the same limits: together they never earn a 429, a machine whose clock
is wrong spends no more than is left, a Redis lost mid-run stops the run before its next request, a wrong
password is a clear error with the password masked, and the fallback to this machine's file works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from kamsync.budget.ledger import ledger_path
from kamsync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox
from tests.conftest import Result, base_env, git
from tests.redisutil import RedisServer, free_port

SKEW = Path(__file__).resolve().parent / "skew"
# Small windows, so that no test waits long: the sandbox counts exactly these too.
SPEC = "6/1s,1000/1h"


@dataclass
class Machine:
    name: str
    home: Path
    repo: Path
    env: dict[str, str]

    def start(self, *args: str, extra: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "kamsync", *args],
            cwd=self.repo,
            env={**self.env, **(extra or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *args: str, extra: dict[str, str] | None = None) -> Result:
        return finish(self.start(*args, extra=extra))


def finish(proc: subprocess.Popen[str]) -> Result:
    stdout, stderr = proc.communicate(timeout=120)
    return Result(proc.returncode, stdout, stderr)


def code(variation_id: int) -> str:
    return f"// variation {variation_id}\nconsole.log({variation_id});\n"


def machine(root: Path, name: str, sandbox: Sandbox, ledger_url: str, variations: int, spec: str = SPEC) -> Machine:
    """A machine of its own: a HOME, a clone mapping an experiment of ``variations`` variations (its values
    committed), and a second commit changing every one of them."""
    home, repo = root / name / "home", root / name / "repo"
    home.mkdir(parents=True)
    repo.mkdir()
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n", encoding="utf-8")
    env = base_env(home)
    env.update(
        KAMELEOON_API_URL=sandbox.url,
        KAMELEOON_CLIENT_ID=DEFAULT_CLIENT_ID,
        KAMELEOON_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
        KAMSYNC_RATE_LIMIT=spec,
        KAMSYNC_LEDGER_URL=ledger_url,
        KAMSYNC_PROGRESS="0",
    )
    experiment = sandbox.store.add_experiment(name, variations=[{"name": f"V{i}"} for i in range(variations)])
    ids = list(sandbox.store.get("experiment", experiment)["variations"])
    lines = ["version: 1", "experiments:", f"  - id: {experiment}", "    dir: exp", "    variations:"]
    for n, variation_id in enumerate(ids):
        sandbox.store.ui_edit_variation(variation_id, jsCode=code(variation_id))
        lines += [f"      - id: {variation_id}", f"        name: V{n}", f"        dir: v{variation_id}"]
        path = repo / "exp" / "variations" / f"v{variation_id}" / "variation.js"
        path.parent.mkdir(parents=True)
        path.write_text(code(variation_id), encoding="utf-8")
    (repo / "kamsync.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    git(repo, "init", "-q", "-b", "main", env=env)
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "-m", "Map the experiment", env=env)
    for variation_id in ids:
        with (repo / "exp" / "variations" / f"v{variation_id}" / "variation.js").open("a", encoding="utf-8") as f:
            f.write("console.log('changed');\n")
    git(repo, "commit", "-q", "-a", "-m", "Change every variation", env=env)
    return Machine(name, home, repo, env)


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(state_file=str(tmp_path / "sandbox-state.json"), rate_limit=SPEC) as sb:
        yield sb


def rejected(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.store.requests if r.status == 429)


def patches(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.store.requests if r.method == "PATCH")


def test_three_machines_pushing_at_once_get_no_429(
    tmp_path: Path, limited: Sandbox, redis_server: RedisServer, redis_db: int
) -> None:
    url = redis_server.url(redis_db)
    machines = [machine(tmp_path, f"m{n}", limited, url, variations=4) for n in range(3)]
    limited.store.clear_requests()
    results = [finish(p) for p in [m.start("push", "--json") for m in machines]]
    assert [r.code for r in results] == [0, 0, 0], [r.stderr for r in results]
    assert [len(r.json()["written"]) for r in results] == [4, 4, 4]
    sent = len(limited.store.requests)
    assert sent == 3 * (1 + 2 + 4), "each: the token, two list reads, four writes"
    assert sent > 6, "together larger than one 1 s window of 6"
    assert rejected(limited) == 0

    quota = machines[0].run("quota", "--json").json()
    assert quota["ledger"] == {"kind": "redis", "where": f"redis://:***@127.0.0.1:{redis_server.port}/{redis_db}"}
    assert [(s["command"], s["requests"]) for s in quota["spent"]] == [("kamsync push", sent)]
    assert quota["windows"][1]["used"] == sent and quota["reserved"] == 0
    text = machines[1].run("quota").stdout
    assert f"by kamsync on every machine sharing the ledger at redis://:***@127.0.0.1:{redis_server.port}" in text
    assert f"(kamsync push): {sent}\n" in text
    assert redis_server.password not in json.dumps(quota) + text


@pytest.mark.parametrize("skew", [7200.0, -7200.0])
def test_a_machine_whose_clock_is_wrong_does_not_overspend_the_hour(
    tmp_path: Path, redis_server: RedisServer, redis_db: int, skew: float
) -> None:
    spec = "50/1s,10/1h"
    with Sandbox(state_file=str(tmp_path / "sandbox-state.json"), rate_limit=spec) as sandbox:
        url = redis_server.url(redis_db)
        first = machine(tmp_path, "right", sandbox, url, variations=4, spec=spec)
        wrong = machine(tmp_path, "wrong", sandbox, url, variations=4, spec=spec)
        sandbox.store.clear_requests()
        assert first.run("push").code == 0
        skewed = {"PYTHONPATH": str(SKEW), "KAMSYNC_TEST_CLOCK_SKEW": repr(skew)}
        late = wrong.run("push", extra=skewed)
        # Its reads (the token and two lists) fit the 3 left; its 4 writes are refused before any is sent.
        assert late.code == 3, late.output
        assert "this push needs 4 requests but only 0 of the 10/1h budget are left" in late.stderr
        assert len(sandbox.store.requests) == 10 and rejected(sandbox) == 0


def test_redis_lost_mid_run_stops_the_run_before_its_next_request_and_it_resumes(
    tmp_path: Path, limited: Sandbox
) -> None:
    server = RedisServer(password="lost-" + os.urandom(6).hex()).start()
    try:
        one = machine(tmp_path, "one", limited, server.url(3), variations=3)
        limited.store.clear_requests()
        held = limited.faults.arm("PATCH 1=hold")[0]
        proc = one.start("push")
        assert limited.faults.reached(held).wait(60), "the first write never reached the sandbox"
        server.stop()
        limited.faults.release_all()
        stopped = finish(proc)
        assert stopped.code == 4, stopped.output
        assert f"lost the shared rate-limit ledger at redis://:***@127.0.0.1:{server.port}/3" in stopped.stderr
        assert "the next request was not sent" in stopped.stderr
        assert server.password not in stopped.output
        assert patches(limited) == 1
        limited.faults.clear()

        server = RedisServer(password=server.password, port=server.port).start()
        resumed = one.run("push")
        assert resumed.code == 0, resumed.output
        assert "resum" in resumed.stderr
        assert patches(limited) == 3, "the write applied before Redis went away is not sent again"
    finally:
        server.stop()


@pytest.mark.parametrize("args", [["push"], ["--json", "status"], ["quota"]])
def test_a_wrong_password_is_a_clear_error_and_nothing_is_sent(
    tmp_path: Path, limited: Sandbox, redis_server: RedisServer, args: Sequence[str]
) -> None:
    wrong = "Wr0ng-" + os.urandom(6).hex()
    one = machine(tmp_path, "one", limited, redis_server.url(2, password=wrong), variations=1)
    limited.store.clear_requests()
    result = one.run(*args)
    assert result.code == 2, result.output
    assert f"cannot use the shared rate-limit ledger at redis://:***@127.0.0.1:{redis_server.port}/2" in result.stderr
    assert "refused the user name or password" in result.stderr
    assert wrong not in result.output and redis_server.password not in result.output
    if "--json" in args:
        assert result.json()["error"]["kind"] == "LedgerUnavailable"
    assert limited.store.requests == []


def test_the_local_fallback_warns_and_counts_on_this_machine(tmp_path: Path, limited: Sandbox) -> None:
    nobody = f"redis://:pw-{os.urandom(6).hex()}@127.0.0.1:{free_port()}/0"
    one = machine(tmp_path, "one", limited, nobody, variations=2)
    refused = one.run("push")
    assert refused.code == 2 and "cannot connect" in refused.stderr
    result = one.run("push", extra={"KAMSYNC_LEDGER_FALLBACK": "local"})
    assert result.code == 0, result.output
    assert "KAMSYNC_LEDGER_FALLBACK=local: counting in this machine's ledger instead" in result.stderr
    assert nobody.split("@")[0].split(":")[-1] not in result.output
    assert ledger_path(one.home / ".state" / "kamsync", limited.url, DEFAULT_CLIENT_ID).exists()
    assert rejected(limited) == 0


def test_doctor_names_the_redis_ledger_and_a_wrong_password_fails_its_check(
    tmp_path: Path, limited: Sandbox, redis_server: RedisServer, redis_db: int
) -> None:
    one = machine(tmp_path, "one", limited, redis_server.url(redis_db), variations=1)
    checks = {c["name"]: c for c in one.run("doctor", "--json").json()["checks"]}
    assert checks["rate budget"]["ok"]
    assert f"(shared through redis://:***@127.0.0.1:{redis_server.port}/{redis_db})" in checks["rate budget"]["detail"]
    limited.store.clear_requests()
    wrong = "Wr0ng-" + os.urandom(6).hex()
    result = one.run("doctor", "--json", extra={"KAMSYNC_LEDGER_URL": redis_server.url(redis_db, password=wrong)})
    assert result.code == 2
    checks = {c["name"]: c for c in result.json()["checks"]}
    assert not checks["rate budget"]["ok"]
    assert "refused the user name or password" in checks["rate budget"]["detail"]
    assert wrong not in result.output and redis_server.password not in result.output
    assert limited.store.requests == [], "doctor's token request waits for a ledger that works"


def test_a_429_one_machine_receives_holds_every_machine_until_reset(
    tmp_path: Path, limited: Sandbox, redis_server: RedisServer, redis_db: int
) -> None:
    url = redis_server.url(redis_db)
    hit, other = (machine(tmp_path, name, limited, url, variations=2) for name in ("hit", "other"))
    limited.faults.arm("GET 1=429-retry-after=100000")  # someone else spent the credential: an absurd wait
    first = hit.run("push")
    assert first.code == 4, first.output
    held = other.run("push")
    assert held.code == 3, held.output
    assert "asked to wait 100000 s; kamsync waits at most 3600 s, its longest rate window (1000/1h)" in held.stderr
    assert "forget it with kamsync quota --reset" in held.stderr
    forgot = other.run("quota", "--reset")
    assert forgot.code == 0 and forgot.stdout.startswith("Forgot the wait imposed on this credential")
    assert hit.run("push").code == 0
    assert other.run("push").code == 0
    assert rejected(limited) == 1


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("list", "--json"), id="list"),
        pytest.param(("list", "--site", "nosuchsite", "--json"), id="list of a site that is not there"),
        pytest.param(("pull", "--site", "demoshop01"), id="pull --site"),
        pytest.param(("pull",), id="pull"),
        pytest.param(("doctor",), id="doctor"),
    ],
)
def test_a_command_leaves_nothing_reserved_for_others_when_it_ends(
    kamsync, redis_server: RedisServer, redis_db: int, command: tuple[str, ...]
) -> None:
    shared = {"KAMSYNC_LEDGER_URL": redis_server.url(redis_db), "KAMSYNC_RATE_LIMIT": "50/10s,1000/1h"}

    kamsync(*command, extra_env=shared)  # run here: a renewing thread left behind fails the test too

    quota = kamsync("quota", "--json", extra_env=shared).json()
    assert quota["ledger"]["kind"] == "redis" and quota["reserved"] == 0
