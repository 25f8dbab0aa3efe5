"""How the pre-push hook looks when it runs: each ref's verdict, the check's findings and how to resolve a block."""

from __future__ import annotations

from kamsync.core.events import (
    HOOK_PREFIX,
    CheckingAll,
    Examining,
    HookSkipped,
    NothingToCheck,
    RefPassed,
    RefRefused,
    StoppedBefore,
    Unchecked,
)
from kamsync.core.model import Entity, FieldRef
from kamsync.core.plan import describe_base
from kamsync.core.reports import CheckReport
from kamsync.core.states import State
from kamsync.ui.console import Console
from kamsync.ui.show import renders

PREFIX = HOOK_PREFIX

# How the check names what Kameleoon holds, in the words of a push being blocked (the plan decides which).
BLOCKED = {
    State.REMOTE_CHANGED: "edited in the Kameleoon UI (its value is in no commit)",
    State.CONFLICT: "edited in the Kameleoon UI while it changed in git too (base: {base})",
    State.REMOTE_AHEAD: "Kameleoon holds code from commit {commit}, which the pushed history does not contain",
}

RESOLVE = (
    "kamsync pre-push: the push is blocked so that nobody loses these Kameleoon changes. To resolve:\n"
    "  kamsync diff                 see what Kameleoon holds\n"
    "  kamsync pull                 adopt or merge it, then commit and push again\n"
    "  git pull / git merge         bring in the commits Kameleoon's code comes from (remote-ahead)\n"
    "  kamsync push --force         overwrite Kameleoon instead (its values are saved first)\n"
    "  KAMSYNC_SKIP=1 git push      push without this check, once"
)


@renders(CheckReport)
def show_check(console: Console, report: CheckReport) -> None:
    for warning in report.warnings:
        console.warn(warning)
    for status in report.statuses:
        if status.state is State.REMOTE_MISSING:
            console.warn(f"{status.path}: {status.mapped.ref.describe()} no longer exists in Kameleoon")
        elif status.live and status.state is State.LOCAL_CHANGED:
            console.warn(
                f"{status.path}: {_live(status.mapped.ref)}: visitors will run this code as soon as it is pushed to "
                "Kameleoon"
            )
    if not report.blocking:
        console.info(f"{PREFIX} {len(report.statuses)} mapped field(s) checked: Kameleoon has no edit to lose")
        return
    for status in report.blocking:
        commit = status.seen.commit[:12] if status.seen else "another commit"
        reason = BLOCKED[status.state].format(commit=commit, base=describe_base(status.base))
        console.error(f"{status.path} ({status.mapped.ref.describe()}): {reason}")
    console.info(RESOLVE)
    if report.to_rev is not None and report.to_rev != report.head:
        console.info(
            f"  (these commands work on the checked-out commit; the pushed one is {report.to_rev[:12]}: "
            f"`kamsync diff --to {report.to_rev[:12]}` shows it, or check it out first)"
        )


@renders(HookSkipped)
def _skipped(console: Console, event: HookSkipped) -> None:
    console.info(f"{PREFIX} KAMSYNC_SKIP=1, this push is not checked")


@renders(RefPassed)
def _passed(console: Console, event: RefPassed) -> None:
    console.info(f"{PREFIX} {event.name}: {event.why}")


@renders(NothingToCheck)
def _nothing(console: Console, event: NothingToCheck) -> None:
    console.info(f"{PREFIX} nothing to check" if event.refs else f"{PREFIX} no ref is pushed; nothing to check")


@renders(Unchecked)
def _unchecked(console: Console, event: Unchecked) -> None:
    console.warn(
        f"{PREFIX} KAMELEOON_CLIENT_ID and KAMELEOON_CLIENT_SECRET are not set, so Kameleoon was not "
        "checked; the push goes on. Set them to check, or install the hook with --require-credentials "
        "to block pushes without them"
    )


@renders(CheckingAll)
def _checking_all(console: Console, event: CheckingAll) -> None:
    console.info(f"{PREFIX} {event.refs} refs to push: checking all of them before writing any")


@renders(RefRefused)
def _refused(console: Console, event: RefRefused) -> None:
    console.error(f"{PREFIX} {event.branch}: refused; nothing was written for any ref")


@renders(Examining)
def _examining(console: Console, event: Examining) -> None:
    console.info(f"{PREFIX} {event.branch}: examining the mapped files changed in {event.span}")


@renders(StoppedBefore)
def _stopped(console: Console, event: StoppedBefore) -> None:
    console.error(f"{PREFIX} {event.branch} was not fully written; stopped before {', '.join(event.rest)}")


def _live(ref: FieldRef) -> str:
    if ref.entity is Entity.SITE:
        return "the site's global script runs for every visitor of the site"
    return f"{ref.root.value} {ref.root_id} is live (status active)"
