"""What happens while a use case runs, as values (pure): handed to its ``Report`` the moment it happens, shown by
``kamsync.ui`` (one renderer per type). What a use case found is its result (``kamsync.core.reports``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

# How the pre-push hook's lines begin, in its own messages and in errors it raises.
HOOK_PREFIX = "kamsync pre-push:"

if TYPE_CHECKING:  # only named in annotations: the pre-push hook's quick answers need neither module
    from kamsync.core.creation import Created, CreationPlan
    from kamsync.core.plan import Write

__all__ = [
    "BackupSaved",
    "BudgetPacing",
    "BudgetWaiting",
    "CheckingAll",
    "CreationPlanned",
    "Examining",
    "HookSkipped",
    "Included",
    "JournalForgotten",
    "LockSkipped",
    "LoginAnswerRefused",
    "LoginPage",
    "NothingChanged",
    "NothingToCheck",
    "PlanSaved",
    "PushingUncommitted",
    "RefPassed",
    "RefRefused",
    "RequestDone",
    "Resuming",
    "StoppedBefore",
    "Unchecked",
    "Unfinished",
    "VariationCreated",
    "Waiting",
    "Warned",
    "Written",
]


@dataclass(frozen=True, slots=True)
class Unfinished:
    """A run the journal says did not finish: which command, when it began, how far it got."""

    command: str
    started_at: float  # wall clock
    done: int
    total: int
    in_doubt: tuple[str, ...] = ()  # the writes sent without an answer, described


@dataclass(frozen=True, slots=True)
class Warned:
    """A warning found along the way (its text comes with the finding: a survey's, the record's)."""

    text: str


@dataclass(frozen=True, slots=True)
class NothingChanged:
    """A ``--from`` range holds no mapped change: nothing to do, no request sent."""

    from_rev: str | None
    head: str


@dataclass(frozen=True, slots=True)
class LockSkipped:
    """A reading command goes on without the repository lock it could not take."""

    problem: str
    command: str


@dataclass(frozen=True, slots=True)
class BudgetPacing:
    """``--wait`` with a run larger than a whole window: paced across several."""

    what: str
    needed: int
    quota: str
    windows_needed: int
    finish_at: float


@dataclass(frozen=True, slots=True)
class BudgetWaiting:
    """``--wait``: waiting until the budget has room for the run."""

    what: str
    needed: int
    left: int
    quota: str
    seconds: float
    until: float


@dataclass(frozen=True, slots=True)
class Waiting:
    """A wait (a 429, a retry, long pacing) while no live line shows it."""

    seconds: float
    reason: str


@dataclass(frozen=True, slots=True)
class RequestDone:
    """``-v``: a request (secrets hidden) and each rate window of its credential right after it."""

    method: str
    target: str
    outcome: str
    seconds: float
    windows: tuple[tuple[str, int, int], ...]  # spec, used, left


@dataclass(frozen=True, slots=True)
class JournalForgotten:
    """``--discard-journal`` forgot (or, in a dry run, would forget) an interrupted run."""

    command: str
    dry_run: bool = False
    afresh: bool = False  # a push plans afresh


@dataclass(frozen=True, slots=True)
class Resuming:
    """A run finishes what an interrupted one left."""

    interrupted: Unfinished
    dry_run: bool


@dataclass(frozen=True, slots=True)
class Included:
    """The fields of the interrupted push outside the chosen paths, included to finish them."""

    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PushingUncommitted:
    paths: tuple[str, ...]
    dry_run: bool


@dataclass(frozen=True, slots=True)
class PlanSaved:
    out: str


@dataclass(frozen=True, slots=True)
class BackupSaved:
    folder: str


@dataclass(frozen=True, slots=True)
class Written:
    """A write confirmed, said as it happens: a run killed later still said what it had written."""

    write: Write


@dataclass(frozen=True, slots=True)
class CreationPlanned:
    """The manifest's new variations, planned before the push (create or adopt, and the traffic split)."""

    plan: CreationPlan
    dry_run: bool


@dataclass(frozen=True, slots=True)
class VariationCreated:
    made: Created


# -- the pre-push hook ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HookSkipped:
    """``KAMSYNC_SKIP=1``: this push is not checked."""


@dataclass(frozen=True, slots=True)
class RefPassed:
    """A pushed ref with nothing to examine, and why."""

    name: str
    why: str


@dataclass(frozen=True, slots=True)
class NothingToCheck:
    refs: int  # how many refs were pushed (0: none)


@dataclass(frozen=True, slots=True)
class Unchecked:
    """Check mode without credentials: Kameleoon was not checked, the push goes on."""


@dataclass(frozen=True, slots=True)
class CheckingAll:
    """Push mode with several refs: every one is checked before any is written."""

    refs: int


@dataclass(frozen=True, slots=True)
class RefRefused:
    branch: str


@dataclass(frozen=True, slots=True)
class Examining:
    branch: str
    span: str


@dataclass(frozen=True, slots=True)
class StoppedBefore:
    """A ref was not fully written: the refs after it were not pushed to Kameleoon."""

    branch: str
    rest: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LoginPage:
    """``kamsync login``: the page the person approves kamsync on (being opened in the browser)."""

    url: str
    client_id: str


@dataclass(frozen=True, slots=True)
class LoginAnswerRefused:
    """``kamsync login``: a request reached the callback without the ``state`` kamsync sent, so it was refused and
    the wait for the real answer goes on."""

    redirect_uri: str
