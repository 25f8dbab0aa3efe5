"""The fault knobs' rules: the grammar of ``--fault SPEC``, the rule values it parses into, and the answer an
injected status gives (pure: parsing and deciding, no state)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus

from kamsync.core.errors import UsageError
from kamsync.sandbox.echo import EchoToken, echo_form
from kamsync.sandbox.wire import Response, json_response

# The status recorded in the request log when the connection was closed without an answer.
DROPPED = 0

GRAMMAR = (
    "expected [METHOD ]N[xK]=ACTION, [METHOD ]*=ACTION, expire-token=N or lock=KIND:ID, where ACTION is a status "
    "500-599, 429, 429-no-retry-after, 429-retry-after=VALUE, drop, drop-after, stall=SECONDS, hold, fresh-pages, "
    "trickle=SECONDS or abridged=FIELD+FIELD (e.g. 'PATCH 3=503'), or echo-token=FORM with FORM one of body, json, "
    "basic, raw"
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
    ABRIDGED = "abridged"  # kamsync.sandbox.hostile


@dataclass(frozen=True, slots=True)
class Action:
    do: Do
    status: int = 0  # for ANSWER
    retry_after: bool = False  # for ANSWER 429
    seconds: float = 0.0  # for STALL and TRICKLE
    wait: str = "1"  # for ANSWER 429 with retry_after: the Retry-After value, verbatim
    keep: tuple[str, ...] = ()  # for ABRIDGED: the fields each listed object keeps

    @property
    def processes(self) -> bool:
        """Whether the request is processed (and counted in the rate windows) despite the fault."""
        return self.do in (Do.DROP_AFTER, Do.STALL, Do.HOLD, Do.TRICKLE, Do.ABRIDGED)

    def __str__(self) -> str:
        if self.do is Do.ANSWER and self.status == 429 and self.retry_after and self.wait != "1":
            return f"429-retry-after={self.wait}"
        if self.do is Do.ANSWER:
            return str(self.status) if self.status != 429 or self.retry_after else "429-no-retry-after"
        if self.do in (Do.STALL, Do.TRICKLE):
            return f"{self.do.value}={self.seconds:g}"
        if self.do is Do.ABRIDGED:
            return f"abridged={'+'.join(self.keep)}"
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
    if name.startswith("abridged="):
        keep = tuple(f.strip() for f in text.strip()[len("abridged=") :].split("+"))
        if not all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", f) for f in keep):
            raise _bad(spec, "abridged needs field names joined by '+', such as abridged=id+code+trackingScript")
        return Action(Do.ABRIDGED, keep=keep)
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
