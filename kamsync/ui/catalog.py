"""How ``kamsync list`` and the notes of ``kamsync pull --site`` look: JSON payloads (documented in the README) and
human lines; names come from Kameleoon, so the console shows them made visible."""

from __future__ import annotations

from itertools import groupby

from kamsync.api.listing import site_name
from kamsync.core.catalog import Listed, Listing, NotMapped, SitePulled
from kamsync.core.model import Entity
from kamsync.core.reports import PullResult
from kamsync.ui.console import Console
from kamsync.ui.pull import show_pull
from kamsync.ui.show import renders

__all__ = ["bootstrap_summary", "listing_payload", "not_mapped_line", "show_listing", "show_site_pull"]


def listing_payload(listing: Listing) -> dict[str, object]:
    return {
        "entities": [
            {
                "kind": e.kind.value,
                "id": e.id,
                "name": e.name,
                "site_code": e.site_code,
                "status": e.status,
                "variation_ids": list(e.variation_ids or ()),
                "mapped": (e.kind, e.id) in listing.mapped,
                "dir": listing.mapped.get((e.kind, e.id)),
            }
            for e in listing.entities
        ],
        "requests": listing.requests,
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _entity_line(entity: Listed, listing: Listing) -> str:
    variations = "?" if entity.variation_ids is None else str(len(entity.variation_ids))
    where = listing.mapped.get((entity.kind, entity.id))
    mapped = f"-> {where}" if where is not None else "not mapped"
    kind = entity.kind.value.ljust(len(Entity.PERSONALIZATION.value))
    status = (entity.status or "?").ljust(8)
    return f"  {kind}  {entity.id:>8}  {status}  {variations:>3} var.  {entity.name!r}  {mapped}"


@renders(Listing)
def show_listing(console: Console, listing: Listing) -> None:
    """The listing, grouped by site, on stdout; what it cost on stderr."""
    console.emit_json(listing_payload(listing))
    codes = {s.id: s for s in listing.sites}
    shown: set[int | None] = set()
    for site_id, group in groupby(listing.entities, key=lambda e: e.site_id):
        shown.add(site_id)
        site = codes.get(site_id) if site_id is not None else None
        console.out(f"site {site.code} {site_name(site)!r} (id {site.id})" if site else "site unknown")
        for entity in group:
            console.out(_entity_line(entity, listing))
    for site in listing.sites:
        if site.id not in shown:
            console.out(f"site {site.code} {site_name(site)!r} (id {site.id}): nothing listed")
    kinds = [e.kind for e in listing.entities]
    if listing.manifest is None:
        console.info("no kamsync.yaml here: nothing is mapped yet (`kamsync pull --site CODE` maps a whole site)")
    mapped = sum(1 for e in listing.entities if (e.kind, e.id) in listing.mapped)
    experiments = _plural(kinds.count(Entity.EXPERIMENT), "experiment")
    personalizations = _plural(kinds.count(Entity.PERSONALIZATION), "personalization")
    if not console.json_mode:  # the JSON holds the count of requests: its stderr stays for problems
        console.summary(
            f"{experiments}, {personalizations} on {_plural(len(listing.sites), 'site')} ({mapped} mapped); "
            f"{_plural(listing.requests, 'request')} used"
        )


def not_mapped_line(note: NotMapped) -> str:
    return f"not mapped: {note.kind.value} {note.id} {note.name!r}: {note.reason}"


def bootstrap_summary(site_code: str, result: PullResult) -> str:
    experiments = _plural(len(result.added_experiments), "experiment")
    personalizations = _plural(len(result.added_personalizations), "personalization")
    return f"site {site_code}: {experiments} and {personalizations} mapped, {len(result.not_mapped)} left out"


@renders(SitePulled)
def show_site_pull(console: Console, pulled: SitePulled) -> None:
    """What was left out and why, what was mapped, then what pull shows."""
    result = pulled.pull.result
    for note in result.not_mapped:
        console.info(not_mapped_line(note))
    for personalization_id in result.added_personalizations:
        console.detail(f"mapped personalization {personalization_id} in {pulled.pull.manifest_name}")
    console.info(bootstrap_summary(pulled.site_code, result))
    show_pull(console, pulled.pull)
