"""The watcher's pure decisions, on a clock the tests move: batching, the budget's hold, pausing, its lines."""

from __future__ import annotations

import pytest

from kamsync.core.watching import (
    Allowance,
    Batch,
    Batcher,
    BatchReport,
    Checkout,
    Uncommitted,
    WatchSummary,
    budget_hold,
    pause_reason,
)
from kamsync.ui.watch import batch_line, summary_lines

# (saves as (time, path)…, the times asked, due at each) — quiet 0.3 s, cap 2 s
BATCHING = [
    pytest.param([], [0.0, 10.0], [False, False], id="nothing saved: never due"),
    pytest.param([(0.0, "a")], [0.29, 0.3], [False, True], id="one save: due after the quiet time"),
    pytest.param(
        [(0.01 * n, "a") for n in range(20)], [0.2, 0.48, 0.49], [False, False, True], id="20 saves in 200 ms: one"
    ),
    pytest.param(
        [(0.25 * n, "a") for n in range(12)], [1.99, 2.0], [False, True], id="saves every 250 ms: the 2 s cap"
    ),
    pytest.param([(0.0, "a"), (0.2, "b")], [0.49, 0.5], [False, True], id="two files: one batch"),
]


@pytest.mark.parametrize(("saves", "asked", "due"), BATCHING)
def test_batching(saves: list[tuple[float, str]], asked: list[float], due: list[bool]) -> None:
    batcher = Batcher(quiet=0.3, cap=2.0)
    for at, path in saves:
        batcher.add([path], at)
    assert [batcher.due(now) for now in asked] == due


def test_a_batch_taken_starts_afresh() -> None:
    batcher = Batcher(quiet=0.3, cap=2.0)
    batcher.add(["a", "b"], 1.0)
    batcher.add(["a"], 1.1)
    assert batcher.take() == Batch(frozenset({"a", "b"}), 1.0, 1.1)
    assert batcher.due_at() is None
    batcher.add([], 5.0)
    assert batcher.due_at() is None


def test_a_held_batch_waits_and_gathers_later_saves() -> None:
    batcher = Batcher(quiet=0.3, cap=2.0)
    batcher.add(["a"], 0.0)
    batch = batcher.take()
    batcher.hold(batch, until=60.0)
    batcher.add(["b"], 1.0)
    assert not batcher.due(59.9)
    assert batcher.due(60.0)
    assert batcher.take().paths == {"a", "b"}


HOUR = 3600.0
# (needed, limit, left, runnable_at, now, last sent) -> hold until (None: send now)
BUDGET = [
    pytest.param(3, 1000, 900, None, 100.0, 99.0, None, id="plenty left: at once"),
    pytest.param(3, 1000, 2, 500.0, 100.0, 99.0, 500.0, id="does not fit: until the window has room"),
    pytest.param(3, 1000, 50, None, 100.0, None, None, id="low, first batch: at once"),
    pytest.param(3, 1000, 50, None, 100.0, 99.0, 99.0 + HOUR * 3 / 1000, id="low: the sustainable pace"),
    pytest.param(3, 1000, 50, None, 120.0, 99.0, None, id="low, the pace already waited: at once"),
    pytest.param(5, 4, 4, None, 100.0, None, 100.0 + HOUR, id="more than a whole window: a window later"),
]


@pytest.mark.parametrize(("needed", "limit", "left", "runnable", "now", "last", "until"), BUDGET)
def test_budget_hold(
    needed: int, limit: int, left: int, runnable: float | None, now: float, last: float | None, until: float | None
) -> None:
    assert budget_hold(needed, Allowance(limit, HOUR, left, runnable), now, last) == until


BASE = Checkout("a" * 40, "s1")
PAUSES = [
    pytest.param(BASE, 1, None, id="same checkout, one file"),
    pytest.param(BASE, 5, None, id="five files still go"),
    pytest.param(BASE, 6, "this batch would touch 6 files, more than 5", id="six files pause"),
    pytest.param(Checkout("b" * 40, "s1"), 1, f"HEAD moved from {'a' * 12} to {'b' * 12}", id="HEAD moved"),
    pytest.param(Checkout(None, "s1"), 1, f"HEAD moved from {'a' * 12} to no commit", id="unborn"),
    pytest.param(
        Checkout("a" * 40, "s2"), 1, "what is staged for the mapped files changed (stash, reset or add)", id="staged"
    ),
    pytest.param(
        Checkout("a" * 40, "s1", "c" * 40), 1, "the stash changed (git stash, stash pop or apply)", id="stash"
    ),
]


@pytest.mark.parametrize(("now", "files", "reason"), PAUSES)
def test_pause_reason(now: Checkout, files: int, reason: str | None) -> None:
    assert pause_reason(BASE, now, files) == reason


def test_the_batch_line_says_time_fields_requests_latency_and_budget() -> None:
    report = BatchReport(0.0, ("variation 2 (experiment 1) jsCode",), 3, 0.4123, 997, 1000)
    line = batch_line(report)
    assert line.endswith("  variation 2 (experiment 1) jsCode  1 field, 3 requests, 412 ms, 997/1000 left")
    assert batch_line(BatchReport(0.0, (), 1, 0.0, None, None)).endswith(
        "  no field written  0 fields, 1 request, 0 ms"
    )


def test_the_summary_names_what_was_not_sent_the_write_in_flight_and_uncommitted_values() -> None:
    summary = WatchSummary(
        65.0, 2, 3, 9, ("a.js",), "variation 2 (experiment 1)", (Uncommitted("experiment 1 commonCssCode", "c.css"),)
    )
    assert summary_lines(summary) == [
        "watched 1 min 5 s: 2 batch(es) sent, 3 field(s) updated, 9 request(s) used",
        "interrupted while updating variation 2 (experiment 1): Kameleoon may or may not have applied it; the "
        "journal keeps it: `kamsync push` finishes it",
        "not sent: a.js (`kamsync push` sends them)",
        "in Kameleoon but in no commit yet: experiment 1 commonCssCode (c.css); other clones and CI will see them "
        "as edited outside git until that exact value is committed: commit it (or `kamsync pull` it back)",
    ]
