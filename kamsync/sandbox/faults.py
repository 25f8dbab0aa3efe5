"""Deterministic fault injection: what a flaky Kameleoon does, on cue, and announced every time it happens.

A fault is a compact spec string, parsed by ``parse_fault`` (pure) into a rule:

- ``[METHOD ]N[xK]=ACTION``: the N-th API request counted from when the rule was armed (only requests with that
  METHOD when one is given; the token request ``POST /oauth/token`` counts, admin routes never do), and with
  ``xK`` the K-1 matching requests after it too. ``[METHOD ]*=ACTION`` acts on every matching request.
- ``expire-token=N``: the access token in use (the first one presented after arming) expires after it served N
  API requests; its next use answers 401 "the token has expired". Tokens issued later are fine.
- ``lock=KIND:ID`` (KIND ``experiment`` or ``variation``): writes to that entity answer 423 until the rule is
  cleared (it uses ``Store.set_locked``: the lock is part of the state, saved with it, until then).
- ``echo-token=FORM`` (FORM ``body``, ``json``, ``basic`` or ``raw``): every token request answers 400 with a
  message echoing what it was sent, as careless servers do: the form body as sent (URL-encoded), the form as JSON
  text, the ``Basic base64(id:secret)`` credentials, or the decoded values. No token is issued. It acts when no
  N-th rule answers the request first.

ACTION is one of:

- ``500``…``599``: answer that status with a JSON ``{"message": …}`` body; the request is not processed.
- ``429`` (with ``Retry-After: 1``) or ``429-no-retry-after``: a rate-limit refusal; not processed.
- ``drop``: close the connection without answering; not processed.
- ``drop-after``: process the request (a PATCH is applied), then close the connection without answering.
- ``stall=SECONDS``: wait SECONDS, then process and answer normally (to provoke client timeouts).
- ``hold``: process the request, then hold the answer until ``Faults.release_all()`` (or the sandbox stops);
  ``Faults.reached(rule).wait(timeout)`` returns once the held request was processed.

A misbehaving server (``kamsync.sandbox.hostile``):

- ``429-retry-after=VALUE``: a 429 whose ``Retry-After`` header is VALUE verbatim (``1000000000``, ``inf``,
  ``soon``); not processed.
- ``fresh-pages``: answer with a full page (``perPage``) of objects never seen before, ignoring filter and page;
  not processed.
- ``trickle=SECONDS``: process the request, then send the answer one byte every SECONDS; ``Faults.trickles``
  records the bytes sent of how many.
- ``abridged=FIELD+FIELD``: process the request, then answer a list with each object cut down to those fields
  (a server whose lists are summaries of what a single-object read returns).

When several rules act on one request, the one armed first wins (every rule still counts the request). A request
answered without being processed is not counted in the sandbox's rate windows. The request log records every
faulted request with the status answered, ``DROPPED`` (0) when the connection was closed without an answer (a
stalled request is logged when its stall ends; one cut short by stopping the sandbox is dropped unprocessed).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kamsync.sandbox.echo import EchoToken
from kamsync.sandbox.fault_rules import (
    DROPPED,
    GRAMMAR,
    Action,
    Do,
    ExpireToken,
    Lock,
    NthRule,
    Rule,
    fires,
    injected_response,
    lock_target,
    parse_fault,
)
from kamsync.sandbox.hostile import FreshPages, Trickles

if TYPE_CHECKING:
    from kamsync.sandbox.store import Store

__all__ = [
    "DROPPED",
    "GRAMMAR",
    "Action",
    "Armed",
    "Do",
    "EchoToken",
    "ExpireToken",
    "FaultEvent",
    "Faults",
    "Lock",
    "NthRule",
    "Rule",
    "describe_event",
    "fires",
    "injected_response",
    "lock_target",
    "parse_fault",
]


@dataclass(frozen=True, slots=True)
class FaultEvent:
    """One injected fault, as recorded and announced."""

    request: int  # the API request's number since the sandbox started (1-based)
    method: str
    path: str
    action: str
    rule: str
    status: int | None  # the status answered, or what processing gave (drop-after, hold); None for drop, stall
    time: float


def describe_event(event: FaultEvent) -> str:
    """The announcement line, e.g. ``sandbox: fault: request 3 PATCH /variations/200001 answered 503``."""
    what = {
        "drop": "dropped: connection closed without an answer, request not processed",
        "drop-after": f"processed ({event.status}), then connection closed without an answer",
        "hold": f"processed ({event.status}), answer held until released",
        "429-no-retry-after": "answered 429 without Retry-After",
        "expire-token": "answered 401: the token has expired",
        "lock": "answered 423: locked in the Kameleoon app",
        "echo-token": "answered 400 echoing what it was sent",
    }.get(event.action)
    if what is None and event.action.startswith("stall="):
        what = f"stalled {event.action.removeprefix('stall=')} s before processing"
    if what is None:
        what = _describe_hostile(event)
    if what is None:
        what = f"answered {event.action}" + (" with Retry-After: 1" if event.action == "429" else "")
    return f"sandbox: fault: request {event.request} {event.method} {event.path} {what} (rule {event.rule})"


def _describe_hostile(event: FaultEvent) -> str | None:
    """The announcement of a misbehaving-server action (``kamsync.sandbox.hostile``), None for another one."""
    if event.action == "fresh-pages":
        return "answered a full page of objects never seen before, ignoring filter and page"
    if event.action.startswith("trickle="):
        return f"processed ({event.status}), answer sent one byte every {event.action.removeprefix('trickle=')} s"
    if event.action.startswith("429-retry-after="):
        return f"answered 429 with Retry-After: {event.action.removeprefix('429-retry-after=')}"
    if event.action.startswith("abridged="):
        return f"processed ({event.status}), listed objects cut down to {event.action.removeprefix('abridged=')}"
    return None


@dataclass(frozen=True, slots=True)
class Armed:
    """A rule as armed; ``index`` is its position among the rules armed now."""

    index: int
    rule: Rule


@dataclass(frozen=True, slots=True)
class Injection:
    """What ``Faults.on_request`` decided for one request."""

    armed: Armed
    action: Action
    occurrence: int  # how many times this rule acted so far, this one included


class Faults:
    """The armed rules, their counters, the recorded events and the held requests. Thread-safe."""

    def __init__(
        self,
        store: Store,
        on_event: Callable[[FaultEvent], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._on_event = on_event
        self._clock = clock
        self._lock = threading.Lock()
        self._rules: list[Armed] = []
        self._seen: dict[Armed, int] = {}
        self._fired: dict[Armed, int] = {}
        self._token: dict[Armed, tuple[str, int]] = {}  # expire-token rule -> (token, uses so far)
        self._events: list[FaultEvent] = []
        self._requests = 0
        self._reached: dict[tuple[Armed, int], threading.Event] = {}
        self._release = threading.Event()
        self._closed = threading.Event()
        self.fresh_pages = FreshPages()  # what fresh-pages answers
        self.trickles = Trickles()  # the answers trickle= sent, with their progress

    # -- the Python API (tests, the admin routes) -------------------------------------------------------

    def arm(self, *specs: str | Rule) -> list[Armed]:
        """Arm rules (spec strings or parsed rules); all or none: a bad spec raises ``UsageError`` first."""
        rules = [parse_fault(s) if isinstance(s, str) else s for s in specs]
        for rule in rules:
            if isinstance(rule, Lock):
                self._store.get(rule.kind, rule.id)  # a 404 Fault for an unknown entity, before anything changes
        armed: list[Armed] = []
        with self._lock:
            for rule in rules:
                entry = Armed(len(self._rules), rule)
                self._rules.append(entry)
                self._seen[entry] = self._fired[entry] = 0
                armed.append(entry)
        for entry in armed:
            if isinstance(entry.rule, Lock):
                self._store.set_locked(entry.rule.kind, entry.rule.id, True)
        return armed

    def clear(self) -> None:
        """Disarm every rule (lifting their locks), forget the events, and release held requests."""
        with self._lock:
            rules, self._rules = self._rules, []
            self._seen.clear()
            self._fired.clear()
            self._token.clear()
            self._events.clear()
            self._reached.clear()
        self.trickles.clear()
        for entry in rules:
            if isinstance(entry.rule, Lock) and self._store.find(entry.rule.kind, entry.rule.id) is not None:
                self._store.set_locked(entry.rule.kind, entry.rule.id, False)
        self.release_all()

    @property
    def rules(self) -> list[Armed]:
        with self._lock:
            return list(self._rules)

    @property
    def events(self) -> list[dict[str, object]]:
        """Every injected fault since the last ``clear``, oldest first."""
        with self._lock:
            return [dataclasses.asdict(e) for e in self._events]

    def snapshot(self) -> dict[str, object]:
        """Rules with their counters, and events (for ``GET /_sandbox/faults``)."""
        with self._lock:
            rules = [
                {"index": a.index, "spec": a.rule.spec, "matched": self._seen[a], "fired": self._fired[a]}
                for a in self._rules
            ]
            events = [dataclasses.asdict(e) for e in self._events]
        return {"rules": rules, "events": events, "trickles": self.trickles.snapshot()}

    def reached(self, rule: Armed | int, occurrence: int = 1) -> threading.Event:
        """Set once the ``occurrence``-th request held by ``rule`` (an ``Armed`` or its index) was processed."""
        with self._lock:
            entry = self._rules[rule] if isinstance(rule, int) else rule
            if entry not in self._seen:
                raise ValueError(f"rule {entry.rule.spec!r} is not armed")
            return self._reached.setdefault((entry, occurrence), threading.Event())

    def release_all(self) -> None:
        """Let every held request answer; requests held later wait for the next release."""
        with self._lock:
            release, self._release = self._release, threading.Event()
        release.set()

    def close(self) -> None:
        """The sandbox is stopping: release holds, cut stalls short, and hold nothing until ``reopen``."""
        self._closed.set()
        self.release_all()

    def reopen(self) -> None:
        """The sandbox (re)started: holds and stalls work again."""
        self._closed.clear()

    # -- the hooks ``Api.handle`` calls ------------------------------------------------------------------

    def on_request(self, method: str, path: str) -> tuple[int, Injection | None]:
        """Count an API request; its number, and the fault to inject, if any."""
        with self._lock:
            self._requests += 1
            chosen: Injection | None = None
            for entry in self._rules:
                rule = entry.rule
                if not isinstance(rule, NthRule) or rule.method not in (None, method):
                    continue
                self._seen[entry] += 1
                if chosen is None and fires(rule, self._seen[entry]):
                    self._fired[entry] += 1
                    chosen = Injection(entry, rule.action, self._fired[entry])
            return self._requests, chosen

    def token_expired(self, token: str) -> Armed | None:
        """Count one use of a valid ``token``; the rule that makes it expired now, if one does."""
        with self._lock:
            for entry in self._rules:
                if not isinstance(entry.rule, ExpireToken):
                    continue
                target, uses = self._token.setdefault(entry, (token, 0))
                if target != token:
                    continue
                if uses >= entry.rule.uses:
                    self._fired[entry] += 1
                    return entry
                self._token[entry] = (target, uses + 1)
            return None

    def echo_rule(self) -> EchoToken | None:
        """The first armed ``echo-token`` rule, counted as acting (the token request is answered by it)."""
        with self._lock:
            for entry in self._rules:
                if isinstance(entry.rule, EchoToken):
                    self._fired[entry] += 1
                    return entry.rule
            return None

    def lock_rule(self, kind: str, obj_id: int) -> Armed | None:
        with self._lock:
            return next(
                (a for a in self._rules if isinstance(a.rule, Lock) and (a.rule.kind, a.rule.id) == (kind, obj_id)),
                None,
            )

    def note_lock(self, entry: Armed) -> None:
        with self._lock:
            if entry in self._fired:
                self._fired[entry] += 1

    def record(self, number: int, method: str, path: str, action: str, rule: str, status: int | None) -> None:
        """Keep and announce one injected fault."""
        event = FaultEvent(number, method, path, action, rule, status, self._clock())
        with self._lock:
            self._events.append(event)
        if self._on_event is not None:
            self._on_event(event)

    def stall(self, seconds: float) -> bool:
        """Wait ``seconds``; False when the sandbox stopped meanwhile (the request is then dropped)."""
        return not self._closed.wait(seconds)

    def hold(self, injection: Injection) -> None:
        """Signal that the held request was processed, then wait for a release (or the sandbox stopping)."""
        with self._lock:
            release = self._release
            reached = self._reached.setdefault((injection.armed, injection.occurrence), threading.Event())
        reached.set()
        if not self._closed.is_set():
            release.wait()
