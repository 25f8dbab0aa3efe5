"""The status line: pure rendering as tables, then the edge on a real pseudo-terminal."""

from __future__ import annotations

import fcntl
import io
import os
import select
import struct
import termios
import tty
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timezone
from pathlib import Path

import pytest

from kamsync.budget.ledger import Ledger
from kamsync.budget.windows import parse_rate_limit
from kamsync.ui.progress import (
    DEFAULT_AFTER,
    Progress,
    Status,
    Wait,
    fit,
    progress_delay,
    render_line,
    wants_progress,
)

T0 = 1_700_000_000.0  # 22:13:20 UTC
SHARED = "rate limit 50/10s,1000/1h, shared by every kamsync process on this machine"
ITEM = "variation 200001 (experiment 100001)"


# -- pure rendering -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "width", "fitted"),
    [("abcdef", 6, "abcdef"), ("abcdef", 5, "abcd…"), ("abcdef", 1, "…"), ("abcdef", 0, ""), ("", 3, "")],
)
def test_fit_cuts_with_an_ellipsis(text: str, width: int, fitted: str) -> None:
    assert fit(text, width) == fitted


def _waiting(n: int, total: int, seconds: float, reason: str = SHARED) -> Status:
    return Status(total=total, label="push", n=n, what=ITEM, wait=Wait(reason, 100.0 + seconds, T0 + seconds))


@pytest.mark.parametrize(
    ("status", "width", "line"),
    [
        (Status(), 80, ""),
        (Status(total=12, label="push"), 80, "push"),
        (Status(total=12, label="push", n=3, what=ITEM), 80, f"[3/12] {ITEM}"),
        (Status(total=0, label="push", n=3, what=ITEM), 80, f"[3] {ITEM}"),
        (Status(total=12, n=3, what="variation 7 'Red\nbutton\x1b[2J'"), 80, "[3/12] variation 7 'Red button [2J'"),
        (Status(total=12, n=3, what=ITEM), 20, "[3/12] variation 20…"),
        (_waiting(3, 12, 42), 200, f"[3/12] waiting 0:42 — {SHARED} — until 22:14:02"),
        (_waiting(3, 12, 41.3), 200, f"[3/12] waiting 0:42 — {SHARED} — until 22:14:01"),
        (_waiting(3, 12, 3723), 200, f"[3/12] waiting 1:02:03 — {SHARED} — until 23:15:23"),
        (_waiting(0, 12, 5), 200, f"push: waiting 0:05 — {SHARED} — until 22:13:25"),
        # Too wide: the reason loses its end, the countdown and its end stay.
        (_waiting(3, 12, 42), 60, "[3/12] waiting 0:42 — rate limit 50/10s,10… — until 22:14:02"),
        # No room for a readable reason: it goes.
        (_waiting(3, 12, 42), 45, "[3/12] waiting 0:42 — until 22:14:02"),
        (_waiting(3, 12, 42), 10, "[3/12] wa…"),
    ],
)
def test_render_line(status: Status, width: int, line: str) -> None:
    rendered = render_line(status, 100.0, width=width, tz=timezone.utc)
    assert rendered == line
    assert len(rendered) <= width


def test_a_too_wide_wait_line_keeps_countdown_and_end_and_fills_the_width() -> None:
    line = render_line(_waiting(3, 12, 42), 100.0, width=60, tz=timezone.utc)
    assert line.startswith("[3/12] waiting 0:42 — rate limit")
    assert line.endswith("… — until 22:14:02")
    assert len(line) == 60


@pytest.mark.parametrize(
    ("json_mode", "environ", "isatty", "wanted"),
    [
        (False, {}, True, True),
        (False, {"KAMSYNC_PROGRESS": "1"}, True, True),
        (False, {}, False, False),
        (True, {}, True, False),
        (False, {"KAMSYNC_PROGRESS": "0"}, True, False),
        (False, {"KAMSYNC_PROGRESS": " 0 "}, True, False),
        (False, {"TERM": "dumb"}, True, False),
        (False, {"TERM": "xterm-256color"}, True, True),
    ],
)
def test_wants_progress(json_mode: bool, environ: dict[str, str], isatty: bool, wanted: bool) -> None:
    assert wants_progress(json_mode=json_mode, environ=environ, isatty=isatty) is wanted


@pytest.mark.parametrize(
    ("value", "delay"),
    [
        (None, DEFAULT_AFTER),
        ("", DEFAULT_AFTER),
        ("0", 0.0),
        ("0.5", 0.5),
        ("10", 10.0),
        ("-1", 0.0),
        ("soon", DEFAULT_AFTER),
        ("nan", DEFAULT_AFTER),
        ("inf", DEFAULT_AFTER),
    ],
)
def test_progress_delay(value: str | None, delay: float) -> None:
    environ = {} if value is None else {"KAMSYNC_PROGRESS_AFTER": value}
    assert progress_delay(environ) == delay


# -- the edge, on a real pseudo-terminal --------------------------------------------------------------------


@dataclass
class FakeTime:
    """A clock that moves only when slept on: the OS seam for time."""

    now: float = T0
    sleeps: list[float] = field(default_factory=list)
    short_first: float | None = None  # the first sleep wakes early after this long (as a signal would)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.short_first is not None:
            seconds, self.short_first = min(seconds, self.short_first), None
        self.now += seconds


@dataclass
class Terminal:
    """Both ends of a pseudo-terminal: the text stream a program writes to, and what the screen receives."""

    master: int
    stream: io.TextIOWrapper

    def screen(self) -> str:
        """Everything written since the last call (read up to a marker written last)."""
        marker = "<<end>>"
        self.stream.write(marker)
        self.stream.flush()
        received = b""
        while not received.endswith(marker.encode()):
            ready, _, _ = select.select([self.master], [], [], 10)
            assert ready, f"the terminal received no marker; so far {received!r}"
            received += os.read(self.master, 65536)
        return received.decode("utf-8")[: -len(marker)]

    def resize(self, columns: int) -> None:
        fcntl.ioctl(self.stream.fileno(), termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    master, slave = os.openpty()
    tty.setraw(slave)  # bytes reach the screen untranslated (no \n → \r\n)
    stream = open(slave, "w", encoding="utf-8")  # noqa: SIM115 - closed below, after the test
    term = Terminal(master, stream)
    term.resize(200)
    try:
        yield term
    finally:
        stream.close()
        os.close(master)


def frames(screen: str) -> list[str]:
    """The lines drawn, in order: each redraw starts with \\r and ends clearing the rest (ERASE alone = "")."""
    return [part.replace("\x1b[K", "") for part in screen.split("\r")[1:]]


def _progress(terminal: Terminal, fake: FakeTime, after: str = "0", **environ: str) -> Progress:
    return Progress.create(
        terminal.stream,
        json_mode=False,
        environ={"KAMSYNC_PROGRESS_AFTER": after, **environ},
        clock=fake.clock,
        wall=fake.clock,
        sleep=fake.sleep,
        tz=timezone.utc,
    )


def test_nothing_is_drawn_before_the_delay(terminal: Terminal) -> None:
    fake = FakeTime()
    progress = _progress(terminal, fake, after="2")
    assert progress.enabled
    progress.start(3, "push")
    progress.item(1, "variation 1")
    fake.now += 1.9
    progress.item(2, "variation 2")
    assert terminal.screen() == ""
    fake.now += 0.1
    progress.item(3, "variation 3")
    assert terminal.screen() == "\r[3/3] variation 3\x1b[K"


def test_items_and_a_countdown_are_drawn_and_close_erases_the_line(terminal: Terminal) -> None:
    fake = FakeTime()
    progress = _progress(terminal, fake)
    progress.start(3, "push")
    progress.item(1, ITEM)
    progress.waiting(2.5, SHARED)  # the ledger's on_wait, then its sleep
    progress.sleeper()(2.5)
    progress.item(2, "variation 200002 (experiment 100001)")
    drawn = terminal.screen()
    progress.close()
    assert frames(drawn) == [
        "push",
        f"[1/3] {ITEM}",
        f"[1/3] waiting 0:03 — {SHARED} — until 22:13:22",
        f"[1/3] waiting 0:02 — {SHARED} — until 22:13:22",
        f"[1/3] waiting 0:01 — {SHARED} — until 22:13:22",
        f"[1/3] {ITEM}",
        "[2/3] variation 200002 (experiment 100001)",
    ]
    assert fake.sleeps == [0.5, 1.0, 1.0]
    assert terminal.screen() == "\r\x1b[K"
    progress.item(3, "after close")
    assert terminal.screen() == "", "nothing is drawn after close"


def test_the_line_fits_the_terminal_width(terminal: Terminal) -> None:
    terminal.resize(30)
    progress = _progress(terminal, FakeTime())
    progress.start(1, "push")
    progress.item(1, ITEM)
    assert frames(terminal.screen())[-1] == "[1/1] variation 200001 (expe…"  # 29 columns: the last one stays free


def test_a_note_prints_above_the_status_line_which_is_drawn_again(terminal: Terminal) -> None:
    progress = _progress(terminal, FakeTime())
    progress.start(2, "push")
    progress.item(1, ITEM)
    terminal.screen()
    progress.note("updated variation 200001 (experiment 100001): jsCode")
    assert terminal.screen() == (
        "\r\x1b[Kupdated variation 200001 (experiment 100001): jsCode\n" + f"\r[1/2] {ITEM}\x1b[K"
    )
    progress.close()
    terminal.screen()
    progress.note("1 of 2 entities updated")
    assert terminal.screen() == "1 of 2 entities updated\n"


def test_a_note_before_the_delay_is_printed_plainly(terminal: Terminal) -> None:
    progress = _progress(terminal, FakeTime(), after="2")
    progress.item(1, ITEM)
    progress.note("saved the remote values --force overwrites")
    assert terminal.screen() == "saved the remote values --force overwrites\n"


def test_waits_through_the_ledger_count_down_with_its_reason(terminal: Terminal, tmp_path: Path) -> None:
    fake = FakeTime()
    progress = _progress(terminal, fake)
    ledger = Ledger.open(
        tmp_path / "state",
        "http://127.0.0.1:9",
        "client",
        parse_rate_limit("1/2s"),
        on_wait=progress.waiting,
        sleep=progress.sleeper(),
        clock=fake.clock,
    )
    progress.start(2, "push")
    for n in (1, 2):
        progress.item(n, f"variation {n}")
        ledger.before_send()
        ledger.after_response()
    assert frames(terminal.screen()) == [
        "push",
        "[1/2] variation 1",
        "[2/2] variation 2",
        "[2/2] waiting 0:02 — rate limit 1/2s, shared by every kamsync process on this machine — until 22:13:22",
        "[2/2] waiting 0:01 — rate limit 1/2s, shared by every kamsync process on this machine — until 22:13:22",
        "[2/2] variation 2",
    ]
    assert fake.sleeps == [1.0, 1.0]


def test_an_unannounced_sleep_passes_straight_through(terminal: Terminal) -> None:
    fake = FakeTime()
    progress = _progress(terminal, fake)
    progress.item(1, ITEM)
    terminal.screen()
    progress.sleeper()(0.02)  # the ledger polling for another process's response
    assert fake.sleeps == [0.02]
    assert terminal.screen() == ""


def test_wait_sleeps_exactly_the_requested_total_in_slices_of_at_most_a_second(terminal: Terminal) -> None:
    fake = FakeTime()
    progress = _progress(terminal, fake)
    progress.wait(7.25, SHARED)
    assert fake.sleeps == [0.25, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert fake.now - T0 == 7.25


def test_wait_sleeps_the_remainder_when_a_sleep_wakes_early(terminal: Terminal) -> None:
    fake = FakeTime(short_first=0.1)
    woke: list[float] = []

    def sleep(seconds: float) -> None:  # the single-callable form: wait(seconds, reason, sleep)
        fake.sleep(seconds)
        woke.append(fake.now - T0)

    _progress(terminal, fake).wait(2.0, SHARED, sleep)
    assert fake.now - T0 == 2.0
    assert all(s <= 1.0 for s in fake.sleeps)
    assert woke[0] == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("json_mode", "environ"),
    [(True, {}), (False, {"KAMSYNC_PROGRESS": "0"}), (False, {"TERM": "dumb"})],
    ids=["json", "KAMSYNC_PROGRESS=0", "dumb terminal"],
)
def test_disabled_on_a_terminal_draws_nothing_but_still_sleeps(
    terminal: Terminal, json_mode: bool, environ: dict[str, str]
) -> None:
    fake = FakeTime()
    progress = Progress.create(
        terminal.stream,
        json_mode=json_mode,
        environ={"KAMSYNC_PROGRESS_AFTER": "0", **environ},
        clock=fake.clock,
        sleep=fake.sleep,
    )
    _exercise(progress)
    assert not progress.enabled
    assert terminal.screen() == ""
    assert fake.sleeps == [3.5, 1.5]


def test_disabled_when_stderr_is_not_a_terminal() -> None:
    read_end, write_end = os.pipe()
    fake = FakeTime()
    with open(read_end, "rb") as reader, open(write_end, "w", encoding="utf-8") as pipe:
        progress = Progress.create(pipe, json_mode=False, environ={"KAMSYNC_PROGRESS_AFTER": "0"}, sleep=fake.sleep)
        _exercise(progress)
        pipe.close()
        assert reader.read() == b""
    assert not progress.enabled
    assert fake.sleeps == [3.5, 1.5]


def _exercise(progress: Progress) -> None:
    progress.start(2, "push")
    progress.item(1, ITEM)
    progress.waiting(3.5, SHARED)
    progress.sleeper()(3.5)
    progress.wait(1.5, SHARED)
    progress.note("a message")
    progress.close()
