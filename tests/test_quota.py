"""`kamsync quota`: the pure report as tables, its two renderings, and reading a real ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kamsync.budget.ledger import Ledger, ledger_path
from kamsync.budget.quota import QuotaReport, WindowQuota, quota_report, render_json, render_text, run_quota
from kamsync.budget.windows import Window, parse_rate_limit
from kamsync.core.errors import UsageError

DEFAULT = parse_rate_limit("50/10s,1000/1h")
SMALL = parse_rate_limit("3/10s,5/1h")
URL = "https://api.kameleoon.com"


@pytest.mark.parametrize(
    ("arrivals", "windows", "now", "expected"),
    [
        # nothing sent yet: everything left, nothing to wait for
        ((), DEFAULT, 1000.0, ((50, 10.0, 0, 50, 0.0), (1000, 3600.0, 0, 1000, 0.0))),
        # 3 in the last 10 s, 4 in the last hour (the one at 985 left the 10 s window)
        ((985.0, 995.0, 996.0, 999.0), DEFAULT, 1000.0, ((50, 10.0, 3, 47, 0.0), (1000, 3600.0, 4, 996, 0.0))),
        # the short window is full: the oldest of the last 3 (at 992) frees a slot at 1002
        ((992.0, 995.0, 999.0), SMALL, 1000.0, ((3, 10.0, 3, 0, 2.0), (5, 3600.0, 3, 2, 0.0))),
        # an arrival exactly 10 s old has left the window
        ((990.0, 995.0, 999.0), SMALL, 1000.0, ((3, 10.0, 2, 1, 0.0), (5, 3600.0, 3, 2, 0.0))),
        # the hour is full: the 5th newest (at 100) frees a slot at 3700
        (
            (100.0, 200.0, 300.0, 400.0, 500.0),
            SMALL,
            1000.0,
            ((3, 10.0, 0, 3, 0.0), (5, 3600.0, 5, 0, 2700.0)),
        ),
        # more used than allowed (another process overran): left never goes negative
        ((996.0, 997.0, 998.0, 999.0), SMALL, 1000.0, ((3, 10.0, 4, 0, 7.0), (5, 3600.0, 4, 1, 0.0))),
        # an in-flight request counted after now is used already
        ((1000.5,), SMALL, 1000.0, ((3, 10.0, 1, 2, 0.0), (5, 3600.0, 1, 4, 0.0))),
    ],
)
def test_quota_report_counts_each_window(
    arrivals: tuple[float, ...],
    windows: tuple[Window, ...],
    now: float,
    expected: tuple[tuple[int, float, int, int, float], ...],
) -> None:
    report = quota_report(arrivals, windows, now)
    assert report == QuotaReport(tuple(WindowQuota(*row) for row in expected))


def test_quota_report_shows_a_server_wait_only_while_it_lasts() -> None:
    waiting = quota_report((), SMALL, 100.0, not_before=104.5, reason="Kameleoon answered 429")
    assert (waiting.not_before_in, waiting.reason) == (4.5, "Kameleoon answered 429")
    over = quota_report((), SMALL, 105.0, not_before=104.5, reason="Kameleoon answered 429")
    assert (over.not_before_in, over.reason) == (None, "")


def test_quota_json_names_every_window() -> None:
    report = quota_report((995.0, 996.0, 999.0), DEFAULT, 1000.0)
    assert render_json(report, URL, "my-client") == {
        "api_url": URL,
        "client_id": "my-client",
        "windows": [
            {
                "spec": "50/10s",
                "limit": 50,
                "seconds": 10,
                "used": 3,
                "left": 47,
                "next_free_in": 0.0,
                "oldest_leaves_in": 5.0,
            },
            {
                "spec": "1000/1h",
                "limit": 1000,
                "seconds": 3600,
                "used": 3,
                "left": 997,
                "next_free_in": 0.0,
                "oldest_leaves_in": 3595.0,
            },
        ],
        "not_before": None,
    }


def test_quota_json_gives_a_server_wait_in_seconds_with_its_reason() -> None:
    report = quota_report((), parse_rate_limit("5/0.5s"), 10.0, not_before=12.25, reason="asked to wait")
    payload = render_json(report, URL, "c")
    assert payload["not_before"] == {"in": 2.25, "reason": "asked to wait"}
    assert payload["windows"] == [
        {
            "spec": "5/0.5s",
            "limit": 5,
            "seconds": 0.5,
            "used": 0,
            "left": 5,
            "next_free_in": 0.0,
            "oldest_leaves_in": None,
        }
    ]


def test_quota_text_lists_windows_and_what_it_cannot_see() -> None:
    report = quota_report((992.0, 995.0, 999.0), SMALL, 1000.0, not_before=1004.0, reason="asked to wait")
    assert render_text(report, URL, "my-client") == (
        f"Requests of client my-client to {URL}, by kamsync on this machine:\n"
        "  3/10s: 3 used, 0 left, next slot in 2.0 s\n"
        "  5/1h:  3 used, 2 left, the oldest frees its slot in 59 min 52 s\n"
        "No request before 4.0 s from now: asked to wait\n"
        "Other machines and tools using the same credential count too, but are not shown.\n"
    )


def test_run_quota_reads_the_shared_ledger(tmp_path: Path) -> None:
    now = [1000.0]
    ledger = Ledger.open(tmp_path, URL + "/", "my-client", SMALL, clock=lambda: now[0], sleep=_no_sleep)
    for at in (990.5, 995.0, 999.0):
        now[0] = at
        ledger.before_send()
        ledger.after_response()
    text, payload = run_quota(URL, "my-client", "3/10s,5/1h", state_dir=tmp_path, now=1000.0)
    assert payload["windows"] == [
        {
            "spec": "3/10s",
            "limit": 3,
            "seconds": 10,
            "used": 3,
            "left": 0,
            "next_free_in": 0.5,
            "oldest_leaves_in": 0.5,
        },
        {
            "spec": "5/1h",
            "limit": 5,
            "seconds": 3600,
            "used": 3,
            "left": 2,
            "next_free_in": 0.0,
            "oldest_leaves_in": 3590.5,
        },
    ]
    assert "3/10s: 3 used, 0 left, next slot in 0.5 s" in text
    json.dumps(payload)  # JSON-able as it is


def test_run_quota_of_an_unused_credential_reads_nothing_and_creates_nothing(tmp_path: Path) -> None:
    text, payload = run_quota(URL, "never-used", "50/10s,1000/1h", state_dir=tmp_path, now=5.0)
    assert [w["used"] for w in payload["windows"]] == [0, 0]  # type: ignore[attr-defined]
    assert "50/10s:  0 used, 50 left" in text
    assert not ledger_path(tmp_path, URL, "never-used").exists()


def test_run_quota_uses_the_user_state_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    ledger = Ledger.open(tmp_path / "state" / "kamsync", URL, "c", SMALL)
    ledger.before_send()
    ledger.after_response()
    _, payload = run_quota(URL, "c", "3/10s")
    assert payload["windows"][0]["used"] == 1  # type: ignore[index]


def test_run_quota_refuses_a_bad_spec(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="bad rate limit"):
        run_quota(URL, "c", "fifty", state_dir=tmp_path)


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"nothing should wait here, not even {seconds} s")


def test_quota_says_when_the_oldest_counted_request_frees_its_slot() -> None:
    report = quota_report((985.0, 995.0, 999.0), DEFAULT, 1000.0)
    assert [row.oldest_leaves_in for row in report.windows] == [5.0, 3585.0]
    assert quota_report((), DEFAULT, 1000.0).windows[0].oldest_leaves_in is None


def test_run_quota_reset_forgets_the_server_wait_and_says_what_it_was(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path, URL, "c", DEFAULT, clock=lambda: 1000.0, sleep=_no_sleep)
    ledger.note_server_wait(1e9)
    text, payload = run_quota(URL, "c", "50/10s,1000/1h", state_dir=tmp_path, now=1000.0, reset=True)
    assert text.startswith("Forgot the wait imposed on this credential: no request before ")
    assert "(in 1 h), because Kameleoon answered 429 (too many requests) and asked to wait 1000000000 s;" in text
    assert "Runs may send again now.\n" in text
    assert "No request before" not in text, "the report after the reset shows no wait"
    forgot = payload["reset"]["forgot"]  # type: ignore[index]
    assert forgot["in"] == 3600.0  # type: ignore[index]
    assert forgot["reason"].startswith("Kameleoon answered 429")  # type: ignore[index]
    assert payload["not_before"] is None
    again, payload = run_quota(URL, "c", "50/10s,1000/1h", state_dir=tmp_path, now=1001.0, reset=True)
    assert again.startswith("No wait imposed by Kameleoon to forget: runs were not held back.\n")
    assert payload["reset"] == {"forgot": None}


def test_run_quota_reset_of_an_unused_credential_creates_nothing(tmp_path: Path) -> None:
    _, payload = run_quota(URL, "never-used", "50/10s", state_dir=tmp_path, now=5.0, reset=True)
    assert payload["reset"] == {"forgot": None}
    assert not (tmp_path / "ratelimit").exists()


def test_run_quota_without_reset_has_no_reset_member(tmp_path: Path) -> None:
    _, payload = run_quota(URL, "c", "50/10s", state_dir=tmp_path, now=5.0)
    assert "reset" not in payload
