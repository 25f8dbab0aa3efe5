"""What an unexpected error leaves behind: one line for the user, the traceback in a crash file for the report.

A traceback can hold what kamsync was sending when it failed (a token request carries the client secret,
URL-encoded; an API call carries the access token), so everything written here is scrubbed first: of the
secret and the tokens in every form ``kamsync.api.scrub`` knows, and of values named as tokens or secrets.
"""

from __future__ import annotations

import itertools
import os
import platform
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from kamsync import __version__
from kamsync.api.scrub import HIDDEN, scrub_or_withhold
from kamsync.api.settings import CLIENT_ID_VAR, CLIENT_SECRET_VAR, resolve_api_url
from kamsync.budget.ledger import default_state_dir
from kamsync.budget.ledgerurl import LEDGER_URL_ENV, parse_ledger_url
from kamsync.core.errors import KamsyncError
from kamsync.state.files import write_atomic
from kamsync.state.logins import LoginStore
from kamsync.state.tokencache import TokenCache

__all__ = [
    "WITHHELD",
    "api_urls",
    "given_api_urls",
    "hidden_values",
    "ledger_secrets",
    "login_secrets",
    "save_crash",
    "scrub_everywhere",
]

WITHHELD = "<line withheld: it held a secret too short to hide safely>"
# Token-shaped values next to the names OAuth and HTTP give them, whatever their value.
_NAMED = re.compile(
    r"(?i)(\b(?:access_token|refresh_token|client_secret|authorization)\b[\"']?\s*[:=]\s*[\"']?"
    r"(?:bearer\s+|basic\s+)?)[^\s\"'&,;)}\]]+"
)
_BEARER = re.compile(r"(?i)(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}")


def given_api_urls(args: Sequence[str]) -> list[str]:
    """Every ``--api-url`` of a command line, as ``--api-url URL`` or ``--api-url=URL``, before the command or
    after it (options end at ``--``). Read from the words themselves: a crash may come before click parsed them."""
    options = list(args[: args.index("--")] if "--" in args else args)
    urls = [value for word, value in itertools.pairwise(options) if word == "--api-url"]
    return urls + [word.partition("=")[2] for word in options if word.startswith("--api-url=")]


def api_urls(environ: Mapping[str, str], given: Iterable[str]) -> set[str]:
    """The API URLs a command may have talked to: each one ``given`` (``--api-url``) and the environment's."""
    found: set[str] = set()
    for option in (*given, None):
        try:
            found.add(resolve_api_url(option, environ))
        except KamsyncError:  # a URL kamsync refuses was never talked to
            continue
    return found


def hidden_values(environ: Mapping[str, str], given_urls: Iterable[str]) -> set[str]:
    """The secrets of this run: the client secret, the secret-bearing Basic credential, the access token
    cached for this credential (the one a request would have carried), the partner login stored, and the GitHub
    token of an Action. For the URL of every ``--api-url`` in ``given_urls`` and the environment's: the command
    used one of them."""
    secret = environ.get(CLIENT_SECRET_VAR, "").strip()
    client_id = environ.get(CLIENT_ID_VAR, "").strip()
    values = {secret, f"{client_id}:{secret}"} if secret else set()
    values.add(environ.get("GITHUB_TOKEN", "").strip())
    urls = api_urls(environ, given_urls)
    for url in urls:
        try:
            cached = TokenCache.open(url, client_id, secret=secret).load()
        except (KamsyncError, OSError, ValueError):
            cached = None
        if cached is not None:
            values.add(cached[0])
    return {v for v in values | ledger_secrets(environ) | login_secrets(environ, urls) if v}


def login_secrets(environ: Mapping[str, str], given_urls: Iterable[str]) -> set[str]:
    """What the partner logins stored for these API URLs (each ``--api-url`` in ``given_urls``, and the
    environment's) hold: the secret, both tokens, the Basic pair."""
    found: set[str] = set()
    for url in api_urls(environ, given_urls):
        try:
            login = LoginStore.open(url).read()
        except (KamsyncError, OSError, ValueError):
            continue
        if login is not None:
            pair = f"{login.client_id}:{login.client_secret}"
            found |= {login.client_secret, login.refresh_token, login.access_token, pair} - {""}
    return found


def ledger_secrets(environ: Mapping[str, str]) -> set[str]:
    """The password of the shared ledger's URL (``KAMSYNC_LEDGER_URL``), as given and percent-encoded."""
    try:
        return set(parse_ledger_url(environ.get(LEDGER_URL_ENV, "")).secrets)
    except KamsyncError:  # a URL kamsync cannot read: hide whatever stands where a password would
        raw = environ.get(LEDGER_URL_ENV, "")
        userinfo = raw.partition("://")[2].rpartition("@")[0]
        return {userinfo.partition(":")[2]} - {""}


def scrub_everywhere(text: str, secrets: Iterable[str]) -> str:
    """``text`` without any form of ``secrets`` (see ``kamsync.api.scrub``), nor token-shaped values named as
    tokens or secrets. A line holding a secret too short to hide safely is withheld whole."""
    chosen = {s for s in secrets if s}
    lines = []
    for line in text.split("\n"):
        scrubbed = scrub_or_withhold(line, chosen)
        lines.append(WITHHELD if scrubbed is None else scrubbed)
    text = "\n".join(lines)
    text = _NAMED.sub(lambda m: m.group(1) + HIDDEN, text)
    return _BEARER.sub(lambda m: m.group(1) + HIDDEN, text)


def _report(error: BaseException, argv: list[str]) -> str:
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return (
        f"kamsync {__version__} crashed at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n"
        f"command: kamsync {' '.join(argv)}\n"
        f"python {platform.python_version()} on {platform.platform()} ({sys.executable})\n\n"
        f"{details}"
    )


def save_crash(error: BaseException, argv: list[str], environ: Mapping[str, str]) -> Path | None:
    """Write the scrubbed report of ``error`` to a new file under the user state folder (else the temporary
    folder); its path, or ``None`` when neither could be written."""
    text = scrub_everywhere(_report(error, argv), hidden_values(environ, given_api_urls(argv)))
    name = f"crash-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}.txt"
    for path in (default_state_dir() / "crashes" / name, Path(tempfile.gettempdir()) / f"kamsync-{name}"):
        try:
            write_atomic(path, text, mode=0o600, what="the crash report")
        except KamsyncError:
            continue
        return path
    return None
