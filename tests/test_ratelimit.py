"""The client-side rate limit: spec parsing, the pure send-time rule, the client's budget on a fake clock."""

from __future__ import annotations

import pytest

from kamsync.budget.windows import (
    DEFAULT_RATE_LIMIT,
    MIN_BLIND_WAIT,
    Window,
    describe_windows,
    full_window_wait,
    next_send_time,
    parse_rate_limit,
    server_wait,
)
from kamsync.core.errors import UsageError
from tests.conftest import Budgets


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (DEFAULT_RATE_LIMIT, (Window(50, 10.0), Window(1000, 3600.0))),
        ("3/1s", (Window(3, 1.0),)),
        ("12/m", (Window(12, 60.0),)),
        ("5 / 2m , 100/h", (Window(5, 120.0), Window(100, 3600.0))),
        ("10/0.5s", (Window(10, 0.5),)),
    ],
)
def test_parse_rate_limit_accepts(spec: str, expected: tuple[Window, ...]) -> None:
    assert parse_rate_limit(spec) == expected


@pytest.mark.parametrize(
    "spec", ["", "50", "50/10", "50/10d", "0/10s", "-1/10s", "50/0s", "50/10s,", "a/1s", "50/10s;1/h"]
)
def test_parse_rate_limit_rejects_with_the_syntax(spec: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_rate_limit(spec)
    assert "N/DURATION" in str(info.value)
    assert "s, m or h" in str(info.value)
    assert DEFAULT_RATE_LIMIT in str(info.value)


def test_windows_describe_themselves_in_spec_syntax() -> None:
    assert describe_windows(parse_rate_limit("50/10s,1000/1h,12/1m,3/1.5s")) == "50/10s,1000/1h,12/1m,3/1.5s"


W = (Window(3, 10.0), Window(5, 100.0))


@pytest.mark.parametrize(
    ("arrivals", "now", "expected"),
    [
        ([], 0.0, 0.0),  # nothing sent yet
        ([1.0, 2.0], 3.0, 3.0),  # fewer than N requests: no wait
        ([1.0, 2.0, 3.0], 4.0, 11.0),  # 4th request waits 10 s after the 1st response
        ([1.0, 2.0, 3.0], 12.0, 12.0),  # ...and not when that has passed
        ([3.0, 1.0, 2.0], 4.0, 11.0),  # order of the records does not matter
        ([1.0, 2.0, 30.0, 40.0, 50.0], 51.0, 101.0),  # the 100 s window binds: 1.0 + 100
        ([1.0, 2.0, 30.0, 40.0, 50.0, 60.0], 61.0, 102.0),  # the 6th request counts from the 2nd response
    ],
)
def test_next_send_time(arrivals: list[float], now: float, expected: float) -> None:
    assert next_send_time(arrivals, W, now) == pytest.approx(expected)


def _server_counts(send_times: list[float], windows: tuple[Window, ...]) -> int:
    """How many requests a server counting (now-D, now] windows would refuse."""
    refused = 0
    for i, t in enumerate(send_times):
        for w in windows:
            if sum(1 for s in send_times[:i] if s > t - w.seconds) >= w.limit:
                refused += 1
                break
    return refused


def test_seventy_writes_never_exceed_a_server_counting_the_windows() -> None:
    windows = parse_rate_limit(DEFAULT_RATE_LIMIT)
    arrivals: list[float] = []
    sends: list[float] = []
    now = 0.0
    for _ in range(70):
        now = next_send_time(arrivals, windows, now)
        sends.append(now)
        now += 0.05  # the response takes 50 ms
        arrivals.append(now)
    assert _server_counts(sends, windows) == 0
    assert sends[50] >= arrivals[0] + 10.0


@pytest.mark.parametrize(
    ("arrivals", "now", "streak", "expected"),
    [
        ([], 5.0, 1, 10.0),  # we recorded nothing: someone else filled the shortest window; wait it out whole
        ([4.9], 5.0, 1, 9.9),  # the shortest window is treated as full: 4.9 + 10 - 5
        ([1.0, 4.0], 5.0, 1, 6.0),  # the oldest arrival inside it decides
        ([-200.0, 4.5], 5.0, 1, 9.5),  # arrivals older than the window do not count
        ([4.9], 5.0, 2, 99.9),  # a second blind 429 in a row: the next longer window is full
        ([1.0, 4.0], 5.0, 9, 96.0),  # more 429s stay on the longest window
        ([4.9999], 14.8, 1, MIN_BLIND_WAIT),  # never less than the minimum
    ],
)
def test_full_window_wait(arrivals: list[float], now: float, streak: int, expected: float) -> None:
    assert full_window_wait(arrivals, W, now, streak) == pytest.approx(expected)


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_budget_waits_per_the_rule_and_reports_why(budgets: Budgets) -> None:
    t = FakeTime()
    waits: list[tuple[float, str]] = []
    budget = budgets("2/10s", clock=t.clock, sleep=t.sleep, on_wait=lambda s, r: waits.append((s, r)))
    for _ in range(3):
        budget.before_send()
        t.now += 1.0  # the request takes 1 s
        budget.after_response()
    # arrivals at 101, 102; the 3rd request waits until 101 + 10 = 111
    assert t.slept == [pytest.approx(9.0)]
    shared = "rate limit 2/10s, shared by every kamsync process on this machine"
    assert [(round(s, 6), r) for s, r in waits] == [(9.0, shared)]


def test_the_budget_honours_a_server_wait_and_a_blind_429(budgets: Budgets) -> None:
    t = FakeTime()
    waits: list[tuple[float, str]] = []
    budget = budgets("50/10s", clock=t.clock, sleep=t.sleep, on_wait=lambda s, r: waits.append((s, r)))
    budget.before_send()
    budget.after_response()
    budget.note_server_wait(7.0)
    budget.before_send()
    assert t.slept == [7.0]
    assert "asked to wait" in waits[0][1]
    budget.after_response()  # at 107
    budget.note_server_wait(None)  # no Retry-After: wait until 100 (first arrival) + 10
    budget.before_send()
    assert t.slept == [7.0, pytest.approx(3.0)]
    assert "without saying" in waits[1][1]


def test_the_budget_without_need_does_not_sleep(budgets: Budgets) -> None:
    t = FakeTime()
    budget = budgets(DEFAULT_RATE_LIMIT, clock=t.clock, sleep=t.sleep)
    for _ in range(50):
        budget.before_send()
        budget.after_response()
    assert t.slept == []
    budget.before_send()
    assert t.slept == [pytest.approx(10.0)]


def test_consecutive_blind_429s_escalate_from_the_shortest_window(budgets: Budgets) -> None:
    t = FakeTime()
    budget = budgets("50/10s,1000/1h", clock=t.clock, sleep=t.sleep)
    budget.before_send()
    budget.after_response()  # arrival at 100
    budget.note_server_wait(None)
    budget.before_send()
    assert t.slept == [pytest.approx(10.0)], "first: wait for the 10 s window"
    budget.after_response()  # another 429 at 110
    budget.note_server_wait(None)
    budget.before_send()
    assert t.slept[-1] == pytest.approx(3590.0), "second in a row: the hour window is full"
    budget.after_response()  # a success
    budget.before_send()
    budget.after_response()
    budget.note_server_wait(None)  # a new streak starts from the shortest window again
    budget.before_send()
    assert t.slept[-1] == pytest.approx(10.0)


ASKED = "Kameleoon answered 429 (too many requests) and asked to wait"


@pytest.mark.parametrize(
    ("seconds", "spec", "expected"),
    [
        (7.0, "50/10s,1000/1h", (7.0, ASKED)),
        (3600.0, "50/10s,1000/1h", (3600.0, ASKED)),  # as long as the longest window: as asked
        (-3.0, "50/10s", (0.0, ASKED)),
        (
            1e9,
            "50/10s,1000/1h",
            (3600.0, f"{ASKED} 1000000000 s; kamsync waits at most 3600 s, its longest rate window (1000/1h)"),
        ),
        (float("inf"), "50/1s", (1.0, f"{ASKED} inf s; kamsync waits at most 1 s, its longest rate window (50/1s)")),
    ],
)
def test_server_wait_caps_a_wait_longer_than_the_longest_window_and_says_so(
    seconds: float, spec: str, expected: tuple[float, str]
) -> None:
    assert server_wait(seconds, parse_rate_limit(spec)) == expected


def test_the_budget_caps_an_absurd_server_wait_to_its_longest_window(budgets: Budgets) -> None:
    t = FakeTime()
    budget = budgets("50/10s,1000/1h", clock=t.clock, sleep=t.sleep)
    budget.note_server_wait(1e9)
    budget.before_send()
    assert t.slept == [3600.0]
