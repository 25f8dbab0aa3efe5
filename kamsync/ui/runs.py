"""How the values of the GitHub Action's runs show on the console: a token just obtained (hidden from an
Actions log the moment it exists; nothing to show elsewhere), and ``kamsync drift`` in text and JSON."""

from __future__ import annotations

from kamsync.core.runreport import DRIFTED, RunReport, TokenObtained
from kamsync.ui.console import Console, Styled
from kamsync.ui.show import renders

__all__: list[str] = []


@renders(TokenObtained)
def _token(console: Console, event: TokenObtained) -> None:
    console.secret(event.value)


@renders(RunReport)
def _drift(console: Console, report: RunReport) -> None:
    drifted = [r for r in report.rows if r.state in DRIFTED]
    console.emit_json(
        {
            "drifted": [
                {"path": r.file, "experiment_id": r.experiment_id, "variation_id": r.variation_id,
                 "field": r.field, "state": r.state}
                for r in drifted
            ],
            "requests": report.requests,
        }
    )  # fmt: skip
    for row in drifted:
        console.out(Styled(row.state, row.state), f"  {row.file}  ({row.field})")
    if not console.json_mode:
        console.summary(f"{report.drifted} field(s) drifted from git, of {report.changes} that differ")
