"""Admin routes under ``/_sandbox/``: what a subprocess test or a demo script uses to act as the Kameleoon UI.

No authentication, no rate windows, no request log, never faulted: these are not part of the imitated API.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from kamsync.core.errors import UsageError
from kamsync.sandbox.faults import GRAMMAR, Faults, parse_fault
from kamsync.sandbox.wire import Fault, Request, Response, json_response, read_json_object

if TYPE_CHECKING:
    from kamsync.sandbox.clock import Clock
    from kamsync.sandbox.store import Store

__all__ = ["Admin"]

_EXPERIMENT = re.compile(r"/_sandbox/experiments/(\d+)")
_EXPERIMENT_VARIATIONS = re.compile(r"/_sandbox/experiments/(\d+)/variations")
_VARIATION = re.compile(r"/_sandbox/variations/(\d+)")
_PERSONALIZATION = re.compile(r"/_sandbox/personalizations/(\d+)")
_SITE = re.compile(r"/_sandbox/sites/(\d+)")


class Admin:
    def __init__(self, store: Store, faults: Faults, clock: Clock) -> None:
        self.store = store
        self.faults = faults
        self.clock = clock

    def handle(self, request: Request, path: str) -> Response:
        method = request.method
        if path.startswith("/_sandbox/faults"):
            return self._faults(request, path)
        if path == "/_sandbox/clock":
            return self._clock(request)
        if path == "/_sandbox/requests" and method == "GET":
            return json_response(200, [dataclasses.asdict(r) for r in self.store.requests])
        if path == "/_sandbox/requests" and method == "DELETE":
            self.store.clear_requests()
            return Response(204)
        if path == "/_sandbox/state" and method == "GET":
            return json_response(200, self.store.snapshot())
        if path == "/_sandbox/locks" and method == "POST":
            body = read_json_object(request.body)
            kind, obj_id, locked = body.get("kind"), body.get("id"), body.get("locked", True)
            if not isinstance(kind, str) or not isinstance(obj_id, int) or not isinstance(locked, bool):
                raise Fault(400, 'Send {"kind": "experiment"|"variation", "id": <int>, "locked": true|false}')
            self.store.set_locked(kind, obj_id, locked)
            return json_response(200, {"kind": kind, "id": obj_id, "locked": locked})
        if path == "/_sandbox/experiments" and method == "POST":
            body = read_json_object(request.body)
            name = body.pop("name", None)
            if not isinstance(name, str):
                raise Fault(400, 'Send at least {"name": …}')
            try:
                return json_response(201, {"id": self.store.add_experiment(name, **body)})
            except TypeError as exc:  # an unexpected keyword: say which, as a 400
                raise Fault(400, f"Bad experiment fields: {exc}") from None
        if (match := _EXPERIMENT_VARIATIONS.fullmatch(path)) and method == "POST":
            body = read_json_object(request.body)
            name, js, css = body.get("name"), body.get("jsCode", ""), body.get("cssCode", "")
            if not isinstance(name, str):
                raise Fault(400, 'Send {"name": …, "jsCode": …, "cssCode": …}')
            return json_response(201, {"id": self.store.add_variation(int(match[1]), name, js, css)})
        if (match := _EXPERIMENT.fullmatch(path)) and method == "PATCH":
            return json_response(200, self.store.ui_edit_experiment(int(match[1]), **read_json_object(request.body)))
        if (match := _VARIATION.fullmatch(path)) and method == "PATCH":
            return json_response(200, self.store.ui_edit_variation(int(match[1]), **read_json_object(request.body)))
        if (match := _PERSONALIZATION.fullmatch(path)) and method == "PATCH":
            edit = read_json_object(request.body)
            return json_response(200, self.store.ui_edit_personalization(int(match[1]), **edit))
        if (match := _SITE.fullmatch(path)) and method == "PATCH":  # any field, as the app keeps more than the API
            return json_response(200, self.store.ui_edit_site(int(match[1]), **read_json_object(request.body)))
        if (match := _VARIATION.fullmatch(path)) and method == "DELETE":
            self.store.delete_variation(int(match[1]))
            return Response(204)
        raise Fault(404, f"No such admin route: {method} {path}")

    def _clock(self, request: Request) -> Response:
        """``GET`` how far the clock was advanced; ``POST {"advance": seconds}`` moves it on (tokens expire…)."""
        if request.method == "GET":
            return json_response(200, {"advanced": self.clock.advanced})
        if request.method != "POST":
            raise Fault(405, f"Method {request.method} is not allowed on /_sandbox/clock (use GET, POST)")
        seconds = read_json_object(request.body).get("advance")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise Fault(400, 'Send {"advance": <seconds>}: how many seconds to move the sandbox clock forward')
        try:
            advanced = self.clock.advance(seconds)
        except ValueError as exc:
            raise Fault(400, str(exc)) from None
        return json_response(200, {"advanced": advanced})

    def _faults(self, request: Request, path: str) -> Response:
        """``GET`` rules and events, ``POST {"faults": [spec, …]}`` arms, ``DELETE`` clears; ``…/release``."""
        method = request.method
        if path == "/_sandbox/faults" and method == "GET":
            return json_response(200, self.faults.snapshot())
        if path == "/_sandbox/faults" and method == "DELETE":
            self.faults.clear()
            return Response(204)
        if path == "/_sandbox/faults/release" and method == "POST":
            self.faults.release_all()
            return Response(204)
        if path == "/_sandbox/faults" and method == "POST":
            specs = read_json_object(request.body).get("faults")
            if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
                raise Fault(400, f'Send {{"faults": ["PATCH 3=503", …]}}: a list of fault specs, each {GRAMMAR}')
            try:
                rules = [parse_fault(s) for s in specs]
            except UsageError as exc:
                raise Fault(400, str(exc)) from None
            armed = self.faults.arm(*rules)
            return json_response(200, {"armed": [{"index": a.index, "spec": a.rule.spec} for a in armed]})
        raise Fault(404, f"No such admin route: {method} {path}")
