"""The HTTP edge: one ``httpx.Client`` per run, token handling, the request budget and the retry loop.

Every decision (what to do with an answer, what error it means, how long to back off, which page comes next) is
delegated to the pure modules next to this one; this class only sends, waits and counts.
"""

from __future__ import annotations

import builtins
import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timezone

import httpx

from kamsync import __version__
from kamsync.api.auth import TOKEN_PATH, LoginKeeper, TokenStore
from kamsync.api.deadline import send_within
from kamsync.api.exchange import Exchange, Lost
from kamsync.api.failures import Ending, final_error
from kamsync.api.query import (
    PER_PAGE,
    filter_ignored_error,
    item_id,
    list_params,
    matches_filters,
    needs_next_page,
    page_limit,
    unfiltered_page_error,
)
from kamsync.api.responses import (
    TOKEN_SUBJECT,
    TokenGrant,
    as_object,
    decode_json,
    list_items,
    parse_retry_after,
    request_cap_error,
    server_message,
)
from kamsync.api.retry import (
    DEFAULT_RETRY,
    Attempts,
    Failure,
    RetryPolicy,
    Step,
    backoff_reason,
    classify,
    decide,
    is_idempotent,
    retry_wait,
)
from kamsync.api.scrub import scrub_or_withhold
from kamsync.api.settings import Credentials, tls_verification
from kamsync.api.tokens import TokenSource
from kamsync.budget.windows import RequestBudget
from kamsync.core.errors import ApiError

__all__ = ["KameleoonClient"]

JsonObject = dict[str, object]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class KameleoonClient:
    """Talks to the Kameleoon Automation API. ``requests_sent`` counts every request sent, token ones and retries
    included.

    5xx answers, timeouts and lost connections are retried as ``retry`` says, with exponential backoff and full
    jitter (``jitter`` returns a number in [0, 1)); each backoff is announced to ``on_wait(seconds, reason)`` and
    then slept with ``sleep``. ``max_requests`` caps the requests this client sends: the one beyond it raises
    ``RequestCapReached`` instead of being sent.

    The access token comes from ``token_cache``, or for a partner login from ``login_store``, shared with every
    other kamsync process (``kamsync.api.tokens``).
    """

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        budget: RequestBudget,
        retry: RetryPolicy = DEFAULT_RETRY,
        max_429_retries: int = 5,
        user_agent: str = f"kamsync/{__version__}",
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utc_now,
        transport: httpx.BaseTransport | None = None,
        token_cache: TokenStore | None = None,
        on_wait: Callable[[float, str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        max_requests: int | None = None,
        on_response: Callable[[Exchange], None] | None = None,
        login_store: LoginKeeper | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.requests_sent = 0
        self._budget = budget
        self._retry = retry
        self._max_429_retries = max_429_retries
        self._on_wait = on_wait
        self._sleep = sleep
        self._jitter = jitter
        self._max_requests = max_requests
        self._on_response = on_response  # -v: told of every answer (or failure), after the budget settled
        self._clock = clock
        self._wall_clock = wall_clock
        self._tokens = TokenSource(
            credentials, post=self._post_token, wall_clock=wall_clock, token_cache=token_cache, login_store=login_store
        )
        self._secrets = self._tokens.secrets  # every secret and token met, to scrub from what a server says
        # No redirects: following one could carry the bearer token to another host or to plain http.
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=retry.timeout,
            follow_redirects=False,
            headers={"User-Agent": user_agent, "Accept": "application/json"},
            transport=transport,
            verify=tls_verification(self.base_url),
        )

    def __repr__(self) -> str:
        return f"KameleoonClient({self.base_url!r}, client_id={self._tokens.credentials.client_id!r})"

    def __enter__(self) -> KameleoonClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the public calls --

    def list(
        self,
        resource: str,
        *,
        filters: Sequence[Mapping[str, object]] = (),
        optional_fields: Sequence[str] = (),
        expect_ids: Collection[int] | None = None,
        subject: str,
        before_page: Callable[[], None] = lambda: None,
    ) -> builtins.list[JsonObject]:
        """Every object of ``resource`` matching ``filters``, page by page (duplicates dropped).

        With ``expect_ids``, no more pages than those ids can fill plus one; without, no full page holding
        nothing the filter asks for: either way the server ignores the filter, and paging on would only burn
        the rate budget (``ApiError``). ``before_page`` runs before each page after the first (it prices it)."""
        found: builtins.list[JsonObject] = []
        seen: set[int] = set()
        page = 1
        last_page = page_limit(expect_ids, PER_PAGE)
        while True:
            params = list_params(page=page, filters=filters, optional_fields=optional_fields)
            response = self._request("GET", f"/{resource.strip('/')}", subject=subject, params=params)
            items = list_items(decode_json(response.content))
            if items is None:
                what = f"Kameleoon answered the request for {subject} with something other than a list"
                raise ApiError(what, status=response.status_code, subject=subject)
            new = 0
            for item in items:
                ident = item_id(item)
                if ident is not None and ident in seen:
                    continue
                if ident is not None:
                    seen.add(ident)
                    new += 1
                found.append(item)
            if not needs_next_page(items, per_page=PER_PAGE, new_ids=new, seen_ids=seen, expect_ids=expect_ids):
                return found
            if last_page is not None and expect_ids is not None and page >= last_page:
                raise filter_ignored_error(subject, page, PER_PAGE, len(expect_ids))
            if expect_ids is None and filters and not any(matches_filters(item, filters) for item in items):
                raise unfiltered_page_error(subject, page, len(items))
            before_page()
            page += 1

    def get(self, resource: str, item_id: int, *, optional_fields: Sequence[str] = (), subject: str) -> JsonObject:
        params = {"optionalFields": ",".join(optional_fields)} if optional_fields else None
        response = self._request("GET", f"/{resource.strip('/')}/{item_id}", subject=subject, params=params)
        data = as_object(decode_json(response.content))
        if data is None:
            raise ApiError(
                f"Kameleoon answered the request for {subject} with something other than an object",
                status=response.status_code,
                subject=subject,
            )
        return data

    def get_text(self, path: str, *, subject: str) -> str:  # a simulation URL comes as plain text
        return self._request("GET", path, subject=subject).text

    def patch(
        self,
        resource: str,
        item_id: int,
        body: Mapping[str, object],
        *,
        subject: str,
        on_send: Callable[[], None] | None = None,
        method: str = "PATCH",
    ) -> JsonObject | None:
        """Send a partial update (``PUT``: the whole object); the updated object when the answer is one, else None.
        ``on_send`` is called right before each attempt leaves (after any wait for the rate budget), so a
        journal can tell a write that was sent from one still waiting."""
        path = f"/{resource.strip('/')}/{item_id}"
        response = self._request(method, path, subject=subject, json=dict(body), on_send=on_send)
        return as_object(decode_json(response.content))

    def post(self, resource: str, body: Mapping[str, object], *, subject: str) -> JsonObject | None:
        """Create an object, never sent twice (an answer lost may hide a creation only a lookup can find)."""
        path = f"/{resource.strip('/')}"
        return as_object(decode_json(self._request("POST", path, subject=subject, json=dict(body)).content))

    # -- the edge --

    def _request(
        self,
        method: str,
        path: str,
        *,
        subject: str,
        params: Mapping[str, str] | None = None,
        json: object = None,
        form: Mapping[str, str] | None = None,
        uses_token: bool = True,
        auth: str | None = None,  # the Authorization header of a request that uses no token (HTTP Basic)
        idempotent: bool | None = None,
        on_send: Callable[[], None] | None = None,
    ) -> httpx.Response:
        """Send until ``decide`` says done or fail: the retry loop lives here and nowhere else.

        ``idempotent`` (default: from the method) says whether a request that may have reached Kameleoon may be
        sent again; a creation must pass False unless it has looked up that no earlier attempt created it.
        """
        safe = is_idempotent(method) if idempotent is None else idempotent
        attempts = Attempts()
        started = self._clock()
        sent = 0
        while True:
            headers = self._authorization(uses_token, auth)
            sent += 1
            answer = self._send(
                method, path, subject, params=params, json=json, form=form, headers=headers, on_send=on_send
            )
            outcome, message, problem = self._read_answer(answer)
            elapsed = self._clock() - started
            step = decide(
                outcome,
                message,
                attempts,
                max_429_retries=self._max_429_retries,
                uses_token=uses_token,
                idempotent=safe,
                policy=self._retry,
                elapsed=elapsed,
            )
            if step is Step.DONE and isinstance(answer, httpx.Response):
                return answer
            if step in (Step.FAIL, Step.GIVE_UP, Step.UNKNOWN, Step.DONE):  # DONE without an answer: cannot happen
                raise self._final(Ending(step, outcome, message, problem, subject, attempts, sent, elapsed))
            self._before_retry(step, answer)
            attempts = attempts.after(step)
            if step is Step.BACKOFF:
                self._back_off(outcome, subject, attempts.retries, elapsed)

    def _authorization(self, uses_token: bool, basic: str | None) -> dict[str, str]:
        bearer = f"Bearer {self._tokens.current(self._clock())}" if uses_token else basic
        return {"Authorization": bearer} if bearer else {}

    def _final(self, end: Ending) -> ApiError:
        """The error ending a logical request, its advice naming the credential in use."""
        return final_error(
            end, base_url=self.base_url, timeout=self._retry.timeout, login=self._tokens.credentials.is_login
        )

    def _read_answer(self, answer: httpx.Response | Lost) -> tuple[int | Failure, str | None, str | None]:
        """The outcome ``decide`` judges, the server's message (scrubbed) for a failure, and why none arrived."""
        if isinstance(answer, Lost):
            return answer.failure, None, answer.problem
        status = answer.status_code
        return status, None if 200 <= status < 300 else server_message(answer.content, self._secrets), None

    def _before_retry(self, step: Step, answer: httpx.Response | Lost) -> None:
        """Forget a rejected token, or note the wait a 429 asked for, before the next attempt."""
        if step is Step.RENEW_TOKEN:
            self._tokens.reject()
        elif step is Step.WAIT_AND_RETRY and isinstance(answer, httpx.Response):
            self._budget.note_server_wait(parse_retry_after(answer.headers.get("Retry-After"), self._wall_clock()))

    def _back_off(self, outcome: int | Failure, subject: str, retry: int, elapsed: float) -> None:
        delay = retry_wait(self._retry, retry, self._jitter(), elapsed)
        if self._on_wait is not None:
            self._on_wait(delay, backoff_reason(outcome, subject, retry, self._retry))
        self._sleep(delay)

    def _send(
        self,
        method: str,
        path: str,
        subject: str,
        *,
        params: Mapping[str, str] | None,
        json: object,
        form: Mapping[str, str] | None,
        headers: Mapping[str, str],
        on_send: Callable[[], None] | None = None,
    ) -> httpx.Response | Lost:
        if self._max_requests is not None and self.requests_sent >= self._max_requests:
            raise request_cap_error(subject, self._max_requests)
        self._budget.before_send()
        if on_send is not None:
            try:
                on_send()
            except BaseException:
                self._budget.after_response()  # settle the reservation (counted: the safe side)
                raise
        self.requests_sent += 1
        request, sent_at = None, self._clock()
        try:
            request = self._http.build_request(method, path, params=params, json=json, data=form, headers=headers)
            answer: httpx.Response | Lost = send_within(self._http, request, self._retry.timeout)
        except httpx.HTTPError as exc:
            # Only the scrubbed words travel on: the httpx exception would print the request in a traceback.
            problem = self._scrub_opt(str(exc) or type(exc).__name__) or type(exc).__name__
            answer = Lost(classify(exc), problem)
        finally:
            self._budget.after_response()
        if self._on_response is not None and request is not None:
            status = answer.status_code if isinstance(answer, httpx.Response) else None
            failure = answer.failure.value if isinstance(answer, Lost) else None
            self._on_response(Exchange.of(request, status, failure, self._clock() - sent_at, self._secrets))
        return answer

    def request_token(self) -> None:
        """Ask Kameleoon for a new access token now (``kamsync doctor``: are the credentials accepted?)."""
        self._tokens.renew(self._clock())

    def exchange_code(self, form: Mapping[str, str]) -> TokenGrant:
        """The tokens of a partner login's authorization code (``form``: ``api.login.code_form``), stored nowhere:
        the caller saves the new login."""
        return self._tokens.exchange(form)

    def _post_token(self, form: Mapping[str, str], auth: str | None, idempotent: bool) -> bytes:
        """Send a token request (``kamsync.api.tokens`` forms it): its answer's body."""
        return self._request(
            "POST", TOKEN_PATH, subject=TOKEN_SUBJECT, form=form, auth=auth, uses_token=False, idempotent=idempotent
        ).content

    def _scrub_opt(self, text: str | None) -> str | None:
        return None if text is None else scrub_or_withhold(text, self._secrets)
