"""``kamsync pull --site CODE``: map every experiment and personalization of a site that the manifest does not map
yet, and write their files through pull's own machinery (the manifest edited keeping its comments, the files
checked before they are written, Kameleoon's values recorded as a pulled commit).

Requests: the site lookup, then one list per kind (experiments, variations, personalizations) at 200 per page:
⌊N/200⌋ + 1 pages for N objects, plus the token when none is cached. Entities whose code Kameleoon makes (the
graphic editor, widgets) or that redirect are left out with a note, whole: files for them would be pushed over
what the editor made.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from kamsync.api.catalog import SiteContents, find_site, read_site_contents
from kamsync.core.catalog import Listed, NotMapped, SitePulled, bootstrap_choice, check_site_code, status_matches
from kamsync.core.errors import UsageError
from kamsync.core.model import EXPERIMENTS, PERSONALIZATIONS, Entity, Manifest, RemoteVariation
from kamsync.core.paths import escape_problem
from kamsync.core.reports import PullResult
from kamsync.git.pulled import check_can_merge
from kamsync.git.repo import GitRepo
from kamsync.manifest.parse import load_manifest
from kamsync.state.lock import repo_lock
from kamsync.sync.commands import _into_history, _manifest_for_pull, _merge, _pulled
from kamsync.sync.discover import mapped_dirs, page_pricer
from kamsync.sync.pull import add_experiment, experiment_dir_for
from kamsync.sync.report import Report
from kamsync.sync.session import Options, running
from kamsync.sync.survey import belongs

__all__ = ["run_bootstrap"]

_WHAT = "kamsync pull --site"
_CAMPAIGNS = {Entity.EXPERIMENT: EXPERIMENTS, Entity.PERSONALIZATION: PERSONALIZATIONS}


def run_bootstrap(opts: Options, report: Report, site_code: str, statuses: Collection[str]) -> SitePulled:
    check_site_code(site_code)
    cwd = Path.cwd()
    repo = GitRepo.discover(cwd)
    manifest_path = _manifest_for_pull(opts, repo, cwd, creating=True)
    with repo_lock(repo.state_dir(), _WHAT, opts.lock_wait):
        manifest = load_manifest(manifest_path, repo.top, repo.git_dirs) if manifest_path.exists() else None
        with running(opts, manifest.rate_limit if manifest else None, report) as run:
            client = run.client
            # The site, then the first page of each of three lists; every further page is priced as it comes.
            run.charge(4 + (1 if run.token_needed() else 0), _WHAT)
            more = page_pricer(run, _WHAT)
            contents = read_site_contents(client, find_site(client, site_code), more)
            requests = client.requests_sent
        planned, notes = _plan(repo, manifest_path.parent, manifest, contents, statuses)
        result = PullResult(not_mapped=notes)
        if planned:
            _write(repo, manifest_path, manifest is not None, contents, planned, result)
            result.pulled_commit = _into_history(report, repo, manifest_path, result)
    return SitePulled(_pulled(result, requests, manifest_path), site_code)


def _plan(
    repo: GitRepo, root: Path, manifest: Manifest | None, contents: SiteContents, statuses: Collection[str]
) -> tuple[list[tuple[Listed, str]], list[NotMapped]]:
    """What to map, each with its folder, and what to leave out. Every folder is checked before anything is
    written: nothing is written for a bootstrap whose folders would leave the repository."""
    wanted = [e for e in contents.entities if status_matches(e.status, statuses)]
    mapped_variations = manifest.variation_ids() if manifest else ()
    take, notes = bootstrap_choice(wanted, contents.traits, mapped_dirs(manifest), mapped_variations)
    taken = set(mapped_dirs(manifest).values())
    planned: list[tuple[Listed, str]] = []
    for entity in take:
        folder = experiment_dir_for(root, entity.remote, taken, _CAMPAIGNS[entity.kind])
        problem = escape_problem(root, folder, repo.top, repo.git_dirs)
        if problem is not None:
            raise UsageError(f"kamsync pull does not write '{folder}': it {problem}; nothing was written")
        taken.add(folder)
        planned.append((entity, folder))
    return planned, notes


def _write(
    repo: GitRepo,
    manifest_path: Path,
    exists: bool,
    contents: SiteContents,
    planned: list[tuple[Listed, str]],
    result: PullResult,
) -> None:
    """Map and write what was planned, through pull's own writing; the manifest is opened (ruamel) only now."""
    from kamsync.manifest.edit import ManifestEditor  # ruamel, only for the commands that edit the manifest

    check_can_merge(repo)
    editor = ManifestEditor.open(manifest_path) if exists else ManifestEditor.create(manifest_path)
    owned: dict[tuple[Entity, int], list[RemoteVariation]] = {}
    for variation in sorted(contents.variations.values(), key=lambda v: v.id):
        if variation.personalization_id is not None:
            owned.setdefault((Entity.PERSONALIZATION, variation.personalization_id), []).append(variation)
        elif variation.experiment_id is not None:
            owned.setdefault((Entity.EXPERIMENT, variation.experiment_id), []).append(variation)
    for entity, folder in planned:
        remote = entity.remote
        listed = [contents.variations[i] for i in remote.variation_ids or () if i in contents.variations]
        candidates = {v.id: v for v in [*owned.get((entity.kind, remote.id), []), *listed]}
        variations = [
            v for _, v in sorted(candidates.items()) if belongs(v, remote.id, remote.variation_ids, entity.kind)
        ]
        campaign = _CAMPAIGNS[entity.kind]
        _merge(result, add_experiment(repo, manifest_path.parent, editor, remote, variations, set(), folder, campaign))
    editor.save()
