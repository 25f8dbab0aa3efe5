"""What ``kamsync watch`` decides, without I/O: when a burst of saves becomes a batch, when the budget holds one
back, when the watcher pauses, and the values it reports — its events and its summary (pure; the clock is
whatever ``now`` the caller passes).

A batch is due ``quiet`` seconds after its last save, or ``cap`` seconds after its first, whichever comes first:
a developer saving continuously still sees Kameleoon follow at least every ``cap`` seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kamsync.core.errors import Exit
from kamsync.core.plan import Plan, Refusal

DEFAULT_QUIET = 0.3
DEFAULT_CAP = 2.0
MAX_BATCH_FILES = 5  # a batch touching more files than this is a checkout or a tool, not a developer saving
LOW_SHARE = 10  # the quota window is low once less than 1/LOW_SHARE of it would be left


@dataclass(slots=True)
class Batcher:
    """The saves not sent yet, and when they are due."""

    quiet: float = DEFAULT_QUIET
    cap: float = DEFAULT_CAP
    paths: set[str] = field(default_factory=set)
    first: float | None = None  # the first save of the batch
    last: float | None = None  # its latest save
    not_before: float | None = None  # held back (the budget, a busy repository) until then

    def add(self, paths: Iterable[str], now: float) -> None:
        added = set(paths)
        if not added:
            return
        self.paths |= added
        self.first = now if self.first is None else self.first
        self.last = now

    def due_at(self) -> float | None:
        """When the batch is to be sent; ``None`` when there is nothing to send."""
        if not self.paths or self.first is None or self.last is None:
            return None
        at = min(self.last + self.quiet, self.first + self.cap)
        return at if self.not_before is None else max(at, self.not_before)

    def due(self, now: float) -> bool:
        at = self.due_at()
        return at is not None and now >= at

    def take(self) -> Batch:
        """The batch, and a fresh start."""
        batch = Batch(frozenset(self.paths), self.first or 0.0, self.last or 0.0)
        self.paths, self.first, self.last, self.not_before = set(), None, None, None
        return batch

    def hold(self, batch: Batch, until: float) -> None:
        """Put ``batch`` back, not to be sent before ``until``; saves arriving meanwhile join it."""
        self.paths |= batch.paths
        self.first = batch.first if self.first is None else min(self.first, batch.first)
        self.last = batch.last if self.last is None else max(self.last, batch.last)
        self.not_before = until if self.not_before is None else max(self.not_before, until)


@dataclass(frozen=True, slots=True)
class Batch:
    paths: frozenset[str]
    first: float  # when its first save was seen
    last: float  # when its last save was seen


@dataclass(frozen=True, slots=True)
class Allowance:
    """The quota window as the ledger counts it for this credential."""

    limit: int  # requests the window allows
    seconds: float  # its length
    left: int  # requests left in it now
    runnable_at: float | None  # when ``needed`` requests fit (``None``: they never fit a whole window)


def budget_hold(needed: int, allowance: Allowance, now: float, last_sent: float | None) -> float | None:
    """Until when a batch needing ``needed`` requests waits for the budget; ``None``: send it now.

    Past the low mark the watcher sends no faster than the window allows forever (``seconds * needed / limit``
    between batches): saves made meanwhile are coalesced into one batch instead of spending the rest of the hour
    on the first few."""
    if needed > allowance.left:
        return allowance.runnable_at if allowance.runnable_at is not None else now + allowance.seconds
    low = allowance.left - needed < max(needed, allowance.limit // LOW_SHARE)
    if not low or last_sent is None:
        return None
    paced = last_sent + allowance.seconds * needed / allowance.limit
    return paced if paced > now else None


@dataclass(frozen=True, slots=True)
class Checkout:
    """What the watcher compares to notice a checkout, commit, rebase, stash, reset or add: HEAD, the staged
    entries (mode, blob, stage) of the mapped files — the entries themselves, not the index file's timestamps —
    and the stash."""

    head: str | None
    staged: str  # a digest of the staged entries
    stash: str | None = None  # refs/stash: ``git stash`` takes work-tree changes away without staging anything


def pause_reason(baseline: Checkout, now: Checkout, files: int, *, max_files: int = MAX_BATCH_FILES) -> str | None:
    """Why the watcher stops pushing until told to go on; ``None`` when the batch may go."""
    if baseline.head != now.head:
        return f"HEAD moved from {_short(baseline.head)} to {_short(now.head)}"
    if baseline.staged != now.staged:
        return "what is staged for the mapped files changed (stash, reset or add)"
    if baseline.stash != now.stash:
        return "the stash changed (git stash, stash pop or apply)"
    if files > max_files:
        return f"this batch would touch {files} files, more than {max_files}"
    return None


def _short(commit: str | None) -> str:
    return commit[:12] if commit else "no commit"


@dataclass(frozen=True, slots=True)
class BatchReport:
    """One batch sent: the line the watcher prints."""

    at: float  # wall time of the last answer
    fields: tuple[str, ...]  # "variation 200001 jsCode" …
    requests: int
    latency: float  # seconds from the batch's last save to Kameleoon's last answer
    left: int | None  # requests left in the quota window
    limit: int | None


@dataclass(frozen=True, slots=True)
class Uncommitted:
    """A field whose value in Kameleoon is in no commit yet."""

    field: str
    path: str


@dataclass(frozen=True, slots=True)
class WatchSummary:
    """What a watch did, once Ctrl-C ended it: the result the CLI shows, with the exit code."""

    seconds: float
    batches: int
    fields_written: int
    requests: int
    unsent: tuple[str, ...]  # mapped paths saved but not sent (held, paused, refused at the end)
    in_flight: str | None  # the write Ctrl-C interrupted, when one was in flight
    uncommitted: tuple[Uncommitted, ...]

    @property
    def code(self) -> int:
        # A write in doubt makes an interrupted run; otherwise Ctrl-C is how a watch ends.
        return int(Exit.INTERRUPTED) if self.in_flight else int(Exit.OK)


# -- what happens while watching, handed to the watch's Report port as it happens (kamsync.ui.watch shows it) --


@dataclass(frozen=True, slots=True)
class WatchStarted:
    files: int
    folders: int
    polling: bool
    missing: tuple[str, ...]  # folders that do not exist: not watched


@dataclass(frozen=True, slots=True)
class WatchNotice:
    """Something the developer should know, with what to do (a fallback to polling, a busy repository)."""

    text: str


@dataclass(frozen=True, slots=True)
class Unchanged:
    """Saves that held what Kameleoon has: no request (reported with ``-v``)."""

    at: float
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WatchRefused:
    refusals: tuple[Refusal, ...]


@dataclass(frozen=True, slots=True)
class BatchFailed:
    what: str
    error: str


@dataclass(frozen=True, slots=True)
class Held:
    """The budget holds a batch back: what, until when, and what is left of the quota window."""

    paths: tuple[str, ...]
    until: float
    left: int
    limit: int


@dataclass(frozen=True, slots=True)
class Paused:
    reason: str
    plan: Plan | None  # the plan the working tree now causes; None when it could not be read
    can_resume: bool  # Enter on a terminal, or --follow-head


@dataclass(frozen=True, slots=True)
class Resumed:
    """Pushing goes on, from the working tree as it is now."""
