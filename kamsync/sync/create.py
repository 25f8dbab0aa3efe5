"""Creating the manifest's new variations (entries with a ``name`` and no ``id``) before a push sends code.

For each experiment: read it (its variations and traffic split) and the site's variations; look every new
name up among them (exactly one → adopt it; several → refuse); plan the split; refuse unless
``--allow-traffic-change`` (and ``--allow-live`` on an active experiment). Then, per variation, write the
creation into the journal, ``POST`` it with its code, note its id; read the experiment again and attach the new
variations with the planned split in one ``PATCH`` — unless its variations or split changed meanwhile; write
the ids into the manifest (comments kept) and remember the code sent as the variations' base.

A killed run leaves the journal: the next run finds the variations by name and adopts them, so a ``POST`` is
never repeated blindly and no duplicate or orphan is left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from kamsync.api.client import JsonObject, KameleoonClient
from kamsync.api.payloads import as_int, variation_ids_of
from kamsync.api.query import equal_filter
from kamsync.api.remote import subject_for
from kamsync.core.creation import (
    Adopt,
    Candidate,
    Create,
    Created,
    CreationPlan,
    Decision,
    ExperimentPlan,
    NewStep,
    Refuse,
    Slot,
    decide,
    deviations,
    planned_split,
)
from kamsync.core.errors import ApiError, RefusedError
from kamsync.core.model import ExperimentSpec, FieldRef, MappedFile, NewVariationSpec
from kamsync.core.normalize import normalize
from kamsync.git.workspace import Workspace
from kamsync.manifest.edit import ManifestEditor
from kamsync.state.creations import CreationEntry, CreationJournal
from kamsync.state.record import Record

__all__ = ["Created", "CreationPlan", "ExperimentPlan", "NewStep", "execute_creations", "plan_creations"]

_OPTIONAL = ("variations", "deviations")


def plan_creations(
    ws: Workspace,
    client: KameleoonClient,
    wanted: Sequence[tuple[ExperimentSpec, NewVariationSpec]],
    *,
    allow_traffic_change: bool,
    allow_live: bool,
) -> CreationPlan:
    """Read what the creations need (one list of the experiments, one of each site's variations) and decide."""
    specs = {exp.id: exp for exp, _ in wanted}
    payloads = _experiments(client, list(specs))
    sites = {as_int(p.get("siteId")) for p in payloads.values()} - {None}
    candidates = {site: _site_variations(client, site) for site in sorted(s for s in sites if s is not None)}
    mapped = ws.manifest.variation_ids()
    codes = _local_code(ws, wanted)
    journal = CreationJournal.at(ws.repo.state_dir())
    left = journal.load()
    journaled = {(e.experiment_id, e.name): e.variation_id for e in left if e.variation_id is not None}
    plans = []
    for exp_id, spec in specs.items():
        new = [n for e, n in wanted if e.id == exp_id]
        payload = payloads.get(exp_id)
        site = as_int(payload.get("siteId")) if payload is not None else None
        plans.append(
            _plan_experiment(
                spec,
                new,
                payload,
                candidates.get(site, []) if site is not None else [],
                mapped,
                codes,
                journaled,
                allow_traffic_change=allow_traffic_change,
                allow_live=allow_live,
            )
        )
    names = {(exp.id, new.name) for exp, new in ws.manifest.creations()}
    forgotten = tuple(e for e in left if (e.experiment_id, e.name) not in names)
    return CreationPlan(_adopted_once(plans), forgotten)


def _adopted_once(plans: Sequence[ExperimentPlan]) -> tuple[ExperimentPlan, ...]:
    """Refuse a variation adopted by two new entries (two experiments naming it alike): one id, one owner."""
    seen: dict[int, str] = {}
    out = []
    for plan in plans:
        twice = []
        for step in plan.steps:
            if isinstance(step.decision, Adopt):
                where = f"new variation {step.spec.name!r} of experiment {plan.spec.id}"
                if step.decision.id in seen:
                    twice.append(
                        f"{where}: variation {step.decision.id} is also what {seen[step.decision.id]} adopts; "
                        "give the two entries different names"
                    )
                seen.setdefault(step.decision.id, where)
        out.append(replace(plan, refusals=(*plan.refusals, *twice)) if twice else plan)
    return tuple(out)


def _plan_experiment(
    spec: ExperimentSpec,
    new: Sequence[NewVariationSpec],
    payload: JsonObject | None,
    candidates: Sequence[Candidate],
    mapped: Sequence[int],
    codes: Mapping[tuple[int, str], Mapping[str, str]],
    journaled: Mapping[tuple[int, str], int],
    *,
    allow_traffic_change: bool,
    allow_live: bool,
) -> ExperimentPlan:
    if payload is None:
        refusal = f"experiment {spec.id} was not found in Kameleoon: no variation can be created in it"
        return ExperimentPlan(spec, None, False, (), {}, (), (), (refusal,))
    attached = variation_ids_of(payload)
    live = str(payload.get("status", "")).strip().lower() == "active"
    before = _split_of(payload.get("deviations"))
    steps = tuple(
        NewStep(n, _decide(n, spec.id, candidates, attached or (), mapped, journaled), codes.get((spec.id, n.dir), {}))
        for n in new
    )
    refusals = [
        f"new variation {s.spec.name!r} of experiment {spec.id}: {s.decision.reason}"
        for s in steps
        if isinstance(s.decision, Refuse)
    ]
    split: list[tuple[Slot, float]] = []
    if attached is None:
        refusals.append(f"Kameleoon did not list the variations of experiment {spec.id}: its split cannot be planned")
    else:
        adopted = {s.decision.id: s.spec.dir for s in steps if isinstance(s.decision, Adopt) and s.decision.attached}
        split, problem = planned_split(spec, attached, [s.spec for s in steps if s.attaches], adopted)
        if problem is not None:
            refusals.append(problem)
    if not refusals and any(step.attaches for step in steps):
        if not allow_traffic_change:
            refusals.append(
                f"creating variations in experiment {spec.id} changes its traffic split; pass "
                "--allow-traffic-change to accept the split shown"
            )
        if live and not allow_live:
            refusals.append(
                f"experiment {spec.id} is live (status active): visitors are sent to the new variations at once; "
                "pass --allow-live as well"
            )
    site_id = as_int(payload.get("siteId"))
    return ExperimentPlan(spec, site_id, live, attached or (), before, tuple(split), steps, tuple(refusals))


def _decide(
    new: NewVariationSpec,
    exp_id: int,
    candidates: Sequence[Candidate],
    attached: Sequence[int],
    mapped: Sequence[int],
    journaled: Mapping[tuple[int, str], int],
) -> Decision:
    return decide(new.name, candidates, exp_id, attached, mapped, journaled.get((exp_id, new.name)))


def _experiments(client: KameleoonClient, ids: Sequence[int]) -> dict[int, JsonObject]:
    items = client.list(
        "experiments",
        filters=[equal_filter("id", ids)],
        optional_fields=_OPTIONAL,
        expect_ids=ids,
        subject=subject_for("experiment", ids),
    )
    out: dict[int, JsonObject] = {}
    for item in items:
        ident = as_int(item.get("id"))
        if ident is not None and ident in ids:
            out.setdefault(ident, item)
    return out


def _site_variations(client: KameleoonClient, site_id: int) -> list[Candidate]:
    items = client.list(
        "variations", filters=[equal_filter("siteId", [site_id])], subject=f"the variations of site {site_id}"
    )
    out = []
    for item in items:
        ident = as_int(item.get("id"))
        name = item.get("name")
        if ident is not None and isinstance(name, str) and as_int(item.get("siteId")) in (None, site_id):
            owners = as_int(item.get("experimentId")), as_int(item.get("personalizationId"))
            out.append(Candidate(ident, name, *owners))
    return out


def _split_of(raw: object) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        return {}
    return {
        str(key): float(share)
        for key, share in raw.items()
        if isinstance(share, (int, float)) and not isinstance(share, bool)
    }


def _local_code(
    ws: Workspace, wanted: Sequence[tuple[ExperimentSpec, NewVariationSpec]]
) -> dict[tuple[int, str], dict[str, str]]:
    """Each new variation's code as on disk (files that exist), read with every check a mapped file gets."""
    placeholders = {
        MappedFile(
            FieldRef.of_variation(exp.id, 0, f.field), f.path, f.line, label=f"new variation {new.name!r} {f.field}"
        ): (exp.id, new.dir)
        for exp, new in wanted
        for f in new.files
    }
    texts = ws.source.read_codes(ws.manifest, list(placeholders))
    out: dict[tuple[int, str], dict[str, str]] = {}
    for mapped, key in placeholders.items():
        text = texts[mapped]
        if text is not None:
            out.setdefault(key, {})[mapped.ref.field] = normalize(text)
    return out


def execute_creations(ws: Workspace, client: KameleoonClient, plan: CreationPlan) -> list[Created]:
    """Create, attach and record every new variation of ``plan`` (which has no refusal)."""
    journal = CreationJournal.at(ws.repo.state_dir())
    entries = [e for e in journal.load() if e not in plan.forgotten]
    created: list[Created] = []
    for experiment in plan.experiments:
        created += _execute_experiment(client, experiment, journal, entries)
    editor = ManifestEditor.open(Path(ws.manifest.path))
    for made in created:
        editor.set_new_variation_id(made.experiment_id, made.name, made.variation_id)
    editor.save()
    record = Record.load(ws.repo.state_dir())
    for experiment in plan.experiments:
        for step in experiment.steps:
            made = next(c for c in created if c.experiment_id == experiment.spec.id and c.name == step.spec.name)
            if isinstance(step.decision, Create):
                for field_name, value in step.code.items():
                    record.remember(FieldRef.of_variation(made.experiment_id, made.variation_id, field_name), value)
    record.save()
    done = {e.spec.id for e in plan.experiments}
    journal.save([e for e in entries if e.experiment_id not in done])  # other experiments' entries stay
    return created


def _execute_experiment(
    client: KameleoonClient, plan: ExperimentPlan, journal: CreationJournal, entries: list[CreationEntry]
) -> list[Created]:
    exp_id = plan.spec.id
    ids: dict[str, int] = {}
    created: list[Created] = []
    for step in plan.steps:
        index = _entry_index(entries, exp_id, step.spec)
        if isinstance(step.decision, Adopt):
            journal.mark(entries, index, "posted", step.decision.id)
            ids[step.spec.dir] = step.decision.id
            created.append(Created(exp_id, step.spec.name, step.spec.dir, step.decision.id, adopted=True))
            continue
        journal.mark(entries, index, "posting")  # on disk before the POST leaves
        body: dict[str, object] = {"name": step.spec.name, "siteId": plan.site_id, "experimentId": exp_id}
        body.update(step.code)
        answer = client.post("variations", body, subject=f"new variation {step.spec.name!r}")
        new_id = as_int((answer or {}).get("id"))
        if new_id is None:
            raise ApiError(
                f"Kameleoon created new variation {step.spec.name!r} of experiment {exp_id} without saying its id; "
                "run the same command again: it finds the variation by its name",
                status=None,
                subject=f"new variation {step.spec.name!r}",
            )
        journal.mark(entries, index, "posted", new_id)
        ids[step.spec.dir] = new_id
        created.append(Created(exp_id, step.spec.name, step.spec.dir, new_id, adopted=False))
    attach = [ids[s.spec.dir] for s in plan.steps if s.attaches]
    if attach:
        _attach(client, plan, attach, ids)
    for step in plan.steps:
        journal.mark(entries, _entry_index(entries, exp_id, step.spec), "attached")
    return created


def _attach(client: KameleoonClient, plan: ExperimentPlan, new_ids: Sequence[int], ids: Mapping[str, int]) -> None:
    """Attach ``new_ids`` with the planned split, unless the experiment's variations or split moved since read."""
    exp_id = plan.spec.id
    now = client.get("experiments", exp_id, optional_fields=_OPTIONAL, subject=f"experiment {exp_id}")
    listed = set(variation_ids_of(now) or ()) - set(new_ids)  # a server that attached them already is no change
    if listed != set(plan.attached) or _split_of(now.get("deviations")) != dict(plan.before):
        made = ", ".join(str(i) for i in new_ids)
        raise RefusedError(
            f"the variations or traffic split of experiment {exp_id} changed in Kameleoon while kamsync was creating "
            f"variations, so the new ones ({made}) were not attached: run the same command again to plan the split "
            "afresh (it finds them by name)"
        )
    body = {"variations": [*plan.attached, *new_ids], "deviations": deviations(plan.split, ids)}
    client.patch("experiments", exp_id, body, subject=f"experiment {exp_id}")


def _entry_index(entries: list[CreationEntry], exp_id: int, spec: NewVariationSpec) -> int:
    for index, entry in enumerate(entries):
        if entry.experiment_id == exp_id and entry.name == spec.name:
            return index
    entries.append(CreationEntry(exp_id, spec.name, spec.dir, "posting"))
    return len(entries) - 1
