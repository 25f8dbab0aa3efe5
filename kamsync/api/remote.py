"""Reading what Kameleoon holds for a manifest, in as few requests as the rate limit deserves.

Normal cost: one request per 200 experiments, one per 200 personalizations, one per 200 variations (of both),
one for the site (plus the token). Extra requests are only spent when the API leaves something out: an
experiment or personalization without its variation list or a code field.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from urllib.parse import urlsplit

from kamsync.api.client import JsonObject, KameleoonClient
from kamsync.api.payloads import (
    as_int,
    experiment_from_payload,
    missing_code_fields,
    personalization_from_payload,
    site_from_payload,
    variation_from_payload,
)
from kamsync.api.query import chunked, equal_filter, item_id
from kamsync.core.errors import ApiError
from kamsync.core.model import (
    EXPERIMENT_FIELDS,
    PERSONALIZATION_FIELDS,
    CodeField,
    RemoteExperiment,
    RemotePersonalization,
    RemoteSite,
    RemoteState,
    RemoteVariation,
)

__all__ = [
    "EXPERIMENT_OPTIONAL_FIELDS",
    "fill_missing_code",
    "read_remote",
    "read_sites_by_code",
    "simulation_url",
    "subject_for",
    "web_url",
]

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


def _read_experiments(
    client: KameleoonClient,
    ids: Collection[int],
    kind: str = "experiment",
    fields: tuple[CodeField, ...] = EXPERIMENT_FIELDS,
) -> dict[int, JsonObject]:
    """Experiments (or, by ``kind``, personalizations) by id: one list per 200, a single read only for an
    object the list answered without one of its code fields."""
    found: dict[int, JsonObject] = {}
    for chunk in chunked(ids):
        items = client.list(
            f"{kind}s",
            filters=[equal_filter("id", chunk)],
            optional_fields=EXPERIMENT_OPTIONAL_FIELDS if kind == "experiment" else (),
            expect_ids=chunk,
            subject=subject_for(kind, chunk),
        )
        found.update(_by_id(items, set(chunk)))
    return fill_missing_code(client, found, kind, fields)


def fill_missing_code(
    client: KameleoonClient,
    found: dict[int, JsonObject],
    kind: str = "experiment",
    fields: tuple[CodeField, ...] = EXPERIMENT_FIELDS,
) -> dict[int, JsonObject]:
    """``found`` with each experiment (or personalization) whose list answer left out a code field read on its
    own (one request each, spent only when the API leaves something out)."""
    optional = EXPERIMENT_OPTIONAL_FIELDS if kind == "experiment" else ()
    for ident, payload in list(found.items()):
        if missing_code_fields(payload, fields):
            # The list left a code field out; the single-object answer may carry it. Still absent = unknown.
            single = client.get(f"{kind}s", ident, optional_fields=optional, subject=f"{kind} {ident}")
            found[ident] = {**single, **payload}
    return found


def read_sites_by_code(client: KameleoonClient, codes: Collection[str]) -> dict[str, RemoteSite]:
    """The sites by code, in one list filtered by code (never a code in a URL path); a site the server sends
    under another code than asked is no answer for it."""
    if not codes:
        return {}
    wanted = sorted(set(codes))
    items = client.list("sites", filters=[equal_filter("code", wanted)], subject=f"site {', '.join(wanted)}")
    found: dict[str, RemoteSite] = {}
    for item in items:
        site = site_from_payload(item)
        if site is not None and site.code in wanted:
            found.setdefault(site.code, site)
    return found


def _read_variations(
    client: KameleoonClient,
    ids: Collection[int],
    unlisted_experiments: Collection[int],
    unlisted_personalizations: Collection[int] = (),
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
    # Owners that did not list their variations: ask by owner, to discover ones added in the UI.
    for kind, owners in (("experiment", unlisted_experiments), ("personalization", unlisted_personalizations)):
        for chunk in chunked(owners):
            items = client.list(
                "variations",
                filters=[equal_filter(f"{kind}Id", chunk)],
                subject=f"the variations of {subject_for(kind, chunk)}",
            )
            wanted = set(chunk)
            for ident, payload in _by_id(items, None).items():
                if as_int(payload.get(f"{kind}Id")) in wanted:
                    found.setdefault(ident, payload)
    return found


def read_remote(
    client: KameleoonClient,
    experiment_ids: Collection[int],
    variation_ids: Collection[int],
    *,
    personalization_ids: Collection[int] = (),
    site_codes: Collection[str] = (),
) -> RemoteState:
    """What Kameleoon holds for these experiments, personalizations, variations and sites, plus the variations
    the experiments and personalizations list (in one variation list for both).

    Whatever Kameleoon did not return is absent from the state; the caller decides what that means.
    """
    experiments: dict[int, RemoteExperiment] = {}
    for payload in _read_experiments(client, experiment_ids).values():
        experiment = experiment_from_payload(payload)
        if experiment is not None:
            experiments[experiment.id] = experiment
    personalizations: dict[int, RemotePersonalization] = {}
    for payload in _read_experiments(client, personalization_ids, "personalization", PERSONALIZATION_FIELDS).values():
        personalization = personalization_from_payload(payload)
        if personalization is not None:
            personalizations[personalization.id] = personalization
    owners = (*experiments.values(), *personalizations.values())
    listed = {v for e in owners for v in (e.variation_ids or ())}
    unlisted = [e.id for e in experiments.values() if e.variation_ids is None]
    unlisted_personalizations = [p.id for p in personalizations.values() if p.variation_ids is None]
    raw_variations = _read_variations(client, set(variation_ids) | listed, unlisted, unlisted_personalizations)
    variations: dict[int, RemoteVariation] = {}
    for payload in raw_variations.values():
        variation = variation_from_payload(payload)
        if variation is not None:
            variations[variation.id] = variation
    sites = read_sites_by_code(client, site_codes)
    return RemoteState(experiments, variations, personalizations, sites)


def simulation_url(client: KameleoonClient, experiment_id: int) -> str:
    """The URL that opens a Kameleoon simulation of the experiment (one request); ``ApiError`` when the answer
    is not an http(s) URL, which would be no place to send a developer."""
    subject = f"the simulation URL of experiment {experiment_id}"
    text = client.get_text(f"/experiments/simulate/{experiment_id}", subject=subject)
    url = web_url(text)
    if url is None:
        raise ApiError(
            f"Kameleoon answered the request for {subject} with something other than a web URL", subject=subject
        )
    return url


def web_url(text: str) -> str | None:
    """``text`` (trimmed, unquoted when the server sent a JSON string) when it is one http(s) URL, else None."""
    candidate = text.strip()
    if len(candidate) >= 2 and candidate[0] == candidate[-1] == '"':
        candidate = candidate[1:-1]
    parts = urlsplit(candidate)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in candidate):
        return None
    return candidate
