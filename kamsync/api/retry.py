"""The one place that decides what happens after an answer or a failed send: done, renew the token, wait for the
rate limit, back off and send again, or fail.

Pure, so the policy is a table in the tests. Retries are bounded in count and in time, and a request that may have
reached Kameleoon is only repeated when repeating it is harmless (idempotent): PATCH and PUT send fixed values,
so sending them twice leaves the same state, while a repeated POST could create two objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from httpx import HTTPError

__all__ = [
    "DEFAULT_RETRY",
    "Attempts",
    "Failure",
    "RetryPolicy",
    "Step",
    "backoff_delay",
    "backoff_reason",
    "classify",
    "decide",
    "is_idempotent",
    "is_token_rejection",
    "retry_wait",
]

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
_TOKEN_TROUBLE = re.compile(r"\b(invalid|expired|revoked|malformed|unauthori[sz]ed)\b", re.IGNORECASE)
# 2 ** 64 times any backoff is beyond every max_backoff; a larger exponent would only risk OverflowError.
_MAX_EXPONENT = 64


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one logical request against 5xx answers, timeouts and lost connections.

    ``retries``: sends after the first; ``backoff``: the first backoff cap in seconds, doubling per retry up to
    ``max_backoff`` (full jitter: the wait is uniform below the cap); ``total``: no retry starts later than this
    many seconds after the first send; ``timeout``: seconds for one send as a whole, from connecting to the last
    byte of the answer.
    """

    retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    total: float = 60.0
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.retries < 0 or self.backoff < 0 or self.max_backoff < 0 or self.total < 0 or self.timeout <= 0:
            raise ValueError(f"impossible retry policy: {self}")


DEFAULT_RETRY = RetryPolicy()


class Failure(Enum):
    """Why a send produced no answer, as far as it matters for repeating it."""

    NOT_SENT = "not sent"  # could not connect: the request certainly did not reach Kameleoon
    TIMEOUT = "timeout"  # no answer in time: it may have been received, and applied
    CUT = "connection lost"  # the connection broke before an answer: it may have been received, and applied
    OTHER = "other"  # not a passing trouble (a bad URL, a protocol error on our side): never retried


def classify(error: HTTPError) -> Failure:
    """The ``Failure`` an httpx exception stands for."""
    import httpx  # here, not above: reading the retry settings must not load the HTTP stack

    if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return Failure.NOT_SENT
    if isinstance(error, httpx.TimeoutException):  # ReadTimeout, WriteTimeout
        return Failure.TIMEOUT
    if isinstance(error, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.CloseError)):
        return Failure.CUT
    return Failure.OTHER


def is_idempotent(method: str) -> bool:
    """Whether sending ``method`` twice leaves Kameleoon as sending it once (kamsync's PATCHes send fixed values)."""
    return method.upper() in _IDEMPOTENT


def is_token_rejection(status: int, message: str | None) -> bool:
    """Whether the answer says our access token is no good (worth one renewal), not that access is denied."""
    if status == 401:
        return True
    return (
        status == 403
        and bool(message)
        and "token" in (message or "").lower()
        and bool(_TOKEN_TROUBLE.search(message or ""))
    )


class Step(Enum):
    DONE = "done"  # a success: hand the answer back
    RENEW_TOKEN = "renew"  # fetch a new access token, then send again
    WAIT_AND_RETRY = "wait"  # rate limited: let the budget wait, then send again
    BACKOFF = "backoff"  # a passing failure: wait ``retry_wait``, then send again
    FAIL = "fail"  # turn the answer (or the failure) into an error
    GIVE_UP = "give up"  # a passing failure, but the retries or the time are used up
    UNKNOWN = "unknown"  # it may have been applied and repeating it is not safe: say so, repeat nothing


@dataclass(frozen=True, slots=True)
class Attempts:
    """What has been tried so far for one logical request."""

    rate_limited: int = 0
    token_renewed: bool = False
    retries: int = 0  # backoffs after 5xx answers and failed sends

    def after(self, step: Step) -> Attempts:
        if step is Step.WAIT_AND_RETRY:
            return replace(self, rate_limited=self.rate_limited + 1)
        if step is Step.RENEW_TOKEN:
            return replace(self, token_renewed=True)
        if step is Step.BACKOFF:
            return replace(self, retries=self.retries + 1)
        return self


def _passing(answer: int | Failure) -> bool:
    """A 5xx answer or a failed send that may go away when tried again."""
    return answer is not Failure.OTHER if isinstance(answer, Failure) else answer >= 500


def decide(
    answer: int | Failure,
    message: str | None,
    attempts: Attempts,
    *,
    max_429_retries: int,
    uses_token: bool = True,
    idempotent: bool = True,
    policy: RetryPolicy = DEFAULT_RETRY,
    elapsed: float = 0.0,
) -> Step:
    """What to do after ``answer``: an HTTP status, or why no answer came.

    ``uses_token`` is False for the token request itself; ``elapsed`` is the time since the first send of this
    logical request. 429 and 401 are handled whatever the method: Kameleoon refused those without acting.
    """
    if isinstance(answer, int):
        if 200 <= answer < 300:
            return Step.DONE
        if answer == 429:
            return Step.WAIT_AND_RETRY if attempts.rate_limited < max_429_retries else Step.FAIL
        if uses_token and not attempts.token_renewed and is_token_rejection(answer, message):
            # Tokens can expire early or be revoked; one renewal covers that, a second rejection is real.
            return Step.RENEW_TOKEN
    if not _passing(answer):
        return Step.FAIL
    if answer is not Failure.NOT_SENT and not idempotent:
        return Step.UNKNOWN
    if attempts.retries >= policy.retries or elapsed >= policy.total:
        return Step.GIVE_UP
    return Step.BACKOFF


def backoff_delay(policy: RetryPolicy, attempt: int, rand: float) -> float:
    """The wait before retry ``attempt`` (1-based): full jitter, ``rand`` in [0, 1) times a doubling cap."""
    cap = min(policy.max_backoff, policy.backoff * 2.0 ** min(max(attempt - 1, 0), _MAX_EXPONENT))
    return rand * cap


def retry_wait(policy: RetryPolicy, attempt: int, rand: float, elapsed: float) -> float:
    """``backoff_delay``, cut so the retry starts no later than ``policy.total`` after the first send."""
    return max(0.0, min(backoff_delay(policy, attempt, rand), policy.total - elapsed))


def backoff_reason(answer: int | Failure, subject: str, retry: int, policy: RetryPolicy) -> str:
    """Why kamsync is waiting, e.g. ``Kameleoon answered 503 for variation 42; retry 2 of 4``."""
    if isinstance(answer, int):
        what = f"Kameleoon answered {answer} for {subject}"
    elif answer is Failure.TIMEOUT:
        what = f"timeout after {policy.timeout:g} s for {subject}"
    elif answer is Failure.NOT_SENT:
        what = f"could not connect to Kameleoon for {subject}"
    else:
        what = f"connection lost without an answer for {subject}"
    return f"{what}; retry {retry} of {policy.retries}"
