"""The sandbox's state and the domain rules of its writes, behind one lock.

Every public method takes the lock, works on the stored dicts and returns copies, so the HTTP threads, the
test suite ("edits made in the Kameleoon UI") and the state file always see one consistent state.
"""

from __future__ import annotations

import copy
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from kamsync.sandbox import objects as o
from kamsync.sandbox.state import LOCKABLE, State
from kamsync.sandbox.wire import Fault, RequestRecord

__all__ = ["Store"]


class Store:
    def __init__(self, state_file: Path | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.RLock()
        self._file = state_file
        self._clock = clock  # for token expiry only: dates use the wall clock
        self._tokens: dict[str, tuple[str, float]] = {}  # in memory: a restart revokes every token
        self._issued: list[str] = []
        # Tests set this to act as a server that revokes every token it issues: bearer calls get 401.
        self.revoke_tokens_always = False
        self._requests: list[RequestRecord] = []
        self._state = State.open(state_file)
        self._objects = self._state.objects
        self._locked = self._state.locked

    def _save(self) -> None:
        self._state.save(self._file)

    def _new_id(self, kind: str) -> int:
        return self._state.new_id(kind)

    def _get(self, kind: str, obj_id: int) -> o.Obj:
        obj = self._objects[kind].get(obj_id)
        if obj is None:
            raise Fault(404, f"{kind.capitalize()} {obj_id} not found")
        return obj

    def _unlocked(self, kind: str, obj_id: int) -> None:
        if (kind, obj_id) in self._locked:
            raise Fault(423, f"The {kind} is locked by another user in the Kameleoon app")

    def _site(self, site_id: int) -> o.Obj:
        site = self._objects["site"].get(site_id)
        if site is None:
            raise Fault(400, f"Site {site_id} not found")
        return site

    # -- clients and tokens ----------------------------------------------------------------------------------

    def add_client(self, client_id: str, secret: str) -> None:
        with self._lock:
            self._state.clients[client_id] = secret
            self._save()

    def knows_client(self, client_id: str) -> bool:
        with self._lock:
            return client_id in self._state.clients

    def issue_token(self, client_id: str, secret: str, ttl: float) -> str | None:
        """A new access token, or ``None`` when the credentials are wrong."""
        with self._lock:
            known = self._state.clients.get(client_id)
            if known is None or not hmac.compare_digest(known.encode(), secret.encode()):
                return None
            now = self._clock()
            self._tokens = {t: entry for t, entry in self._tokens.items() if entry[1] > now}
            token = secrets.token_urlsafe(32)
            self._tokens[token] = (client_id, now + ttl)
            self._issued.append(token)
            return token

    def issued_tokens(self) -> list[str]:
        """Every access token issued so far, oldest first (for tests checking that none leaks into output)."""
        with self._lock:
            return list(self._issued)

    def client_for(self, token: str) -> str:
        """The client id a valid token belongs to; a 401 for an unknown or expired one (never echoing it)."""
        with self._lock:
            entry = self._tokens.get(token)
            if entry is not None and self.revoke_tokens_always:
                raise Fault(401, "Invalid access token: the token has been revoked", error="invalid_token")
            if entry is None:
                raise Fault(401, "Invalid access token: the token is unknown", error="invalid_token")
            if self._clock() >= entry[1]:  # kept until the next issue prunes it, so the message stays "expired"
                raise Fault(401, "Invalid access token: the token has expired", error="invalid_token")
            return entry[0]

    # -- reads -----------------------------------------------------------------------------------------------

    def all(self, kind: str) -> list[o.Obj]:
        with self._lock:
            return copy.deepcopy(list(self._objects[kind].values()))

    def get(self, kind: str, obj_id: int) -> o.Obj:
        with self._lock:
            return copy.deepcopy(self._get(kind, obj_id))

    def find(self, kind: str, obj_id: int) -> o.Obj | None:
        with self._lock:
            obj = self._objects[kind].get(obj_id)
            return None if obj is None else copy.deepcopy(obj)

    def experiment(self, experiment_id: int) -> o.Obj | None:
        return self.find("experiment", experiment_id)

    def variation(self, variation_id: int) -> o.Obj | None:
        return self.find("variation", variation_id)

    def personalization(self, personalization_id: int) -> o.Obj | None:
        return self.find("personalization", personalization_id)

    def site_by_code(self, code: str) -> o.Obj:
        with self._lock:
            for site in self._objects["site"].values():
                if site["code"] == code:
                    return copy.deepcopy(site)
        raise Fault(404, f"Site with code {code} not found")

    # -- experiments -----------------------------------------------------------------------------------------

    def create_experiment(self, body: Mapping[str, Any]) -> o.Obj:
        with self._lock:
            o.required("experiment", body, ("name", "siteId", "baseURL"))
            fields = o.validated("experiment", body, o.EXPERIMENT_CREATE, ("variations", "deviations"))
            return self._insert_experiment(fields, "DRAFT", [{"name": "Variation 1"}])

    def _insert_experiment(self, fields: Mapping[str, Any], status: str, variations: Iterable[o.Obj]) -> o.Obj:
        site = self._site(fields["siteId"])
        exp_id = self._new_id("experiment")
        exp = o.complete("experiment", {**fields, "id": exp_id, "siteCode": site["code"], "status": status})
        exp["dateCreated"] = exp["dateModified"] = o.stamp(None)
        for var in variations:
            var_id = self._new_id("variation")
            made = o.complete("variation", {**var, "id": var_id, "siteId": site["id"], "experimentId": exp_id})
            self._objects["variation"][var_id] = made
            exp["variations"].append(var_id)
        exp["deviations"] = o.even_split(exp["variations"])
        self._objects["experiment"][exp_id] = exp
        self._save()
        return copy.deepcopy(exp)

    def update_experiment(
        self, exp_id: int, body: Mapping[str, Any], action: str | None = None, *, ui: bool = False
    ) -> o.Obj:
        """A partial update (``PATCH``); ``ui`` edits ignore locks and may set ``status`` directly."""
        with self._lock:
            exp = self._get("experiment", exp_id)
            if not ui:
                self._unlocked("experiment", exp_id)
            writable = {**o.EXPERIMENT_WRITABLE, **(o.STATUS if ui else {})}
            changes = o.validated("experiment", body, writable, o.EXPERIMENT_READ_ONLY)
            if action is not None:
                if action not in o.ACTIONS:
                    raise Fault(400, f"Unknown action '{action}' (use one of {', '.join(o.ACTIONS)})")
                changes["status"] = o.ACTIONS[action]
            old_ids: list[int] = exp["variations"]
            new_ids = self._attachable(exp, changes["variations"]) if "variations" in changes else old_ids
            if "deviations" in changes:
                changes["deviations"] = o.validate_deviations(changes["deviations"], new_ids)
            elif set(new_ids) != set(old_ids):
                # Attaching or detaching without a split: share traffic evenly (visitors see the change).
                changes["deviations"] = o.even_split(new_ids)
            if "variations" in changes:
                changes["variations"] = new_ids
                for var_id in set(old_ids) - set(new_ids):
                    if self._objects["variation"][var_id]["experimentId"] == exp_id:
                        self._objects["variation"][var_id]["experimentId"] = None
                for var_id in new_ids:
                    self._objects["variation"][var_id]["experimentId"] = exp_id
            exp.update(changes)
            exp["dateModified"] = o.stamp(exp["dateModified"])
            self._save()
            return copy.deepcopy(exp)

    def _attachable(self, exp: o.Obj, raw: list[Any]) -> list[int]:
        """The variation ids of a ``variations`` array (ids, or older payloads' ``{"id": …}`` objects)."""
        ids: list[int] = []
        for item in raw:
            var_id = item.get("id") if isinstance(item, dict) else item
            if isinstance(var_id, bool) or not isinstance(var_id, int):
                raise Fault(400, "Invalid experiment field 'variations': expected an array of variation ids")
            var = self._objects["variation"].get(var_id)
            if var is None:
                raise Fault(400, f"Invalid experiment field 'variations': variation {var_id} does not exist")
            owner = self._owner(var_id)
            if owner not in (None, exp["id"]):
                raise Fault(400, f"Variation {var_id} already belongs to experiment {owner}")
            if var["siteId"] != exp["siteId"]:
                raise Fault(400, f"Variation {var_id} belongs to site {var['siteId']}, not {exp['siteId']}")
            if var_id not in ids:
                ids.append(var_id)
        return ids

    def _owner(self, var_id: int) -> int | None:
        """The experiment whose ``variations`` list holds ``var_id`` (what "attached" means)."""
        return next((e["id"] for e in self._objects["experiment"].values() if var_id in e["variations"]), None)

    # -- variations ------------------------------------------------------------------------------------------

    def create_variation(self, body: Mapping[str, Any]) -> o.Obj:
        """``POST /variations``: stored with any ``experimentId`` given, but attached to no experiment."""
        with self._lock:
            o.required("variation", body, ("name", "siteId"))
            fields = o.validated("variation", body, o.VARIATION_CREATE, o.VARIATION_READ_ONLY - {"siteId"})
            self._site(fields["siteId"])
            self._check_experiment_id(fields.get("experimentId"))
            var = o.complete("variation", {**fields, "id": self._new_id("variation")})
            self._objects["variation"][var["id"]] = var
            self._save()
            return copy.deepcopy(var)

    def _check_experiment_id(self, exp_id: int | None) -> None:
        if exp_id is not None and exp_id not in self._objects["experiment"]:
            raise Fault(400, f"Invalid variation field 'experimentId': experiment {exp_id} does not exist")

    def update_variation(
        self, var_id: int, body: Mapping[str, Any], *, replace: bool = False, ui: bool = False
    ) -> o.Obj:
        """``PATCH`` (partial) or, with ``replace``, ``PUT`` (omitted fields reset; experiment, site kept)."""
        with self._lock:
            var = self._get("variation", var_id)
            if not ui:
                self._unlocked("variation", var_id)
            if replace:
                o.required("variation", body, ("name",))
            changes = o.validated("variation", body, o.VARIATION_WRITABLE, o.VARIATION_READ_ONLY)
            if "experimentId" in changes and changes["experimentId"] != var["experimentId"]:
                self._check_experiment_id(changes["experimentId"])
                owner = self._owner(var_id)
                if owner is not None:
                    raise Fault(400, f"Variation {var_id} is attached to experiment {owner}: detach it there first")
            if replace:
                kept = ("id", "siteId", "experimentId", *sorted(o.VARIATION_READ_ONLY))
                base = o.complete("variation", {k: var[k] for k in kept})
                var.clear()
                var.update(base)
            var.update(changes)
            self._save()
            return copy.deepcopy(var)

    def remove_variation(self, var_id: int, *, ui: bool = False) -> None:
        """``DELETE``: also detaches it from its experiment, whose other variations keep their proportions."""
        with self._lock:
            self._get("variation", var_id)
            if not ui:
                self._unlocked("variation", var_id)
            owner = self._owner(var_id)
            if owner is not None:
                exp = self._objects["experiment"][owner]
                exp["variations"] = [v for v in exp["variations"] if v != var_id]
                exp["deviations"] = o.without(exp["deviations"], var_id, exp["variations"])
                exp["dateModified"] = o.stamp(exp["dateModified"])
            del self._objects["variation"][var_id]
            self._locked.discard(("variation", var_id))
            self._save()

    # -- personalizations ------------------------------------------------------------------------------------

    def update_personalization(self, pers_id: int, body: Mapping[str, Any], *, ui: bool = False) -> o.Obj:
        """A partial update (``PATCH``); ``ui`` edits ignore locks and may set ``status`` directly."""
        with self._lock:
            pers = self._get("personalization", pers_id)
            if not ui:
                self._unlocked("personalization", pers_id)
            writable = {**o.PERSONALIZATION_WRITABLE, **(o.STATUS if ui else {})}
            pers.update(o.validated("personalization", body, writable, o.PERSONALIZATION_READ_ONLY))
            pers["dateModified"] = o.stamp(pers["dateModified"])
            self._save()
            return copy.deepcopy(pers)

    def add_personalization(
        self,
        name: str,
        *,
        status: str = "DRAFT",
        site_id: int = 1,
        variations: Iterable[Mapping[str, Any]] = (),
        **code: str,
    ) -> int:
        """A personalization with ``code`` (``javaScriptCode``, ``cssCode``, ``globalScript``) and ordinary
        variations listed in ``variationIds``."""
        with self._lock:
            self._site(site_id)
            fields = o.validated("personalization", {"name": name, **code}, o.PERSONALIZATION_WRITABLE, ())
            pers_id = self._new_id("personalization")
            pers = o.complete("personalization", {**fields, "id": pers_id, "siteId": site_id, "status": status})
            for spec in variations:
                var_id = self._new_id("variation")
                var = o.validated("variation", dict(spec), o.VARIATION_WRITABLE, ())
                self._objects["variation"][var_id] = o.complete(
                    "variation", {**var, "id": var_id, "siteId": site_id, "personalizationId": pers_id}
                )
                pers["variationIds"].append(var_id)
            pers["dateModified"] = o.stamp(None)
            self._objects["personalization"][pers_id] = pers
            self._save()
            return pers_id

    # -- sites -----------------------------------------------------------------------------------------------

    def replace_site(self, site_id: int, body: Mapping[str, Any], *, ui: bool = False) -> o.Obj:
        """``PUT``: the body is the whole new object (``objects.replaced_site`` says what that means)."""
        with self._lock:
            site = self._get("site", site_id)
            new = o.replaced_site(site, body, ui=ui)
            site.clear()
            site.update(new)
            self._save()
            return copy.deepcopy(site)

    def ui_edit_site(self, site_id: int, **fields: Any) -> o.Obj:
        """Change some fields of the site (fields of the app's own included), as the Kameleoon UI would."""
        with self._lock:
            return self.replace_site(site_id, {**self._get("site", site_id), **fields}, ui=True)

    def ui_edit_personalization(self, personalization_id: int, **fields: Any) -> o.Obj:
        return self.update_personalization(personalization_id, fields, ui=True)

    # -- "edits made in the Kameleoon UI" (tests and admin routes: no lock checks, not logged) -------------

    def ui_edit_experiment(self, experiment_id: int, **fields: Any) -> o.Obj:
        return self.update_experiment(experiment_id, fields, ui=True)

    def ui_edit_variation(self, variation_id: int, **fields: Any) -> o.Obj:
        return self.update_variation(variation_id, fields, ui=True)

    def add_variation(self, experiment_id: int, name: str, jsCode: str = "", cssCode: str = "") -> int:
        """Create a variation and attach it (variations list and an even traffic split)."""
        with self._lock:
            exp = self._get("experiment", experiment_id)
            fields = o.validated(
                "variation", {"name": name, "jsCode": jsCode, "cssCode": cssCode}, o.VARIATION_WRITABLE, ()
            )
            var_id = self._new_id("variation")
            self._objects["variation"][var_id] = o.complete(
                "variation", {**fields, "id": var_id, "siteId": exp["siteId"], "experimentId": experiment_id}
            )
            exp["variations"].append(var_id)
            exp["deviations"] = o.even_split(exp["variations"])
            exp["dateModified"] = o.stamp(exp["dateModified"])
            self._save()
            return var_id

    def delete_variation(self, variation_id: int) -> None:
        self.remove_variation(variation_id, ui=True)

    def add_experiment(
        self,
        name: str,
        *,
        status: str = "draft",
        site_id: int = 1,
        commonJavaScriptCode: str = "",  # the API's field names, so calls read like payloads
        commonCssCode: str = "",
        globalScript: str = "",
        variations: Iterable[Mapping[str, Any]] = (),
    ) -> int:
        with self._lock:
            site = self._site(site_id)
            body = {
                "name": name,
                "siteId": site_id,
                "baseURL": site["url"],
                "type": "DEVELOPER",
                "commonJavaScriptCode": commonJavaScriptCode,
                "commonCssCode": commonCssCode,
                "globalScript": globalScript,
            }
            fields = o.validated("experiment", body, o.EXPERIMENT_CREATE, ())
            specs = [o.validated("variation", dict(v), o.VARIATION_WRITABLE, ()) for v in variations]
            exp: int = self._insert_experiment(fields, status, specs)["id"]
            return exp

    def set_locked(self, kind: str, obj_id: int, locked: bool) -> None:
        """Mark an object as held by the Kameleoon app: API writes to it answer 423 until unlocked."""
        with self._lock:
            if kind not in LOCKABLE:
                raise Fault(400, f"Unknown kind '{kind}' (use one of {', '.join(LOCKABLE)})")
            self._get(kind, obj_id)
            if locked:
                self._locked.add((kind, obj_id))
            else:
                self._locked.discard((kind, obj_id))
            self._save()

    # -- the request log (memory only) -----------------------------------------------------------------------

    def record(self, entry: RequestRecord) -> None:
        with self._lock:
            self._requests.append(entry)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def snapshot(self) -> dict[str, Any]:
        """The whole state as it would be saved (for ``GET /_sandbox/state``)."""
        with self._lock:
            return copy.deepcopy(self._state.to_json())
