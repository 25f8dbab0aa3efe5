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

When several rules act on one request, the one armed first wins (every rule still counts the request). A request
answered without being processed is not counted in the sandbox's rate windows. The request log records every
faulted request with the status answered, ``DROPPED`` (0) when the connection was closed without an answer (a
stalled request is logged when its stall ends; one cut short by stopping the sandbox is dropped unprocessed).
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus
from typing import TYPE_CHECKING

from kamsync.core.errors import UsageError
from kamsync.sandbox.echo import EchoToken, echo_form
from kamsync.sandbox.hostile import FreshPages, Trickles
from kamsync.sandbox.wire import Response, json_response

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

# The status recorded in the request log when the connection was closed without an answer.
DROPPED = 0

GRAMMAR = (
    "expected [METHOD ]N[xK]=ACTION, [METHOD ]*=ACTION, expire-token=N or lock=KIND:ID, where ACTION is a status "
    "500-599, 429, 429-no-retry-after, 429-retry-after=VALUE, drop, drop-after, stall=SECONDS, hold, fresh-pages "
    "or trickle=SECONDS (e.g. 'PATCH 3=503'), or echo-token=FORM with FORM one of body, json, basic, raw"
)
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_KINDS = {"experiment": "experiments", "variation": "variations"}
_WHEN = re.compile(r"^(?:(?P<method>[A-Za-z]+)\s+)?(?:(?P<every>\*)|(?P<n>\d+)(?:x(?P<k>\d+))?)$")
_WRITE = re.compile(r"^/(experiments|variations)/(\d+)$")
_MAX_STALL = 3600.0


class Do(Enum):
    ANSWER = "answer"  # answer ``status`` without processing
    DROP = "drop"
    DROP_AFTER = "drop-after"
    STALL = "stall"
    HOLD = "hold"
    FRESH_PAGES = "fresh-pages"  # kamsync.sandbox.hostile
    TRICKLE = "trickle"  # kamsync.sandbox.hostile


@dataclass(frozen=True, slots=True)
class Action:
    do: Do
    status: int = 0  # for ANSWER
    retry_after: bool = False  # for ANSWER 429
    seconds: float = 0.0  # for STALL and TRICKLE
    wait: str = "1"  # for ANSWER 429 with retry_after: the Retry-After value, verbatim

    @property
    def processes(self) -> bool:
        """Whether the request is processed (and counted in the rate windows) despite the fault."""
        return self.do in (Do.DROP_AFTER, Do.STALL, Do.HOLD, Do.TRICKLE)

    def __str__(self) -> str:
        if self.do is Do.ANSWER and self.status == 429 and self.retry_after and self.wait != "1":
            return f"429-retry-after={self.wait}"
        if self.do is Do.ANSWER:
            return str(self.status) if self.status != 429 or self.retry_after else "429-no-retry-after"
        if self.do in (Do.STALL, Do.TRICKLE):
            return f"{self.do.value}={self.seconds:g}"
        return str(self.do.value)


@dataclass(frozen=True, slots=True)
class NthRule:
    """Act on matching requests number ``first`` … ``first + count - 1`` since arming (``count`` None: all)."""

    spec: str
    method: str | None
    first: int
    count: int | None
    action: Action


@dataclass(frozen=True, slots=True)
class ExpireToken:
    spec: str
    uses: int


@dataclass(frozen=True, slots=True)
class Lock:
    spec: str
    kind: str  # "experiment" | "variation"
    id: int


Rule = NthRule | ExpireToken | Lock | EchoToken


def _bad(spec: str, problem: str) -> UsageError:
    return UsageError(f"bad fault {spec!r}: {problem}; {GRAMMAR}")


def _whole(text: str, spec: str, what: str, minimum: int) -> int:
    if not re.fullmatch(r"[0-9]+", text.strip()) or int(text) < minimum:
        raise _bad(spec, f"{what} must be a whole number, {minimum} or more, not {text.strip()!r}")
    return int(text)


def _action(text: str, spec: str) -> Action:
    name = text.strip().lower()
    if re.fullmatch(r"[0-9]+", name):
        status = int(name)
        if status == 429:
            return Action(Do.ANSWER, 429, retry_after=True)
        if 500 <= status <= 599:
            return Action(Do.ANSWER, status)
        raise _bad(spec, f"status {status} is not 429 or 500-599")
    if name == "429-no-retry-after":
        return Action(Do.ANSWER, 429)
    if name in ("drop", "drop-after", "hold", "fresh-pages"):
        return Action(Do(name))
    if name.startswith(("stall=", "trickle=")):
        kind, _, raw = name.partition("=")
        try:
            seconds = float(raw)
        except ValueError:
            seconds = math.nan
        if not 0 < seconds <= _MAX_STALL:
            raise _bad(spec, f"{kind} needs a number of seconds above 0 and at most {_MAX_STALL:g}, not {raw!r}")
        return Action(Do(kind), seconds=seconds)
    if name.startswith("429-retry-after="):
        value = text.strip()[len("429-retry-after=") :]
        if not re.fullmatch(r"[!-~]+", value):
            raise _bad(spec, f"429-retry-after needs a header value without spaces, not {value!r}")
        return Action(Do.ANSWER, 429, retry_after=True, wait=value)
    raise _bad(spec, f"unknown action {text.strip()!r}")


def parse_fault(spec: str) -> Rule:
    """The rule a fault spec describes; ``UsageError`` saying what is wrong and what is expected."""
    text = spec.strip()
    left, sep, right = text.partition("=")
    if not sep or not right.strip():
        raise _bad(spec, "missing '=ACTION'")
    head = left.strip().lower()
    if head == "expire-token":
        return ExpireToken(text, _whole(right, spec, "the number of requests", 0))
    if head == "echo-token":
        try:
            return EchoToken(text, echo_form(right))
        except ValueError as exc:
            raise _bad(spec, str(exc)) from None
    if head == "lock":
        kind, colon, raw_id = right.strip().partition(":")
        if not colon or kind.lower() not in _KINDS:
            raise _bad(spec, f"lock needs KIND:ID with KIND one of {', '.join(_KINDS)}")
        return Lock(text, kind.lower(), _whole(raw_id, spec, "the id", 1))
    when = _WHEN.match(left.strip())
    if when is None:
        raise _bad(spec, f"cannot read which requests {left.strip()!r} means")
    method = when["method"].upper() if when["method"] else None
    if method is not None and method not in _METHODS:
        raise _bad(spec, f"unknown method {when['method']!r} (use one of {', '.join(_METHODS)})")
    action = _action(right, spec)
    if when["every"]:
        return NthRule(text, method, 1, None, action)
    first = _whole(when["n"], spec, "N", 1)
    count = _whole(when["k"], spec, "K in NxK", 1) if when["k"] is not None else 1
    return NthRule(text, method, first, count, action)


def fires(rule: NthRule, seen: int) -> bool:
    """Whether ``rule`` acts on the ``seen``-th matching request since it was armed (1-based)."""
    if rule.count is None:
        return True
    return rule.first <= seen < rule.first + rule.count


def lock_target(method: str, path: str) -> tuple[str, int] | None:
    """The (kind, id) a write request changes, for requests a ``lock`` rule refuses; None for others."""
    match = _WRITE.match(path)
    if method not in ("PATCH", "PUT", "DELETE") or match is None:
        return None
    kind = "experiment" if match[1] == "experiments" else "variation"
    return kind, int(match[2])


def injected_response(action: Action, spec: str) -> Response:
    """The answer of an ANSWER action: the status, a JSON message naming the rule, Retry-After when asked."""
    if action.status == 429:
        headers = (("Retry-After", action.wait),) if action.retry_after else ()
        return json_response(429, {"message": "Too many requests"}, headers)
    try:
        phrase = HTTPStatus(action.status).phrase
    except ValueError:
        phrase = "Server error"
    return json_response(action.status, {"message": f"{phrase} (sandbox fault {spec})"})


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
