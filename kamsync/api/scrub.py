"""Hiding secrets in text that came from elsewhere (server messages, httpx errors), in every form they travel in (pure).

A server may echo what it was sent: the token request's form body (URL-encoded, ``+`` or ``%20`` for spaces), a
JSON rendering of it, an ``Authorization`` header (``Bearer <token>``, ``Basic base64(id:secret)``). So a secret
is looked for raw, URL-encoded, escaped (JSON, Python, HTML) and base64-encoded (at any alignment inside a
longer base64 text).

A secret shorter than ``MIN_SCRUBBABLE`` cannot be hidden safely: it occurs in ordinary words by chance, and
replacing it there both garbles the text and shows where it occurs. Text holding such a secret is withheld
instead (``scrub_or_withhold`` returns ``None``).
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

__all__ = ["HIDDEN", "MIN_SCRUBBABLE", "basic_credential", "scrub", "scrub_or_withhold", "secret_forms"]

HIDDEN = "<hidden>"
MIN_SCRUBBABLE = 8
# A base64 fragment this short could match other base64 text by chance; longer ones cannot in practice.
_MIN_FRAGMENT = 8
_PERCENT = re.compile(r"%([0-9A-F])([0-9A-F])")


def basic_credential(client_id: str, client_secret: str) -> str:
    """``id:secret``, the value HTTP Basic authentication base64-encodes (a server may echo it)."""
    return f"{client_id}:{client_secret}"


def _url_forms(secret: str) -> set[str]:
    return {quote(secret, safe=""), quote(secret), quote_plus(secret, safe=""), quote_plus(secret)}


def _escaped_forms(secret: str) -> set[str]:
    """JSON-escaped (with and without ``\\/`` for ``/``), as Python shows it in an error (``repr`` of the text
    or of its UTF-8 bytes, ``unicode_escape``), HTML-escaped, and as hex (a dumped byte string)."""
    escaped = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    escaped |= {s.replace("/", "\\/") for s in escaped}
    escaped |= {repr(secret)[1:-1], repr(secret.encode("utf-8"))[2:-1]}
    escaped.add(secret.encode("unicode_escape").decode("ascii"))
    raw = secret.encode("utf-8")
    return escaped | {html.escape(secret), html.escape(secret, quote=False), raw.hex(), raw.hex().upper()}


def _base64_forms(data: bytes) -> set[str]:
    """The whole encodings of ``data``, and the characters fully decided by ``data`` when it sits at each byte
    alignment inside a longer base64 text (standard and URL-safe alphabets)."""
    forms: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(data).decode("ascii")
        forms |= {whole, whole.rstrip("=")}
        for shift in range(3):
            encoded = encode(b"\0" * shift + data + b"\0\0").decode("ascii")
            first = -(-8 * shift // 6)  # the first character whose 6 bits all come from ``data``
            last = (8 * (shift + len(data))) // 6  # one past the last such character
            fragment = encoded[first:last]
            if len(fragment) >= _MIN_FRAGMENT:
                forms.add(fragment)
    return forms


def secret_forms(secret: str) -> set[str]:
    """Every form of ``secret`` looked for: raw, URL-encoded, escaped, base64 (and those URL-encoded or as hex:
    a dumped request buffer shows an ``Authorization: Basic`` header's base64 in hex)."""
    if not secret:
        return set()
    texts = {secret} | _url_forms(secret) | _escaped_forms(secret)
    encoded = _base64_forms(secret.encode("utf-8"))
    texts |= encoded
    for form in encoded:
        hexed = form.encode("ascii").hex()
        texts |= _url_forms(form) | {hexed, hexed.upper()}
    return {t for t in texts if t}


def _pattern(form: str) -> str:
    # Percent-encoding is case-insensitive in its hex digits: %2b is %2B.
    escaped = re.escape(form)
    return _PERCENT.sub(lambda m: f"%[{m[1]}{m[1].lower()}][{m[2]}{m[2].lower()}]", escaped)


def _find(secrets: Iterable[str]) -> re.Pattern[str] | None:
    return _compiled(frozenset(secrets))


@functools.lru_cache(maxsize=16)  # a client scrubs every error answer with the same few secrets
def _compiled(secrets: frozenset[str]) -> re.Pattern[str] | None:
    forms = {form for secret in secrets for form in secret_forms(secret)}
    if not forms:
        return None
    # Longest first: an alternation takes the first alternative that matches at a position.
    return re.compile("|".join(_pattern(f) for f in sorted(forms, key=len, reverse=True)))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every form of every secret of at least ``MIN_SCRUBBABLE`` characters replaced by
    ``<hidden>``; shorter secrets are left alone (``scrub_or_withhold`` handles them)."""
    found = _find(s for s in secrets if len(s) >= MIN_SCRUBBABLE)
    return text if found is None else found.sub(HIDDEN, text)


def scrub_or_withhold(text: str, secrets: Iterable[str]) -> str | None:
    """``text`` scrubbed, or ``None`` when a secret too short to hide occurs in it (in any form)."""
    chosen = {s for s in secrets if s}
    short = _find(s for s in chosen if len(s) < MIN_SCRUBBABLE)
    if short is not None and short.search(text):
        return None
    return scrub(text, chosen)
