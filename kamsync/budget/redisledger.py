"""The shared ledger on a Redis server: one hourly budget for every machine (CI runners, laptops) of a credential.

Every decision is one call of the script in ``budget.redisscript``, atomic on the server and timed by its clock:
granting a request (every window at once; it grants, or says how long to wait), settling its arrival, recording
a wait Kameleoon imposed, reserving a priced plan's requests in the quota window (with a TTL this process renews
from a thread while it runs, so a killed process's reservation expires by itself), releasing what was not used.

Reaching the server is checked when the ledger opens: unreachable, a refused password or a server that is not
Redis is ``LedgerUnavailable`` (exit 2, nothing sent). Lost during a run, the next request is not sent:
``LedgerLost`` (exit 4, the run resumes later). The password never appears in what kamsync says.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from kamsync.budget.backend import LedgerView, Spent, machine_name
from kamsync.budget.ledger import KEEP_COUNT, KEEP_SECONDS, PENDING_TIMEOUT, credential_digest
from kamsync.budget.ledgerurl import LEDGER_FALLBACK_ENV, LEDGER_URL_ENV, MASK, LedgerUrl
from kamsync.budget.pricing import long_wait
from kamsync.budget.redisscript import SCRIPT
from kamsync.budget.windows import (
    BLIND_REASON,
    POLL,
    BlindStreak,
    Window,
    describe_windows,
    full_window_wait,
    quota_index,
    server_wait,
)
from kamsync.core.errors import LedgerLost, LedgerUnavailable

__all__ = ["RESERVATION_TTL", "TIMEOUT", "RedisLedger", "unavailable_problem"]

RESERVATION_TTL = 30.0  # a reservation nobody renews for this long is gone (its process died)
TIMEOUT = 5.0  # seconds to connect, and for one answer
_SEP = "\x1f"
_KEYS = ("log", "pending", "resv", "resv_exp", "hold", "meta")


def unavailable_problem(location: LedgerUrl, error: Exception) -> str:
    """Why the ledger at ``location`` cannot be used, in words that hold no password."""
    text = str(error).lower()
    if isinstance(error, redis.AuthenticationError) or "wrongpass" in text or "noauth" in text or "auth" in text:
        what = "the Redis server refused the user name or password"
    elif isinstance(error, redis.TimeoutError):
        what = f"no answer within {TIMEOUT:g} s"
    elif isinstance(error, (redis.exceptions.InvalidResponse, redis.ResponseError)):
        what = "the server there does not answer as Redis does"
    elif isinstance(error, redis.ConnectionError) and "connecting to" not in text:
        # Connected, then the other side closed or spoke something else: a server, but not Redis.
        what = f"the server there does not answer as Redis does ({_words(location, error)})"
    elif isinstance(error, redis.ConnectionError):
        what = f"cannot connect ({_words(location, error)})"
    else:
        what = f"{type(error).__name__}: {_words(location, error)}"
    return f"cannot use the shared rate-limit ledger at {location.masked}: {what}"


def _words(location: LedgerUrl, error: Exception) -> str:
    text = str(error) or type(error).__name__
    for secret in location.secrets:
        text = text.replace(secret, MASK)
    return text


class RedisLedger:
    """A ``SharedLedger`` on a Redis server; ``connect`` opens and checks it."""

    kind = "redis"

    def __init__(
        self,
        client: redis.Redis,
        location: LedgerUrl,
        api_url: str,
        client_id: str,
        windows: Sequence[Window],
        *,
        command: str = "kamsync",
        on_wait: Callable[[float, str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float | None = None,
        pending_timeout: float = PENDING_TIMEOUT,
        reservation_ttl: float = RESERVATION_TTL,
    ) -> None:
        self.location = location
        self.where = location.masked
        self.windows = tuple(windows)
        self.max_wait = max_wait
        self._client = client
        self._script = client.register_script(SCRIPT)
        prefix = f"kamsync:ratelimit:{{{credential_digest(api_url, client_id)}}}:"
        self._keys = [prefix + name for name in _KEYS]
        self._fixed = [
            repr(pending_timeout),
            repr(max(KEEP_SECONDS, *(w.seconds for w in self.windows))),
            str(max(KEEP_COUNT, *(w.limit for w in self.windows))),
        ]
        self._spec = ",".join(f"{w.limit}:{w.seconds!r}" for w in self.windows)
        self._quota = quota_index(self.windows)
        self._who = _SEP.join(part.replace(_SEP, " ") for part in (machine_name(), command))
        self._tickets = itertools.count(1)
        self._on_wait = on_wait
        self._sleep = sleep
        self._ttl = reservation_ttl
        self._in_flight: str | None = None
        self._reservation: str | None = None
        self._renewer: threading.Thread | None = None
        self._stop = threading.Event()
        self._lost: LedgerLost | None = None
        self._blind = BlindStreak()

    @classmethod
    def connect(
        cls, location: LedgerUrl, api_url: str, client_id: str, windows: Sequence[Window], **kwargs: Any
    ) -> RedisLedger:
        """Open the ledger and check that it answers as it must; ``LedgerUnavailable`` when it does not."""
        try:
            client = redis.Redis.from_url(
                location.url,
                socket_timeout=TIMEOUT,
                socket_connect_timeout=TIMEOUT,
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
                decode_responses=True,
            )
            client.ping()
            ledger = cls(client, location, api_url.rstrip("/"), client_id, windows, **kwargs)
            ledger._call("view", "")
        except (redis.RedisError, ValueError, LedgerLost) as error:
            cause = error.__cause__ if isinstance(error.__cause__, redis.RedisError) else error
            problem = (
                f"cannot use the shared rate-limit ledger at {location.masked}: the server there does not answer "
                "as Redis does"
                if isinstance(cause, LedgerLost)
                else unavailable_problem(location, cause)
            )
            raise LedgerUnavailable(
                problem,
                f"nothing was sent to Kameleoon. Check {LEDGER_URL_ENV} (host, port, database, password) and that "
                f"the Redis server runs and is reachable, or set {LEDGER_FALLBACK_ENV}=local to count in this "
                "machine's ledger when it is not",
            ) from None
        return ledger

    def __repr__(self) -> str:
        return f"RedisLedger({self.where!r}, {describe_windows(self.windows)!r})"

    # -- RequestBudget --

    def before_send(self) -> None:
        while True:
            if self._lost is not None:
                raise self._lost
            member = f"{self._who}{_SEP}{os.getpid()}-{next(self._tickets)}-{os.urandom(4).hex()}"
            reply = self._call("grant", member, self._reservation or "", self._spec, str(self._quota + 1))
            if reply[0] == 1:
                self._in_flight = member
                return
            wait, imposed = _number(reply[1]), reply[2] == 1
            if wait <= POLL:
                self._sleep(POLL)  # only a response still awaited stands in the way
                continue
            reason = str(reply[3]) if imposed else self._window_reason()
            if self.max_wait is not None and wait > self.max_wait:
                raise long_wait(wait, reason, imposed=imposed, wall_now=time.time())
            if self._on_wait is not None:
                self._on_wait(wait, reason)
            self._sleep(wait)

    def after_response(self) -> None:
        self._blind.answered()
        member, self._in_flight = self._in_flight, None
        if member is None:
            return
        try:
            self._call("settle", member)
        except LedgerLost as lost:
            self._lost = lost  # the answer arrived: stop before the next request, not now

    def note_server_wait(self, seconds: float | None) -> None:
        if seconds is None:
            view = self.view()
            wait = full_window_wait(view.arrivals, self.windows, view.now, self._blind.blind())
            reason = BLIND_REASON
        else:
            wait, reason = server_wait(seconds, self.windows)
        self._call("hold", repr(wait), f"{reason} (seen by kamsync on {machine_name()}, process {os.getpid()})")

    # -- SharedLedger --

    def view(self) -> LedgerView:
        reply = self._call("view", "")
        now = _number(reply[1])
        log, pending = _pairs(reply[2]), _pairs(reply[3])
        quota = self.windows[self._quota]
        inside = Counter(m.rsplit(_SEP, 1)[0] for m, t in (*log, *pending) if t > now - quota.seconds)
        spent = tuple(Spent(*_machine_command(who), count) for who, count in sorted(inside.items()))
        until = _number(reply[5]) if reply[5] != "" else None
        arrivals = tuple(sorted(t for _, t in (*log, *pending)))
        return LedgerView(now, arrivals, until, str(reply[6]), _count(reply[4]), spent)

    def reserve(self, needed: int) -> bool:
        quota = self.windows[self._quota]
        if needed > quota.limit:
            return True  # paced across several windows (--wait): no window can hold it, the grants pace it
        reservation = self._reservation or f"{self._who}{_SEP}{os.getpid()}-{os.urandom(6).hex()}"
        reply = self._call("reserve", reservation, str(needed), repr(self._ttl), str(quota.limit), repr(quota.seconds))
        if reply[0] != 1:
            return False
        self._reservation = reservation
        if self._renewer is None:
            self._renewer = threading.Thread(target=self._renew, name="kamsync-ledger-renew", daemon=True)
            self._renewer.start()
        return True

    def forget_server_wait(self) -> tuple[float, str] | None:
        reply = self._call("forget")
        return (_number(reply[2]), str(reply[3])) if reply[0] == 1 else None

    def close(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=TIMEOUT)
        if self._reservation is not None:
            with contextlib.suppress(LedgerLost):  # unreleased, it expires by itself
                self._call("release", self._reservation)
            self._reservation = None
        self._client.close()

    # -- the edge --

    def _renew(self) -> None:
        while not self._stop.wait(self._ttl / 3):
            reservation = self._reservation
            if reservation is None:
                return
            try:
                self._call("renew", reservation, repr(self._ttl))
            except LedgerLost as lost:
                self._lost = lost
                return

    def _window_reason(self) -> str:
        return f"rate limit {describe_windows(self.windows)}, shared by every kamsync process through {self.where}"

    def _call(self, op: str, *args: str) -> list[Any]:
        """Run ``op`` of the script; ``LedgerLost`` when the server cannot be reached or answers nonsense."""
        try:
            reply = self._script(keys=self._keys, args=[op, *self._fixed, *args])
        except redis.RedisError as error:
            raise LedgerLost(
                f"lost the shared rate-limit ledger at {self.where} ({unavailable_problem(self.location, error)}): "
                "the next request was not sent; run the same command again once it answers (an interrupted push "
                f"resumes), or unset {LEDGER_URL_ENV} to count on this machine only"
            ) from error
        if not isinstance(reply, list) or not reply or reply[0] not in (0, 1):
            raise LedgerLost(
                f"the shared rate-limit ledger at {self.where} answered something kamsync cannot read: the next "
                "request was not sent; check that it is a Redis server (5 or later)"
            )
        return reply


def _number(value: object) -> float:
    try:
        return float(str(value))
    except ValueError:
        raise LedgerLost(f"the shared rate-limit ledger answered {str(value)[:40]!r} where a time was due") from None


def _machine_command(who: str) -> tuple[str, str | None]:
    machine, sep, command = who.partition(_SEP)
    return machine, command if sep else None


def _count(value: object) -> int:
    return int(_number(value))


def _pairs(flat: object) -> list[tuple[str, float]]:
    items = list(flat) if isinstance(flat, list) else []
    return [(str(items[i]), _number(items[i + 1])) for i in range(0, len(items) - 1, 2)]
