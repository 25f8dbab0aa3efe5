"""The shared ledger on a real Redis server, driven in this process as several machines would drive it: every
window granted atomically, reservations of priced runs, a 429 every machine honours, a killed process's
reservation expiring by itself, and a server that is missing, refuses the password, is not Redis or goes away."""

from __future__ import annotations

import os
import signal
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kamsync.budget.backend import LocalLedger, open_ledger
from kamsync.budget.ledgerurl import mask_url, parse_ledger_url
from kamsync.budget.redisledger import RedisLedger
from kamsync.budget.windows import parse_rate_limit
from kamsync.core.errors import LedgerLost, LedgerUnavailable, LongWait, UsageError
from kamsync.sandbox import Sandbox
from tests.redisutil import RedisServer, free_port

URL = "https://api.kameleoon.com"
CLIENT = "client-7"
ROOT = Path(__file__).resolve().parent.parent


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"nothing should sleep here, not even {seconds} s")


@pytest.fixture
def ledgers(redis_server: RedisServer, redis_db: int) -> Iterator[list[RedisLedger]]:
    opened: list[RedisLedger] = []
    yield opened
    for ledger in opened:
        ledger.close()


def _open(server: RedisServer, db: int, spec: str, opened: list[RedisLedger], **kwargs: object) -> RedisLedger:
    location = parse_ledger_url(server.url(db))
    kwargs.setdefault("sleep", _no_sleep)
    ledger = RedisLedger.connect(location, URL, CLIENT, parse_rate_limit(spec), max_wait=1.0, **kwargs)
    opened.append(ledger)
    return ledger


def _send(ledger: RedisLedger, count: int = 1) -> None:
    for _ in range(count):
        ledger.before_send()
        ledger.after_response()


def test_two_machines_share_every_window(redis_server: RedisServer, redis_db: int, ledgers: list[RedisLedger]) -> None:
    laptop = _open(redis_server, redis_db, "3/10s,100/1h", ledgers, command="kamsync push")
    runner = _open(redis_server, redis_db, "3/10s,100/1h", ledgers, command="kamsync status")
    _send(laptop, 2)
    _send(runner, 1)
    with pytest.raises(LongWait, match=r"rate limit 3/10s,100/1h, shared by every kamsync process through redis://"):
        runner.before_send()
    with pytest.raises(LongWait):
        laptop.before_send()
    view = laptop.view()
    assert len(view.arrivals) == 3
    assert {(s.command, s.requests) for s in view.spent} == {("kamsync push", 2), ("kamsync status", 1)}


def test_a_reservation_keeps_the_hour_for_the_run_that_priced_it(
    redis_server: RedisServer, redis_db: int, ledgers: list[RedisLedger]
) -> None:
    planner = _open(redis_server, redis_db, "100/10s,5/1h", ledgers)
    other = _open(redis_server, redis_db, "100/10s,5/1h", ledgers)
    assert planner.reserve(4)
    assert not other.reserve(2), "two machines cannot both count on the same last requests"
    assert other.view().reserved == 4
    _send(other, 1)  # the one request left outside the reservation
    with pytest.raises(LongWait, match="no room until"):
        other.before_send()
    _send(planner, 4)  # its own reservation lets it through
    assert planner.view().reserved == 0
    planner.close()
    assert len(other.view().arrivals) == 5


def test_a_run_releases_what_it_reserved_and_did_not_use(
    redis_server: RedisServer, redis_db: int, ledgers: list[RedisLedger]
) -> None:
    planner = _open(redis_server, redis_db, "100/10s,5/1h", ledgers)
    assert planner.reserve(5)
    _send(planner, 2)
    planner.close()
    other = _open(redis_server, redis_db, "100/10s,5/1h", ledgers)
    assert other.view().reserved == 0
    assert other.reserve(3)


def test_a_429_is_a_wait_every_machine_honours_capped_and_forgettable(
    redis_server: RedisServer, redis_db: int, ledgers: list[RedisLedger]
) -> None:
    hit = _open(redis_server, redis_db, "50/10s,1000/1h", ledgers)
    elsewhere = _open(redis_server, redis_db, "50/10s,1000/1h", ledgers)
    hit.note_server_wait(1e9)  # an absurd Retry-After: capped to the longest window
    view = elsewhere.view()
    assert view.not_before is not None
    assert view.not_before - view.now == pytest.approx(3600, abs=5)
    assert "kamsync waits at most 3600 s" in view.reason
    with pytest.raises(LongWait, match="forget it with kamsync quota --reset"):
        elsewhere.before_send()
    forgot = elsewhere.forget_server_wait()
    assert forgot is not None and "asked to wait 1000000000 s" in forgot[1]
    _send(hit, 1)


def test_a_blind_429_waits_for_the_shortest_window(
    redis_server: RedisServer, redis_db: int, ledgers: list[RedisLedger]
) -> None:
    hit = _open(redis_server, redis_db, "50/10s,1000/1h", ledgers)
    hit.note_server_wait(None)
    view = hit.view()
    assert view.not_before is not None
    assert view.not_before - view.now == pytest.approx(10, abs=1)
    assert view.reason.startswith("Kameleoon answered 429 (too many requests) without saying how long to wait")


_HOLDER = """
import sys, time
from kamsync.budget.ledgerurl import parse_ledger_url
from kamsync.budget.redisledger import RedisLedger
from kamsync.budget.windows import parse_rate_limit
ledger = RedisLedger.connect(parse_ledger_url(sys.argv[1]), "https://api.kameleoon.com", "client-7",
                             parse_rate_limit("100/10s,5/1h"), reservation_ttl=float(sys.argv[2]))
assert ledger.reserve(4)
print("reserved", flush=True)
sys.stdin.read()  # until the test kills it
"""


def _expiry(server: RedisServer, db: int) -> float:
    with server.client(db) as client:
        keys = client.keys("kamsync:ratelimit:*:resv_exp")
        scores = [score for key in keys for _, score in client.zrange(key, 0, -1, withscores=True)]
    return max(scores, default=0.0)


def test_a_killed_process_reservation_expires_by_itself_while_a_live_one_is_renewed(
    redis_server: RedisServer, redis_db: int, ledgers: list[RedisLedger]
) -> None:
    ttl = 0.6
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, redis_server.url(redis_db), str(ttl)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "reserved\n"
        other = _open(redis_server, redis_db, "100/10s,5/1h", ledgers)
        assert other.view().reserved == 4
        first = _expiry(redis_server, redis_db)
        deadline = time.monotonic() + 20
        while _expiry(redis_server, redis_db) <= first + ttl / 3:  # renewed, twice at least
            assert time.monotonic() < deadline, "the live process never renewed its reservation"
        assert other.view().reserved == 4, "a live process keeps its reservation past its TTL"
        holder.send_signal(signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)
        holder.wait(timeout=10)
        while other.view().reserved:
            assert time.monotonic() < deadline, "the killed process's reservation never expired"
        assert other.reserve(5)
    finally:
        holder.kill()
        holder.wait(timeout=10)
        if holder.stdin is not None:
            holder.stdin.close()
        if holder.stdout is not None:
            holder.stdout.close()


def test_a_wrong_password_is_a_clear_error_with_the_password_masked(redis_server: RedisServer) -> None:
    wrong = "not-the-Pa55word"
    location = parse_ledger_url(redis_server.url(1, password=wrong))
    with pytest.raises(LedgerUnavailable) as raised:
        RedisLedger.connect(location, URL, CLIENT, parse_rate_limit("50/10s"))
    text = str(raised.value)
    assert f"redis://:***@127.0.0.1:{redis_server.port}/1" in text
    assert "refused the user name or password" in text
    assert "nothing was sent to Kameleoon" in text and "KAMSYNC_LEDGER_FALLBACK=local" in text
    assert wrong not in text and redis_server.password not in text


def test_nobody_listening_is_a_clear_error(tmp_path: Path) -> None:
    location = parse_ledger_url(f"redis://:secret-pw-123@127.0.0.1:{free_port()}/0")
    with pytest.raises(LedgerUnavailable, match=r"at redis://:\*\*\*@127\.0\.0\.1:\d+/0: cannot connect") as raised:
        RedisLedger.connect(location, URL, CLIENT, parse_rate_limit("50/10s"))
    assert "secret-pw-123" not in str(raised.value)


def test_a_server_that_is_not_redis_is_a_clear_error(tmp_path: Path) -> None:
    with Sandbox(rate_limit=None) as http:  # an HTTP server, answering Redis's commands as HTTP does
        location = parse_ledger_url(http.url.replace("http://", "redis://:pw-98765432@") + "/0")
        with pytest.raises(LedgerUnavailable, match="does not answer as Redis does"):
            RedisLedger.connect(location, URL, CLIENT, parse_rate_limit("50/10s"))


class _Garbage(socketserver.BaseRequestHandler):
    """Answers every command as a broken server might: PING is "OK", a script's reply a plain string."""

    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(b"+OK\r\n" * max(1, data.count(b"*")))


def test_a_server_answering_garbage_is_a_clear_error() -> None:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Garbage) as garbage:
        garbage.daemon_threads = True
        threading.Thread(target=garbage.serve_forever, daemon=True).start()
        try:
            port = garbage.server_address[1]
            location = parse_ledger_url(f"redis://:pw-98765432@127.0.0.1:{port}/0")
            with pytest.raises(LedgerUnavailable, match="does not answer as Redis does") as raised:
                RedisLedger.connect(location, URL, CLIENT, parse_rate_limit("50/10s"))
            assert "pw-98765432" not in str(raised.value)
        finally:
            garbage.shutdown()


def test_the_fallback_warns_and_counts_in_this_machine_file(tmp_path: Path) -> None:
    said: list[str] = []
    location = parse_ledger_url(f"redis://:pw-98765432@127.0.0.1:{free_port()}/0")
    windows = parse_rate_limit("50/10s")
    ledger = open_ledger(location, URL, CLIENT, windows, state_dir=tmp_path, fallback_local=True, warn=said.append)
    assert isinstance(ledger, LocalLedger) and ledger.kind == "local"
    assert len(said) == 1 and "KAMSYNC_LEDGER_FALLBACK=local: counting in this machine's ledger instead" in said[0]
    assert "pw-98765432" not in said[0]
    with pytest.raises(LedgerUnavailable):
        open_ledger(location, URL, CLIENT, windows, state_dir=tmp_path)


def test_redis_lost_mid_run_stops_before_the_next_request(tmp_path: Path) -> None:
    server = RedisServer(password="lost-" + os.urandom(6).hex()).start()
    try:
        ledger = RedisLedger.connect(parse_ledger_url(server.url(0)), URL, CLIENT, parse_rate_limit("50/10s"))
        ledger.before_send()
        server.stop()
        ledger.after_response()  # the answer arrived: nothing to raise here
        with pytest.raises(LedgerLost, match="the next request was not sent") as raised:
            ledger.before_send()
        assert raised.value.exit_code == 4
        assert server.password not in str(raised.value)
        ledger.close()
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("rediss://user:p%40ss@host:6380/2", "rediss://user:***@host:6380/2"),
        ("redis://user@host:6379", "redis://user@host:6379"),
        ("redis://host:6379/0", "redis://host:6379/0"),
        ("redis://u:a@b@host/1", "redis://u:***@host/1"),
    ],
)
def test_the_url_is_shown_with_its_password_masked(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert parse_ledger_url(url).masked == masked


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://:pw-123456@host:6379/0", "the scheme must be redis or rediss"),
        ("redis://:pw-123456@:6379/0", "it names no host"),
        ("redis://:pw-123456@host:port/0", "the port must be a number"),
        ("redis://:pw-123456@host:6379/zero", "the database must be a number"),
    ],
)
def test_a_bad_url_is_refused_with_its_password_masked(url: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem) as raised:
        parse_ledger_url(url)
    assert "pw-123456" not in str(raised.value) and "***" in str(raised.value)


def test_a_password_holding_a_slash_is_masked_even_in_the_error_about_the_url() -> None:
    assert mask_url("redis://u:pa/ss@host:6379/0") == "redis://u:***@host:6379/0"
    try:
        parse_ledger_url("redis://u:pa/ss@host:6379/0")
    except UsageError as error:
        assert "pa/ss" not in str(error) and "ss@" not in str(error)
