"""Reading what a credential can see: the sites, and the experiments, variations and personalizations of one site
or of all of them, one list per kind at 200 per page.

Nothing bounds how many objects a site holds, so each page after a list's first is priced on its own
(``before_page``) before it is sent: a server that never ends its pages runs into the budget, not through it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from kamsync.api.client import JsonObject, KameleoonClient
from kamsync.api.listing import listed_from_payload, site_from_payload, traits_from_payload
from kamsync.api.payloads import experiment_from_payload, variation_from_payload
from kamsync.api.query import equal_filter, item_id
from kamsync.api.remote import EXPERIMENT_OPTIONAL_FIELDS, fill_missing_code
from kamsync.core.catalog import Listed, Site, VariationTraits
from kamsync.core.errors import UsageError
from kamsync.core.model import Entity, RemoteExperiment, RemoteVariation

__all__ = ["RESOURCES", "SiteContents", "find_site", "read_entities", "read_site_contents", "read_sites"]

RESOURCES = {Entity.EXPERIMENT: "experiments", Entity.PERSONALIZATION: "personalizations"}
PageHook = Callable[[], None] | None


@dataclass(frozen=True, slots=True)
class SiteContents:
    """Everything one site holds, as a bootstrap reads it."""

    site: Site
    entities: tuple[Listed, ...]
    experiments: Mapping[int, RemoteExperiment]  # with their code
    variations: Mapping[int, RemoteVariation]
    traits: Mapping[int, VariationTraits]


def _site_filter(site: Site | None) -> list[dict[str, object]]:
    return [equal_filter("siteId", [site.id])] if site is not None else []


def _of(site: Site | None) -> str:
    return f" of site {site.code}" if site is not None else ""


def find_site(client: KameleoonClient, code: str, before_page: PageHook = None) -> Site:
    """The site with this code (one request), or ``UsageError`` when these credentials see none."""
    items = client.list(
        "sites", filters=[equal_filter("code", [code])], subject=f"site {code}", before_page=before_page
    )
    for item in items:
        site = site_from_payload(item)
        if site is not None and site.code == code:
            return site
    raise UsageError(
        f"--site {code}: no site with that code is visible to these credentials; `kamsync list` shows the "
        "sites they can see; nothing was written"
    )


def read_sites(client: KameleoonClient, before_page: PageHook = None) -> tuple[Site, ...]:
    items = client.list("sites", subject="the sites", before_page=before_page)
    found = (site_from_payload(item) for item in items)
    return tuple(sorted((s for s in found if s is not None), key=lambda s: s.id))


def _payloads(
    client: KameleoonClient,
    kind: Entity,
    site: Site | None,
    before_page: PageHook,
    optional_fields: Sequence[str] = (),
) -> list[JsonObject]:
    return client.list(
        RESOURCES[kind],
        filters=_site_filter(site),
        optional_fields=optional_fields,
        subject=f"the {RESOURCES[kind]}{_of(site)}",
        before_page=before_page,
    )


def read_entities(
    client: KameleoonClient,
    kinds: Collection[Entity],
    sites: Sequence[Site],
    site: Site | None = None,
    before_page: PageHook = None,
) -> tuple[Listed, ...]:
    """The experiments and personalizations (of ``kinds``) of ``site``, else of every site: one list each."""
    by_id = {s.id: s for s in sites}
    found: list[Listed] = []
    for kind in (k for k in RESOURCES if k in kinds):
        optional = ("variations",) if kind is Entity.EXPERIMENT else ()
        for payload in _payloads(client, kind, site, before_page, optional):
            listed = listed_from_payload(kind, payload, by_id)
            if listed is not None and (site is None or listed.site_id in (None, site.id)):
                found.append(listed)
    return tuple(found)


def read_site_contents(client: KameleoonClient, site: Site, before_page: PageHook = None) -> SiteContents:
    """A site's experiments (with their code), variations and personalizations: three lists."""
    raw = {
        ident: p
        for p in _payloads(client, Entity.EXPERIMENT, site, before_page, EXPERIMENT_OPTIONAL_FIELDS)
        if (ident := item_id(p)) is not None and _on(p, site)
    }
    variations = [
        p
        for p in client.list(
            "variations", filters=_site_filter(site), subject=f"the variations{_of(site)}", before_page=before_page
        )
        if _on(p, site)
    ]
    personalizations = [p for p in _payloads(client, Entity.PERSONALIZATION, site, before_page) if _on(p, site)]
    raw = fill_missing_code(client, raw)
    entities = [listed_from_payload(Entity.EXPERIMENT, p, {site.id: site}) for p in raw.values()]
    entities += [listed_from_payload(Entity.PERSONALIZATION, p, {site.id: site}) for p in personalizations]
    experiments = {e.id: e for p in raw.values() if (e := experiment_from_payload(p)) is not None}
    return SiteContents(
        site=site,
        entities=tuple(e for e in entities if e is not None),
        experiments=experiments,
        variations={v.id: v for p in variations if (v := variation_from_payload(p)) is not None},
        traits={t.id: t for p in variations if (t := traits_from_payload(p)) is not None},
    )


def _on(payload: JsonObject, site: Site) -> bool:
    """Whether an object belongs to ``site`` (one that does not say is taken at the filter's word)."""
    site_id = payload.get("siteId")
    return site_id is None or item_id({"id": site_id}) == site.id
