"""The shared ledger's decision, one table run through kamsync's pure code and through the Lua script the Redis
server runs: the script mirrors ``budget.windows.grant`` exactly."""

from __future__ import annotations

import pytest

from kamsync.budget.redisscript import DECIDE_ONLY
from kamsync.budget.windows import POLL, Grant, grant, parse_rate_limit, quota_index
from tests.redisutil import RedisServer

NOW = 1_764_590_000.25  # a wall-clock time with a fraction, as Redis TIME gives

# (arrivals relative to NOW, in flight, reserved by others, windows, not_before relative to NOW) -> wait, imposed
CASES = [
    pytest.param([], 0, 0, "3/10s", None, Grant(0.0), id="empty"),
    pytest.param([-5, -4], 0, 0, "3/10s", None, Grant(0.0), id="room-left"),
    pytest.param([-5, -4, -3], 0, 0, "3/10s", None, Grant(5.0), id="window-full-waits-for-the-oldest"),
    pytest.param([-12, -5, -4, -3], 0, 0, "3/10s", None, Grant(5.0), id="old-arrivals-do-not-count"),
    pytest.param([-5, -4], 1, 0, "3/10s", None, Grant(5.0), id="in-flight-counts-as-arriving-now-for-the-bound"),
    pytest.param([-5], 2, 0, "3/10s", None, Grant(5.0), id="two-in-flight"),
    pytest.param([], 3, 0, "3/10s", None, Grant(10.0), id="in-flight-fill-the-window"),
    pytest.param([-9.99, -1], 1, 0, "3/10s", None, Grant(POLL), id="bound-under-poll-polls"),
    pytest.param([-5, -4], 0, 0, "3/10s", 7.5, Grant(7.5, imposed=True), id="server-wait"),
    pytest.param([-5, -4, -3], 0, 0, "3/10s", 2.0, Grant(5.0), id="window-longer-than-server-wait"),
    pytest.param([], 0, 0, "3/10s", -1.0, Grant(0.0), id="past-server-wait"),
    pytest.param([-100, -50], 0, 1, "5/10s,3/1h", None, Grant(3500.0), id="reservations-fill-the-hour"),
    pytest.param([-100], 0, 1, "5/10s,3/1h", None, Grant(0.0), id="reservations-leave-room"),
    pytest.param([-100, -50], 0, 1, "2/1h,5/10s", None, Grant(3550.0), id="quota-window-listed-first"),
    pytest.param([-4, -3], 0, 4, "2/10s,100/1h", None, Grant(6.0), id="reservations-only-count-in-the-quota"),
    pytest.param([], 0, 3, "5/10s,3/1h", None, Grant(3600.0), id="reserved-whole-hour"),
    pytest.param([-0.5, -0.25], 0, 0, "2/0.5s", None, Grant(0.0), id="sub-second-window-freed"),
    pytest.param([-0.4, -0.25], 0, 0, "2/0.5s", None, Grant(0.1), id="sub-second-window"),
    pytest.param([-7200, -3599, -10, -9], 0, 0, "3/10s,3/1h", None, Grant(1.0), id="hour-full"),
    pytest.param([-20, -3, -2, -1], 1, 1, "4/10s,6/1h", None, Grant(3580.0), id="everything-at-once"),
    pytest.param([-20, -3, -2, -1], 1, 0, "4/10s,6/1h", None, Grant(7.0), id="short-window-decides"),
]


def _lua(
    server: RedisServer, arrivals: list[float], in_flight: int, reserved: int, spec: str, nb: float | None
) -> Grant:
    windows = parse_rate_limit(spec)
    args = [
        ",".join(repr(NOW + t) for t in arrivals),
        str(in_flight),
        str(reserved),
        ",".join(f"{w.limit}:{w.seconds!r}" for w in windows),
        str(quota_index(windows) + 1),
        repr(NOW),
        "" if nb is None else repr(NOW + nb),
    ]
    with server.client() as client:
        wait, imposed = client.eval(DECIDE_ONLY, 0, *args)
    return Grant(float(wait), imposed == 1)


@pytest.mark.parametrize(("arrivals", "in_flight", "reserved", "spec", "not_before", "expected"), CASES)
def test_the_decision_is_the_same_in_python_and_in_the_script_on_the_server(
    redis_server: RedisServer,
    arrivals: list[float],
    in_flight: int,
    reserved: int,
    spec: str,
    not_before: float | None,
    expected: Grant,
) -> None:
    windows = parse_rate_limit(spec)
    nb = None if not_before is None else NOW + not_before
    pure = grant([NOW + t for t in arrivals], in_flight, reserved, windows, NOW, nb)
    script = _lua(redis_server, arrivals, in_flight, reserved, spec, not_before)
    assert pure.wait == pytest.approx(expected.wait, abs=1e-6)
    assert pure.imposed == expected.imposed
    assert script.wait == pytest.approx(pure.wait, abs=1e-6)
    assert script.imposed == pure.imposed
