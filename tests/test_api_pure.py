"""The pure halves of the API client: settings, queries, answer decoding, error mapping, retries, payloads."""

from __future__ import annotations

import base64
import html
import json
from datetime import datetime, timezone
from urllib.parse import quote, quote_plus, urlencode

import pytest

from kamsync.api.auth import DEFAULT_TOKEN_LIFETIME, token_form, token_from_grant
from kamsync.api.payloads import experiment_from_payload, missing_code_fields, variation_from_payload
from kamsync.api.query import (
    chunked,
    equal_filter,
    filter_ignored_error,
    list_params,
    matches_filters,
    needs_next_page,
    page_limit,
)
from kamsync.api.remote import subject_for
from kamsync.api.responses import (
    TOKEN_SUBJECT,
    TokenGrant,
    error_for_status,
    is_sendable_token,
    is_token_rejection,
    list_items,
    parse_retry_after,
    parse_token,
    rate_limited_error,
    server_message,
    transport_error,
)
from kamsync.api.retry import Attempts, Step, decide
from kamsync.api.scrub import HIDDEN, MIN_SCRUBBABLE, basic_credential, scrub, scrub_or_withhold
from kamsync.api.settings import DEFAULT_API_URL, Credentials, credentials_from_env, resolve_api_url
from kamsync.core.errors import ApiError, AuthError, CredentialsError, Exit, LockedInApp, UsageError
from kamsync.core.model import RemoteExperiment, RemoteVariation

# -- settings --


def test_credentials_come_from_the_environment_and_hide_the_secret() -> None:
    creds = credentials_from_env({"KAMELEOON_CLIENT_ID": "abc", "KAMELEOON_CLIENT_SECRET": "s3cr3t-value"})
    assert creds == Credentials("abc", "s3cr3t-value")
    assert "s3cr3t-value" not in repr(creds)
    assert "s3cr3t-value" not in str(creds)
    assert "abc" in repr(creds)


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"KAMELEOON_CLIENT_ID": "abc"},
        {"KAMELEOON_CLIENT_SECRET": "s3cr3t"},
        {"KAMELEOON_CLIENT_ID": " ", "KAMELEOON_CLIENT_SECRET": "s3cr3t"},
    ],
)
def test_missing_credentials_name_both_variables(environ: dict[str, str]) -> None:
    with pytest.raises(CredentialsError) as info:
        credentials_from_env(environ)
    assert "KAMELEOON_CLIENT_ID" in str(info.value)
    assert "KAMELEOON_CLIENT_SECRET" in str(info.value)
    assert "s3cr3t" not in str(info.value)


@pytest.mark.parametrize(
    ("option", "environ", "expected"),
    [
        (None, {}, DEFAULT_API_URL),
        (None, {"KAMELEOON_API_URL": "https://eu.example.com/"}, "https://eu.example.com"),
        (
            "https://opt.example.com/v1/",
            {"KAMELEOON_API_URL": "https://env.example.com"},
            "https://opt.example.com/v1",
        ),
        ("http://127.0.0.1:8123", {}, "http://127.0.0.1:8123"),
        ("http://127.5.6.7:80/", {}, "http://127.5.6.7:80"),
        ("http://localhost:9000", {}, "http://localhost:9000"),
        ("http://[::1]:9000", {}, "http://[::1]:9000"),
        (None, {"KAMELEOON_API_URL": "  "}, DEFAULT_API_URL),
    ],
)
def test_resolve_api_url(option: str | None, environ: dict[str, str], expected: str) -> None:
    assert resolve_api_url(option, environ) == expected


@pytest.mark.parametrize(
    ("option", "environ", "fragment"),
    [
        ("http://api.kameleoon.com", {}, "plain http"),
        (None, {"KAMELEOON_API_URL": "http://10.0.0.1"}, "KAMELEOON_API_URL"),
        ("http://localhost.evil.com", {}, "plain http"),
        ("ftp://api.kameleoon.com", {}, "bad API URL"),
        ("api.kameleoon.com", {}, "bad API URL"),
        ("https://", {}, "bad API URL"),
        ("https://host:notaport", {}, "bad API URL"),
    ],
)
def test_resolve_api_url_refuses(option: str | None, environ: dict[str, str], fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        resolve_api_url(option, environ)
    assert fragment in str(info.value)
    assert info.value.exit_code == Exit.USAGE


def test_resolve_api_url_does_not_echo_a_password() -> None:
    with pytest.raises(UsageError) as info:
        resolve_api_url("https://me:hunter2@api.kameleoon.com", {})
    assert "hunter2" not in str(info.value)


# -- queries --


def test_list_params_encode_filters_and_optional_fields() -> None:
    params = list_params(
        page=2,
        filters=[equal_filter("id", [1, 2])],
        optional_fields=["variations", "globalScript"],
        sort=[{"field": "id", "direction": "ASC"}],
    )
    assert params == {
        "page": "2",
        "perPage": "200",
        "filter": '[{"field":"id","operator":"EQUAL","parameters":[1,2]}]',
        "sort": '[{"field":"id","direction":"ASC"}]',
        "optionalFields": "variations,globalScript",
    }
    assert list_params(page=1) == {"page": "1", "perPage": "200"}


@pytest.mark.parametrize(
    ("ids", "size", "expected"),
    [
        ([], 200, []),
        ([3, 1, 2, 3], 200, [(1, 2, 3)]),
        (range(1, 6), 2, [(1, 2), (3, 4), (5,)]),
    ],
)
def test_chunked(ids: list[int], size: int, expected: list[tuple[int, ...]]) -> None:
    assert chunked(ids, size) == expected


def test_chunked_by_default_fills_one_page_per_chunk() -> None:
    assert [len(c) for c in chunked(range(450))] == [200, 200, 50]


@pytest.mark.parametrize(
    ("page_len", "new", "seen", "expect", "more"),
    [
        (199, 199, set(range(199)), None, False),  # short page: the end
        (200, 200, set(range(200)), None, True),  # full page: maybe more
        (
            200,
            200,
            set(range(200)),
            set(range(200)),
            False,
        ),  # every expected id arrived: 200 ids, one request
        (200, 200, set(range(200)), set(range(201)), True),  # one still missing
        (200, 0, set(range(200)), None, False),  # a full page with nothing new: the server ignores `page`
        (0, 0, set(), {5}, False),  # empty page
    ],
)
def test_needs_next_page(page_len: int, new: int, seen: set[int], expect: set[int] | None, more: bool) -> None:
    page = [{"id": i} for i in range(page_len)]
    assert needs_next_page(page, per_page=200, new_ids=new, seen_ids=seen, expect_ids=expect) is more


@pytest.mark.parametrize(
    ("expect", "limit"),
    [
        (None, None),  # no ids: nothing bounds the matches
        (set(), 1),
        ({1, 2}, 2),  # one page holds them, plus one
        (set(range(200)), 2),
        (set(range(201)), 3),
    ],
)
def test_page_limit_is_the_pages_the_ids_can_fill_plus_one(expect: set[int] | None, limit: int | None) -> None:
    assert page_limit(expect, 200) == limit


def test_filter_ignored_error_says_what_the_server_did_and_what_to_check() -> None:
    error = filter_ignored_error("experiments 1, 2", 2, 200, 2)
    assert error.exit_code == 4
    assert str(error) == (
        "Kameleoon kept sending full pages for experiments 1, 2: 2 pages of 200 objects for 2 ids, which fit in "
        "1 page; it seems to ignore the id filter, so kamsync stopped rather than spend the rate budget paging on "
        "(nothing was written). Check that the API URL (--api-url, KAMELEOON_API_URL) is Kameleoon's Automation "
        "API, and try again later"
    )


# -- answers --


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"message": "Variation not found"}', "Variation not found"),
        (
            b'{"error": "invalid_client", "error_description": "Bad client credentials"}',
            "Bad client credentials",
        ),
        (b'{"error": "invalid_client"}', "invalid_client"),
        (b'{"status": 500}', None),
        (b"Bad Gateway", "Bad Gateway"),
        (b"<html><body>502</body></html>", None),
        (b"", None),
        (b"\xff\xfe\x00", "\ufffd\ufffd\x00"),
        (b'["a list"]', None),
        (json.dumps({"message": "x" * 1000}).encode(), "x" * 299 + "…"),
    ],
)
def test_server_message_never_fails(body: bytes, expected: str | None) -> None:
    assert server_message(body) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([{"id": 1}, {"id": 2}], [{"id": 1}, {"id": 2}]),
        ([{"id": 1}, 7, "x"], [{"id": 1}]),
        ({"content": [{"id": 1}], "total": 1}, [{"id": 1}]),
        ({"whatever": [{"id": 3}]}, [{"id": 3}]),
        ({"a": [], "b": []}, None),
        ({"id": 1}, None),
        (None, None),
        ("text", None),
    ],
)
def test_list_items_accepts_bare_and_wrapped_lists(data: object, expected: object) -> None:
    assert list_items(data) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"access_token": "T0K-9f8e"}', TokenGrant("T0K-9f8e", None, None)),
        (
            b'{"access_token": "T0K-9f8e", "expires_in": 3600, "token_type": "bearer"}',
            TokenGrant("T0K-9f8e", 3600.0, "bearer"),
        ),
        (b'{"access_token": "T0K-9f8e", "expires_in": "60"}', TokenGrant("T0K-9f8e", 60.0, None)),
        (b'{"access_token": "T0K-9f8e", "expires_in": 0}', TokenGrant("T0K-9f8e", None, None)),
        (b'{"access_token": "T0K-9f8e", "expires_in": "soon", "x": 1}', TokenGrant("T0K-9f8e", None, None)),
    ],
)
def test_parse_token(body: bytes, expected: TokenGrant) -> None:
    assert parse_token(body) == expected
    assert "T0K-9f8e" not in repr(parse_token(body))


@pytest.mark.parametrize("body", [b"", b"{}", b'{"access_token": ""}', b"<html>", b'["tok"]'])
def test_parse_token_without_a_token_is_an_api_error(body: bytes) -> None:
    with pytest.raises(ApiError) as info:
        parse_token(body)
    assert "access_token" in str(info.value)


def test_token_lifetime_defaults_to_two_hours_and_renews_early() -> None:
    assert token_from_grant(TokenGrant("t", None, None), 10.0).renew_at == 10.0 + DEFAULT_TOKEN_LIFETIME - 60.0
    assert token_from_grant(TokenGrant("t", 3600.0, None), 0.0).renew_at == 3540.0
    assert token_from_grant(TokenGrant("t", 2.0, None), 0.0).renew_at == pytest.approx(1.8)
    assert not token_from_grant(TokenGrant("t", 2.0, None), 0.0).usable(1.9)


def test_token_form_is_the_client_credentials_grant() -> None:
    assert token_form(Credentials("id", "sec")) == {
        "grant_type": "client_credentials",
        "client_id": "id",
        "client_secret": "sec",
    }


NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("3", 3.0),
        ("1.5", 1.5),
        ("-4", 0.0),
        ("Wed, 01 Jan 2025 12:00:09 GMT", 9.0),
        ("Wed, 01 Jan 2025 11:59:00 GMT", 0.0),
        ("soon", None),
        ("1000000000", 1e9),  # absurd but a number: the budget caps it to the longest window
        ("inf", None),  # no wait can be computed from these: the rate windows decide
        ("-inf", None),
        ("nan", None),
        ("1e999", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("token abc123-xyz rejected", ["abc123-xyz"], "token <hidden> rejected"),
        ("abcdefgh abcdefgh-ijk", ["abcdefgh", "abcdefgh-ijk"], "<hidden> <hidden>"),
        ("nothing", ["", "zzzzzzzzz"], "nothing"),
        ("a short one is left to scrub_or_withhold: abc", ["abc"], "a short one is left to scrub_or_withhold: abc"),
    ],
)
def test_scrub(text: str, secrets: list[str], expected: str) -> None:
    assert scrub(text, secrets) == expected


SECRET = 'a+b/c=d&e f"g\\h-é-0123'  # every character that changes under URL, JSON or base64 encoding
CLIENT = "client-7"


def _b64_inside(prefix: bytes) -> str:
    return base64.b64encode(prefix + SECRET.encode() + b" and more").decode()


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        quote_plus(SECRET),  # how httpx sends the token form: spaces as +
        quote(SECRET, safe=""),  # spaces as %20
        quote(SECRET, safe="").lower(),  # lower-case hex digits
        urlencode({"client_secret": SECRET}),
        json.dumps(SECRET)[1:-1],
        json.dumps(SECRET, ensure_ascii=False)[1:-1],
        json.dumps(SECRET)[1:-1].replace("/", "\\/"),
        "Basic " + base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode(),
        base64.urlsafe_b64encode(f"{CLIENT}:{SECRET}".encode()).decode().rstrip("="),
        base64.b64encode(SECRET.encode()).decode(),
        repr(SECRET.encode()),
        html.escape(SECRET),
    ],
    ids=[
        *("raw", "url+", "url%20", "url-lower", "form", "json", "json-utf8", "json-slash"),
        *("basic", "b64url", "b64", "bytes-repr", "html"),
    ],
)
def test_scrub_hides_every_encoding_of_a_secret(form: str) -> None:
    secrets = [SECRET, basic_credential(CLIENT, SECRET)]
    text = scrub(f"the server echoed [{form}] back", secrets)
    assert HIDDEN in text
    assert form not in text
    assert text.startswith("the server echoed [") and text.endswith("] back")


@pytest.mark.parametrize("shift", [0, 1, 2])
def test_scrub_finds_a_secret_at_any_alignment_inside_longer_base64(shift: int) -> None:
    blob = _b64_inside(b"x" * shift + b"grant_type=client_credentials&client_secret=")
    text = scrub(blob, [SECRET])
    assert HIDDEN in text
    inner = base64.b64encode(SECRET.encode()).decode()[4:-4]
    assert all(inner[i : i + 6] not in text for i in range(len(inner) - 6)), "no run of 6 secret-bearing characters"


def test_server_message_scrubs_before_cutting_so_a_straddling_secret_shows_no_prefix() -> None:
    secret = "Q9Z-secret-value-0123456789"
    body = json.dumps({"message": "x" * 290 + secret + " was refused"}).encode()
    shown = server_message(body, [secret])
    assert shown is not None and len(shown) == 300
    assert "Q9" not in shown
    assert shown == "x" * 290 + HIDDEN + " …"


def test_a_long_403_echoing_the_bearer_token_shows_no_part_of_it() -> None:
    token = "tok-" + "9f8e7d6c5b4a" * 4
    message = "Forbidden for request with headers " + "A" * 250 + f" Authorization: Bearer {token} and more"
    shown = server_message(json.dumps({"message": message}).encode(), [token])
    assert shown is not None
    assert "tok-" not in shown and "9f8e" not in shown
    error = error_for_status(403, shown, subject="variation 1")
    assert "tok-" not in str(error)


def test_server_message_scrubs_a_secret_that_matches_only_once_whitespace_is_collapsed() -> None:
    secret = "two words-secret"
    assert server_message(b'{"message": "got two\\n  words-secret"}', [secret]) == f"got {HIDDEN}"


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("Bad client credentials", "Bad client credentials"),  # the short secret is not in it: shown whole
        ("Bad key k in request", None),  # it is: withheld, never garbled to "Bad <hidden>ey"
        ("grant_type=client_credentials&client_secret=%26q", None),  # URL-encoded counts too
    ],
)
def test_server_text_holding_a_secret_too_short_to_hide_is_withheld_not_garbled(
    message: str, shown: str | None
) -> None:
    secrets = ["k", "&q", "long-token-0123456789"]
    assert server_message(json.dumps({"message": message}).encode(), secrets) == shown


def test_scrub_or_withhold_scrubs_long_secrets_and_withholds_on_short_ones() -> None:
    long_secret = "x" * MIN_SCRUBBABLE
    assert scrub_or_withhold(f"a {long_secret} b", [long_secret, "q"]) == f"a {HIDDEN} b"
    assert scrub_or_withhold(f"q {long_secret}", [long_secret, "q"]) is None
    assert scrub_or_withhold("", ["q"]) == ""


@pytest.mark.parametrize(
    ("token", "sendable"),
    [
        ("T0K-9f8e.abc_~+/=", True),
        ("tok\nen", False),
        ("tok en", False),
        ("tökén", False),
        ("tok\x00", False),
        ("tok\x7f", False),
    ],
)
def test_only_visible_ascii_tokens_can_be_sent(token: str, sendable: bool) -> None:
    assert is_sendable_token(token) is sendable


@pytest.mark.parametrize("token", ["tok\nen-SECRETPART", "tökén-SECRETPART", "tok en-SECRETPART"])
def test_parse_token_refuses_a_token_it_cannot_send_without_echoing_it(token: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_token(json.dumps({"access_token": token}).encode())
    text = str(info.value) + repr(info.value)
    assert "SECRETPART" not in text
    assert "cannot be sent in an HTTP header" in text and "KAMELEOON_API_URL" in text
    assert info.value.exit_code is Exit.API


@pytest.mark.parametrize(
    ("status", "message", "subject", "kind", "fragments"),
    [
        (400, "Bad field", "variation 200001", ApiError, ["variation 200001", "HTTP 400: Bad field"]),
        (
            404,
            "Not found",
            "experiment 100001",
            ApiError,
            ["experiment 100001 was not found", "HTTP 404: Not found"],
        ),
        (404, None, "variation 7", ApiError, ["variation 7 was not found in Kameleoon (HTTP 404)"]),
        (
            423,
            "Locked",
            "variation 200001",
            LockedInApp,
            ["variation 200001 is locked in the Kameleoon app: someone has it open; close it there and run again"],
        ),
        (
            403,
            "Access denied",
            "experiment 1",
            ApiError,
            ["denied access to experiment 1", "HTTP 403: Access denied"],
        ),
        (
            403,
            "Invalid token",
            "experiment 1",
            AuthError,
            ["rejected the access token", "KAMELEOON_CLIENT_ID"],
        ),
        (401, None, "variation 2", AuthError, ["rejected the access token for variation 2 (HTTP 401)"]),
        (
            500,
            None,
            "variation 2",
            ApiError,
            ["failed while handling variation 2 (HTTP 500)", "try again later"],
        ),
        (503, "down", "variation 2", ApiError, ["HTTP 503: down"]),
        (409, "conflict", "variation 2", ApiError, ["HTTP 409: conflict for variation 2"]),
        (
            401,
            "Bad credentials",
            TOKEN_SUBJECT,
            AuthError,
            [
                "the token endpoint refused the credentials (HTTP 401: Bad credentials)",
                "KAMELEOON_CLIENT_SECRET",
            ],
        ),
        (400, "invalid_client", TOKEN_SUBJECT, AuthError, ["KAMELEOON_CLIENT_ID"]),
        (500, None, TOKEN_SUBJECT, ApiError, ["failed while handling the token endpoint"]),
    ],
)
def test_error_for_status(
    status: int, message: str | None, subject: str, kind: type[ApiError], fragments: list[str]
) -> None:
    error = error_for_status(status, message, subject=subject)
    assert type(error) is kind
    for fragment in fragments:
        assert fragment in str(error)
    assert (error.status, error.server_message, error.subject) == (status, message, subject)


def test_auth_errors_exit_as_usage_and_api_errors_as_api() -> None:
    assert error_for_status(401, None, subject=TOKEN_SUBJECT).exit_code == Exit.USAGE
    assert error_for_status(404, None, subject="variation 1").exit_code == Exit.API


def test_a_renewed_token_rejected_again_says_so() -> None:
    assert "even after a fresh one" in str(error_for_status(401, None, subject="x", token_renewed=True))


def test_rate_limit_and_transport_errors() -> None:
    error = rate_limited_error("variation 5", None, 5)
    assert (error.status, "variation 5", "after 5 retries") == (429, error.subject, "after 5 retries")
    assert "rate limit" in str(error) and "variation 5" in str(error)
    slow = transport_error("experiment 1", "https://api.kameleoon.com", "timeout", timed_out=True, timeout=30.0)
    assert slow.status is None and "did not answer within 30 s for experiment 1" in str(slow)
    down = transport_error("experiment 1", "https://x", "Connection refused", timed_out=False, timeout=30.0)
    assert "could not reach Kameleoon at https://x for experiment 1 (Connection refused)" in str(down)


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (401, None, True),
        (403, "Invalid access token", True),
        (403, "Token expired", True),
        (403, "The token was revoked", True),
        (403, "You have no access to this site", False),
        (403, None, False),
        (404, "invalid token", False),
    ],
)
def test_is_token_rejection(status: int, message: str | None, expected: bool) -> None:
    assert is_token_rejection(status, message) is expected


# -- retry policy --


@pytest.mark.parametrize(
    ("status", "message", "attempts", "uses_token", "step"),
    [
        (200, None, Attempts(), True, Step.DONE),
        (204, None, Attempts(), True, Step.DONE),
        (429, None, Attempts(), True, Step.WAIT_AND_RETRY),
        (429, None, Attempts(rate_limited=4), True, Step.WAIT_AND_RETRY),
        (429, None, Attempts(rate_limited=5), True, Step.FAIL),
        (429, None, Attempts(), False, Step.WAIT_AND_RETRY),  # the token endpoint is rate limited too
        (401, None, Attempts(), True, Step.RENEW_TOKEN),
        (401, None, Attempts(token_renewed=True), True, Step.FAIL),
        (401, None, Attempts(), False, Step.FAIL),  # the token request itself: credentials refused
        (403, "Token expired", Attempts(), True, Step.RENEW_TOKEN),
        (403, "Forbidden", Attempts(), True, Step.FAIL),
        (423, None, Attempts(), True, Step.FAIL),  # locked in the app: never retried blindly
        (500, None, Attempts(), True, Step.BACKOFF),  # tests/test_api_retry.py specifies the retries
        (404, None, Attempts(), True, Step.FAIL),
    ],
)
def test_decide(status: int, message: str | None, attempts: Attempts, uses_token: bool, step: Step) -> None:
    assert decide(status, message, attempts, max_429_retries=5, uses_token=uses_token) is step


def test_attempts_count_what_was_tried() -> None:
    tried = Attempts().after(Step.WAIT_AND_RETRY).after(Step.RENEW_TOKEN).after(Step.WAIT_AND_RETRY)
    assert tried == Attempts(rate_limited=2, token_renewed=True)


# -- payloads --


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {
                "id": 100001,
                "name": "Hero",
                "status": "ACTIVE",
                "siteId": 7,
                "variations": [200001, 200002],
                "commonJavaScriptCode": "js",
                "commonCssCode": None,
                "globalScript": "gs",
                "newField": {"x": 1},
            },
            RemoteExperiment(
                100001,
                "Hero",
                "ACTIVE",
                7,
                (200001, 200002),
                {"commonJavaScriptCode": "js", "commonCssCode": "", "globalScript": "gs"},
            ),
        ),
        (
            {
                "id": "100002",
                "name": "X",
                "status": "draft",
                "variations": [{"id": "5"}, {"id": 6}, {"name": "?"}],
            },
            RemoteExperiment(100002, "X", "draft", None, (5, 6), {}),
        ),
        (
            {"id": 3, "variationsId": ["8", 9], "commonCssCode": "c"},
            RemoteExperiment(3, "", "", None, (8, 9), {"commonCssCode": "c"}),
        ),
        ({"id": 4, "variations": None}, RemoteExperiment(4, "", "", None, None, {})),
        ({"id": 5, "variations": []}, RemoteExperiment(5, "", "", None, (), {})),
        ({"id": 6, "globalScript": {"weird": 1}}, RemoteExperiment(6, "", "", None, None, {})),
        ({"name": "no id"}, None),
        ({"id": True}, None),
    ],
)
def test_experiment_from_payload(payload: dict[str, object], expected: RemoteExperiment | None) -> None:
    assert experiment_from_payload(payload) == expected


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {
                "id": 200001,
                "name": "V1",
                "experimentId": 100001,
                "jsCode": "a",
                "cssCode": None,
                "color": "red",
            },
            RemoteVariation(200001, "V1", 100001, {"jsCode": "a", "cssCode": ""}),
        ),
        ({"id": "42", "experimentId": "7"}, RemoteVariation(42, "", 7, {})),
        ({"id": 43, "jsCode": "x"}, RemoteVariation(43, "", None, {"jsCode": "x"})),
        ({"id": "abc"}, None),
    ],
)
def test_variation_from_payload(payload: dict[str, object], expected: RemoteVariation | None) -> None:
    assert variation_from_payload(payload) == expected


def test_missing_code_fields_means_absent_not_null() -> None:
    assert missing_code_fields({"commonJavaScriptCode": None, "commonCssCode": ""}) == ["globalScript"]


@pytest.mark.parametrize(
    ("kind", "ids", "expected"),
    [
        ("variation", [200001], "variation 200001"),
        ("experiment", [2, 1], "experiments 1, 2"),
        ("variation", [5, 4, 3, 2, 1], "variations 1, 2, 3 and 2 more"),
    ],
)
def test_subject_for(kind: str, ids: list[int], expected: str) -> None:
    assert subject_for(kind, ids) == expected


@pytest.mark.parametrize(
    ("item", "matches"),
    [
        ({"id": 1, "experimentId": 100001}, True),
        ({"id": 1, "experimentId": "100002"}, True),  # ids arrive as numeric strings too
        ({"id": 1, "experimentId": 100003}, False),
        ({"id": 1}, False),  # asked by experiment, carries none
    ],
)
def test_matches_filters_checks_equal_filters(item: dict[str, object], matches: bool) -> None:
    filters = [equal_filter("experimentId", [100001, 100002]), {"field": "name", "operator": "LIKE"}]
    assert matches_filters(item, filters) is matches
