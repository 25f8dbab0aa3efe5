"""Pure reading of list answers for discovery: sites, experiments and personalizations as ``Listed`` values, and
what a variation's answer says about where its code lives (``VariationTraits``)."""

from __future__ import annotations

from collections.abc import Mapping

from kamsync.api.payloads import as_int, variation_ids_of
from kamsync.core.catalog import Listed, Site, VariationTraits
from kamsync.core.model import Entity

__all__ = ["listed_from_payload", "site_from_payload", "traits_from_payload"]

_OWNER_KEYS = (("experimentId", Entity.EXPERIMENT), ("personalizationId", Entity.PERSONALIZATION))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def site_from_payload(payload: Mapping[str, object]) -> Site | None:
    ident = as_int(payload.get("id"))
    code = _text(payload.get("code"))
    if ident is None or not code:
        return None
    return Site(ident, code, _text(payload.get("name")))


def _variation_ids(payload: Mapping[str, object]) -> tuple[int, ...] | None:
    ids = variation_ids_of(payload)
    if ids is None and "variationId" in payload:  # older personalizations hold a single variation
        single = as_int(payload.get("variationId"))
        ids = () if single is None else (single,)
    return ids


def listed_from_payload(kind: Entity, payload: Mapping[str, object], sites: Mapping[int, Site]) -> Listed | None:
    """An experiment's or personalization's answer as listed; ``None`` without an id."""
    ident = as_int(payload.get("id"))
    if ident is None:
        return None
    site_id = as_int(payload.get("siteId"))
    site = sites.get(site_id) if site_id is not None else None
    return Listed(
        kind=kind,
        id=ident,
        name=_text(payload.get("name")),
        site_id=site_id,
        site_code=site.code if site is not None else (_text(payload.get("siteCode")) or None),
        status=_text(payload.get("status")),
        type=_text(payload.get("type")),
        variation_ids=_variation_ids(payload),
    )


def _set(value: object) -> bool:
    """Whether a field holds something: not null, not blank text, not an empty list or object."""
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None and value != [] and value != {}


def traits_from_payload(payload: Mapping[str, object]) -> VariationTraits | None:
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
