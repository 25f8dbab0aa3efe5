"""The sandbox clock: real time plus what tests advanced it by, shared by expiry, rate windows and the logs."""

from __future__ import annotations

import httpx
import pytest

from kamsync.sandbox import Clock, Sandbox


def test_clock_is_its_source_plus_every_advance_for_both_durations_and_dates() -> None:
    source, wall = [100.0], [1_700_000_000.0]
    clock = Clock(lambda: source[0], lambda: wall[0])
    assert (clock.now(), clock.wall(), clock.advanced) == (100.0, 1_700_000_000.0, 0.0)
    assert clock.advance(30) == 30.0
    assert clock.advance(0.5) == 30.5
    source[0] += 1
    wall[0] += 1
    assert (clock.now(), clock.wall(), clock.advanced) == (131.5, 1_700_000_031.5, 30.5)


def test_a_stopped_clock_only_moves_when_advanced() -> None:
    clock = Clock.stopped()
    first_now, first_wall = clock.now(), clock.wall()
    assert (clock.now(), clock.wall()) == (first_now, first_wall)
    clock.advance(7200)
    assert (clock.now(), clock.wall()) == (first_now + 7200, first_wall + 7200)


@pytest.mark.parametrize("seconds", [-0.001, float("nan"), float("inf")])
def test_clock_refuses_to_run_backwards_or_to_infinity(seconds: float) -> None:
    clock = Clock.stopped()
    with pytest.raises(ValueError, match="the sandbox clock only moves forward"):
        clock.advance(seconds)
    assert clock.advanced == 0.0


def test_request_log_and_fault_events_are_stamped_with_the_sandbox_clock() -> None:
    clock = Clock.stopped()
    with Sandbox(rate_limit="off", clock=clock, faults=["GET 2=503"]) as sb, httpx.Client(base_url=sb.url) as http:
        assert http.get("/sites").status_code == 401  # no token: still logged
        clock.advance(3600)
        assert http.get("/sites").status_code == 503
        first, second = sb.store.requests
        (event,) = sb.faults.events
    assert second.time - first.time == 3600.0
    assert event["time"] == second.time
