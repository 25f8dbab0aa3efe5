"""How ``kamsync quota`` looks: its text and JSON are made by the pure renderers beside the report in
``kamsync.budget.quota``; this writes them."""

from __future__ import annotations

from kamsync.budget.quota import QuotaResult, render_result
from kamsync.ui.console import Console
from kamsync.ui.show import renders


@renders(QuotaResult)
def show_quota(console: Console, result: QuotaResult) -> None:
    text, document = render_result(result)
    console.emit_json(document)
    console.out(text)
