"""``kamsync watch``: push saves of mapped files as they happen, batched, through the same plan as ``push``.

Nothing is sent at start; a save holding what Kameleoon last echoed sends nothing; nothing is ever deleted. The
repository lock is held only while a batch is planned and sent, so ``git push`` and other kamsync commands run
meanwhile. Ctrl-C ends it with a summary (``WatchSummary``); a write in flight is completed or reported, and the
journal covers it either way.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from kamsync.core.errors import KamsyncError, UsageError
from kamsync.core.watching import Batcher, BatchFailed, Resumed, Uncommitted, WatchNotice, WatchStarted, WatchSummary
from kamsync.git.lineage import uncommitted
from kamsync.git.workspace import Workspace
from kamsync.state.journal import Journal
from kamsync.sync.report import Report
from kamsync.sync.session import Options, running
from kamsync.sync.watch_batch import BUSY_RETRY, Pusher, Verdict, WatchSettings
from kamsync.watch.files import FileWatcher

__all__ = ["WatchSettings", "run_watch"]

TICK = 0.5  # the longest the loop blocks at once: Ctrl-C is noticed within it on every platform

Event = tuple[str, frozenset[Path]]


def run_watch(
    opts: Options,
    report: Report,
    settings: WatchSettings,
    *,
    read_line: Callable[[], str] | None = None,
) -> WatchSummary:
    """Watch until Ctrl-C, reporting each batch as it goes; what it did. ``read_line`` reads a line from the
    terminal (Enter resumes a pause)."""
    ws = Workspace.open(opts.manifest, opts.environ, Path.cwd())
    files = ws.select(settings.paths)
    if not files:
        raise UsageError(
            "no mapped file to watch there: a variation entry without id is created by "
            "`kamsync push --allow-traffic-change` first, then watched"
        )
    events: queue.Queue[Event] = queue.Queue()
    started = time.monotonic()
    with running(opts, ws.manifest.rate_limit, report) as run:  # credentials and rate limit checked first
        pusher = Pusher(ws, run, report, settings, files)
        watcher = FileWatcher(
            list(pusher.by_path()),
            lambda paths: events.put(("saved", paths)),
            poll=settings.poll,
            on_notice=lambda text: report(WatchNotice(text)),
        )
        interrupted = Journal.at(ws.repo.state_dir()).load()
        if interrupted is not None:
            report(WatchNotice(f"an interrupted {interrupted.command} has not finished: `kamsync push` finishes it"))
        with watcher:
            missing = tuple(str(f) for f in sorted(watcher.missing))
            report(WatchStarted(len(files), len(watcher.folders), watcher.polling, missing))
            if read_line is not None and settings.interactive:
                _read_lines(read_line, events)
            loop = _Loop(pusher, Batcher(settings.quiet, settings.cap), events, settings)
            with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a watch ends
                loop.forever()
        return _summary(pusher, loop, time.monotonic() - started)


def _read_lines(read_line: Callable[[], str], events: queue.Queue[Event]) -> None:
    def read() -> None:
        while read_line():
            events.put(("enter", frozenset()))

    threading.Thread(target=read, name="kamsync-watch-stdin", daemon=True).start()


class _Loop:
    """The watcher's one thread of decisions: saves in, batches out."""

    def __init__(self, pusher: Pusher, batcher: Batcher, events: queue.Queue[Event], settings: WatchSettings) -> None:
        self.pusher = pusher
        self.batcher = batcher
        self.events = events
        self.settings = settings
        self.paused: set[str] = set()  # saves kept while paused
        self.retry: set[str] = set()  # saves of a batch that failed, sent with the next save
        self.is_paused = False

    def forever(self) -> None:
        while True:
            self._wait_for_event()
            if not self.is_paused and self.batcher.due(self.pusher.clock()):
                self._batch(approved=False)

    def _wait_for_event(self) -> None:
        due = None if self.is_paused else self.batcher.due_at()
        timeout = TICK if due is None else min(TICK, max(0.0, due - self.pusher.clock()))
        try:
            kind, paths = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        if kind == "enter":
            self._resume()
        elif self.is_paused:
            self.paused |= {str(p) for p in paths}
        else:
            new = ({str(p) for p in paths} | self.retry) - self.batcher.paths
            self.retry = set()
            self.batcher.add(new, self.pusher.clock())
            if new and self.pusher.held_until is not None and self.batcher.not_before is not None:
                self.pusher.coalesced(self.batcher.paths)  # say so: it joins a batch the budget holds back

    def _batch(self, *, approved: bool) -> None:
        batch = self.batcher.take()
        try:
            verdict = self.pusher.process(batch, approved=approved)
        except KeyboardInterrupt:  # what this batch did not write stays to be named as not sent
            self.batcher.paths |= batch.paths - self.pusher.sent_paths
            raise
        except KamsyncError as error:  # a file unreadable mid-save, the network gone: say so, keep watching
            self.retry |= batch.paths - self.pusher.sent_paths
            self.pusher.report(BatchFailed("this batch", f"{error}; its files go with the next save"))
            return
        self.retry |= self.pusher.unsent_paths  # refused or failed: named at the end, sent with the next save
        if verdict is Verdict.HELD:
            until = self.pusher.held_until
            wait = BUSY_RETRY if until is None else max(0.0, until - time.time())
            self.batcher.hold(batch, self.pusher.clock() + wait)
        elif verdict is Verdict.PAUSED:
            self.is_paused = True
            self.paused |= batch.paths
            try:
                self.pusher.show_pause()
            except KamsyncError as error:  # the plan could not be read: still paused, still watching
                self.pusher.report(BatchFailed("the plan of the new working tree", str(error)))
            if self.settings.follow_head:
                self._resume()

    def _resume(self) -> None:
        if not self.is_paused:
            return
        self.is_paused = False
        self.pusher.baseline = self.pusher.checkout()
        self.pusher.report(Resumed())
        now = self.pusher.clock()
        self.batcher.add(self.paused, now)
        self.paused = set()
        self._batch(approved=True)  # at once: the developer said go

    def unsent(self) -> set[str]:
        return self.paused | self.batcher.paths | self.retry


def _summary(pusher: Pusher, loop: _Loop | None, seconds: float) -> WatchSummary:
    ws = pusher.ws
    texts = {ws.top_relative(mf.path): value for mf, value in pusher.written.values()}
    not_committed = uncommitted(ws.repo, texts) if texts else set()
    unsent = sorted(loop.unsent()) if loop is not None else []
    by_path = pusher.by_path()
    return WatchSummary(
        seconds=seconds,
        batches=pusher.batches,
        fields_written=len(pusher.written),
        requests=pusher.run.client.requests_sent,
        unsent=tuple(by_path[p].path if p in by_path else p for p in unsent),
        in_flight=pusher.in_flight,
        uncommitted=tuple(
            Uncommitted(mf.ref.describe(), mf.path)
            for mf, _value in pusher.written.values()
            if ws.top_relative(mf.path) in not_committed
        ),
    )
