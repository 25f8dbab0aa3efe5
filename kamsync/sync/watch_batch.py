"""One batch of ``kamsync watch``: what changed since Kameleoon's last echo, whether to pause or wait for the
budget, then the same plan and writes as ``kamsync push``, under the repository lock for that batch only."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from kamsync.budget.pricing import quote
from kamsync.core.errors import LockedRepository
from kamsync.core.model import FieldRef, MappedFile
from kamsync.core.normalize import fingerprint, normalize
from kamsync.core.plan import Plan, plan_push
from kamsync.core.reports import Outcome
from kamsync.core.watching import (
    Allowance,
    Batch,
    BatchFailed,
    BatchReport,
    Checkout,
    Held,
    Paused,
    Unchanged,
    WatchNotice,
    WatchRefused,
    budget_hold,
    pause_reason,
)
from kamsync.git.checkout import checkout_state
from kamsync.git.workspace import Workspace
from kamsync.manifest.code import read_codes
from kamsync.state.journal import Command, Interrupted, Journal
from kamsync.state.lock import repo_lock
from kamsync.state.record import Record
from kamsync.sync.push import drift_refusals
from kamsync.sync.report import Report
from kamsync.sync.session import Run
from kamsync.sync.survey import survey
from kamsync.sync.writes import execute

BUSY_RETRY = 1.0  # seconds before a batch the lock or a journal held back is tried again


class Verdict(Enum):
    NOTHING = "nothing"  # every save held what Kameleoon already has: no request
    SENT = "sent"
    HELD = "held"  # put back for later (budget, busy repository)
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class WatchSettings:
    paths: tuple[str, ...] = ()
    quiet: float = 0.3
    cap: float = 2.0
    poll: bool = False
    follow_head: bool = False
    allow_live: bool = False
    interactive: bool = False  # stdin is a terminal: Enter resumes a pause
    max_files: int = 5


@dataclass(slots=True)
class Echoes:
    """What Kameleoon last answered for each field, as far as this watcher knows; the record of this clone
    (pushes and pulls of every kamsync command) for the fields it has not seen yet."""

    seen: dict[FieldRef, str] = field(default_factory=dict)

    def unchanged(self, ref: FieldRef, local: str, record: Record) -> bool:
        print_ = fingerprint(local)
        pulled = record.pending(ref)
        if pulled is not None and print_ in (pulled.value, pulled.written):
            return True  # a pull wrote it: kamsync's own write
        if ref in self.seen:
            return self.seen[ref] == normalize(local)
        return record.base(ref) == print_


@dataclass(slots=True)
class Pusher:
    ws: Workspace
    run: Run
    report: Report
    settings: WatchSettings
    files: tuple[MappedFile, ...]
    baseline: Checkout = field(init=False)
    clock: Callable[[], float] = time.monotonic
    echoes: Echoes = field(default_factory=Echoes)
    written: dict[FieldRef, tuple[MappedFile, str]] = field(default_factory=dict)
    batches: int = 0
    last_sent: float | None = None  # wall time
    in_flight: str | None = None
    held_until: float | None = None
    pause_reason: str | None = None
    sent_paths: set[str] = field(default_factory=set)  # the paths the batch being processed has written
    unsent_paths: set[str] = field(default_factory=set)  # its paths refused, failed or not attempted
    _by_path: dict[str, MappedFile] | None = None
    _top_paths: tuple[str, ...] = ()
    _journal_said: str | None = None  # the unfinished journal already reported

    def __post_init__(self) -> None:
        self._top_paths = tuple(self.ws.top_relative(mf.path) for mf in self.files)
        self.baseline = self.checkout()  # what pauses are judged against: the checkout when watching began

    def by_path(self) -> dict[str, MappedFile]:
        """Each watched file by the absolute path the file watcher names it by (made once: thousands of paths)."""
        if self._by_path is None:
            root = str(self.ws.root)
            self._by_path = {os.path.join(root, *mf.path.split("/")): mf for mf in self.files}
        return self._by_path

    def changed(self, batch: Batch) -> tuple[MappedFile, ...]:
        """The batch's files whose content is not what Kameleoon last echoed (a missing file never is)."""
        mapped = self.by_path()
        chosen = [mapped[p] for p in sorted(batch.paths) if p in mapped]
        texts = read_codes(self.ws.manifest, chosen, self.ws.repo.top, self.ws.repo.git_dirs)
        record = Record.load(self.ws.repo.state_dir())
        return tuple(
            mf for mf in chosen if texts[mf] is not None and not self.echoes.unchanged(mf.ref, texts[mf] or "", record)
        )

    def checkout(self) -> Checkout:
        return checkout_state(self.ws.repo, self._top_paths)

    def process(self, batch: Batch, *, approved: bool = False) -> Verdict:
        self.sent_paths = set()
        self.unsent_paths = set()
        changed = self.changed(batch)
        if not changed:
            mapped = self.by_path()
            if self.run.opts.verbose:
                self.report(Unchanged(time.time(), tuple(mapped[p].path for p in sorted(batch.paths) if p in mapped)))
            return Verdict.NOTHING
        now = self.checkout()
        reason = None if approved else pause_reason(self.baseline, now, len(changed), max_files=self.settings.max_files)
        if reason is not None:
            self.pause_reason = reason  # shown by ``show_pause`` once the loop holds the batch
            return Verdict.PAUSED
        self.baseline = now
        until = self._budget_hold(changed)
        if until is not None:
            self.held_until = until
            self.report(Held(tuple(mf.path for mf in changed), until, *self._left()))
            return Verdict.HELD
        self.held_until = None
        try:
            with repo_lock(self.ws.repo.state_dir(), "kamsync watch", self.run.opts.lock_wait):
                return self._send(batch, changed)
        except LockedRepository as error:
            self.report(WatchNotice(f"{error}; trying again in {BUSY_RETRY:g} s"))
            return Verdict.HELD

    def show_pause(self) -> None:
        """Say why pushing paused, and the plan the working tree as it is now would cause."""
        can_resume = self.settings.follow_head or self.settings.interactive
        self.report(Paused(self.pause_reason or "", self._plan_all(), can_resume))

    def coalesced(self, paths: set[str]) -> None:
        """A save joined the batch the budget holds back: say what is held now, and until when."""
        mapped = self.by_path()
        if self.held_until is not None:
            held = sorted(mapped[p].path for p in paths if p in mapped)
            self.report(Held(tuple(held), self.held_until, *self._left()))

    def _needed(self, files: Sequence[MappedFile], *, writes: bool = True) -> int:
        """Requests to read ``files``' remote state, and to write each of their entities once with ``writes``."""
        experiments = {mf.ref.experiment_id for mf in files}
        variations = {mf.ref.variation_id for mf in files if mf.ref.variation_id is not None}
        entities = {(mf.ref.entity, mf.ref.entity_id) for mf in files} if writes else set()
        return self.run.read_cost(len(experiments), len(variations)) + len(entities)

    def _unfinished(self, interrupted: Interrupted | None) -> tuple[MappedFile, ...] | None:
        """The watched files of an interrupted push's fields, for this batch to finish and check for drift; None
        when another command's journal, or a field this watch does not watch, leaves it to ``kamsync push``."""
        if interrupted is None:
            return ()
        if interrupted.command is not Command.PUSH:
            return None
        keys = interrupted.keys
        files = tuple(mf for mf in self.files if (mf.ref.entity.value, mf.ref.entity_id, mf.ref.field) in keys)
        return files if len(files) == len(keys) else None

    def _full(self, mapped: MappedFile) -> str:
        return os.path.join(str(self.ws.root), *mapped.path.split("/"))

    def _stuck(self, plan: Plan, outcome: Outcome) -> set[str]:
        """The batch's paths that are still not in Kameleoon: refused, failed, skipped or not attempted."""
        unwritten = (*(w for w, _ in (*outcome.skipped, *outcome.failed)), *outcome.not_attempted)
        stuck = [r.status for r in plan.refusals] + [status for write in unwritten for status in write.fields]
        return {self._full(st.mapped) for st in stuck}

    def _snapshot_quote(self, needed: int) -> Allowance:
        view = self.run.budget.view()  # the ledger's clock (on Redis the server's): times come back as this machine's
        arrivals = (*view.arrivals, *(view.now for _ in range(view.reserved)))
        q = quote(needed, arrivals, self.run.windows, view.now)
        runnable = None if q.runnable_at is None else time.time() + (q.runnable_at - view.now)
        return Allowance(q.quota.limit, q.quota.seconds, q.left, runnable)

    def _budget_hold(self, files: Sequence[MappedFile]) -> float | None:
        needed = self._needed(files)
        return budget_hold(needed, self._snapshot_quote(needed), time.time(), self.last_sent)

    def _left(self) -> tuple[int, int]:
        allowance = self._snapshot_quote(0)
        return allowance.left, allowance.limit

    def _plan_all(self) -> Plan | None:
        """The plan the working tree as it is now would cause, for every watched file (reads only)."""
        needed = self._needed(self.files, writes=False)
        if budget_hold(needed, self._snapshot_quote(needed), time.time(), None) is not None:
            return None  # the reads would not fit: the pause is shown without its plan
        try:
            with repo_lock(self.ws.repo.state_dir(), "kamsync watch", self.run.opts.lock_wait):
                found = survey(self.ws, self.files, self.run.client)
        except LockedRepository:
            return None
        return plan_push(found.statuses, allow_live=self.settings.allow_live)

    def _send(self, batch: Batch, changed: Sequence[MappedFile]) -> Verdict:
        journal = Journal.at(self.ws.repo.state_dir())
        interrupted = journal.load()
        unfinished = self._unfinished(interrupted)
        if interrupted is not None and unfinished is None:  # its writes may be in doubt: push resumes them
            said = f"an interrupted {interrupted.command} has not finished: run `kamsync push` to finish it"
            if said != self._journal_said:
                self.report(WatchNotice(f"{said}; saves are held until then (no request is sent meanwhile)"))
                self._journal_said = said
            return Verdict.HELD
        self._journal_said = None
        if interrupted is not None and unfinished:
            self.report(WatchNotice("finishing the interrupted push first, its fields checked for drift"))
            changed = tuple(dict.fromkeys((*changed, *unfinished)))
        before = self.run.client.requests_sent
        found = survey(self.ws, changed, self.run.client)
        for warning in found.warnings:
            self.report(WatchNotice(warning))
        for status in found.statuses:
            if status.local is not None and status.local == status.remote:
                self.echoes.seen[status.mapped.ref] = status.remote
        plan = plan_push(found.statuses, allow_live=self.settings.allow_live)
        refused = plan.refusals + (drift_refusals(interrupted, found.statuses) if interrupted is not None else ())
        if refused:
            self.report(WatchRefused(refused))
        if interrupted is not None and refused:
            # As push: nothing is sent, and the journal (what was in doubt) stays for `kamsync push` to settle;
            # a write of this batch would start a new journal over it.
            self.unsent_paths = {self._full(r.status.mapped) for r in refused} | {self._full(mf) for mf in changed}
            return Verdict.SENT
        if interrupted is not None and plan.is_empty:
            journal.clear()  # what it was sending is in Kameleoon: nothing left to finish
        outcome = execute(
            plan, self.run.client, Record.load(self.ws.repo.state_dir()), journal=journal, command=Command.PUSH
        )
        self._account(batch, plan, outcome, journal, before)
        return Verdict.SENT

    def _account(self, batch: Batch, plan: Plan, outcome: Outcome, journal: Journal, before: int) -> None:
        """What the batch's writes did: echoes, what was sent and what is stuck, and one line for the batch."""
        for write in outcome.written:
            for status in write.fields:
                self.echoes.seen[status.mapped.ref] = status.local or ""
                self.written[status.mapped.ref] = (status.mapped, status.local or "")
                self.sent_paths.add(self._full(status.mapped))
        for write, error in (*outcome.skipped, *outcome.failed):
            self.report(BatchFailed(write.describe(), str(error)))
        self.unsent_paths = self._stuck(plan, outcome)
        if outcome.interrupted is not None:
            self.in_flight = outcome.interrupted.describe()
        elif outcome.skipped and not outcome.failed and not outcome.not_attempted and not outcome.cancelled:
            journal.clear()  # 423: Kameleoon applied none of those; the next save of each tries again
        if outcome.cancelled:
            raise KeyboardInterrupt
        if plan.writes or self.run.client.requests_sent != before:
            self.batches += 1
            self.last_sent = time.time()
            left, limit = self._left()
            fields = tuple(s.mapped.ref.describe() for w in outcome.written for s in w.fields)
            requests = self.run.client.requests_sent - before
            latency = self.clock() - batch.last
            self.report(BatchReport(time.time(), fields, requests, latency, left, limit))
