"""What every command that talks to Kameleoon opens first: the options, the workspace, the client and the budget.

``Run.charge`` is the one place a command's requests are priced before they are sent: over ``--max-requests``,
or more than the credential's quota window has left, the work is refused (exit 3) before any write — or, with
``--wait``, kamsync waits until the budget has room, showing how long and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from kamsync.api.auth import RENEW_MARGIN, LoginKeeper, TokenStore
from kamsync.api.client import KameleoonClient
from kamsync.api.exchange import Exchange
from kamsync.api.settings import Credentials
from kamsync.budget.backend import LedgerView, SharedLedger, open_ledger
from kamsync.budget.ledger import default_state_dir
from kamsync.budget.pricing import Quote, cap_problem, quote, read_cost, refusal_text
from kamsync.budget.quota import quota_report
from kamsync.budget.windows import DEFAULT_RATE_LIMIT, Window, parse_rate_limit
from kamsync.core.durations import clock_time, in_words
from kamsync.core.errors import LedgerLost, LocalWriteError, RefusedError
from kamsync.core.events import BudgetPacing, BudgetWaiting, LockSkipped, RequestDone, Waiting, Warned
from kamsync.core.model import MappedFile, Wanted
from kamsync.core.runreport import TokenObtained
from kamsync.git.workspace import Workspace
from kamsync.state.lock import repo_lock
from kamsync.state.logins import Login, LoginStore
from kamsync.state.tokencache import TokenCache
from kamsync.sync.options import Options
from kamsync.sync.report import LiveLine, Report

__all__ = ["BudgetRefused", "Options", "Run", "connected", "locked", "open_run", "rate_limit_spec", "session"]


class BudgetRefused(RefusedError):
    """The work does not fit the rate budget or ``--max-requests``; nothing was written."""


def max_wait(windows: Sequence[Window]) -> float:
    """The longest wait a run makes without ``--wait``: the shorter windows' pacing (at least a minute); a
    longer one (the hour is spent, or Kameleoon asked for it after repeated 429s) stops the run instead."""
    pacing = sorted(w.seconds for w in windows)[:-1]
    return max([60.0, *pacing])


def rate_limit_spec(opts: Options, manifest_rate_limit: str | None) -> str:
    return opts.rate_limit_spec(manifest_rate_limit, DEFAULT_RATE_LIMIT)


@dataclass(slots=True)
class Run:
    """An open client with its budget, for one command."""

    opts: Options
    report: Report
    client: KameleoonClient
    url: str
    client_id: str
    windows: tuple[Window, ...]
    tokens: TokenStore | LoginStore  # where the client's access token is kept between runs
    progress: LiveLine
    on_wait: Callable[[float, str], None]
    budget: SharedLedger
    sleep: Callable[[float], None] = time.sleep

    def charge_reads(self, files: Sequence[MappedFile], what: str) -> int:
        """Price reading the remote state of ``files`` (known from the manifest) before sending anything."""
        wanted = Wanted.of(files)
        cost = self.read_cost(
            len(wanted.experiments),
            len(wanted.variations),
            personalizations=len(wanted.personalizations),
            sites=len(wanted.sites),
        )
        return self.charge(cost, what)

    def read_cost(self, experiments: int, variations: int, *, personalizations: int = 0, sites: int = 0) -> int:
        return read_cost(
            experiments, variations, token=self.token_needed(), personalizations=personalizations, sites=sites
        )

    def token_needed(self) -> bool:
        """Whether the next request has to fetch a token first (no usable one cached)."""
        if self.client.requests_sent:
            return False  # a token came with the first request
        cached = self.tokens.load()
        return cached is None or cached[1] - time.time() <= RENEW_MARGIN

    def charge(self, needed: int, what: str) -> int:
        """Refuse (``BudgetRefused``) or wait unless ``needed`` more requests fit; returns ``needed``."""
        if needed <= 0:
            return 0
        problem = cap_problem(self.client.requests_sent, needed, self.opts.max_requests)
        if problem is not None:
            raise BudgetRefused(f"{what}: {problem}; nothing was written")
        while True:
            view = self.budget.view()
            now = view.now  # the ledger's clock: on Redis the server's, which every machine shares
            if not self.opts.wait:
                self._refuse_if_held(view, what)
            # Requests other runs reserved are spent from now on, at the earliest.
            q = quote(needed, (*view.arrivals, *(now for _ in range(view.reserved))), self.windows, now)
            if q.fits:
                if self.budget.reserve(needed):
                    return needed
                continue  # another run reserved those requests first: price again
            if not self.opts.wait:
                refusal = refusal_text(what, _localised(q, now), self.windows, time.time())
                raise BudgetRefused(f"{refusal}; nothing was written")
            if q.runnable_at is None:
                finish = _local(q.finish_at, now)
                self.report(BudgetPacing(what, needed, str(q.quota), q.windows_needed, finish))
                return needed
            until = _local(q.runnable_at, now)
            self.report(BudgetWaiting(what, needed, q.left, str(q.quota), q.runnable_at - now, until))
            self.on_wait(q.runnable_at - now, f"{needed} requests of {q.quota} to be free for {what}")
            self.sleep(max(0.0, until - time.time()))
            if self.budget.reserve(needed):
                return needed

    def _refuse_if_held(self, view: LedgerView, what: str) -> None:
        """Refuse at once when Kameleoon asked every client of the credential to wait longer than a run may."""
        if view.not_before is None or view.not_before - view.now <= max_wait(self.windows):
            return
        raise BudgetRefused(
            f"{what}: {view.reason or 'Kameleoon asked to wait'}; no request may be sent before "
            f"{clock_time(_local(view.not_before, view.now))} (in {in_words(view.not_before - view.now)}): run it "
            "again then, pass --wait to wait here, or, if that wait is wrong, forget it with kamsync quota --reset; "
            "nothing was written"
        )


def _local(at: float, ledger_now: float) -> float:
    """A time of the ledger's clock as this machine's wall clock shows it (they differ by any skew)."""
    return time.time() + (at - ledger_now)


def _localised(q: Quote, ledger_now: float) -> Quote:
    runnable = None if q.runnable_at is None else _local(q.runnable_at, ledger_now)
    return replace(q, runnable_at=runnable, finish_at=_local(q.finish_at, ledger_now))


def open_run(opts: Options, rate_limit: str | None, report: Report, credentials: Credentials | None = None) -> Run:
    """Everything checked before the first request: URL, credentials (``opts``', unless given), rate-limit spec.
    Waits are shown on the live progress line on a terminal, else as one message each."""
    url = opts.api_url_resolved()
    credentials = opts.credentials() if credentials is None else credentials
    windows = parse_rate_limit(rate_limit_spec(opts, rate_limit))
    retry = opts.retry_policy()
    progress = report.live_line()

    def say_wait(seconds: float, reason: str) -> None:
        # Pacing by the rate windows is normal and mostly short; every other wait (a 429, a retry) is news.
        pacing = reason.startswith("rate limit")
        if not pacing or (seconds >= 1 and not opts.json):
            report(Waiting(seconds, reason))

    on_wait = progress.waiting if progress.enabled else say_wait
    sleep = progress.sleeper()
    budget = _budget(opts, url, credentials.client_id, windows, report, on_wait, sleep)
    tokens: TokenStore | LoginStore
    cache, logins = None, None
    if credentials.is_login:  # a partner login keeps its tokens with it, and each refresh replaces both
        tokens = LoginStore.open(url)
        logins = _ShownLogin(tokens, lambda token: report(TokenObtained(token)))
    else:
        tokens = TokenCache.open(url, credentials.client_id, secret=credentials.client_secret)
        cache = _Shown(tokens, lambda token: report(TokenObtained(token)))
    client = KameleoonClient(
        url,
        credentials,
        budget=budget,
        retry=retry,
        on_wait=on_wait,
        sleep=sleep,
        max_requests=opts.max_requests,
        on_response=_request_log(report, budget, windows) if opts.verbose else None,
        token_cache=cache,
        login_store=logins,
    )
    return Run(
        opts, report, client, url.rstrip("/"), credentials.client_id, windows, tokens, progress, on_wait, budget, sleep
    )


@dataclass(frozen=True, slots=True)
class _Shown:
    """The token cache, reporting every token the client takes from it or puts in it: the moment a token is
    obtained, so that a view that can hide it from its log (``--format github``) does so at once."""

    cache: TokenStore
    obtained: Callable[[str], None]

    def load(self) -> tuple[str, float] | None:
        cached = self.cache.load()
        if cached is not None:
            self.obtained(cached[0])
        return cached

    def store(self, token: str, expires_at: float) -> None:
        self.obtained(token)
        self.cache.store(token, expires_at)

    def clear(self) -> None:
        self.cache.clear()


@dataclass(frozen=True, slots=True)
class _ShownLogin:
    """The stored partner login, reporting each access token the client takes from it or puts in it (as
    ``_Shown`` does for the token cache)."""

    store: LoginKeeper
    obtained: Callable[[str], None]

    def read(self) -> Login | None:
        login = self.store.read()
        if login is not None and login.access_token:
            self.obtained(login.access_token)
        return login

    def save(self, login: Login) -> None:
        self.obtained(login.access_token)
        self.store.save(login)


def _budget(
    opts: Options,
    url: str,
    client_id: str,
    windows: Sequence[Window],
    report: Report,
    on_wait: Callable[[float, str], None],
    sleep: Callable[[float], None],
) -> SharedLedger:
    """One ledger per credential: every kamsync process shares the rate budget (on Redis, every machine's)."""
    return open_ledger(
        opts.ledger_location(),
        url,
        client_id,
        windows,
        state_dir=default_state_dir(),
        fallback_local=opts.ledger_fallback_local,
        warn=lambda text: report(Warned(text)),
        command=opts.command,
        on_wait=on_wait,
        sleep=sleep,
        max_wait=None if opts.wait else max_wait(windows),
    )


def _request_log(report: Report, ledger: SharedLedger, windows: Sequence[Window]) -> Callable[[Exchange], None]:
    """``-v``: each request on stderr, with what the rate windows of this credential hold right after it."""

    def log(exchange: Exchange) -> None:
        try:
            view = ledger.view()
        except LedgerLost:  # the answer has arrived and must be kept: the next request is what stops the run
            shown: tuple[tuple[str, int, int], ...] = ()
        else:
            budget = quota_report(view.arrivals, windows, view.now)
            shown = tuple((w.spec, w.used, w.left) for w in budget.windows)
        report(RequestDone(exchange.method, exchange.target, exchange.outcome, exchange.seconds, shown))

    return log


@contextmanager
def locked(opts: Options, command: str, *, reader: Report | None = None) -> Iterator[Workspace]:
    """The workspace (at ``--to`` when given), held against other kamsync processes.

    ``reader`` is given by commands that only read (status, diff, push --dry-run): someone who cannot write
    ``.git`` (or whose disk is full) may still run them, so when the lock cannot be taken they go on without
    it, after one warning on ``reader``. Another process holding the lock still makes them wait."""
    ws = Workspace.open(opts.manifest, opts.environ, Path.cwd(), rev=opts.to_rev or ("HEAD" if opts.from_rev else None))
    with ExitStack() as held:
        try:
            held.enter_context(repo_lock(ws.repo.state_dir(), command, opts.lock_wait))
        except LocalWriteError as error:
            if reader is None:
                raise
            reader(LockSkipped(error.problem, command))
            ws = replace(ws, read_only=True)
        yield ws


@contextmanager
def running(
    opts: Options, rate_limit: str | None, report: Report, credentials: Credentials | None = None
) -> Iterator[Run]:
    """An open client with its budget and progress line, both closed at the end: what the run reserved and did
    not use is free for others again at once, not when its reservation expires."""
    run = open_run(opts, rate_limit, report, credentials)
    try:
        with run.client, report.showing(run.progress):
            yield run
    finally:
        run.budget.close()


@contextmanager
def connected(opts: Options, ws: Workspace, report: Report) -> Iterator[Run]:
    """``running`` with the workspace's rate limit; credentials are checked here, not before."""
    with running(opts, ws.manifest.rate_limit, report) as run:
        yield run


@contextmanager
def session(opts: Options, command: str, report: Report) -> Iterator[tuple[Workspace, Run]]:
    """The workspace, held against other kamsync processes, and an open client."""
    with locked(opts, command) as ws, connected(opts, ws, report) as run:
        yield ws, run
