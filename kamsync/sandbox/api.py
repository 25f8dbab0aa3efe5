"""Routing of the Automation API imitation: armed faults, authentication, rate windows, then the resource routes.

Socket-free: ``Api.handle`` turns a ``Request`` into a ``Response`` and logs it; ``server.py`` is the edge. A
``Response`` with status ``DROPPED`` asks the edge to close the connection without answering.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode

from kamsync.sandbox import objects as o
from kamsync.sandbox.admin import Admin
from kamsync.sandbox.clock import Clock
from kamsync.sandbox.echo import echo_response
from kamsync.sandbox.faults import DROPPED, Do, Faults, Injection, injected_response, lock_target
from kamsync.sandbox.hostile import abridged
from kamsync.sandbox.limits import ServerRateLimiter
from kamsync.sandbox.oauth import OAuth
from kamsync.sandbox.query import parse_filter, parse_page, parse_sort, select
from kamsync.sandbox.store import Store
from kamsync.sandbox.wire import (
    Fault,
    Request,
    RequestRecord,
    Response,
    json_response,
    read_json_object,
    text_response,
)

__all__ = ["Api", "route_path"]

log = logging.getLogger("kamsync.sandbox")

Handler = Callable[[Request, tuple[str, ...]], Response]
_ID = r"([^/]+)"
_BEARER = re.compile(r"^Bearer\s+(\S+)\s*$", re.IGNORECASE)
_FORM = "application/x-www-form-urlencoded"


def route_path(path: str) -> str:
    """The route a path names: the ``/v1`` prefix and a trailing slash make no difference."""
    if path == "/v1" or path.startswith("/v1/"):
        path = path[3:]
    return path.rstrip("/") or "/"


def _id(raw: str, kind: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise Fault(400, f"Invalid {kind} id '{raw}': expected an integer") from None


class Api:
    def __init__(
        self,
        store: Store,
        limiter: ServerRateLimiter,
        token_ttl: float,
        retry_after: bool,
        faults: Faults | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.clock = clock if clock is not None else Clock()
        self.faults = faults if faults is not None else Faults(store, clock=self.clock.wall)
        self._limiter = limiter
        self._token_ttl = token_ttl
        self._retry_after = retry_after
        self._admin = Admin(store, self.faults, self.clock)
        self.oauth = OAuth(store, self.clock.now)
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            (method, re.compile(pattern), handler)
            for method, pattern, handler in (
                ("GET", "/experiments", self._list_experiments),
                ("POST", "/experiments", self._create_experiment),
                ("GET", f"/experiments/simulate/{_ID}", self._simulator("experiment")),
                ("GET", f"/experiments/{_ID}", self._get_experiment),
                ("PATCH", f"/experiments/{_ID}", self._patch_experiment),
                ("GET", "/variations", self._lister("variation")),
                ("POST", "/variations", self._create_variation),
                ("GET", f"/variations/{_ID}", self._getter("variation")),
                ("PATCH", f"/variations/{_ID}", self._write_variation),
                ("PUT", f"/variations/{_ID}", self._write_variation),
                ("DELETE", f"/variations/{_ID}", self._delete_variation),
                ("GET", "/sites", self._lister("site")),
                (
                    "GET",
                    f"/sites/byCode/{_ID}",
                    lambda _req, m: json_response(200, self.store.site_by_code(m[0])),
                ),
                ("GET", f"/sites/{_ID}", self._getter("site")),
                ("PUT", f"/sites/{_ID}", self._replace_site),
                ("GET", "/personalizations", self._lister("personalization")),
                ("GET", f"/personalizations/simulate/{_ID}", self._simulator("personalization")),
                ("GET", f"/personalizations/{_ID}", self._getter("personalization")),
                ("PATCH", f"/personalizations/{_ID}", self._patch_personalization),
            )
        ]

    def handle(self, request: Request) -> Response:
        path = route_path(request.path)
        if path == "/_sandbox" or path.startswith("/_sandbox/"):
            return self._guarded(lambda: self._admin.handle(request, path))
        number, injection = self.faults.on_request(request.method, path)
        client: list[str | None] = [None]  # filled in as soon as the caller is known, for the log
        if injection is not None and not injection.action.processes:
            # Answered without processing: no authentication, no rate window, no change.
            client[0] = self._caller(request)
            response = self._inject(request, number, injection)
            self._log(request, client, response.status)
            return response
        if injection is not None and injection.action.do is Do.STALL:
            self._announce(request, number, injection, None)
            if not self.faults.stall(injection.action.seconds):
                self._log(request, client, DROPPED)  # the sandbox is stopping: nothing is processed
                return Response(DROPPED)
        response = self._guarded(lambda: self._serve(request, path, client, number))
        if injection is not None and injection.action.do is Do.DROP_AFTER:
            self._announce(request, number, injection, response.status)
            self._log(request, client, DROPPED)
            return Response(DROPPED)
        self._log(request, client, response.status)
        if injection is not None and injection.action.do is Do.HOLD:
            self._announce(request, number, injection, response.status)
            self.faults.hold(injection)
        if injection is not None and injection.action.do is Do.ABRIDGED:
            self._announce(request, number, injection, response.status)
            return abridged(response, injection.action.keep)
        if injection is not None and injection.action.do is Do.TRICKLE:
            self._announce(request, number, injection, response.status)
            trickle = self.faults.trickles.start(number, injection.action.seconds, len(response.body))
            return dataclasses.replace(response, trickle=trickle)  # the edge sends it a byte at a time
        return response

    def _log(self, request: Request, client: list[str | None], status: int) -> None:
        self.store.record(
            RequestRecord(request.method, request.path, request.query, client[0], status, self.clock.wall())
        )

    def _announce(self, request: Request, number: int, injection: Injection, status: int | None) -> None:
        action = str(injection.action)
        self.faults.record(number, request.method, request.path, action, injection.armed.rule.spec, status)

    def _inject(self, request: Request, number: int, injection: Injection) -> Response:
        if injection.action.do is Do.DROP:
            self._announce(request, number, injection, None)
            return Response(DROPPED)
        if injection.action.do is Do.FRESH_PAGES:
            page = self.faults.fresh_pages.page(request.param("perPage"))
            self._announce(request, number, injection, page.status)
            return page
        response = injected_response(injection.action, injection.armed.rule.spec)
        self._announce(request, number, injection, response.status)
        return response

    def _caller(self, request: Request) -> str | None:
        """Who sent a request that a fault answers unprocessed (for the log only; never an error)."""
        match = _BEARER.match(request.headers.get("authorization", ""))
        if match is not None:
            try:
                return self.store.client_for(match.group(1))
            except Fault:
                return None
        try:
            form = parse_qs(request.body.decode("utf-8"))
        except UnicodeDecodeError:
            return None
        return next(iter(form.get("client_id") or ()), None)

    def _guarded(self, work: Callable[[], Response]) -> Response:
        try:
            return work()
        except Fault as fault:
            return fault.response()
        except Exception as exc:  # a sandbox bug must still answer JSON, as the real API's 500s do
            log.exception("sandbox error")
            return json_response(500, {"message": f"Internal server error ({type(exc).__name__})"})

    def _serve(self, request: Request, path: str, client: list[str | None], number: int) -> Response:
        if path == "/oauth/authorize" and request.method == "GET":
            return self.oauth.authorize(request)  # a page a person opens: not an API call, not counted
        if path == "/oauth/token":
            if request.method != "POST":
                raise Fault(405, f"Method {request.method} is not allowed on /oauth/token")
            echo = self.faults.echo_rule()
            if echo is not None:
                self.faults.record(number, request.method, request.path, "echo-token", echo.spec, 400)
                return echo_response(echo.form, request.body)
            return self._token(request, client)
        client_id = client[0] = self._authenticate(request, number)
        self._admit(client_id)
        target = lock_target(request.method, path)
        lock = self.faults.lock_rule(*target) if target is not None else None
        if lock is not None:
            try:
                return self._route(request, path)
            except Fault as fault:
                if fault.status == 423:
                    self.faults.note_lock(lock)
                    self.faults.record(number, request.method, request.path, "lock", lock.rule.spec, 423)
                raise
        return self._route(request, path)

    def _route(self, request: Request, path: str) -> Response:
        allowed: list[str] = []
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match:
                if method == request.method:
                    return handler(request, match.groups())
                allowed.append(method)
        if allowed:
            raise Fault(405, f"Method {request.method} is not allowed on {path} (use {', '.join(allowed)})")
        raise Fault(404, f"No such resource: {request.method} {request.path}")

    # -- authentication and rate windows --------------------------------------------------------------------

    def _token(self, request: Request, client: list[str | None]) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != _FORM:
            raise Fault(400, f"Send the token request as {_FORM}", error="invalid_request")
        try:
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise Fault(400, "The token request body is not UTF-8", error="invalid_request") from None
        grant = (form.get("grant_type") or [""])[0]
        if grant in ("authorization_code", "refresh_token"):
            tokens = self.oauth.grant(request, grant, form, self._token_ttl)
            client[0] = owner = self.store.client_for(str(tokens["access_token"]))
            self._admit(owner)
            return json_response(200, tokens)
        if grant != "client_credentials":
            raise Fault(400, f"Unsupported grant type '{grant}'", error="unsupported_grant_type")
        client_id = (form.get("client_id") or [""])[0]
        client[0] = client_id or None
        token = self.store.issue_token(client_id, (form.get("client_secret") or [""])[0], self._token_ttl)
        if token is None:
            raise Fault(401, "Bad client credentials", error="invalid_client")
        self._admit(client_id)  # Kameleoon does not say whether this call counts: assume it does
        ttl = int(self._token_ttl)
        return json_response(200, {"access_token": token, "token_type": "Bearer", "expires_in": ttl})

    def _authenticate(self, request: Request, number: int) -> str:
        match = _BEARER.match(request.headers.get("authorization", ""))
        if match is None:
            raise Fault(
                401,
                "Full authentication is required to access this resource",
                headers=(("WWW-Authenticate", 'Bearer realm="kameleoon"'),),
                error="unauthorized",
            )
        client_id = self.store.client_for(match.group(1))
        expired = self.faults.token_expired(match.group(1))
        if expired is not None:
            self.faults.record(number, request.method, request.path, "expire-token", expired.rule.spec, 401)
            raise Fault(401, "Invalid access token: the token has expired", error="invalid_token")
        return client_id

    def _admit(self, client_id: str) -> None:
        wait = self._limiter.admit(client_id)
        if wait is not None:
            headers = (("Retry-After", str(max(1, math.ceil(wait)))),) if self._retry_after else ()
            raise Fault(429, "Too many requests", headers=headers)

    # -- resources ------------------------------------------------------------------------------------------

    def _list(self, kind: str, request: Request, optional: tuple[str, ...] = ()) -> Response:
        fields = o.FIELDS[kind]
        conditions = parse_filter(request.param("filter"), fields)
        sort = parse_sort(request.param("sort"), fields)
        page, per_page = parse_page(request.param("page"), request.param("perPage"))
        chosen = self.store.picked(kind, lambda items: select(items, conditions, sort, page, per_page))
        if kind == "experiment":
            chosen = [o.experiment_view(item, optional) for item in chosen]
        return json_response(200, chosen)

    def _lister(self, kind: str) -> Handler:
        return lambda request, _groups: self._list(kind, request)

    def _getter(self, kind: str) -> Handler:
        return lambda _request, groups: json_response(200, self.store.get(kind, _id(groups[0], kind)))

    def _simulator(self, kind: str) -> Handler:
        """The simulation URL of an experiment or personalization, as text (public clients open it in a browser)."""

        def simulate(_request: Request, groups: tuple[str, ...]) -> Response:
            obj_id = _id(groups[0], kind)
            site = self.store.get("site", self.store.get(kind, obj_id)["siteId"])
            query = urlencode({"kameleoon-simulation": "true", f"kameleoon-{kind}-id": obj_id})
            return text_response(200, f"{str(site['url']).rstrip('/')}/?{query}")

        return simulate

    @staticmethod
    def _optional(request: Request) -> tuple[str, ...]:
        raw = ",".join(request.query.get("optionalFields", ()))
        return tuple(name.strip() for name in raw.split(",") if name.strip())

    def _list_experiments(self, request: Request, _groups: tuple[str, ...]) -> Response:
        return self._list("experiment", request, self._optional(request))

    def _get_experiment(self, request: Request, groups: tuple[str, ...]) -> Response:
        exp = self.store.get("experiment", _id(groups[0], "experiment"))
        return json_response(200, o.experiment_view(exp, self._optional(request)))

    def _create_experiment(self, request: Request, _groups: tuple[str, ...]) -> Response:
        return json_response(201, self.store.create_experiment(read_json_object(request.body)))

    def _patch_experiment(self, request: Request, groups: tuple[str, ...]) -> Response:
        action = request.param("action")
        body = read_json_object(request.body, empty_ok=action is not None)
        exp_id = _id(groups[0], "experiment")
        return json_response(200, self.store.update_experiment(exp_id, body, action.upper() if action else None))

    def _create_variation(self, request: Request, _groups: tuple[str, ...]) -> Response:
        return json_response(201, self.store.create_variation(read_json_object(request.body)))

    def _write_variation(self, request: Request, groups: tuple[str, ...]) -> Response:
        var_id = _id(groups[0], "variation")
        body = read_json_object(request.body)
        return json_response(200, self.store.update_variation(var_id, body, replace=request.method == "PUT"))

    def _delete_variation(self, _request: Request, groups: tuple[str, ...]) -> Response:
        self.store.remove_variation(_id(groups[0], "variation"))
        return Response(204)

    def _replace_site(self, request: Request, groups: tuple[str, ...]) -> Response:
        return json_response(200, self.store.replace_site(_id(groups[0], "site"), read_json_object(request.body)))

    def _patch_personalization(self, request: Request, groups: tuple[str, ...]) -> Response:
        pers_id = _id(groups[0], "personalization")
        return json_response(200, self.store.update_personalization(pers_id, read_json_object(request.body)))
