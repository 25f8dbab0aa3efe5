"""Pricing in requests (pure): read costs, quotes against the windows, the cap, and the words of a refusal."""

from __future__ import annotations

import pytest

from kamsync.budget.pricing import cap_problem, finish_time, quote, read_cost, refusal_text
from kamsync.budget.windows import Window, parse_rate_limit

REAL = parse_rate_limit("50/10s,1000/1h")


@pytest.mark.parametrize(
    ("experiments", "variations", "token", "cost"),
    [
        (0, 0, False, 0),
        (1, 0, False, 2),  # an experiment's listed variations are read too
        (0, 3, False, 1),
        (5, 10, True, 3),
        (200, 200, False, 2),
        (201, 400, False, 4),
        (100, 401, True, 5),
    ],
)
def test_reads_cost_one_list_request_per_200_ids_of_each_kind(experiments, variations, token, cost):
    assert read_cost(experiments, variations, token=token) == cost


def test_work_that_fits_the_hour_is_runnable_now():
    q = quote(10, [100.0 + i for i in range(990)], REAL, now=2000.0)
    assert (q.fits, q.used, q.left, q.runnable_at) == (True, 990, 10, 2000.0)
    assert q.quota == Window(1000, 3600.0)


def test_work_larger_than_what_is_left_can_run_when_enough_old_requests_leave_the_window():
    arrivals = [float(t) for t in range(1000)]  # one request a second, from t=0
    q = quote(5, arrivals, REAL, now=1000.0)
    assert not q.fits
    # 5 must leave: the 5th oldest (t=4) leaves the hour at 3604.
    assert q.runnable_at == 3604.0


def test_work_larger_than_a_whole_window_never_fits_and_is_paced():
    q = quote(2500, [], REAL, now=0.0)
    assert (q.fits, q.runnable_at, q.windows_needed) == (False, None, 3)
    # Requests 1000..1999 wait for the first hour to pass, 2000..2499 for the second; within each hour the
    # 10-second window paces them: the last of 500 leaves 90 s after the second hour starts.
    assert q.finish_at == pytest.approx(7290.0)


def test_old_arrivals_do_not_count():
    q = quote(1000, [0.0] * 1000, REAL, now=3600.0)
    assert q.fits and q.used == 0


@pytest.mark.parametrize(
    ("needed", "floor"),
    [(1, 0.0), (50, 0.0), (51, 10.0), (304, 60.0)],
)
def test_pacing_floor_the_kth_request_leaves_after_k_div_50_times_10s(needed, floor):
    assert finish_time(needed, [], REAL, now=0.0) == pytest.approx(floor)


@pytest.mark.parametrize(
    ("spent", "needed", "cap", "refused"),
    [(0, 5, None, False), (0, 5, 5, False), (0, 6, 5, True), (3, 3, 5, True), (3, 2, 5, False)],
)
def test_max_requests_caps_the_whole_run(spent, needed, cap, refused):
    problem = cap_problem(spent, needed, cap)
    assert (problem is not None) == refused
    if refused:
        assert f"--max-requests {cap}" in problem and str(spent + needed) in problem


def test_a_refusal_gives_the_numbers_and_when_the_work_could_run():
    q = quote(7, [0.0] * 995, REAL, now=100.0)
    text = refusal_text("this push", q, REAL, wall_now=100.0)
    assert "this push needs 7 requests but only 5 of the 1000/1h budget are left" in text
    assert "995 used in the last 1 h)" in text
    assert "in 58 min 20 s" in text  # the 2nd oldest leaves at 3600
    assert "--wait" in text


def test_a_refusal_of_work_larger_than_a_window_says_how_many_windows():
    q = quote(2001, [], REAL, now=0.0)
    assert "across 3 windows" in refusal_text("this push", q, REAL, wall_now=0.0)
