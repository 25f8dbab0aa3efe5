"""``kamsync list``: what the credential can see — sites, experiments, personalizations — and where each mapped
one lives, at one list request per 200 objects of each kind. Returns a ``Listing``; ``kamsync.ui.catalog``
renders it."""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import suppress
from pathlib import Path

from kamsync.api.catalog import find_site, read_entities, read_sites
from kamsync.core.catalog import Listing, check_site_code, status_matches
from kamsync.core.errors import GitError, UsageError
from kamsync.core.model import Entity, Manifest, RemoteSite
from kamsync.git.workspace import Workspace
from kamsync.manifest.parse import display_path
from kamsync.sync.report import Report
from kamsync.sync.session import Options, Run, running

__all__ = ["list_entities", "mapped_dirs", "page_pricer"]


def mapped_dirs(manifest: Manifest | None) -> dict[tuple[Entity, int], str]:
    """Where each mapped experiment and personalization lives, relative to the manifest's folder."""
    if manifest is None:
        return {}
    mapped = {(Entity.EXPERIMENT, e.id): e.dir for e in manifest.experiments}
    return mapped | {(Entity.PERSONALIZATION, p.id): p.dir for p in manifest.personalizations}


def page_pricer(run: Run, what: str) -> Callable[[], None]:
    """Prices one more list page before it is sent (``Run.charge``): refused when the budget lacks it."""

    def charge() -> None:
        run.charge(1, what)

    return charge


def _manifest(opts: Options) -> Manifest | None:
    """The manifest a listing is compared with: the one found as every command finds it, else none (a new
    user lists before mapping anything). One named with --manifest must exist; a bad one is refused."""
    if opts.manifest_given:
        return Workspace.open(opts.manifest, opts.environ, Path.cwd()).manifest
    with suppress(UsageError, GitError):
        return Workspace.open(None, opts.environ, Path.cwd()).manifest
    return None


def list_entities(
    opts: Options, report: Report, *, site_code: str | None, statuses: Collection[str], kinds: Collection[Entity]
) -> Listing:
    if site_code is not None:
        check_site_code(site_code)
    manifest = _manifest(opts)
    with running(opts, manifest.rate_limit if manifest else None, report) as run:
        client = run.client
        # One request for the site (or the first page of sites), one first page per kind; more pages as they come.
        run.charge(1 + len(kinds) + (1 if run.token_needed() else 0), "kamsync list")
        more = page_pricer(run, "kamsync list")
        site: RemoteSite | None = find_site(client, site_code) if site_code is not None else None
        sites = (site,) if site is not None else read_sites(client, more)
        entities = read_entities(client, kinds, sites, site, more)
        requests = client.requests_sent
    chosen = sorted(
        (e for e in entities if status_matches(e.status, statuses)), key=lambda e: (e.site_id or 0, e.kind.value, e.id)
    )
    return Listing(
        sites=sites,
        entities=tuple(chosen),
        mapped=mapped_dirs(manifest),
        requests=requests,
        manifest=display_path(Path(manifest.path)) if manifest else None,
    )
