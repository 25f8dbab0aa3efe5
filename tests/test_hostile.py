"""The real `kamsync` against a sandbox that misbehaves rather than fails: it must neither burn the rate budget,
nor hang, nor lock the credential out."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kamsync.api.client import KameleoonClient
from kamsync.api.deadline import send_within
from kamsync.api.query import equal_filter
from kamsync.api.settings import Credentials
from kamsync.core.errors import ApiError
from kamsync.core.normalize import normalize
from kamsync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox
from tests.conftest import Budgets
from tests.helpers import api_requests, commit_all, path_of


def test_status_stops_paging_a_list_that_ignores_the_id_filter_and_exits_4(kamsync, sandbox: Sandbox) -> None:
    sandbox.store.clear_requests()
    sandbox.faults.arm("GET *=fresh-pages")
    # --max-requests only makes a broken version fail fast: without the bound it would page on to the cap.
    result = kamsync("status", "--max-requests", "40")
    assert result.code == 4, result.output
    assert "Kameleoon kept sending full pages for experiments 100001, 100002" in result.stderr
    assert "it seems to ignore the id filter, so kamsync stopped" in result.stderr
    lists = [r for r in api_requests(sandbox, "GET") if r.path == "/experiments"]
    assert [r.query["page"] for r in lists] == [["1"], ["2"]], "the page the ids fill, plus one; then it stops"


def test_a_trickling_answer_ends_at_kamsync_timeout_for_the_whole_request_with_exit_4(kamsync, sandbox) -> None:
    sandbox.faults.arm("GET *=trickle=0.2")  # a byte every 0.2 s: every single read is in time
    quick = {"KAMSYNC_TIMEOUT": "2", "KAMSYNC_RETRIES": "1", "KAMSYNC_BACKOFF": "0.01"}
    result = kamsync("status", extra_env=quick)  # the whole answer would take minutes: past the 120 s cap
    assert result.code == 4, result.output
    assert "gave up after 2 attempts" in result.stderr and "no answer within 2 s" in result.stderr
    trickles = sandbox.faults.trickles.snapshot()
    assert len(trickles) == 2, "each attempt was cut short by the deadline"
    for trickle in trickles:
        assert 0 < trickle["sent"] < trickle["total"], f"kamsync left while the sandbox was still sending: {trickle}"


class _Chunks(httpx.SyncByteStream):
    """A body arriving in chunks, each ``step`` seconds after the last on a fake clock."""

    def __init__(self, chunks: list[bytes], now: list[float], step: float) -> None:
        self._chunks, self._now, self._step = chunks, now, step

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self._now[0] += self._step
            yield chunk


def _send(chunks: list[bytes], step: float, headers: dict[str, str] | None = None) -> httpx.Response:
    now = [0.0]
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, headers=headers, stream=_Chunks(chunks, now, step))
    )
    with httpx.Client(transport=transport, base_url="https://api.example") as http:
        return send_within(http, http.build_request("GET", "/experiments"), 1.0, clock=lambda: now[0])


def test_send_within_reads_a_whole_answer_arriving_in_time() -> None:
    response = _send([b'[{"id"', b": 1}]"], step=0.4)
    assert response.json() == [{"id": 1}]


def test_send_within_gives_up_once_the_whole_request_passes_its_deadline() -> None:
    with pytest.raises(httpx.ReadTimeout, match="the whole request took longer than 1 s"):
        _send([b"[", b"{", b"}", b"]"], step=0.4)  # each chunk in time, the whole not


def test_send_within_hands_back_the_decoded_body_without_the_headers_of_the_encoded_one() -> None:
    body = gzip.compress(b'{"ok": true}')
    response = _send([body], step=0.1, headers={"Content-Encoding": "gzip", "Content-Length": str(len(body))})
    assert response.json() == {"ok": True}
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == str(len(b'{"ok": true}'))


def _change_one_variation(kamsync, repo: Path) -> None:  # type: ignore[no-untyped-def]
    status = kamsync("status", "--json")
    (repo / path_of(status, 200001, "jsCode")).write_text("// after the 429\n")
    commit_all(repo, "one write")


def test_an_absurd_retry_after_is_capped_to_the_longest_window_and_said_so(kamsync, repo, sandbox) -> None:
    _change_one_variation(kamsync, repo)
    sandbox.faults.arm("PATCH 1=429-retry-after=1000000000")  # 31 years
    push = kamsync("push")  # the test windows are 200/1s: the longest is a second
    assert push.code == 0, push.output
    assert (
        "waiting 1 s: Kameleoon answered 429 (too many requests) and asked to wait 1000000000 s; kamsync waits at "
        "most 1 s, its longest rate window (200/1s)"
    ) in push.stderr
    assert [r.status for r in api_requests(sandbox, "PATCH")][-2:] == [429, 200]
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "// after the 429"


@pytest.mark.parametrize("value", ["inf", "nan", "1e999", "whenever"])
def test_a_non_finite_or_unreadable_retry_after_falls_back_to_the_rate_windows(kamsync, repo, sandbox, value) -> None:
    _change_one_variation(kamsync, repo)
    sandbox.faults.arm(f"PATCH 1=429-retry-after={value}")
    push = kamsync("push")
    assert push.code == 0, push.output
    assert "Kameleoon answered 429 (too many requests) without saying how long to wait" in push.stderr
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "// after the 429"


def test_quota_reset_lifts_the_lockout_an_absurd_retry_after_imposed(kamsync, repo, sandbox) -> None:
    hourly = {"KAMSYNC_RATE_LIMIT": "50/1s,1000/1h"}
    _change_one_variation(kamsync, repo)
    sandbox.faults.arm("PATCH 1=429-retry-after=1000000000")
    push = kamsync("push", extra_env=hourly)
    assert push.code == 4, push.output  # an hour is longer than a run waits without --wait
    assert "asked to wait 1000000000 s; kamsync waits at most 3600 s, its longest rate window (1000/1h)" in (
        push.stderr
    )
    assert "if that wait is wrong, forget it with kamsync quota --reset" in push.stderr
    held = kamsync("status", extra_env=hourly)
    assert held.code == 3, held.output
    assert "no request may be sent before" in held.stderr
    assert "if that wait is wrong, forget it with kamsync quota --reset" in held.stderr
    assert "(in 1 h)" in held.stderr or "(in 59 min" in held.stderr, "an hour, not 31 years"
    sandbox.store.clear_requests()
    reset = kamsync("quota", "--reset", extra_env=hourly)
    assert reset.code == 0, reset.output
    assert reset.stdout.startswith("Forgot the wait imposed on this credential: no request before ")
    assert "because Kameleoon answered 429 (too many requests) and asked to wait 1000000000 s" in reset.stdout
    assert api_requests(sandbox) == [], "quota --reset sends nothing"
    again = kamsync("quota", "--reset", "--json", extra_env=hourly)
    assert again.code == 0, again.output
    assert again.json()["reset"] == {"forgot": None}
    assert again.json()["not_before"] is None
    push = kamsync("push", extra_env=hourly)
    assert push.code == 0, push.output
    assert normalize(sandbox.store.variation(200001)["jsCode"]) == "// after the 429"


def test_a_list_by_experiment_stops_at_a_full_page_holding_nothing_the_filter_asks_for(
    sandbox: Sandbox, budgets: Budgets
) -> None:
    budget = budgets("200/1s")
    creds = Credentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    sandbox.faults.arm("GET *=fresh-pages")
    with KameleoonClient(sandbox.url, creds, budget=budget) as client, pytest.raises(ApiError) as info:
        client.list("variations", filters=[equal_filter("experimentId", [100001])], subject="the variations")
    assert str(info.value).startswith(
        "Kameleoon answered page 1 of the variations with 200 objects, none of which its filter asks for; it seems "
        "to ignore the filter, so kamsync stopped"
    )
    assert client.requests_sent == 2, "the token and one page"
