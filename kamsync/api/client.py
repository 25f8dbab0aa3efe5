"""The HTTP edge: one ``httpx.Client`` per run, token handling, the request budget and the retry loop.

Every decision (what to do with an answer, what error it means, which page comes next) is delegated to
the pure modules next to this one; this class only sends, waits and counts.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timezone
from types import TracebackType

import httpx

from kamsync import __version__
from kamsync.api.auth import (
    TOKEN_PATH,
    AccessToken,
    TokenStore,
    token_expires_at,
    token_form,
    token_from_cache,
    token_from_grant,
)
from kamsync.api.query import PER_PAGE, item_id, list_params, needs_next_page
from kamsync.api.responses import (
    TOKEN_SUBJECT,
    as_object,
    decode_json,
    error_for_status,
    list_items,
    parse_retry_after,
    parse_token,
    rate_limited_error,
    scrub,
    server_message,
    transport_error,
)
from kamsync.api.retry import Attempts, Step, decide
from kamsync.api.settings import Credentials
from kamsync.errors import ApiError
from kamsync.ratelimit import RequestBudget

__all__ = ["KameleoonClient"]

JsonObject = dict[str, object]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class KameleoonClient:
    """Talks to the Kameleoon Automation API. ``requests_sent`` counts every request, token ones included."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        budget: RequestBudget,
        timeout: float = 30.0,
        max_429_retries: int = 5,
        user_agent: str = f"kamsync/{__version__}",
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utc_now,
        transport: httpx.BaseTransport | None = None,
        token_cache: TokenStore | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.requests_sent = 0
        self._credentials = credentials
        self._budget = budget
        self._timeout = timeout
        self._max_429_retries = max_429_retries
        self._clock = clock
        self._wall_clock = wall_clock
        self._token: AccessToken | None = None
        self._token_cache = token_cache
        self._rejected_token: str | None = None  # never take this one from the cache again
        self._secrets: set[str] = {credentials.client_secret}
        # No redirects: following one could carry the bearer token to another host or to plain http.
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": user_agent, "Accept": "application/json"},
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"KameleoonClient({self.base_url!r}, client_id={self._credentials.client_id!r})"

    def __enter__(self) -> KameleoonClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
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
    ) -> builtins.list[JsonObject]:
        """Every object of ``resource`` matching ``filters``, page by page (duplicates dropped)."""
        found: builtins.list[JsonObject] = []
        seen: set[int] = set()
        page = 1
        while True:
            params = list_params(page=page, filters=filters, optional_fields=optional_fields)
            response = self._request("GET", f"/{resource.strip('/')}", subject=subject, params=params)
            items = list_items(decode_json(response.content))
            if items is None:
                raise ApiError(
                    f"Kameleoon answered the request for {subject} with something other than a list",
                    status=response.status_code,
                    subject=subject,
                )
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

    def patch(self, resource: str, item_id: int, body: Mapping[str, object], *, subject: str) -> JsonObject | None:
        """Send a partial update; the updated object when the answer is one (the API sends it), else None."""
        response = self._request("PATCH", f"/{resource.strip('/')}/{item_id}", subject=subject, json=dict(body))
        return as_object(decode_json(response.content))

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
    ) -> httpx.Response:
        """Send until ``decide`` says done or fail: the retry loop lives here and nowhere else."""
        attempts = Attempts()
        while True:
            headers = {"Authorization": f"Bearer {self._access_token()}"} if uses_token else {}
            response = self._send(method, path, subject, params=params, json=json, form=form, headers=headers)
            ok = 200 <= response.status_code < 300
            message = None if ok else self._scrub_opt(server_message(response.content))
            step = decide(
                response.status_code,
                message,
                attempts,
                max_429_retries=self._max_429_retries,
                uses_token=uses_token,
            )
            if step is Step.DONE:
                return response
            if step is Step.FAIL:
                if response.status_code == 429:
                    raise rate_limited_error(subject, message, attempts.rate_limited)
                raise error_for_status(
                    response.status_code, message, subject=subject, token_renewed=attempts.token_renewed
                )
            if step is Step.RENEW_TOKEN:
                if self._token is not None:
                    self._rejected_token = self._token.value
                self._token = None
            elif step is Step.WAIT_AND_RETRY:
                wait = parse_retry_after(response.headers.get("Retry-After"), self._wall_clock())
                self._budget.note_server_wait(wait)
            attempts = attempts.after(step)

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
    ) -> httpx.Response:
        self._budget.before_send()
        self.requests_sent += 1
        try:
            return self._http.request(method, path, params=params, json=json, data=form, headers=headers)
        except httpx.TimeoutException:
            raise transport_error(subject, self.base_url, "timeout", timed_out=True, timeout=self._timeout) from None
        except httpx.HTTPError as exc:
            # "from None": the chained httpx exception would print the request in a traceback.
            problem = self._scrub_opt(str(exc) or type(exc).__name__) or type(exc).__name__
            raise transport_error(subject, self.base_url, problem, timed_out=False, timeout=self._timeout) from None
        finally:
            self._budget.after_response()

    def _access_token(self) -> str:
        now = self._clock()
        if self._token is None or not self._token.usable(now):
            self._token = self._cached_token(now) or self._new_token(now)
        return self._token.value

    def _cached_token(self, now: float) -> AccessToken | None:
        cached = self._token_cache.load() if self._token_cache is not None else None
        if cached is None or cached[0] == self._rejected_token:
            return None
        self._secrets.add(cached[0])
        return token_from_cache(cached[0], cached[1], self._wall_clock().timestamp(), now)

    def _new_token(self, now: float) -> AccessToken:
        requested_at_wall = self._wall_clock().timestamp()
        response = self._request(
            "POST",
            TOKEN_PATH,
            subject=TOKEN_SUBJECT,
            form=token_form(self._credentials),
            uses_token=False,
        )
        grant = parse_token(response.content)
        self._secrets.add(grant.access_token)
        if self._token_cache is not None:
            self._token_cache.store(grant.access_token, token_expires_at(grant, requested_at_wall))
        return token_from_grant(grant, now)

    def _scrub_opt(self, text: str | None) -> str | None:
        return None if text is None else scrub(text, self._secrets)
