"""The error that ends a logical request once the retry loop gives up, fails or cannot know (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from kamsync.api.responses import (
    error_for_status,
    gave_up_error,
    outcome_unknown_error,
    rate_limited_error,
    transport_error,
)
from kamsync.api.retry import Attempts, Failure, Step
from kamsync.core.errors import ApiError

__all__ = ["Ending", "final_error"]


@dataclass(frozen=True, slots=True)
class Ending:
    """How a logical request ended: the step ``decide`` chose (FAIL, GIVE_UP or UNKNOWN) and what led there."""

    step: Step
    outcome: int | Failure
    message: str | None
    problem: str | None
    subject: str
    attempts: Attempts
    sent: int
    elapsed: float


def final_error(end: Ending, *, base_url: str, timeout: float, login: bool = False) -> ApiError:
    """The error for ``end``; ``login``: the credential is a partner login (the advice says so)."""
    if end.step is Step.UNKNOWN:
        return outcome_unknown_error(end.subject, end.outcome, end.message, timeout=timeout, problem=end.problem)
    if end.step is Step.GIVE_UP and end.sent > 1:
        return gave_up_error(
            end.subject,
            end.outcome,
            end.message,
            base_url=base_url,
            attempts=end.sent,
            seconds=end.elapsed,
            timeout=timeout,
            problem=end.problem,
        )
    if isinstance(end.outcome, Failure):
        timed_out = end.outcome is Failure.TIMEOUT
        return transport_error(end.subject, base_url, end.problem or "", timed_out=timed_out, timeout=timeout)
    if end.outcome == 429:
        return rate_limited_error(end.subject, end.message, end.attempts.rate_limited)
    return error_for_status(
        end.outcome, end.message, subject=end.subject, token_renewed=end.attempts.token_renewed, login=login
    )
