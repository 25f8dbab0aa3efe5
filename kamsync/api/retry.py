"""The one place that decides what happens after an answer: done, renew the token, wait and retry, or fail.

Pure, so the policy is a table in the tests. A later feature adds bounded backoff for 5xx and timeouts here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from kamsync.api.responses import is_token_rejection

__all__ = ["Attempts", "Step", "decide"]


class Step(Enum):
    DONE = "done"  # a success: hand the answer back
    RENEW_TOKEN = "renew"  # fetch a new access token, then send again
    WAIT_AND_RETRY = "wait"  # rate limited: let the budget wait, then send again
    FAIL = "fail"  # turn the answer into an error


@dataclass(frozen=True, slots=True)
class Attempts:
    """What has been tried so far for one logical request."""

    rate_limited: int = 0
    token_renewed: bool = False

    def after(self, step: Step) -> Attempts:
        if step is Step.WAIT_AND_RETRY:
            return replace(self, rate_limited=self.rate_limited + 1)
        if step is Step.RENEW_TOKEN:
            return replace(self, token_renewed=True)
        return self


def decide(
    status: int,
    message: str | None,
    attempts: Attempts,
    *,
    max_429_retries: int,
    uses_token: bool = True,
) -> Step:
    """What to do with an answer of ``status``. ``uses_token`` is False for the token request itself."""
    if 200 <= status < 300:
        return Step.DONE
    if status == 429:
        return Step.WAIT_AND_RETRY if attempts.rate_limited < max_429_retries else Step.FAIL
    if uses_token and not attempts.token_renewed and is_token_rejection(status, message):
        # Tokens can expire early or be revoked; one renewal covers that, a second rejection is real.
        return Step.RENEW_TOKEN
    return Step.FAIL
