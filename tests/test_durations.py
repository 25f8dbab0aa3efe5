"""How a length of time reads: a countdown on the status line, words in messages; both round up."""

from __future__ import annotations

import time
from datetime import timedelta, timezone

import pytest

from kamsync.core.durations import clock_time, countdown, in_words


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0:00"),
        (-3, "0:00"),
        (0.2, "0:01"),
        (1, "0:01"),
        (41.2, "0:42"),
        (42, "0:42"),
        (42.0000001, "0:42"),
        (60, "1:00"),
        (599, "9:59"),
        (3599.5, "1:00:00"),
        (3723, "1:02:03"),
        (36000, "10:00:00"),
    ],
)
def test_durations_read_as_a_countdown_rounded_up(seconds: float, shown: str) -> None:
    assert countdown(seconds) == shown


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (0.2, "1 s"),
        (42, "42 s"),
        (42.0000001, "42 s"),
        (60, "1 min"),
        (185, "3 min 5 s"),
        (3600, "1 h"),
        (3720, "1 h 2 min"),
    ],
)
def test_durations_read_like_a_person_would_say_them(seconds, text):
    assert in_words(seconds) == text


def test_clock_time_reads_a_moment_in_the_given_zone_or_local_time():
    assert clock_time(3723.9, timezone.utc) == "01:02:03"
    assert clock_time(0, timezone(timedelta(hours=2))) == "02:00:00"
    assert clock_time(1000.0) == time.strftime("%H:%M:%S", time.localtime(1000.0))
