"""The real `kamsync` against a sandbox that misbehaves rather than fails: it must neither burn the rate budget,
nor hang, nor lock the credential out."""

from __future__ import annotations

from kamsync.sandbox import Sandbox
from tests.helpers import api_requests


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
