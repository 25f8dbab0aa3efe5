"""How the events every command shares look: warnings, an empty range, the lock, the rate budget, ``-v``."""

from __future__ import annotations

from kamsync.core.durations import clock_time, in_words
from kamsync.core.events import BudgetPacing, BudgetWaiting, LockSkipped, NothingChanged, RequestDone, Waiting, Warned
from kamsync.git.ranges import GitRange
from kamsync.ui.console import Console
from kamsync.ui.show import renders

__all__ = ["nothing_changed"]


def nothing_changed(event: NothingChanged) -> str:
    span = GitRange(event.from_rev, event.head).describe()
    return f"no mapped file changed in {span}: nothing to do, no request sent"


@renders(Warned)
def _warned(console: Console, event: Warned) -> None:
    console.warn(event.text)


@renders(NothingChanged)
def _nothing(console: Console, event: NothingChanged) -> None:
    console.info(nothing_changed(event))


@renders(LockSkipped)
def _lock_skipped(console: Console, event: LockSkipped) -> None:
    console.warn(f"{event.problem}; `{event.command}` goes on without it, as it only reads")


@renders(BudgetPacing)
def _pacing(console: Console, event: BudgetPacing) -> None:
    console.info(
        f"{event.what} needs {event.needed} requests, more than a whole {event.quota} window: pacing them across "
        f"{event.windows_needed} windows, finishing about {clock_time(event.finish_at)}"
    )


@renders(BudgetWaiting)
def _budget_wait(console: Console, event: BudgetWaiting) -> None:
    console.info(
        f"{event.what} needs {event.needed} requests and {event.left} of {event.quota} are left: waiting "
        f"{in_words(event.seconds)}, until {clock_time(event.until)}"
    )


@renders(Waiting)
def _waiting(console: Console, event: Waiting) -> None:
    console.info(f"waiting {in_words(event.seconds)}: {event.reason}")


@renders(RequestDone)
def _request(console: Console, event: RequestDone) -> None:
    """One request as ``-v`` shows it: method, path, outcome, milliseconds, then each rate window's use."""
    windows = ", ".join(f"{spec} {used} used, {left} left" for spec, used, left in event.windows)
    console.info(
        f"{event.method} {event.target} -> {event.outcome} in {event.seconds * 1000:.0f} ms"
        + (f"; rate windows: {windows}" if windows else "")
    )
