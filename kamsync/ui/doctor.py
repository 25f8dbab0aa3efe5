"""How ``kamsync doctor`` looks: one line per check, what to do under each failed one; its JSON."""

from __future__ import annotations

from collections.abc import Sequence

from kamsync.core.checks import Check, failed
from kamsync.core.reports import DoctorReport
from kamsync.ui.console import Console, Part, Styled
from kamsync.ui.show import renders

__all__ = ["doctor_payload", "doctor_summary", "doctor_text"]


def doctor_text(checks: Sequence[Check]) -> list[tuple[Part, ...]]:
    width = max((len(c.name) for c in checks), default=0)
    lines: list[tuple[Part, ...]] = []
    for check in checks:
        mark = Styled("ok  ", "in-sync") if check.ok else Styled("FAIL", "error")
        lines.append((mark, f"  {check.name + ':':<{width + 1}} {check.detail}"))
        if check.fix and not check.ok:
            lines.append((f"      {'':<{width + 1}} fix: {check.fix}",))
    return lines


def doctor_summary(checks: Sequence[Check]) -> str:
    bad = failed(checks)
    if not bad:
        return f"all {len(checks)} checks passed"
    return f"{len(bad)} of {len(checks)} checks failed: {', '.join(c.name for c in bad)}"


def doctor_payload(checks: Sequence[Check]) -> dict[str, object]:
    return {
        "ok": not failed(checks),
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail, "fix": c.fix or None} for c in checks],
    }


@renders(DoctorReport)
def show_doctor(console: Console, report: DoctorReport) -> None:
    console.emit_json(doctor_payload(report.checks))
    for parts in doctor_text(report.checks):
        console.out(*parts)
    if not console.json_mode:
        console.summary(doctor_summary(report.checks))
