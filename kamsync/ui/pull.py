"""How ``pull`` looks: what it mapped, wrote, merged, left alone or refused, and its JSON document."""

from __future__ import annotations

from kamsync.core.reports import PullReport, PullResult
from kamsync.core.states import State
from kamsync.ui.console import Console
from kamsync.ui.render import entry, ids
from kamsync.ui.show import renders

__all__ = ["pull_json"]


def pull_json(report: PullReport) -> dict[str, object]:
    result = report.result
    return {
        "written": [
            {
                "path": f.path,
                **ids(f.ref),
                "field": f.ref.field,
                "state": f.state,
                "merge": f.merge,
            }
            for f in result.written
        ],
        "conflicts": [f.path for f in result.written if f.merge == "conflicted"],
        "pulled_commit": result.pulled_commit,
        "refused": [{**entry(s), "reason": reason} for s, reason in result.refused],
        "left_alone": [entry(s) for s in result.left_alone],
        "added_experiments": result.added_experiments,
        "added_variations": [{"experiment_id": e, "variation_id": v, "dir": d} for e, v, d in result.added_variations]
        + [
            {"experiment_id": None, "personalization_id": p, "variation_id": v, "dir": d}
            for p, v, d in result.added_personalization_variations
        ],
        "renamed": [{"variation_id": v, "name": n} for v, n in result.renamed],
        "missing": [entry(s) for s in result.missing],
        "manifest_changed": result.manifest_changed,
        "added_personalizations": result.added_personalizations,
        "not_mapped": [
            {"kind": n.kind.value, "id": n.id, "name": n.name, "reason": n.reason} for n in result.not_mapped
        ],
        "requests": report.requests,
    }


@renders(PullReport)
def show_pull(console: Console, report: PullReport) -> None:
    result = report.result
    console.emit_json(pull_json(report))
    _mapped(console, result, report.manifest_name)
    _written(console, result)
    _left(console, result)
    if not result.written and not result.manifest_changed and not result.refused:
        console.out("nothing to pull: no remote change to bring in")
    console.out(f"{report.requests} requests used")


def _mapped(console: Console, result: PullResult, manifest_name: str) -> None:
    for experiment_id in result.added_experiments:
        console.detail(f"mapped experiment {experiment_id} in {manifest_name}")
    for experiment_id, variation_id, folder in result.added_variations:
        console.detail(f"mapped variation {variation_id} of experiment {experiment_id} as {folder}/")
    for owner_id, variation_id, folder in result.added_personalization_variations:
        console.detail(f"mapped variation {variation_id} of personalization {owner_id} as {folder}/")
    for variation_id, name in result.renamed:
        console.detail(f"variation {variation_id} is now named {name!r} in Kameleoon (files stay where they are)")


def _written(console: Console, result: PullResult) -> None:
    for pulled in result.written:
        if pulled.merge == "clean":
            console.detail(f"merged {pulled.path} ({pulled.state}): your edit and Kameleoon's are both kept")
        elif pulled.merge == "conflicted":
            console.error(
                f"conflict: {pulled.path} ({pulled.ref.describe()}): your edit and Kameleoon's overlap; the file "
                "now holds both between <<<<<<< local and >>>>>>> Kameleoon markers: resolve them, then commit"
            )
        else:
            console.detail(f"wrote {pulled.path} ({pulled.state})")
    if result.pulled_commit is not None:
        console.info(
            f"Kameleoon's values are recorded as commit {result.pulled_commit[:12]} and merged into your next "
            "commit (git shows a merge in progress): `git commit` makes them part of history, so other clones "
            "and CI know them"
        )


def _left(console: Console, result: PullResult) -> None:
    for status in result.left_alone:
        if status.state is State.REMOTE_AHEAD:
            console.info(
                f"left alone: {status.path} is remote-ahead: Kameleoon holds code of a commit this branch lacks; "
                "merge that branch (git merge / git pull), or `kamsync pull --force` takes Kameleoon's value"
            )
            continue
        console.info(
            f"left alone: {status.path} is {status.state.value}: its news is in git; "
            "`kamsync push` sends it (or `kamsync pull --force` takes Kameleoon's value)"
        )
    for status, reason in result.refused:
        console.error(f"refused: {status.path} ({status.mapped.ref.describe()}): {reason}")
    for status in result.missing:
        console.warn(
            f"{status.path}: {status.mapped.ref.describe()} no longer exists in Kameleoon; "
            "remove it from the manifest if that is intended"
        )
