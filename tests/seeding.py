"""Accounts to start the sandbox with: a state file written before it starts (``kamsync sandbox --state``), built
from the shipped demo seed plus what a test adds: sites, experiments, variations and personalizations as the API
serialises them, including the fields only the Kameleoon app writes (graphic-editor code, redirections)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from kamsync.sandbox import Sandbox
from kamsync.sandbox.state import load_seed
from tests.conftest import TEST_RATE_LIMIT

Obj = dict[str, Any]


def site(site_id: int, code: str, name: str = "") -> Obj:
    return {"id": site_id, "code": code, "url": f"https://{code}.example", "name": name or code}


def experiment(exp_id: int, name: str, site_id: int, variations: Sequence[int] = (), **fields: Any) -> Obj:
    ids = list(variations)
    share = round(1 / (len(ids) + 1), 4)
    return {
        "id": exp_id,
        "name": name,
        "siteId": site_id,
        "type": "DEVELOPER",
        "status": "DRAFT",
        "variations": ids,
        "deviations": {"origin": round(1 - share * len(ids), 4), **{str(i): share for i in ids}},
        **fields,
    }


def variation(var_id: int, name: str, site_id: int, owner: int | None, **fields: Any) -> Obj:
    key = "personalizationId" if owner is not None and owner >= 300000 else "experimentId"
    return {"id": var_id, "name": name, "siteId": site_id, key: owner, **fields}


def personalization(pers_id: int, name: str, site_id: int, variations: Sequence[int] = (), **fields: Any) -> Obj:
    return {
        "id": pers_id,
        "name": name,
        "siteId": site_id,
        "status": "DRAFT",
        "variationIds": list(variations),
        **fields,
    }


def account(
    sites: Sequence[Obj] = (),
    experiments: Sequence[Obj] = (),
    variations: Sequence[Obj] = (),
    personalizations: Sequence[Obj] = (),
    *,
    demo: bool = True,
) -> Obj:
    """The demo seed (site 1, ``demoshop01``; unless ``demo`` is false) with these objects added."""
    state = load_seed() if demo else {"sites": [], "experiments": [], "variations": [], "personalizations": []}
    state.pop("nextIds", None)  # worked out again from the ids
    codes = {s["id"]: s["code"] for s in [*state["sites"], *sites]}
    state["sites"] += list(sites)
    state["experiments"] += [{"siteCode": codes.get(e["siteId"], ""), **e} for e in experiments]
    state["variations"] += list(variations)
    state["personalizations"] += list(personalizations)
    return state


def many(site_id: int, count: int, *, first: int = 110001, variations_each: int = 1) -> Obj:
    """``count`` experiments on ``site_id`` with ``variations_each`` variations each (ids from 400001)."""
    experiments, found = [], []
    for n in range(count):
        ids = [400001 + n * variations_each + k for k in range(variations_each)]
        experiments.append(experiment(first + n, f"Test {n}", site_id, ids, commonJavaScriptCode=f"// {n}"))
        found += [variation(i, f"V {i}", site_id, first + n, jsCode=f"// v{i}") for i in ids]
    return {"experiments": experiments, "variations": found}


@pytest.fixture
def seeded_sandbox(tmp_path: Path, seed: Obj) -> Iterator[Sandbox]:
    """The sandbox started on the module's ``seed`` fixture (a test may parametrize ``seed`` to change it).
    A module uses it as its ``sandbox``: ``sandbox = seeded_sandbox`` after importing it."""
    path = tmp_path / "sandbox-state.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    with Sandbox(state_file=str(path), rate_limit=TEST_RATE_LIMIT) as sandbox:
        yield sandbox
