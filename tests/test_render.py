"""Every value a use case returns or reports has its one renderer in ui/, so nothing it says goes unshown."""

from __future__ import annotations

import dataclasses
import io
from contextlib import redirect_stdout

import pytest

import kamsync.core.events as events
import kamsync.core.reports as reports
from kamsync.budget.quota import QuotaResult
from kamsync.ui.console import Console
from kamsync.ui.show import rendered, show
from kamsync.ui.view import View

# ``Unfinished`` is part of an event (``Resuming``) and of the status report, never said on its own.
EVENTS = [getattr(events, name) for name in events.__all__ if name != "Unfinished"]
# A command's result carries its exit code; the values inside results (a pulled file, an outcome) do not.
RESULTS = [
    kind
    for kind in vars(reports).values()
    if isinstance(kind, type)
    and kind.__module__ == reports.__name__
    and dataclasses.is_dataclass(kind)
    and "code" in {f.name for f in dataclasses.fields(kind)}
]


def test_the_results_are_found():
    names = {kind.__name__ for kind in RESULTS}
    assert {"StatusReport", "DiffReport", "PlanReport", "PullReport", "DoctorReport", "CheckReport"} <= names


@pytest.mark.parametrize("kind", [*EVENTS, *RESULTS, QuotaResult], ids=lambda k: k.__name__)
def test_every_event_and_result_has_a_renderer(kind):
    View(Console())  # importing the view registers every family's renderers
    assert rendered(kind), f"{kind.__name__} has no @renders function in kamsync/ui/"


def test_results_are_frozen_values():
    mutable = [kind.__name__ for kind in RESULTS if not kind.__dataclass_params__.frozen]
    assert not mutable, f"results are values, built once: {mutable}"


def test_a_value_nobody_renders_is_refused_rather_than_dropped():
    with pytest.raises(TypeError, match="no renderer for object"):
        show(Console(), object())


def test_the_view_shows_an_event_and_returns_a_results_code():
    view = View(Console(json_mode=True))
    out = io.StringIO()
    with redirect_stdout(out):
        code = view.result(reports.DoctorReport((), 2))
    assert code == 2
    assert out.getvalue() == '{\n  "ok": true,\n  "checks": []\n}\n'
