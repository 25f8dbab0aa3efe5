"""``kamsync login`` and ``kamsync logout``: a partner app's authorization-code login, kept for later commands.

Login prints the authorize URL (and has it opened), receives the code on a loopback callback server
that checks ``state``, exchanges the code with HTTP Basic client authentication (one request of the rate budget)
and stores the client id, its secret and both tokens (``state.logins``). Commands then use it whenever
``KAMELEOON_CLIENT_ID`` is not set, renewing the access token with the refresh token.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from kamsync.api.auth import token_expires_at
from kamsync.api.callback import CallbackServer
from kamsync.api.login import authorize_url, code_form, code_from_callback, parse_redirect
from kamsync.api.settings import Credentials
from kamsync.core.errors import AuthError
from kamsync.core.events import LoginAnswerRefused, LoginPage
from kamsync.core.reports import LoginReport
from kamsync.core.runreport import TokenObtained
from kamsync.state.logins import Login, LoginStore
from kamsync.sync.options import Options
from kamsync.sync.report import Report
from kamsync.sync.session import running

__all__ = ["LOGIN_TIMEOUT", "run_login", "run_logout"]

LOGIN_TIMEOUT = 300.0  # seconds for the person to approve kamsync in the browser


def run_login(
    opts: Options,
    report: Report,
    client_id: str,
    secret: str,
    redirect_uri: str | None,
    open_browser: Callable[[str], None],
) -> LoginReport:
    url = opts.api_url_resolved()
    state = secrets.token_urlsafe(24)
    with CallbackServer(parse_redirect(redirect_uri), state) as callback:
        page = authorize_url(url, client_id, callback.redirect_uri, state)
        report(LoginPage(page, client_id))
        open_browser(page)
        redirect = callback.redirect_uri
        answer = callback.wait(LOGIN_TIMEOUT, on_refused=lambda: report(LoginAnswerRefused(redirect)))
        code = code_from_callback(answer, state)
    with running(opts, None, report, Credentials(client_id, secret, login=True)) as run:
        requested = time.time()
        grant = run.client.exchange_code(code_form(code, redirect))
    if not grant.refresh_token:
        raise AuthError("Kameleoon answered the login without a refresh token: nothing was stored")
    report(TokenObtained(grant.access_token))
    # The exchange stored nothing: the new login replaces whatever was stored (maybe another client's) in one
    # atomic write, so no moment pairs its tokens with the old login's client or refresh token.
    login = Login(client_id, secret, grant.refresh_token, grant.access_token, token_expires_at(grant, requested))
    LoginStore.open(url).save(login)
    return LoginReport(url, client_id, logged_in=True)


def run_logout(opts: Options) -> LoginReport:
    """Delete the stored login; which client's it was (``""``: unreadable), ``None`` when there was none."""
    url = opts.api_url_resolved()
    store = LoginStore.open(url)
    login = store.read()
    if not store.delete():
        return LoginReport(url, None, logged_in=False)
    return LoginReport(url, "" if login is None else login.client_id, logged_in=False)
