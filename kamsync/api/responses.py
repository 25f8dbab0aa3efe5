"""Pure decoding of Kameleoon answers: bodies, lists, tokens, Retry-After, and HTTP status -> kamsync error.

Nothing here performs I/O, so every case is a row in a test table. Bodies are parsed defensively: the API
documents JSON errors with a ``message`` field, but proxies and load balancers answer with HTML or text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from kamsync.api.retry import Failure, is_token_rejection
from kamsync.api.scrub import scrub_or_withhold
from kamsync.api.settings import CLIENT_ID_VAR, CLIENT_SECRET_VAR, URL_VAR
from kamsync.core.errors import ApiError, AuthError, LockedInApp, RequestCapReached

__all__ = [
    "TOKEN_SUBJECT",
    "TokenGrant",
    "as_object",
    "decode_json",
    "error_for_status",
    "gave_up_error",
    "is_sendable_token",
    "is_token_rejection",
    "list_items",
    "outcome_unknown_error",
    "parse_retry_after",
    "parse_token",
    "rate_limited_error",
    "request_cap_error",
    "server_message",
    "transport_error",
]

TOKEN_SUBJECT = "the token endpoint"
_MAX_MESSAGE = 300
_SENDABLE_TOKEN = re.compile(r"[\x21-\x7e]+")
# Keys under which an API might wrap a list in an object (the real API sends bare arrays).
_LIST_KEYS = ("items", "content", "data", "results", "elements", "values")


def decode_json(body: bytes) -> object | None:
    """The JSON value of ``body``, or None when it is empty or not JSON."""
    if not body.strip():
        return None
    try:
        return json.loads(body.decode("utf-8"))  # type: ignore[no-any-return]
    except (UnicodeDecodeError, ValueError, RecursionError):  # nested too deep to be a real answer
        return None


def server_message(body: bytes, secrets: Iterable[str] = ()) -> str | None:
    """The server's explanation: a JSON error's ``message`` (or OAuth's ``error_description``), or text.

    Secrets are hidden before the text is shortened, so one cut in two cannot show its first part; ``None``
    when there is no explanation, or when it holds a secret too short to hide (``scrub_or_withhold``)."""
    raw = _raw_message(body)
    if raw is None:
        return None
    chosen = [s for s in secrets if s]
    scrubbed = scrub_or_withhold(raw, chosen)
    # Scrubbed again once whitespace is collapsed: a secret holding a space may match only then.
    joined = None if scrubbed is None else scrub_or_withhold(" ".join(scrubbed.split()), chosen)
    if not joined:
        return None
    return joined if len(joined) <= _MAX_MESSAGE else joined[: _MAX_MESSAGE - 1] + "…"


def _raw_message(body: bytes) -> str | None:
    data = decode_json(body)
    if isinstance(data, dict):
        for key in ("message", "error_description", "error", "detail", "title"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                return value
        return None
    if data is None:
        text = body.decode("utf-8", errors="replace").strip()
        # An HTML error page is noise in a terminal; plain text (e.g. "Bad Gateway") is worth showing.
        if text and "<" not in text:
            return text
    return None


def list_items(data: object) -> list[dict[str, object]] | None:
    """The objects of a list answer: a bare array, or (defensively) an object wrapping one; else None."""
    if isinstance(data, dict):
        wrapped = [data[k] for k in _LIST_KEYS if isinstance(data.get(k), list)]
        if not wrapped:
            wrapped = [v for v in data.values() if isinstance(v, list)]
        if len(wrapped) != 1:
            return None
        data = wrapped[0]
    if not isinstance(data, list):
        return None
    return [item for item in data if isinstance(item, dict)]


def as_object(data: object) -> dict[str, object] | None:
    return data if isinstance(data, dict) else None


@dataclass(frozen=True, slots=True)
class TokenGrant:
    access_token: str = field(repr=False)
    expires_in: float | None
    token_type: str | None
    refresh_token: str | None = field(default=None, repr=False)  # partner logins (authorization-code flow)


def is_sendable_token(value: str) -> bool:
    """Whether ``value`` can travel in an ``Authorization: Bearer`` header: visible ASCII only. Anything else
    would make httpx fail with an error quoting the header, token included."""
    return _SENDABLE_TOKEN.fullmatch(value) is not None


def parse_token(body: bytes) -> TokenGrant:
    data = decode_json(body)
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(token, str) or not token:
        raise ApiError(
            f"{TOKEN_SUBJECT} answered without an access_token; is the API URL right?", subject=TOKEN_SUBJECT
        )
    if not is_sendable_token(token):
        raise ApiError(
            f"{TOKEN_SUBJECT} answered with an access_token that cannot be sent in an HTTP header (it holds a "
            f"space, a control or a non-ASCII character; not shown): check that {URL_VAR} is the Kameleoon API, "
            "or try again later",
            subject=TOKEN_SUBJECT,
        )
    expires = data.get("expires_in")
    expires_in: float | None = None
    if isinstance(expires, (int, float)) and not isinstance(expires, bool) and expires > 0:
        expires_in = float(expires)
    elif isinstance(expires, str):
        try:
            expires_in = float(expires) if float(expires) > 0 else None
        except ValueError:
            expires_in = None
    token_type = data.get("token_type")
    refresh = data.get("refresh_token")
    return TokenGrant(
        token,
        expires_in,
        token_type if isinstance(token_type, str) else None,
        refresh if isinstance(refresh, str) and refresh else None,
    )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None when absent or bad
    (``inf`` and ``nan`` are bad: no wait can be computed from them, so the rate windows decide)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _detail(status: int, message: str | None) -> str:
    return f"HTTP {status}: {message}" if message else f"HTTP {status}"


def error_for_status(
    status: int,
    message: str | None,
    *,
    subject: str,
    token_renewed: bool = False,
    login: bool = False,
) -> ApiError:
    """The error for a final failing answer about ``subject`` ("variation 42", "the token endpoint"); ``login``:
    the credential is the partner login ``kamsync login`` stored, not the client-credential variables."""
    detail = _detail(status, message)
    kind: type[ApiError] = ApiError
    check = (
        "the partner login stored by kamsync login: run kamsync login again"
        if login
        else f"{CLIENT_ID_VAR} and {CLIENT_SECRET_VAR}"
    )
    if subject == TOKEN_SUBJECT and status in (400, 401, 403):
        kind = AuthError
        text = f"{TOKEN_SUBJECT} refused the credentials ({detail}): check {check}"
    elif is_token_rejection(status, message):
        kind = AuthError
        again = " even after a fresh one was issued" if token_renewed else ""
        text = (
            f"Kameleoon rejected the access token for {subject}{again} ({detail}): check {check}, and that the "
            "API client is still enabled"
        )
    elif status == 423:
        kind = LockedInApp
        text = f"{subject} is locked in the Kameleoon app: someone has it open; close it there and run again ({detail})"
    elif status == 404:
        text = f"{subject} was not found in Kameleoon ({detail}): check the id, and that it was not deleted"
    elif status == 403:
        text = f"Kameleoon denied access to {subject} ({detail}): check that the API client may access this site"
    elif status == 400:
        text = f"Kameleoon rejected the request for {subject} ({detail})"
    elif status >= 500:
        text = f"Kameleoon failed while handling {subject} ({detail}); try again later"
    else:
        text = f"Kameleoon answered {detail} for {subject}"
    return kind(text, status=status, server_message=message, subject=subject)


def rate_limited_error(subject: str, message: str | None, retries: int) -> ApiError:
    return ApiError(
        f"Kameleoon kept refusing requests for {subject} because of its rate limit ({_detail(429, message)}, "
        f"after {retries} retries): wait a while and run again, or lower rate_limit in kamsync.yaml",
        status=429,
        server_message=message,
        subject=subject,
    )


def transport_error(subject: str, base_url: str, problem: str, *, timed_out: bool, timeout: float) -> ApiError:
    if timed_out:
        text = f"Kameleoon did not answer within {timeout:g} s for {subject} ({base_url}); try again later"
    else:
        text = (
            f"could not reach Kameleoon at {base_url} for {subject} ({problem}); "
            "check the network connection and the API URL"
        )
    return ApiError(text, status=None, subject=subject)


def _trouble(answer: int | Failure, message: str | None, timeout: float, problem: str | None) -> str:
    """What went wrong on the last send, for an error message."""
    if isinstance(answer, int):
        return _detail(answer, message)
    if answer is Failure.TIMEOUT:
        return f"no answer within {timeout:g} s"
    if answer is Failure.NOT_SENT:
        return f"could not connect: {problem}" if problem else "could not connect"
    return f"connection lost: {problem}" if problem else "connection lost"


def gave_up_error(
    subject: str,
    answer: int | Failure,
    message: str | None,
    *,
    base_url: str,
    attempts: int,
    seconds: float,
    timeout: float,
    problem: str | None = None,
) -> ApiError:
    """Retries used up on 5xx answers or failed sends: how often, how long, where to, the last trouble, what to
    do. (What to do about the command's own work — a push resumes — is its own report's business.)"""
    advice = "check the network connection and the API URL, or " if answer is Failure.NOT_SENT else ""
    return ApiError(
        f"Kameleoon did not complete the request for {subject}: gave up after {attempts} attempts over "
        f"{seconds:.1f} s at {base_url} (last: {_trouble(answer, message, timeout, problem)}); {advice}try again "
        "later",
        status=answer if isinstance(answer, int) else None,
        server_message=message,
        subject=subject,
    )


def outcome_unknown_error(
    subject: str, answer: int | Failure, message: str | None, *, timeout: float, problem: str | None = None
) -> ApiError:
    """A request that is not safe to repeat may have been applied: say so, and that nothing was repeated."""
    return ApiError(
        f"the request for {subject} may or may not have been applied by Kameleoon "
        f"({_trouble(answer, message, timeout, problem)}): the outcome is unknown, and kamsync did not repeat it "
        "because repeating it could apply it twice; check what Kameleoon holds (kamsync status) before running "
        "again",
        status=answer if isinstance(answer, int) else None,
        server_message=message,
        subject=subject,
    )


def request_cap_error(subject: str, cap: int) -> RequestCapReached:
    return RequestCapReached(
        f"kamsync reached its cap of {cap} requests for this run (--max-requests {cap}) before sending the request "
        f"for {subject}; nothing more was sent. Run again with a higher --max-requests to go on",
        subject=subject,
    )
