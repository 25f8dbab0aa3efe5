"""Pure reading of list answers for discovery: experiments and personalizations as ``Listed`` values (what a
variation's answer says about where its code lives is read with every variation, in ``payloads``)."""

from __future__ import annotations

from collections.abc import Mapping

from kamsync.api.payloads import experiment_from_payload, personalization_from_payload
from kamsync.core.catalog import Listed
from kamsync.core.model import Entity, RemoteSite

__all__ = ["listed_from_payload", "site_name"]


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
