"""Pure reading of list answers for discovery: experiments and personalizations as ``Listed`` values, and what a
variation's answer says about where its code lives (``VariationTraits``)."""

from __future__ import annotations

from collections.abc import Mapping

from kamsync.api.payloads import as_int, experiment_from_payload, personalization_from_payload
from kamsync.core.catalog import Listed, VariationTraits
from kamsync.core.model import Entity, RemoteSite

__all__ = ["listed_from_payload", "site_name", "traits_from_payload"]

_OWNER_KEYS = (("experimentId", Entity.EXPERIMENT), ("personalizationId", Entity.PERSONALIZATION))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def site_name(site: RemoteSite) -> str:
    return _text(site.raw.get("name"))


def listed_from_payload(kind: Entity, payload: Mapping[str, object], sites: Mapping[int, RemoteSite]) -> Listed | None:
    """An experiment's or personalization's answer as listed (with its code, when the answer holds it)."""
    remote = (
        personalization_from_payload(payload) if kind is Entity.PERSONALIZATION else experiment_from_payload(payload)
    )
    if remote is None:
        return None
    site = sites.get(remote.site_id) if remote.site_id is not None else None
    code = site.code if site is not None else (_text(payload.get("siteCode")) or None)
    return Listed(kind, remote, code)


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
