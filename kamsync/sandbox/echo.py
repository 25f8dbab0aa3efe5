"""The ``echo-token=FORM`` fault: a token endpoint that echoes what it was sent, as careless servers do.

Every token request answers 400 with a message echoing the request in one FORM: ``body`` (the form body as sent,
URL-encoded), ``json`` (the form as JSON text), ``basic`` (``Authorization: Basic base64(id:secret)``, as HTTP Basic
client authentication carries the credentials) or ``raw`` (the decoded values). A client must show none of them.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from urllib.parse import parse_qs

from kamsync.sandbox.wire import Response, json_response

__all__ = ["ECHO_FORMS", "EchoToken", "echo_form", "echo_response"]

ECHO_FORMS = ("body", "json", "basic", "raw")


@dataclass(frozen=True, slots=True)
class EchoToken:
    spec: str
    form: str  # one of ECHO_FORMS


def echo_form(text: str) -> str:
    """The FORM ``text`` names; ``ValueError`` saying what is expected."""
    form = text.strip().lower()
    if form not in ECHO_FORMS:
        raise ValueError(f"echo-token needs FORM, one of {', '.join(ECHO_FORMS)}, not {text.strip()!r}")
    return form


def echo_response(form: str, body: bytes) -> Response:
    """The 400 answering a token request whose ``body`` is echoed in ``form``."""
    raw = body.decode("utf-8", errors="replace")
    fields = {name: values[0] for name, values in parse_qs(raw, keep_blank_values=True).items()}
    if form == "body":
        echo = raw
    elif form == "json":
        echo = json.dumps(fields)
    elif form == "basic":
        pair = f"{fields.get('client_id', '')}:{fields.get('client_secret', '')}".encode()
        echo = f"Authorization: Basic {base64.b64encode(pair).decode('ascii')}"
    else:
        echo = " ".join(f"{name}={value}" for name, value in fields.items())
    return json_response(400, {"error": "invalid_request", "message": f"{echo}: malformed token request"})
