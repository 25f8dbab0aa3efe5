"""Pure conversion of API objects into kamsync's models, tolerant of the API's variations.

Ids arrive as ints or numeric strings; an experiment lists its variations as ids, ``{"id": …}`` objects,
or under the older name ``variationsId``; a personalization under ``variationIds`` or, in older payloads, as a
single ``variationId``; unknown fields are ignored. A code field the answer does not
contain stays out of ``code`` (unknown), while a null one becomes "" (empty).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kamsync.core.catalog import VariationTraits, code_elsewhere
from kamsync.core.model import (
    EXPERIMENT_FIELDS,
    PERSONALIZATION_FIELDS,
    VARIATION_FIELDS,
    CodeField,
    Entity,
    RemoteExperiment,
    RemotePersonalization,
    RemoteSite,
    RemoteVariation,
)

__all__ = [
    "as_int",
    "code_of",
    "experiment_from_payload",
    "missing_code_fields",
    "personalization_from_payload",
    "site_from_payload",
    "traits_from_payload",
    "variation_from_payload",
    "variation_ids_of",
]

_VARIATION_LIST_KEYS = ("variations", "variationsId", "variationIds")
_OWNER_KEYS = (("experimentId", Entity.EXPERIMENT), ("personalizationId", Entity.PERSONALIZATION))


def as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, Mapping):
        return as_int(value.get("id"))
    return None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def variation_ids_of(payload: Mapping[str, object]) -> tuple[int, ...] | None:
    """The experiment's (or personalization's) variation ids, or None when the answer did not list them."""
    for key in _VARIATION_LIST_KEYS:
        value = payload.get(key)
        if isinstance(value, list):
            ids = (as_int(v) for v in value)
            return tuple(dict.fromkeys(i for i in ids if i is not None))
    if "variationId" in payload:  # an older personalization: one variation, or none (null)
        single = as_int(payload["variationId"])
        return () if single is None else (single,)
    return None


def code_of(payload: Mapping[str, object], fields: Sequence[CodeField]) -> dict[str, str]:
    code: dict[str, str] = {}
    for f in fields:
        if f.api_name in payload:
            value = payload[f.api_name]
            if value is None or isinstance(value, str):
                code[f.api_name] = value or ""
    return code


def missing_code_fields(payload: Mapping[str, object], fields: Sequence[CodeField] = EXPERIMENT_FIELDS) -> list[str]:
    """The code fields absent from the answer (absent, not null: null means empty)."""
    return [f.api_name for f in fields if f.api_name not in payload]


def experiment_from_payload(
    payload: Mapping[str, object], kind: type[RemoteExperiment] = RemoteExperiment
) -> RemoteExperiment | None:
    ident = as_int(payload.get("id"))
    if ident is None:
        return None
    fields = PERSONALIZATION_FIELDS if kind is RemotePersonalization else EXPERIMENT_FIELDS
    return kind(
        id=ident,
        name=_text(payload.get("name")),
        status=_text(payload.get("status")),
        site_id=as_int(payload.get("siteId")),
        variation_ids=variation_ids_of(payload),
        code=code_of(payload, fields),
    )


def personalization_from_payload(payload: Mapping[str, object]) -> RemotePersonalization | None:
    found = experiment_from_payload(payload, RemotePersonalization)
    return found if isinstance(found, RemotePersonalization) else None


def site_from_payload(payload: Mapping[str, object]) -> RemoteSite | None:
    """A site, keeping the whole object as read (its write replaces the whole object). A ``trackingScript``
    that is neither text nor null is unknown (``None``), never empty."""
    ident, code = as_int(payload.get("id")), payload.get("code")
    if ident is None or not isinstance(code, str):
        return None
    script = payload.get("trackingScript")
    tracking = None
    if "trackingScript" in payload and (script is None or isinstance(script, str)):
        tracking = script or ""
    return RemoteSite(id=ident, code=code, tracking_script=tracking, raw=dict(payload))


def variation_from_payload(payload: Mapping[str, object]) -> RemoteVariation | None:
    ident = as_int(payload.get("id"))
    if ident is None:
        return None
    traits = traits_from_payload(payload)
    return RemoteVariation(
        id=ident,
        name=_text(payload.get("name")),
        experiment_id=as_int(payload.get("experimentId")),
        code=code_of(payload, VARIATION_FIELDS),
        personalization_id=as_int(payload.get("personalizationId")),
        code_elsewhere=code_elsewhere(traits) if traits is not None else None,
    )


def _set(value: object) -> bool:
    """Whether a field holds something: not null, not blank text, not an empty list or object."""
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None and value != [] and value != {}


def traits_from_payload(payload: Mapping[str, object]) -> VariationTraits | None:
    """What a variation's answer says about where its code lives (the graphic editor, a widget, a redirect)."""
    ident = as_int(payload.get("id"))
    if ident is None:
        return None
    owner = next(
        ((kind, owner_id) for key, kind in _OWNER_KEYS if (owner_id := as_int(payload.get(key))) is not None), None
    )
    mode = _text(payload.get("creationMode")).strip().upper()
    return VariationTraits(
        id=ident,
        name=_text(payload.get("name")),
        owner=owner,
        generated=_set(payload.get("generatedJsCode")) or _set(payload.get("generatedCssCode")),
        widget=_set(payload.get("widgetTemplateInput")) or mode == "WIDGET",
        redirect=_set(payload.get("redirection")),
    )
