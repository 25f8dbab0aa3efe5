"""The request ledger shared between kamsync processes: the client's rate budget, one rule across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kamsync.budget.ledger import Ledger, LedgerState, Pending, dump_state, ledger_path, read_arrivals
from kamsync.budget.windows import RequestBudget, next_send_time, parse_rate_limit
from kamsync.core.errors import UsageError
from kamsync.sandbox import DEFAULT_CLIENT_ID, Sandbox

URL = "https://api.kameleoon.com"
CLIENT = "client-7"
ROOT = Path(__file__).resolve().parent.parent


class FakeTime:
    """A wall clock that only moves when someone sleeps; ``during_sleep`` lets another party act meanwhile."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self.waits: list[tuple[float, str]] = []
        self.during_sleep: Callable[[], None] | None = None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        wake = self.now + seconds
        if self.during_sleep is not None:  # may move the clock on, but not past the wake-up time
            act, self.during_sleep = self.during_sleep, None
            act()
        self.now = wake

    def on_wait(self, seconds: float, reason: str) -> None:
        self.waits.append((round(seconds, 6), reason))


def _ledger(state_dir: Path, fake: FakeTime, spec: str, **kwargs: float) -> Ledger:
    return Ledger.open(
        state_dir,
        URL,
        CLIENT,
        parse_rate_limit(spec),
        on_wait=fake.on_wait,
        clock=fake.clock,
        sleep=fake.sleep,
        **kwargs,
    )


def _run(budget: RequestBudget, fake: FakeTime, script: list[tuple[str, float | None]]) -> list[float]:
    """Play requests (``("send", latency)``) and 429s (``("429", seconds or None)``); the send times."""
    sent: list[float] = []
    for event, value in script:
        budget.before_send()
        sent.append(fake.now)
        fake.now += 0.05 if value is None or event == "429" else value
        budget.after_response()
        if event == "429":
            budget.note_server_wait(value)
    return sent


SCRIPT: list[tuple[str, float | None]] = [
    *(("send", 0.3) for _ in range(4)),
    ("429", None),  # a blind 429: wait for the short window
    ("429", None),  # again: escalate to the long one
    *(("send", 1.5) for _ in range(3)),
    ("429", 2.5),  # the server said how long
    *(("send", 0.01) for _ in range(8)),
]


# -- one process ---------------------------------------------------------------------------------------------


def test_a_lone_ledger_paces_the_windows_escalates_blind_429s_and_keeps_server_waits(tmp_path: Path) -> None:
    fake = FakeTime()
    sent = _run(_ledger(tmp_path, fake, "3/10s,5/60s"), fake, SCRIPT)
    assert [round(at - 1000.0, 6) for at in sent] == pytest.approx(
        [
            *(0.0, 0.3, 0.6, 10.3),  # the 4th send waits for the 3/10s window
            10.6,  # a blind 429 answers it: wait out the shortest window…
            60.3,  # …and the next one, right after, the 5/60s window
            *(61.35, 62.85, 70.6),
            72.85,  # the 429 that says 2.5 s
            *(120.35, 122.85, 124.35, 132.1, 132.9, 180.36, 182.86, 184.36),
        ]
    )
    assert fake.sleeps == pytest.approx([9.4, 49.65, 1.0, 6.25, 0.75, 47.45, 2.49, 1.49, 7.74, 0.79, 47.45, 2.49, 1.49])


def test_each_send_is_the_earliest_next_send_time_allows(tmp_path: Path) -> None:
    windows = parse_rate_limit("3/10s,5/60s")
    fake = FakeTime()
    ledger = _ledger(tmp_path, fake, "3/10s,5/60s")
    arrivals: list[float] = []
    for latency in (0.2, 0.2, 3.0, 0.2, 0.2, 0.2, 7.0, 0.2, 0.2):
        expected = next_send_time(arrivals, windows, fake.now)
        ledger.before_send()
        assert fake.now == pytest.approx(expected)
        fake.now += latency
        ledger.after_response()
        arrivals.append(fake.now)


def test_the_ledger_keeps_an_hour_of_arrivals_whatever_the_windows_of_the_process_writing_it(tmp_path: Path) -> None:
    fake = FakeTime()
    ledger = _ledger(tmp_path, fake, "2/1s,4/10s")
    for _ in range(30):
        ledger.before_send()
        fake.now += 0.5
        ledger.after_response()
    data = json.loads(ledger.path.read_text())
    assert len(data["arrivals"]) == 30, "another process may count them in its hour window"
    assert data["pending"] == []
    fake.now += 3600
    ledger.before_send()
    ledger.after_response()
    assert len(json.loads(ledger.path.read_text())["arrivals"]) == 1, "older than any window: forgotten"


def test_a_process_with_short_windows_does_not_erase_what_one_with_long_windows_counts(tmp_path: Path) -> None:
    fake = FakeTime()
    long = _ledger(tmp_path, fake, "3/2h")
    short = _ledger(tmp_path, fake, "3/2s")
    for _ in range(3):
        long.before_send()
        long.after_response()
    fake.now += 3700  # past an hour, inside the long process's two
    short.before_send()
    short.after_response()
    waits_before = len(fake.waits)
    long.before_send()  # its window (3/2h) is full: the three arrivals of the first hour still count
    assert len(fake.waits) == waits_before + 1


def test_the_ledger_is_named_by_a_hash_of_url_and_client_in_the_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    ledger = Ledger.open(tmp_path / "state" / "kamsync", URL + "/", CLIENT, parse_rate_limit("5/1s"))
    ledger.before_send()
    ledger.after_response()
    assert ledger.path == ledger_path(tmp_path / "state" / "kamsync", URL, CLIENT)
    assert ledger.path.parent.parent == tmp_path / "state" / "kamsync"
    assert CLIENT not in ledger.path.name
    assert ledger_path(tmp_path, URL, "other") != ledger.path
    assert ledger_path(tmp_path, "https://other.example", CLIENT) != ledger.path
    assert oct(ledger.path.stat().st_mode & 0o777) == oct(0o600)


def test_an_unwritable_state_directory_says_what_to_do(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(UsageError, match="XDG_STATE_HOME"):
        Ledger.open(blocker, URL, CLIENT, parse_rate_limit("5/1s"))


# -- several processes on one file ---------------------------------------------------------------------------


def test_a_request_in_flight_elsewhere_holds_back_the_next_until_its_response_plus_the_window(
    tmp_path: Path,
) -> None:
    fake = FakeTime(100.0)
    first, second = _ledger(tmp_path, fake, "1/10s"), _ledger(tmp_path, fake, "1/10s")
    first.before_send()  # reserved at 100, response not there yet

    def first_answer_arrives() -> None:
        fake.now += 0.5
        first.after_response()  # at 100.5

    fake.during_sleep = first_answer_arrives
    second.before_send()
    assert fake.now == pytest.approx(110.5)
    assert fake.sleeps == pytest.approx([10.0, 0.5])


def test_two_ledgers_cannot_take_the_same_slot(tmp_path: Path) -> None:
    fake = FakeTime(100.0)
    a, b, c = (_ledger(tmp_path, fake, "2/10s") for _ in range(3))
    a.before_send()
    b.before_send()
    assert fake.sleeps == []

    def both_answers_arrive() -> None:
        a.after_response()
        b.after_response()

    fake.during_sleep = both_answers_arrive
    c.before_send()
    assert fake.now == pytest.approx(110.0)


def test_a_429_seen_by_one_process_delays_every_process(tmp_path: Path) -> None:
    fake = FakeTime(100.0)
    seer, other = _ledger(tmp_path, fake, "50/10s"), _ledger(tmp_path, fake, "50/10s")
    seer.before_send()
    seer.after_response()
    seer.note_server_wait(4.0)
    snapshot = read_arrivals(tmp_path, URL, CLIENT, parse_rate_limit("50/10s"), now=101.0)
    assert snapshot.not_before == pytest.approx(104.0)
    other.before_send()
    assert fake.now == pytest.approx(104.0)
    [(seconds, reason)] = fake.waits
    assert seconds == pytest.approx(4.0)
    assert (
        reason
        == f"Kameleoon answered 429 (too many requests) and asked to wait (seen by kamsync process {os.getpid()})"
    )


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(child.stdout)


def test_a_reservation_of_a_dead_process_counts_as_arrived_after_the_timeout_and_no_later(
    tmp_path: Path,
) -> None:
    fake = FakeTime(100.0)
    ledger = _ledger(tmp_path, fake, "1/10s", pending_timeout=30.0)
    ledger.path.write_text(dump_state(LedgerState(pending=(Pending("gone", _dead_pid(), 99.0),)), URL, CLIENT))
    ledger.before_send()
    # counted as arrived at 99 + 30: one wait, with no polling for an answer that never comes
    assert fake.now == pytest.approx(139.0)
    assert len(fake.sleeps) == 1


def test_a_reservation_of_a_crashed_child_process_does_not_block_forever(tmp_path: Path) -> None:
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from kamsync.budget.ledger import Ledger\n"
        "from kamsync.budget.windows import parse_rate_limit\n"
        f"Ledger.open(Path(sys.argv[1]), {URL!r}, {CLIENT!r}, parse_rate_limit('1/10s')).before_send()\n"
        "os._exit(9)  # dies between reserving its slot and receiving the response\n"
    )
    child = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, timeout=60)
    assert child.returncode == 9
    offset = FakeTime(0.0)  # real wall clock plus the time we pretend to have slept
    ledger = Ledger.open(
        tmp_path,
        URL,
        CLIENT,
        parse_rate_limit("1/10s"),
        clock=lambda: time.time() + offset.now,
        sleep=offset.sleep,
        pending_timeout=60.0,
    )
    ledger.before_send()
    assert len(offset.sleeps) == 1
    assert 65.0 < offset.sleeps[0] <= 70.0
    assert json.loads(ledger.path.read_text())["pending"][0]["pid"] == os.getpid()


def test_an_overdue_reservation_of_a_live_process_counts_as_arrived_at_the_timeout(tmp_path: Path) -> None:
    fake = FakeTime(200.0)
    ledger = _ledger(tmp_path, fake, "1/10s", pending_timeout=30.0)
    ledger.path.write_text(dump_state(LedgerState(pending=(Pending("slow", os.getpid(), 100.0),)), URL, CLIENT))
    ledger.before_send()  # counted at 130, so the window freed at 140
    assert fake.sleeps == []


@pytest.mark.parametrize(
    "garbage",
    [b"\x00\xff not json", b'{"format": 1, "arrivals": "many"}', b"[1, 2, 3]", b""],
)
def test_a_corrupt_ledger_is_put_aside_and_replaced(tmp_path: Path, garbage: bytes) -> None:
    fake = FakeTime()
    ledger = _ledger(tmp_path, fake, "5/1s")
    ledger.path.write_bytes(garbage)
    ledger.before_send()
    ledger.after_response()
    assert ledger.path.with_name(ledger.path.name + ".corrupt").read_bytes() == garbage
    assert json.loads(ledger.path.read_text())["arrivals"] == [1000.0]


def test_a_ledger_of_another_credential_is_not_trusted(tmp_path: Path) -> None:
    fake = FakeTime()
    ledger = _ledger(tmp_path, fake, "1/10s")
    ledger.path.write_text(dump_state(LedgerState(arrivals=(999.0,)), URL, "someone-else"))
    ledger.before_send()
    assert fake.sleeps == []


# -- real processes against the sandbox ----------------------------------------------------------------------

CHILD = """
import sys
from pathlib import Path
from kamsync.api.client import KameleoonClient
from kamsync.api.settings import Credentials
from kamsync.budget.ledger import Ledger
from kamsync.budget.windows import parse_rate_limit
from kamsync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

url, state_dir, spec, count = sys.argv[1:]
budget = Ledger.open(Path(state_dir), url, DEFAULT_CLIENT_ID, parse_rate_limit(spec))
creds = Credentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
with KameleoonClient(url, creds, budget=budget, max_429_retries=50) as client:
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    for _ in range(int(count)):
        client.get("experiments", 100001, subject="experiment 100001")
print("done", flush=True)
"""
SPEC = "5/0.5s,12/1.5s"


@pytest.fixture
def limited() -> Iterator[Sandbox]:
    with Sandbox(rate_limit=SPEC) as sandbox:
        yield sandbox


def _two_pushes_at_once(sandbox: Sandbox, state_dirs: tuple[Path, Path], reads: int) -> list[int]:
    """Two processes reading at once, each keeping its ledger in its state folder (the same one: shared)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAMELEOON_", "KAMSYNC_"))}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, sandbox.url, str(state_dir), SPEC, str(reads)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for state_dir in state_dirs
    ]
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            out, _ = child.communicate(timeout=60)
            assert (child.returncode, out) == (0, "done\n")
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    records = [r for r in sandbox.store.requests if r.client_id == DEFAULT_CLIENT_ID]
    assert len([r for r in records if r.status == 200]) == 2 * (reads + 1)  # and a token each
    return [r.status for r in records]


def test_two_processes_sharing_a_credential_never_cause_a_429(limited: Sandbox, tmp_path: Path) -> None:
    statuses = _two_pushes_at_once(limited, (tmp_path / "state", tmp_path / "state"), reads=11)
    assert statuses.count(429) == 0
    assert read_arrivals(tmp_path / "state", limited.url, DEFAULT_CLIENT_ID, parse_rate_limit(SPEC)).arrivals


def test_two_processes_each_with_its_own_ledger_do_cause_429s(limited: Sandbox, tmp_path: Path) -> None:
    # The control experiment: without sharing the ledger the same load does overrun the windows.
    statuses = _two_pushes_at_once(limited, (tmp_path / "one", tmp_path / "two"), reads=6)
    assert statuses.count(429) >= 1


def test_an_absurd_retry_after_is_capped_to_the_longest_window_and_said_so(tmp_path: Path) -> None:
    fake = FakeTime(100.0)
    ledger = _ledger(tmp_path, fake, "50/10s,1000/1h")
    ledger.note_server_wait(1e9)
    snapshot = read_arrivals(tmp_path, URL, CLIENT, parse_rate_limit("50/10s,1000/1h"), now=100.0)
    assert snapshot.not_before == pytest.approx(3700.0), "the hour, not 31 years"
    assert snapshot.reason.startswith(
        "Kameleoon answered 429 (too many requests) and asked to wait 1000000000 s; kamsync waits at most 3600 s, "
        "its longest rate window (1000/1h)"
    )


def test_a_non_finite_server_wait_is_written_as_a_finite_one(tmp_path: Path) -> None:
    fake = FakeTime(100.0)
    ledger = _ledger(tmp_path, fake, "50/10s")
    ledger.note_server_wait(float("inf"))  # used to crash the ledger writer (JSON has no Infinity)
    assert json.loads(ledger.path.read_text())["not_before"] == pytest.approx(110.0)


def test_forget_server_wait_says_what_it_forgot_and_keeps_the_arrivals(tmp_path: Path) -> None:
    fake = FakeTime(100.0)
    ledger = _ledger(tmp_path, fake, "50/10s")
    ledger.before_send()
    ledger.after_response()
    ledger.note_server_wait(5.0)
    until, reason = ledger.forget_server_wait() or (None, "")
    assert until == pytest.approx(105.0)
    assert reason.startswith("Kameleoon answered 429 (too many requests) and asked to wait")
    snapshot = read_arrivals(tmp_path, URL, CLIENT, parse_rate_limit("50/10s"), now=100.0)
    assert (snapshot.not_before, snapshot.reason, snapshot.arrivals) == (None, "", (100.0,))
    assert ledger.forget_server_wait() is None, "nothing left to forget"
