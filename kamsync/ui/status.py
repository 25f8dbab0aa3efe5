"""How ``status`` and ``diff`` look: one line per field, the diffs, a count per state on stderr; their JSON."""

from __future__ import annotations

from kamsync.core.durations import clock_time
from kamsync.core.plan import describe_base
from kamsync.core.reports import DiffReport, StatusReport
from kamsync.core.states import DIFFERING, State
from kamsync.ui.console import Console, Styled
from kamsync.ui.render import base_diff, entry, status_line, summary, unified_diff
from kamsync.ui.session import nothing_changed
from kamsync.ui.show import renders

__all__ = ["diff_json", "status_json"]


def status_json(report: StatusReport) -> dict[str, object]:
    document: dict[str, object] = {
        "entries": [entry(s) for s in report.statuses],
        "new_variations": [
            {"experiment_id": experiment_id, "variation_id": v.id, "name": v.name}
            for experiment_id, variations in report.new_variations.items()
            for v in variations
        ]
        + [
            {"experiment_id": None, "personalization_id": owner, "variation_id": v.id, "name": v.name}
            for owner, variations in report.new_personalization_variations.items()
            for v in variations
        ],
        "warnings": list(report.warnings),
    }
    return {**document, "requests": 0} if report.skipped is not None else document


@renders(StatusReport)
def show_status(console: Console, report: StatusReport) -> None:
    if report.skipped is not None:
        console.info(nothing_changed(report.skipped))
        console.emit_json(status_json(report))
        return
    for warning in report.warnings:
        console.warn(warning)
    if report.interrupted is not None:
        unfinished = report.interrupted
        console.warn(
            f"the {unfinished.command} started at {clock_time(unfinished.started_at)} did not finish "
            f"({unfinished.done} of {unfinished.total} writes confirmed); run it again to resume it"
        )
    console.emit_json(status_json(report))
    _status_lines(console, report)
    if not console.json_mode:  # the JSON holds every entry: its stderr stays for problems
        console.summary(summary(report.statuses))


def _status_lines(console: Console, report: StatusReport) -> None:
    shown = [s for s in report.statuses if not (report.changed_only and s.state is State.IN_SYNC)]
    width = max((len(s.state.value) for s in shown), default=0)
    for status in shown:
        state, rest = status_line(status)
        console.out(Styled(state.ljust(width), state), f"  {rest}")
    news = (("experiment", report.new_variations), ("personalization", report.new_personalization_variations))
    for kind, new in news:
        for owner_id, variations in new.items():
            for variation in variations:
                console.out(
                    f"new in Kameleoon: variation {variation.id} {variation.name!r} of {kind} {owner_id}; "
                    "`kamsync pull` maps it"
                )


def diff_json(report: DiffReport) -> dict[str, object]:
    differing = [s for s in report.statuses if s.state in DIFFERING]
    entries = [{**entry(s), "diff": unified_diff(s), "base_diff": base_diff(s)} for s in differing]
    return {"entries": entries, "requests": 0} if report.skipped is not None else {"entries": entries}


@renders(DiffReport)
def show_diff(console: Console, report: DiffReport) -> None:
    if report.skipped is not None:
        console.info(nothing_changed(report.skipped))
        console.emit_json(diff_json(report))
        return
    for warning in report.warnings:
        console.warn(warning)
    console.emit_json(diff_json(report))
    differing = [s for s in report.statuses if s.state in DIFFERING]
    for status in differing:
        console.out(Styled(f"# {status.state.value}: {status.mapped.ref.describe()}", status.state.value))
        _diff_lines(console, unified_diff(status))
        since = base_diff(status)
        if since is not None:
            assert status.base is not None
            console.out(f"# what changed in Kameleoon since {describe_base(status.base)}:")
            _diff_lines(console, since)
    missing = [s for s in report.statuses if s.state is State.REMOTE_MISSING]
    for status in missing:
        console.info(f"{status.path}: {status.mapped.ref.describe()} no longer exists in Kameleoon")
    if not differing and not missing and not console.json_mode:
        console.summary(f"nothing to show: Kameleoon and the local files agree ({summary(report.statuses)})")


def _diff_lines(console: Console, diff: str) -> None:
    for line in diff.splitlines():
        key = "@" if line.startswith("@@") else line[:1] if line[:1] in "+-" and line[:3] not in ("---", "+++") else ""
        console.out(Styled(line, key) if key else line)
