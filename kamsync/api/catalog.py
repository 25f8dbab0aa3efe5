"""Reading what a credential can see: the sites, and the experiments, variations and personalizations of one site
or of all of them, one list per kind at 200 per page.

Nothing bounds how many objects a site holds, so each page after a list's first is priced on its own
(``before_page``) before it is sent: a server that never ends its pages runs into the budget, not through it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from kamsync.api.client import JsonObject, KameleoonClient
from kamsync.api.listing import listed_from_payload
from kamsync.api.payloads import site_from_payload, traits_from_payload, variation_from_payload
from kamsync.api.query import equal_filter, item_id
from kamsync.api.remote import EXPERIMENT_OPTIONAL_FIELDS, fill_missing_code, read_sites_by_code
from kamsync.core.catalog import Listed, VariationTraits
from kamsync.core.errors import UsageError
from kamsync.core.model import EXPERIMENTS, PERSONALIZATIONS, Entity, RemoteSite, RemoteVariation

__all__ = ["SiteContents", "find_site", "read_entities", "read_site_contents", "read_sites"]

_CAMPAIGNS = {Entity.EXPERIMENT: EXPERIMENTS, Entity.PERSONALIZATION: PERSONALIZATIONS}
PageHook = Callable[[], None]  # run before each page after a list's first


@dataclass(frozen=True, slots=True)
class SiteContents:
    """Everything one site holds, as a bootstrap reads it: its experiments and personalizations (with their
    code), and its variations (with their code, and what says where it lives)."""

    site: RemoteSite
    entities: tuple[Listed, ...]
    variations: Mapping[int, RemoteVariation]
    traits: Mapping[int, VariationTraits]


def _site_filter(site: RemoteSite | None) -> list[dict[str, object]]:
    return [equal_filter("siteId", [site.id])] if site is not None else []


def _of(site: RemoteSite | None) -> str:
    return f" of site {site.code}" if site is not None else ""


def find_site(client: KameleoonClient, code: str) -> RemoteSite:
    """The site with this code (one request), or ``UsageError`` when these credentials see none."""
    site = read_sites_by_code(client, [code]).get(code)
    if site is None:
        raise UsageError(
            f"--site {code}: no site with that code is visible to these credentials; `kamsync list` shows the "
            "sites they can see; nothing was written"
        )
    return site


def read_sites(client: KameleoonClient, before_page: PageHook) -> tuple[RemoteSite, ...]:
    items = client.list("sites", subject="the sites", before_page=before_page)
    found = (site_from_payload(item) for item in items)
    return tuple(sorted((s for s in found if s is not None), key=lambda s: s.id))


def _payloads(
    client: KameleoonClient, kind: Entity, site: RemoteSite | None, before_page: PageHook, *, code: bool
) -> list[JsonObject]:
    """One kind's list (of one site): with every code field when ``code``, else with the variation ids only."""
    resource = _CAMPAIGNS[kind].manifest_key
    optional = ("variations",) if kind is Entity.EXPERIMENT else ()
    items = client.list(
        resource,
        filters=_site_filter(site),
        optional_fields=EXPERIMENT_OPTIONAL_FIELDS if code and kind is Entity.EXPERIMENT else optional,
        subject=f"the {resource}{_of(site)}",
        before_page=before_page,
    )
    kept = [item for item in items if site is None or _on(item, site)]
    if not code:
        return kept
    by_id = {ident: item for item in kept if (ident := item_id(item)) is not None}
    return list(fill_missing_code(client, by_id, kind.value, _CAMPAIGNS[kind].fields).values())


def read_entities(
    client: KameleoonClient,
    kinds: Collection[Entity],
    sites: Sequence[RemoteSite],
    site: RemoteSite | None,
    before_page: PageHook,
) -> tuple[Listed, ...]:
    """The experiments and personalizations (of ``kinds``) of ``site``, else of every site: one list each."""
    by_id = {s.id: s for s in sites}
    found: list[Listed] = []
    for kind in (k for k in _CAMPAIGNS if k in kinds):
        for payload in _payloads(client, kind, site, before_page, code=False):
            listed = listed_from_payload(kind, payload, by_id)
            if listed is not None:
                found.append(listed)
    return tuple(found)


def read_site_contents(client: KameleoonClient, site: RemoteSite, before_page: PageHook) -> SiteContents:
    """A site's experiments, variations and personalizations, with their code: three lists."""
    experiments = _payloads(client, Entity.EXPERIMENT, site, before_page, code=True)
    variations = client.list(
        "variations", filters=_site_filter(site), subject=f"the variations{_of(site)}", before_page=before_page
    )
    variations = [p for p in variations if _on(p, site)]
    personalizations = _payloads(client, Entity.PERSONALIZATION, site, before_page, code=True)
    entities = [listed_from_payload(Entity.EXPERIMENT, p, {site.id: site}) for p in experiments]
    entities += [listed_from_payload(Entity.PERSONALIZATION, p, {site.id: site}) for p in personalizations]
    return SiteContents(
        site=site,
        entities=tuple(e for e in entities if e is not None),
        variations={v.id: v for p in variations if (v := variation_from_payload(p)) is not None},
        traits={t.id: t for p in variations if (t := traits_from_payload(p)) is not None},
    )


def _on(payload: JsonObject, site: RemoteSite) -> bool:
    """Whether an object belongs to ``site`` (one that does not say is taken at the filter's word)."""
    site_id = payload.get("siteId")
    return site_id is None or item_id({"id": site_id}) == site.id
