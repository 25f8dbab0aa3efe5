"""The shared ledger as an interface with two backends: this machine's file (``budget.ledger``, the default) and
a Redis server every machine of a team reaches (``budget.redisledger``, ``KAMSYNC_LEDGER_URL``).

``open_ledger`` chooses: no URL, the file; a URL, Redis, refused with a clear error (exit 2, nothing sent) when it
cannot be used, unless the fallback to the file was asked for.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kamsync.budget.ledger import PENDING_TIMEOUT, Ledger, ledger_path, read_arrivals
from kamsync.budget.ledgerurl import LEDGER_FALLBACK_ENV, LedgerUrl
from kamsync.budget.windows import RequestBudget, Window, quota_index
from kamsync.core.errors import LedgerUnavailable

__all__ = ["LedgerView", "LocalLedger", "SharedLedger", "Spent", "machine_name", "open_ledger", "reading_ledger"]


def machine_name() -> str:
    """This machine, as the shared ledger names who spent what."""
    return platform.node() or "unknown machine"


@dataclass(frozen=True, slots=True)
class Spent:
    """Requests counted in the quota window for one machine and command (``None``: the file does not say)."""

    machine: str
    command: str | None
    requests: int


@dataclass(frozen=True, slots=True)
class LedgerView:
    """What the ledger holds at ``now`` (its own clock): counted arrivals (in-flight requests at the time they
    were granted), any wait the server imposed, what priced runs have reserved, and who spent what."""

    now: float
    arrivals: tuple[float, ...]
    not_before: float | None
    reason: str
    reserved: int = 0
    spent: tuple[Spent, ...] = ()


class SharedLedger(RequestBudget, Protocol):
    """A ``RequestBudget`` every kamsync process of one credential shares, and what commands ask of it."""

    kind: str  # "local" or "redis"

    @property
    def where(self) -> str:
        """The file, or the URL with its password masked."""

    def view(self) -> LedgerView:
        """The ledger now, for pricing and ``kamsync quota``."""

    def reserve(self, needed: int) -> bool:
        """Hold ``needed`` requests of the quota window for this run; False when they no longer fit."""

    def forget_server_wait(self) -> tuple[float, str] | None:
        """Forget the wait a server imposed; what it was, (until, reason), if any."""

    def close(self) -> None:
        """Release what this run reserved and did not use."""


class LocalLedger(Ledger):
    """The file ledger of this machine (``budget.ledger``), behind the shared interface. It reserves nothing:
    every process that can reach it reads the same file, and a plan is priced against it."""

    kind = "local"

    @property
    def where(self) -> str:
        return str(self.path)

    def view(self) -> LedgerView:
        now = self._clock()
        snapshot = read_arrivals(self.path.parent.parent, self.api_url, self.client_id, self.windows, now=now)
        quota = self.windows[quota_index(self.windows)] if self.windows else None
        used = sum(1 for t in snapshot.arrivals if quota is None or t > now - quota.seconds)
        spent = (Spent(machine_name(), None, used),) if used else ()
        return LedgerView(now, snapshot.arrivals, snapshot.not_before, snapshot.reason, 0, spent)

    def reserve(self, needed: int) -> bool:
        return True

    def close(self) -> None:
        return None


def open_ledger(
    location: LedgerUrl | None,
    api_url: str,
    client_id: str,
    windows: Sequence[Window],
    *,
    state_dir: Path,
    fallback_local: bool = False,
    warn: Callable[[str], None] = lambda _text: None,
    command: str = "kamsync",
    on_wait: Callable[[float, str], None] | None = None,
    sleep: Callable[[float], None] | None = None,
    max_wait: float | None = None,
    pending_timeout: float = PENDING_TIMEOUT,
) -> SharedLedger:
    """The ledger this run shares with every other one of the credential (see the module's docstring)."""
    pause = time.sleep if sleep is None else sleep
    if location is not None:
        from kamsync.budget.redisledger import RedisLedger  # only runs that use Redis import its client

        try:
            return RedisLedger.connect(
                location,
                api_url,
                client_id,
                windows,
                command=command,
                on_wait=on_wait,
                sleep=pause,
                max_wait=max_wait,
                pending_timeout=pending_timeout,
            )
        except LedgerUnavailable as error:
            if not fallback_local:
                raise
            warn(
                f"{error.problem}; {LEDGER_FALLBACK_ENV}=local: counting in this machine's ledger instead, which "
                "other machines do not see"
            )
    return LocalLedger.open(
        state_dir,
        api_url,
        client_id,
        windows,
        on_wait=on_wait,
        sleep=pause,
        max_wait=max_wait,
        pending_timeout=pending_timeout,
    )


def reading_ledger(
    location: LedgerUrl | None,
    api_url: str,
    client_id: str,
    windows: Sequence[Window],
    *,
    state_dir: Path,
    fallback_local: bool = False,
    warn: Callable[[str], None] = lambda _text: None,
    clock: Callable[[], float] = time.time,
) -> SharedLedger:
    """The ledger ``open_ledger`` would choose, to read (``kamsync quota``, ``doctor``): a file ledger that does
    not exist yet is not created."""
    if location is not None:
        return open_ledger(
            location, api_url, client_id, windows, state_dir=state_dir, fallback_local=fallback_local, warn=warn
        )
    return LocalLedger(ledger_path(state_dir, api_url, client_id), api_url, client_id, windows, clock=clock)
