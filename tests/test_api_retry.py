"""Bounded retries: the pure policy as tables, then the client against a real sandbox with deterministic faults."""

from __future__ import annotations

import math
from collections.abc import Iterator

import httpx
import pytest

from kamsync.api.client import KameleoonClient
from kamsync.api.responses import outcome_unknown_error
from kamsync.api.retry import (
    Attempts,
    Failure,
    RetryPolicy,
    Step,
    backoff_delay,
    backoff_reason,
    classify,
    decide,
    is_idempotent,
    retry_wait,
)
from kamsync.api.settings import Credentials, retry_policy_from_env
from kamsync.core.errors import ApiError, Exit, LockedInApp, RequestCapReached, UsageError
from kamsync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DROPPED, Sandbox
from tests.conftest import Budgets

CREDS = Credentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
FAST = RetryPolicy(retries=4, backoff=0.01, max_backoff=0.05, total=10.0, timeout=0.3)
POLICY = RetryPolicy(retries=3, total=60.0)

# -- the policy, as tables -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "attempts", "idempotent", "elapsed", "step"),
    [
        (503, Attempts(), True, 0.0, Step.BACKOFF),
        (500, Attempts(retries=2), True, 0.0, Step.BACKOFF),
        (502, Attempts(retries=3), True, 0.0, Step.GIVE_UP),  # retries used up
        (503, Attempts(), True, 60.0, Step.GIVE_UP),  # time used up
        (503, Attempts(), False, 0.0, Step.UNKNOWN),  # a POST may have been applied in part
        (Failure.NOT_SENT, Attempts(), False, 0.0, Step.BACKOFF),  # never reached Kameleoon: any method
        (Failure.NOT_SENT, Attempts(retries=3), False, 0.0, Step.GIVE_UP),
        (Failure.TIMEOUT, Attempts(), True, 0.0, Step.BACKOFF),
        (Failure.TIMEOUT, Attempts(), False, 0.0, Step.UNKNOWN),
        (Failure.CUT, Attempts(retries=1), True, 5.0, Step.BACKOFF),
        (Failure.CUT, Attempts(), False, 0.0, Step.UNKNOWN),
        (Failure.OTHER, Attempts(), True, 0.0, Step.FAIL),  # e.g. a bad URL: trying again changes nothing
        (423, Attempts(), True, 0.0, Step.FAIL),  # locked in the app: never retried
        (404, Attempts(), True, 0.0, Step.FAIL),
        (400, Attempts(), False, 0.0, Step.FAIL),
        (429, Attempts(), False, 0.0, Step.WAIT_AND_RETRY),  # refused without acting: any method
        (429, Attempts(rate_limited=5), True, 0.0, Step.FAIL),
        (401, Attempts(), False, 0.0, Step.RENEW_TOKEN),
        (401, Attempts(token_renewed=True), True, 0.0, Step.FAIL),
        (201, Attempts(retries=3), False, 99.0, Step.DONE),
    ],
)
def test_decide_retries_passing_failures_only_when_safe_and_within_bounds(
    answer: int | Failure, attempts: Attempts, idempotent: bool, elapsed: float, step: Step
) -> None:
    got = decide(answer, None, attempts, max_429_retries=5, idempotent=idempotent, policy=POLICY, elapsed=elapsed)
    assert got is step


def test_the_token_request_is_retried_after_a_5xx() -> None:
    assert decide(503, None, Attempts(), max_429_retries=5, uses_token=False, idempotent=True) is Step.BACKOFF
    assert decide(401, None, Attempts(), max_429_retries=5, uses_token=False, idempotent=True) is Step.FAIL


def test_attempts_count_backoffs() -> None:
    assert Attempts().after(Step.BACKOFF).after(Step.RENEW_TOKEN).after(Step.BACKOFF) == Attempts(
        retries=2, token_renewed=True
    )


@pytest.mark.parametrize(
    ("attempt", "rand", "delay"),
    [
        (1, 0.0, 0.0),
        (1, 0.5, 0.25),
        (2, 0.5, 0.5),
        (3, 0.5, 1.0),
        (4, 1.0, 4.0),
        (5, 1.0, 8.0),
        (6, 1.0, 8.0),  # capped at max_backoff
        (6, 0.25, 2.0),
        (10_000, 0.5, 4.0),  # no overflow however many retries
    ],
)
def test_backoff_delay_is_full_jitter_below_a_doubling_cap(attempt: int, rand: float, delay: float) -> None:
    assert backoff_delay(RetryPolicy(), attempt, rand) == delay


@pytest.mark.parametrize(
    ("elapsed", "wait"),
    [(0.0, 4.0), (58.0, 2.0), (60.0, 0.0), (75.0, 0.0)],
)
def test_retry_wait_never_starts_a_retry_after_the_total(elapsed: float, wait: float) -> None:
    assert retry_wait(RetryPolicy(), 4, 1.0, elapsed) == wait


@pytest.mark.parametrize(
    ("method", "idempotent"),
    [("GET", True), ("put", True), ("PATCH", True), ("DELETE", True), ("POST", False)],
)
def test_idempotency_comes_from_the_method(method: str, idempotent: bool) -> None:
    assert is_idempotent(method) is idempotent


REQUEST = httpx.Request("GET", "https://api.example.test/x")


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (httpx.ConnectError("refused", request=REQUEST), Failure.NOT_SENT),
        (httpx.ConnectTimeout("slow", request=REQUEST), Failure.NOT_SENT),
        (httpx.PoolTimeout("busy", request=REQUEST), Failure.NOT_SENT),
        (httpx.ReadTimeout("slow", request=REQUEST), Failure.TIMEOUT),
        (httpx.WriteTimeout("slow", request=REQUEST), Failure.TIMEOUT),
        (httpx.RemoteProtocolError("cut", request=REQUEST), Failure.CUT),
        (httpx.ReadError("reset", request=REQUEST), Failure.CUT),
        (httpx.WriteError("reset", request=REQUEST), Failure.CUT),
        (httpx.UnsupportedProtocol("ftp", request=REQUEST), Failure.OTHER),
        (httpx.LocalProtocolError("bad", request=REQUEST), Failure.OTHER),
    ],
)
def test_classify_tells_whether_the_request_may_have_arrived(error: httpx.HTTPError, failure: Failure) -> None:
    assert classify(error) is failure


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (503, "Kameleoon answered 503 for variation 42; retry 2 of 4"),
        (Failure.TIMEOUT, "timeout after 30 s for variation 42; retry 2 of 4"),
        (Failure.CUT, "connection lost without an answer for variation 42; retry 2 of 4"),
        (Failure.NOT_SENT, "could not connect to Kameleoon for variation 42; retry 2 of 4"),
    ],
)
def test_backoff_reason_says_what_happened_and_which_retry(answer: int | Failure, reason: str) -> None:
    assert backoff_reason(answer, "variation 42", 2, RetryPolicy()) == reason


@pytest.mark.parametrize(
    ("environ", "policy"),
    [
        ({}, RetryPolicy()),
        ({"KAMSYNC_RETRIES": "0"}, RetryPolicy(retries=0)),
        (
            {"KAMSYNC_RETRIES": " 2 ", "KAMSYNC_BACKOFF": "0.01", "KAMSYNC_RETRY_TIME": "5", "KAMSYNC_TIMEOUT": "0.5"},
            RetryPolicy(retries=2, backoff=0.01, total=5.0, timeout=0.5),
        ),
        ({"KAMSYNC_BACKOFF": "20"}, RetryPolicy(backoff=20.0, max_backoff=20.0)),
        ({"KAMSYNC_TIMEOUT": ""}, RetryPolicy()),
    ],
)
def test_retry_policy_from_env(environ: dict[str, str], policy: RetryPolicy) -> None:
    assert retry_policy_from_env(environ) == policy


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("KAMSYNC_RETRIES", "-1", "a whole number of retries, 0 or more"),
        ("KAMSYNC_RETRIES", "2.5", "a whole number of retries, 0 or more"),
        ("KAMSYNC_BACKOFF", "fast", "a number of seconds, 0 or more"),
        ("KAMSYNC_RETRY_TIME", "-3", "a number of seconds, 0 or more"),
        ("KAMSYNC_TIMEOUT", "0", "a number of seconds, above 0"),
        ("KAMSYNC_TIMEOUT", "inf", "a number of seconds, above 0"),
        ("KAMSYNC_TIMEOUT", "nan", "a number of seconds, above 0"),
    ],
)
def test_bad_retry_settings_name_the_variable(name: str, value: str, expected: str) -> None:
    with pytest.raises(UsageError) as info:
        retry_policy_from_env({name: value})
    assert str(info.value).startswith(f"bad {name}={value!r}: expected {expected}")


def test_an_impossible_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="impossible retry policy"):
        RetryPolicy(timeout=0)


# -- the client against the sandbox --------------------------------------------------------------------------


class Recorder:
    """The client's wait seam: what it announced and what it slept, without sleeping long."""

    def __init__(self) -> None:
        self.waits: list[tuple[float, str]] = []
        self.slept: list[float] = []
        self.now = 0.0  # a clock that only the sleeps move

    def on_wait(self, seconds: float, reason: str) -> None:
        self.waits.append((seconds, reason))

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    @property
    def reasons(self) -> list[str]:
        return [reason for _, reason in self.waits]


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(rate_limit=None) as sandbox:
        yield sandbox


@pytest.fixture
def seen() -> Recorder:
    return Recorder()


def client_for(
    budgets: Budgets, sandbox: Sandbox, seen: Recorder, policy: RetryPolicy = FAST, **kwargs: object
) -> KameleoonClient:
    return KameleoonClient(
        sandbox.url,
        CREDS,
        budget=budgets("1000/1s"),
        retry=policy,
        on_wait=seen.on_wait,
        sleep=seen.sleep,
        jitter=lambda: 0.5,
        **kwargs,  # type: ignore[arg-type]
    )


def log(sandbox: Sandbox, method: str | None = None) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in sandbox.store.requests if method in (None, r.method)]


def patch(client: KameleoonClient, variation_id: int, js: str) -> dict[str, object] | None:
    return client.patch("variations", variation_id, {"jsCode": js}, subject=f"variation {variation_id}")


def test_a_503_is_retried_after_a_backoff(sb: Sandbox, seen: Recorder, budgets: Budgets) -> None:
    sb.faults.arm("PATCH 1=503")
    with client_for(budgets, sb, seen) as client:
        assert patch(client, 200001, "fixed()") is not None
        assert client.requests_sent == 3
    assert log(sb, "PATCH") == [("PATCH", "/variations/200001", 503), ("PATCH", "/variations/200001", 200)]
    assert sb.store.variation(200001)["jsCode"] == "fixed()"
    assert seen.waits == [(0.005, "Kameleoon answered 503 for variation 200001; retry 1 of 4")]
    assert seen.slept == [0.005]


@pytest.mark.parametrize("action", ["drop", "drop-after"])
def test_a_dropped_patch_is_sent_again_and_applied_once_effective(
    sb: Sandbox, seen: Recorder, action: str, budgets: Budgets
) -> None:
    sb.faults.arm(f"PATCH 1={action}")
    with client_for(budgets, sb, seen) as client:
        answer = patch(client, 200001, "once()")
    assert answer is not None and answer["jsCode"] == "once()"
    assert log(sb, "PATCH") == [("PATCH", "/variations/200001", DROPPED), ("PATCH", "/variations/200001", 200)]
    assert sb.store.variation(200001)["jsCode"] == "once()"
    assert seen.reasons == ["connection lost without an answer for variation 200001; retry 1 of 4"]


def test_a_stalled_request_times_out_and_is_sent_again(sb: Sandbox, seen: Recorder, budgets: Budgets) -> None:
    sb.faults.arm("PATCH 1=stall=30")  # far beyond the 0.3 s timeout; stopping the sandbox cuts it short
    with client_for(budgets, sb, seen) as client:
        answer = patch(client, 200001, "in time()")
        assert client.requests_sent == 3
    assert answer is not None and answer["jsCode"] == "in time()"
    assert seen.reasons == ["timeout after 0.3 s for variation 200001; retry 1 of 4"]
    assert [e["action"] for e in sb.faults.events] == ["stall=30"]


def test_a_persistent_503_ends_in_an_error_after_exactly_retries_plus_one_attempts(
    sb: Sandbox, seen: Recorder, budgets: Budgets
) -> None:
    sb.faults.arm("PATCH *=503")
    with client_for(budgets, sb, seen) as client, pytest.raises(ApiError) as info:
        patch(client, 200001, "never()")
    assert log(sb, "PATCH") == [("PATCH", "/variations/200001", 503)] * 5
    assert seen.slept == [0.005, 0.01, 0.02, 0.025]  # doubling, capped at max_backoff 0.05, times jitter 0.5
    assert seen.reasons[-1] == "Kameleoon answered 503 for variation 200001; retry 4 of 4"
    text = str(info.value)
    assert text.startswith("Kameleoon did not complete the request for variation 200001: gave up after 5 attempts ")
    assert f" s at {sb.url} (last: HTTP 503: " in text
    assert text.endswith("(last: HTTP 503: Service Unavailable (sandbox fault PATCH *=503)); try again later")
    assert info.value.status == 503 and info.value.exit_code is Exit.API
    secrets = [DEFAULT_CLIENT_SECRET, *sb.store.issued_tokens()]
    assert not [s for s in secrets if s in text + repr(info.value) + str(seen.waits)]


def test_the_total_time_bounds_the_retries_before_their_count(sb: Sandbox, seen: Recorder, budgets: Budgets) -> None:
    policy = RetryPolicy(retries=10, backoff=1.0, total=4.0, timeout=1.0)
    sb.faults.arm("GET *=502")
    client = client_for(budgets, sb, seen, policy, clock=lambda: seen.now)
    with client, pytest.raises(ApiError) as info:
        client.get("variations", 200001, subject="variation 200001")
    # Half of a doubling cap (0.5, 1, 2 s), then a wait cut to the 0.5 s left: no retry starts after 4 s.
    assert seen.slept == [0.5, 1.0, 2.0, 0.5]
    assert len(log(sb, "GET")) == 5
    assert "gave up after 5 attempts over 4.0 s" in str(info.value)


def test_a_failed_token_request_is_retried(sb: Sandbox, seen: Recorder, budgets: Budgets) -> None:
    sb.faults.arm("POST 1=503")
    with client_for(budgets, sb, seen) as client:
        assert client.get("variations", 200001, subject="variation 200001")["id"] == 200001
    assert log(sb) == [
        ("POST", "/oauth/token", 503),
        ("POST", "/oauth/token", 200),
        ("GET", "/variations/200001", 200),
    ]
    assert seen.reasons == ["Kameleoon answered 503 for the token endpoint; retry 1 of 4"]


@pytest.mark.parametrize(
    ("answer", "trouble"),
    [(503, "(HTTP 503)"), (Failure.TIMEOUT, "(no answer within 30 s)"), (Failure.CUT, "(connection lost)")],
)
def test_a_request_not_safe_to_repeat_that_may_have_arrived_says_the_outcome_is_unknown(
    answer: int | Failure, trouble: str
) -> None:
    assert decide(answer, None, Attempts(), max_429_retries=5, idempotent=is_idempotent("POST")) is Step.UNKNOWN
    text = str(outcome_unknown_error("a new variation", answer, None, timeout=30.0))
    assert text.startswith("the request for a new variation may or may not have been applied by Kameleoon (")
    assert trouble in text
    assert "the outcome is unknown, and kamsync did not repeat it" in text


def test_an_unreachable_api_is_tried_retries_plus_one_times(seen: Recorder, budgets: Budgets) -> None:
    with Sandbox(rate_limit=None) as sandbox:
        url = sandbox.url  # the port is closed once the sandbox stops
    policy = RetryPolicy(retries=2, backoff=0.01, timeout=2.0)
    budget = budgets("1000/1s")
    client = KameleoonClient(url, CREDS, budget=budget, retry=policy, sleep=seen.sleep, jitter=lambda: 1.0)
    with client, pytest.raises(ApiError) as info:
        client.get("experiments", 1, subject="experiment 1")
    assert client.requests_sent == 3
    assert seen.slept == [0.01, 0.02]
    text = str(info.value)
    assert "gave up after 3 attempts" in text and f" s at {url} (last: could not connect: " in text
    assert "check the network connection and the API URL, or try again later" in text
    assert info.value.status is None


def test_an_expired_token_is_renewed_once(sb: Sandbox, seen: Recorder, budgets: Budgets) -> None:
    sb.faults.arm("expire-token=1")
    with client_for(budgets, sb, seen) as client:
        for _ in range(3):
            client.get("variations", 200001, subject="variation 200001")
    assert [(m, s) for m, _, s in log(sb)] == [
        ("POST", 200),
        ("GET", 200),
        ("GET", 401),
        ("POST", 200),
        ("GET", 200),
        ("GET", 200),
    ]
    assert seen.waits == [], "a renewal is not a backoff"


def test_a_locked_variation_is_never_retried(sb: Sandbox, seen: Recorder, budgets: Budgets) -> None:
    sb.faults.arm("lock=variation:200001")
    with client_for(budgets, sb, seen) as client, pytest.raises(LockedInApp):
        patch(client, 200001, "x")
    assert log(sb, "PATCH") == [("PATCH", "/variations/200001", 423)]
    assert seen.waits == []


def test_max_requests_caps_every_request_sent(sb: Sandbox, seen: Recorder, budgets: Budgets) -> None:
    with client_for(budgets, sb, seen, max_requests=3) as client:
        client.get("variations", 200001, subject="variation 200001")
        client.get("variations", 200002, subject="variation 200002")
        with pytest.raises(RequestCapReached) as info:
            client.get("variations", 200003, subject="variation 200003")
        assert client.requests_sent == 3
    assert len(log(sb)) == 3
    assert info.value.exit_code is Exit.API
    assert str(info.value) == (
        "kamsync reached its cap of 3 requests for this run (--max-requests 3) before sending the request for "
        "variation 200003; nothing more was sent. Run again with a higher --max-requests to go on"
    )


def test_max_requests_counts_retries_and_token_requests(sb: Sandbox, seen: Recorder, budgets: Budgets) -> None:
    sb.faults.arm("GET *=503")
    with client_for(budgets, sb, seen, max_requests=3) as client, pytest.raises(RequestCapReached):
        client.get("variations", 200001, subject="variation 200001")
    assert [(m, s) for m, _, s in log(sb)] == [("POST", 200), ("GET", 503), ("GET", 503)]
    assert math.isclose(sum(seen.slept), 0.015)
