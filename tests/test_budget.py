"""Requests are counted by the sandbox: reads are lists filtered by id, one write per changed entity."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from kamsync.sandbox import Sandbox
from tests.gitutil import git
from tests.helpers import commit_all, path_of


def _new_repo(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    git(folder, "init", "-q", "-b", "main")
    return folder


def test_push_costs_one_token_the_list_pages_and_one_patch_per_changed_variation(kamsync, sandbox, tmp_path, home):
    per_experiment = (120, 50, 40)  # V = 210 variations: two pages of variations
    ids = [
        sandbox.store.add_experiment(
            f"Budget {n}", variations=[{"name": f"v{i}", "jsCode": f"// {n}.{i}"} for i in range(count)]
        )
        for n, count in enumerate(per_experiment)
    ]
    repo = _new_repo(tmp_path, "budget")
    args = [a for i in ids for a in ("--experiment", str(i))]
    assert kamsync("pull", *args, cwd=repo).code == 0
    commit_all(repo, "map the budget experiments")
    status = kamsync("status", "--json", cwd=repo)
    entries = status.json()["entries"]
    variations = {e["variation_id"] for e in entries if e["variation_id"]}
    assert len(variations) == sum(per_experiment)

    changed = sorted(variations)[::53]  # K = 4, spread over the experiments
    for variation_id in changed:
        (repo / path_of(status, variation_id, "jsCode")).write_text(f"// changed {variation_id}\n")
    commit_all(repo, "change K variations")

    shutil.rmtree(home / ".cache" / "kamsync")  # a cold token cache: the push asks for one token
    sandbox.store.clear_requests()
    result = kamsync("push", "--json", cwd=repo)
    assert result.code == 0, result.output
    requests = sandbox.store.requests
    E, V, K = len(ids), len(variations), len(changed)
    reads = [r for r in requests if r.method == "GET"]
    writes = [r for r in requests if r.method == "PATCH"]
    tokens = [r for r in requests if r.path.endswith("/oauth/token")]
    assert len(reads) == math.ceil(E / 200) + math.ceil(V / 200)
    assert len(writes) == K
    assert len(tokens) == 1
    assert len(requests) == len(reads) + len(writes) + len(tokens)
    assert result.json()["requests"] == len(requests)

    sandbox.store.clear_requests()
    assert kamsync("status", cwd=repo).code == 0
    assert not [r for r in sandbox.store.requests if r.path.endswith("/oauth/token")], "the cached token is reused"


def test_seventy_writes_within_short_windows_receive_no_429(kamsync, env, tmp_path):
    windows = "10/1s,30/3s"
    with Sandbox(rate_limit=windows) as sb:
        experiment = sb.store.add_experiment(
            "Seventy", variations=[{"name": f"v{i}", "jsCode": f"// {i}"} for i in range(70)]
        )
        repo = _new_repo(tmp_path, "seventy")
        extra = {"KAMELEOON_API_URL": sb.url, "KAMSYNC_RATE_LIMIT": windows}
        # The setup runs as another API user: the sandbox counts windows per client, so the push starts fresh.
        sb.store.add_client("setup-client", "setup-secret")
        setup = {**extra, "KAMELEOON_CLIENT_ID": "setup-client", "KAMELEOON_CLIENT_SECRET": "setup-secret"}
        assert kamsync("pull", "--experiment", str(experiment), cwd=repo, extra_env=setup).code == 0
        for js in repo.glob("experiments/*/variations/*/variation.js"):
            js.write_text(js.read_text() + "console.log('v2');\n")
        commit_all(repo, "change all seventy")
        # 70 writes exceed the longest window (30/3s): --wait paces them across several windows.
        result = kamsync("push", "--wait", cwd=repo, extra_env=extra)
        assert result.code == 0, result.output
        assert "pacing them across 3 windows" in result.stderr
        mine = [r for r in sb.store.requests if r.client_id == "sandbox-client"]
        patches = [r for r in mine if r.method == "PATCH"]
        assert len(patches) == 70
        assert all(r.status == 200 for r in patches)
        assert not [r for r in mine if r.status == 429]
