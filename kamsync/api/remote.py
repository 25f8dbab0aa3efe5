"""Reading what Kameleoon holds for a manifest, in as few requests as the rate limit deserves.

Normal cost: one request per 200 experiments plus one per 200 variations (plus the token). Extra requests
are only spent when the API leaves something out: an experiment without its variation list or a code field.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from kamsync.api.client import JsonObject, KameleoonClient
from kamsync.api.payloads import as_int, experiment_from_payload, missing_code_fields, variation_from_payload
from kamsync.api.query import chunked, equal_filter, item_id
from kamsync.core.model import RemoteExperiment, RemoteState, RemoteVariation

__all__ = ["EXPERIMENT_OPTIONAL_FIELDS", "fill_missing_code", "read_remote", "subject_for"]

# The API omits these unless asked (commonJavaScriptCode/commonCssCode come by default).
EXPERIMENT_OPTIONAL_FIELDS = ("variations", "globalScript")


def subject_for(kind: str, ids: Collection[int]) -> str:
    """Name what a request was about, for error messages: "variation 42", "variations 1, 2, 3 and 9 more"."""
    ordered = sorted(ids)
    if len(ordered) == 1:
        return f"{kind} {ordered[0]}"
    shown = ", ".join(str(i) for i in ordered[:3])
    more = f" and {len(ordered) - 3} more" if len(ordered) > 3 else ""
    return f"{kind}s {shown}{more}"


def _by_id(items: Iterable[JsonObject], wanted: Collection[int] | None) -> dict[int, JsonObject]:
    """Index by id, keeping only ``wanted`` ids (a server that ignored the filter must not add strangers)."""
    out: dict[int, JsonObject] = {}
    for item in items:
        ident = item_id(item)
        if ident is not None and (wanted is None or ident in wanted):
            out.setdefault(ident, item)
    return out


def _read_experiments(client: KameleoonClient, ids: Collection[int]) -> dict[int, JsonObject]:
    found: dict[int, JsonObject] = {}
    for chunk in chunked(ids):
        items = client.list(
            "experiments",
            filters=[equal_filter("id", chunk)],
            optional_fields=EXPERIMENT_OPTIONAL_FIELDS,
            expect_ids=chunk,
            subject=subject_for("experiment", chunk),
        )
        found.update(_by_id(items, set(chunk)))
    return fill_missing_code(client, found)


def fill_missing_code(client: KameleoonClient, found: dict[int, JsonObject]) -> dict[int, JsonObject]:
    """``found`` with each experiment whose list answer left out a code field read on its own (one request
    each, spent only when the API leaves something out)."""
    for ident, payload in list(found.items()):
        if missing_code_fields(payload):
            # The list left a code field out; the single-object answer may carry it. Still absent = unknown.
            single = client.get(
                "experiments",
                ident,
                optional_fields=EXPERIMENT_OPTIONAL_FIELDS,
                subject=f"experiment {ident}",
            )
            found[ident] = {**single, **payload}
    return found


def _read_variations(
    client: KameleoonClient, ids: Collection[int], unlisted_experiments: Collection[int]
) -> dict[int, JsonObject]:
    found: dict[int, JsonObject] = {}
    for chunk in chunked(ids):
        items = client.list(
            "variations",
            filters=[equal_filter("id", chunk)],
            expect_ids=chunk,
            subject=subject_for("variation", chunk),
        )
        found.update(_by_id(items, set(chunk)))
    # Experiments that did not list their variations: ask by experiment, to discover ones added in the UI.
    for chunk in chunked(unlisted_experiments):
        items = client.list(
            "variations",
            filters=[equal_filter("experimentId", chunk)],
            subject=f"the variations of {subject_for('experiment', chunk)}",
        )
        wanted = set(chunk)
        for ident, payload in _by_id(items, None).items():
            if as_int(payload.get("experimentId")) in wanted:
                found.setdefault(ident, payload)
    return found


def read_remote(
    client: KameleoonClient, experiment_ids: Collection[int], variation_ids: Collection[int]
) -> RemoteState:
    """What Kameleoon holds for these experiments and variations, plus the variations the experiments list.

    Whatever Kameleoon did not return is absent from the state; the caller decides what that means.
    """
    raw_experiments = _read_experiments(client, experiment_ids)
    experiments: dict[int, RemoteExperiment] = {}
    for payload in raw_experiments.values():
        experiment = experiment_from_payload(payload)
        if experiment is not None:
            experiments[experiment.id] = experiment
    listed = {v for e in experiments.values() for v in (e.variation_ids or ())}
    unlisted = [e.id for e in experiments.values() if e.variation_ids is None]
    raw_variations = _read_variations(client, set(variation_ids) | listed, unlisted)
    variations: dict[int, RemoteVariation] = {}
    for payload in raw_variations.values():
        variation = variation_from_payload(payload)
        if variation is not None:
            variations[variation.id] = variation
    return RemoteState(experiments=experiments, variations=variations)
