"""The pre-push hook's work once a pushed range touches mapped files: check it against Kameleoon, or push it."""

from __future__ import annotations

from kamsync.core.errors import Exit
from kamsync.core.model import Entity
from kamsync.core.plan import describe_base, kameleoon_edits
from kamsync.core.states import State
from kamsync.git.ranges import pick_files
from kamsync.sync.options import Options
from kamsync.sync.push import refuse_creation_here, run_push
from kamsync.sync.session import connected, locked
from kamsync.sync.survey import survey
from kamsync.ui.console import Console

__all__ = ["check_range", "push_range"]

# How the check names what Kameleoon holds, in the words of a push being blocked (the plan decides which).
BLOCKED = {
    State.REMOTE_CHANGED: "edited in the Kameleoon UI (its value is in no commit)",
    State.CONFLICT: "edited in the Kameleoon UI while it changed in git too (base: {base})",
    State.REMOTE_AHEAD: "Kameleoon holds code from commit {commit}, which the pushed history does not contain",
}


def check_range(opts: Options, console: Console, *, head: str | None = None) -> int:
    """Block (exit 3) when a mapped field changed in the range was edited in Kameleoon or holds code from
    commits outside the pushed history; warn about live experiments and vanished entities."""
    with locked(opts, "kamsync hook run pre-push") as ws:
        refuse_creation_here(opts, ws.manifest.creations(), None)
        files = pick_files(ws, (), opts.from_rev)
        with connected(opts, ws, console) as run:
            run.charge_reads(files, "the pre-push check")
            found = survey(ws, files, run.client, from_rev=run.opts.from_rev)
    for warning in found.warnings:
        console.warn(warning)
    blocking = [refusal.status for refusal in kameleoon_edits(found.statuses)]
    for status in found.statuses:
        if status.state is State.REMOTE_MISSING:
            console.warn(f"{status.path}: {status.mapped.ref.describe()} no longer exists in Kameleoon")
        elif status.live and status.state is State.LOCAL_CHANGED:
            ref = status.mapped.ref
            what = (
                "the site's global script runs for every visitor of the site"
                if ref.entity is Entity.SITE
                else (f"{ref.root.value} {ref.root_id} is live (status active)")
            )
            console.warn(f"{status.path}: {what}: visitors will run this code as soon as it is pushed to Kameleoon")
    if not blocking:
        console.info(f"kamsync pre-push: {len(found.statuses)} mapped field(s) checked: Kameleoon has no edit to lose")
        return int(Exit.OK)
    for status in blocking:
        commit = status.seen.commit[:12] if status.seen else "another commit"
        reason = BLOCKED[status.state].format(commit=commit, base=describe_base(status.base))
        console.error(f"{status.path} ({status.mapped.ref.describe()}): {reason}")
    console.info(
        "kamsync pre-push: the push is blocked so that nobody loses these Kameleoon changes. To resolve:\n"
        "  kamsync diff                 see what Kameleoon holds\n"
        "  kamsync pull                 adopt or merge it, then commit and push again\n"
        "  git pull / git merge         bring in the commits Kameleoon's code comes from (remote-ahead)\n"
        "  kamsync push --force         overwrite Kameleoon instead (its values are saved first)\n"
        "  KAMSYNC_SKIP=1 git push      push without this check, once"
    )
    if opts.to_rev is not None and opts.to_rev != head:
        console.info(
            f"  (these commands work on the checked-out commit; the pushed one is {opts.to_rev[:12]}: "
            f"`kamsync diff --to {opts.to_rev[:12]}` shows it, or check it out first)"
        )
    return int(Exit.REFUSED)


def push_range(opts: Options, console: Console, *, allow_live: bool, dry_run: bool = False) -> int:
    """``kamsync push`` for the mapped files changed in the range, read at the pushed commit."""
    return run_push(opts, console, (), dry_run=dry_run, exit_code=False, force=False, allow_live=allow_live)
