"""The shapes of sandbox objects: their fields and defaults, what a write may change, and the traffic split.

Objects are plain JSON dicts on purpose: the sandbox imitates a JSON API, and keeping the stored form equal to
the wire form means a state file can be read and edited by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from kamsync.sandbox.wire import Fault

__all__ = [
    "ACTIONS",
    "EXPERIMENT_CREATE",
    "EXPERIMENT_OPTIONAL",
    "EXPERIMENT_READ_ONLY",
    "EXPERIMENT_WRITABLE",
    "FIELDS",
    "PERSONALIZATION_READ_ONLY",
    "PERSONALIZATION_WRITABLE",
    "SITE_READ_ONLY",
    "SITE_WRITABLE",
    "STATUS",
    "VARIATION_CREATE",
    "VARIATION_READ_ONLY",
    "VARIATION_WRITABLE",
    "Obj",
    "complete",
    "even_split",
    "experiment_view",
    "replaced_site",
    "required",
    "stamp",
    "validate_deviations",
    "validated",
    "without",
]

# A stored object, exactly as the API would serialise it.
Obj = dict[str, Any]

Check = tuple[Callable[[object], bool], str]
_STR: Check = (lambda v: isinstance(v, str), "a string")
_NAME: Check = (lambda v: isinstance(v, str) and bool(v.strip()), "a non-empty string")
_OPT_STR: Check = (lambda v: v is None or isinstance(v, str), "a string or null")
_BOOL: Check = (lambda v: isinstance(v, bool), "true or false")
_INT: Check = (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer")
_OPT_INT: Check = (
    lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
    "an integer or null",
)
_LIST: Check = (lambda v: isinstance(v, list), "an array")
_OBJECT: Check = (lambda v: isinstance(v, dict), "an object")
_OPT_OBJECT: Check = (lambda v: v is None or isinstance(v, dict), "an object or null")
_ANY: Check = (lambda v: True, "any value")

_DEFAULTS: dict[str, Obj] = {
    "site": {
        "id": 0,
        "code": "",
        "url": "",
        "name": "",
        "description": "",
        "trackingScript": "",
        "domains": [],
        "dateCreated": "",
        "dateModified": "",
    },
    "experiment": {
        "id": 0,
        "name": "",
        "siteId": 0,
        "siteCode": "",
        "baseURL": "",
        "status": "DRAFT",
        "type": "CLASSIC",
        "dateCreated": "",
        "dateModified": "",
        "commonJavaScriptCode": "",
        "commonCssCode": "",
        "globalScript": "",
        "variations": [],
        "deviations": {"origin": 1.0},
        "goals": [],
        "tags": [],
        "mainGoalId": None,
    },
    "variation": {
        "id": 0,
        "name": "",
        "siteId": 0,
        "experimentId": None,
        "personalizationId": None,
        "jsCode": "",
        "cssCode": "",
        "isJsCodeAfterDomReady": True,
        "shadowDom": False,
        "forceNoFlicker": False,
        "redirection": None,
        "customJson": None,
        "widgetTemplateInput": None,
        "color": None,
        "creationMode": "CODE",
        "generatedJsCode": "",
        "generatedCssCode": "",
    },
    "personalization": {
        "id": 0,
        "name": "",
        "siteId": 0,
        "status": "DRAFT",
        "type": "DEVELOPER",
        "dateModified": "",
        "javaScriptCode": "",
        "cssCode": "",
        "globalScript": "",
        "variationIds": [],
    },
}
FIELDS: dict[str, frozenset[str]] = {kind: frozenset(obj) for kind, obj in _DEFAULTS.items()}

# Experiments leave these out of reads unless ``optionalFields`` names them (the real API does the same).
EXPERIMENT_OPTIONAL = ("variations", "globalScript", "goals", "tags")

EXPERIMENT_WRITABLE: dict[str, Check] = {
    "name": _NAME,
    "baseURL": _STR,
    "type": _STR,
    "commonJavaScriptCode": _STR,
    "commonCssCode": _STR,
    "globalScript": _STR,
    "variations": _LIST,
    "deviations": _OBJECT,
    "goals": _LIST,
    "tags": _LIST,
    "mainGoalId": _OPT_INT,
}
EXPERIMENT_READ_ONLY = frozenset({"id", "siteId", "siteCode", "status", "dateCreated", "dateModified"})
EXPERIMENT_CREATE: dict[str, Check] = {
    **{k: v for k, v in EXPERIMENT_WRITABLE.items() if k not in ("variations", "deviations")},
    "siteId": _INT,
}
VARIATION_WRITABLE: dict[str, Check] = {
    "name": _NAME,
    "jsCode": _STR,
    "cssCode": _STR,
    "experimentId": _OPT_INT,
    "personalizationId": _OPT_INT,
    "isJsCodeAfterDomReady": _BOOL,
    "shadowDom": _ANY,
    "forceNoFlicker": _BOOL,
    "redirection": _OPT_OBJECT,
    "customJson": _ANY,
    "widgetTemplateInput": _ANY,
    "color": _OPT_STR,
}
VARIATION_READ_ONLY = frozenset({"id", "siteId", "creationMode", "generatedJsCode", "generatedCssCode"})
VARIATION_CREATE: dict[str, Check] = {**VARIATION_WRITABLE, "siteId": _INT}
PERSONALIZATION_WRITABLE: dict[str, Check] = {
    "name": _NAME,
    "javaScriptCode": _STR,
    "cssCode": _STR,
    "globalScript": _STR,
    "variationIds": _LIST,
}
PERSONALIZATION_READ_ONLY = frozenset({"id", "siteId", "status", "type", "dateModified"})
# ``PUT /sites/{id}`` replaces the whole object: these may change, the read-only ones must come back unchanged,
# and any other field the stored object has (the Kameleoon app keeps more than kamsync knows) is kept as sent.
SITE_WRITABLE: dict[str, Check] = {
    "url": _STR,
    "name": _NAME,
    "description": _OPT_STR,
    "trackingScript": _OPT_STR,
    "domains": _LIST,
}
SITE_READ_ONLY = frozenset({"id", "code", "dateCreated", "dateModified"})
STATUS: dict[str, Check] = {"status": _NAME}

# ``PATCH /experiments/{id}?action=…`` → the status it stores.
ACTIONS = {
    "ACTIVATE": "ACTIVE",
    "PAUSE": "PAUSED",
    "RESUME": "ACTIVE",
    "STOP": "STOPPED",
    "DEACTIVATE": "DEACTIVATED",
}

_STAMP = "%Y-%m-%dT%H:%M:%S"


def complete(kind: str, obj: Mapping[str, Any]) -> Obj:
    """``obj`` with every missing field at its default (state files may be written by hand)."""
    full: Obj = {**_DEFAULTS[kind], **obj}
    for key, value in full.items():
        if isinstance(value, (list, dict)):
            full[key] = type(value)(value)  # never share the defaults' containers
    return full


def validated(label: str, body: Mapping[str, Any], writable: Mapping[str, Check], ignored: Collection[str]) -> Obj:
    """The fields of ``body`` a write applies: read-only ones dropped, unknown or ill-typed ones a 400."""
    changes: Obj = {}
    for key, value in body.items():
        if key in writable:
            check, expected = writable[key]
            if not check(value):
                raise Fault(400, f"Invalid {label} field '{key}': expected {expected}")
            changes[key] = value
        elif key not in ignored:
            raise Fault(400, f"Unknown {label} field '{key}'")
    return changes


def replaced_site(site: Mapping[str, Any], body: Mapping[str, Any], *, ui: bool = False) -> Obj:
    """What ``PUT /sites/{id}`` makes of ``site``: the body is the whole new object. A field it leaves out is
    gone (back to its default), the read-only ones must come back unchanged, and a field the API does not know
    is a 400 unless the stored object has it (what the Kameleoon app keeps beyond the documented fields).
    ``ui`` edits may add any field."""
    for key in SITE_READ_ONLY - {"dateModified"}:
        if key in body and body[key] != site[key]:
            raise Fault(400, f"Invalid site field '{key}': it cannot be changed")
    extra = {k: v for k, v in body.items() if k not in FIELDS["site"] and (ui or k in site)}
    changes = validated("site", {k: v for k, v in body.items() if k not in extra}, SITE_WRITABLE, SITE_READ_ONLY)
    kept = {k: site[k] for k in SITE_READ_ONLY}
    new = complete("site", {**kept, **changes, **extra})
    new["dateModified"] = stamp(kept["dateModified"] or None)
    return new


def required(label: str, body: Mapping[str, Any], names: Iterable[str]) -> None:
    missing = [name for name in names if name not in body]
    if missing:
        raise Fault(400, f"Missing required {label} field(s): {', '.join(missing)}")


def experiment_view(obj: Mapping[str, Any], optional: Collection[str]) -> Obj:
    """What a read of the experiment returns when ``optional`` fields were asked for."""
    return {k: v for k, v in obj.items() if k not in EXPERIMENT_OPTIONAL or k in optional}


def even_split(variation_ids: Iterable[int]) -> dict[str, float]:
    """Equal traffic for the original and each variation; rounding goes to the original so the sum is 1."""
    ids = list(variation_ids)
    share = round(1.0 / (len(ids) + 1), 4)
    split = {str(vid): share for vid in ids}
    return {"origin": round(1.0 - share * len(ids), 4), **split}


def validate_deviations(deviations: Mapping[str, Any], variation_ids: Collection[int]) -> dict[str, float]:
    allowed = {"origin", *(str(vid) for vid in variation_ids)}
    split: dict[str, float] = {}
    for key, share in deviations.items():
        if key not in allowed:
            raise Fault(400, f"Invalid deviations: '{key}' is neither 'origin' nor a variation of the experiment")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise Fault(400, f"Invalid deviations: the share of '{key}' must be a number between 0 and 1")
        split[key] = float(share)
    if abs(sum(split.values()) - 1.0) > 1e-6:
        raise Fault(400, f"Invalid deviations: the shares must sum to 1 (they sum to {sum(split.values()):g})")
    return split


def without(deviations: Mapping[str, float], variation_id: int, remaining: Collection[int]) -> dict[str, float]:
    """The split after a variation is removed: the others keep their proportions, scaled back up to 1."""
    kept = {k: v for k, v in deviations.items() if k != str(variation_id)}
    total = sum(kept.values())
    if total <= 0:
        return even_split(remaining)
    return {k: round(v / total, 6) for k, v in kept.items()}


def stamp(previous: str | None, now: datetime | None = None) -> str:
    """A new ``dateModified``: now, or one second after ``previous`` so that every write changes it."""
    current = (now or datetime.now(timezone.utc)).replace(microsecond=0, tzinfo=None)
    if previous:
        try:
            before = datetime.strptime(previous, _STAMP)
        except ValueError:
            before = None
        if before is not None and current <= before:
            current = before + timedelta(seconds=1)
    return current.strftime(_STAMP)
