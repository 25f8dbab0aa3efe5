"""``kamsync drift``: the status of the whole manifest, and, with ``--open-pr``, the edits made in Kameleoon
pulled onto one branch (``kamsync/drift``) and pushed, for the one pull request ``kamsync.ui.publish`` opens or
updates (found again by its marker).

The branch is made afresh from the checked-out commit each time and pushed with ``--force``: the pull
request always shows exactly what Kameleoon holds now. Its commits go to that branch only, never to the
branch the push job deploys, so a drift run never sets off a push, and no push sets off a drift run.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kamsync.core.errors import GitError
from kamsync.core.runreport import RunReport
from kamsync.core.states import State
from kamsync.git.repo import GitRepo
from kamsync.sync.commands import run_pull
from kamsync.sync.github import status_report
from kamsync.sync.options import Options
from kamsync.sync.report import Report

__all__ = ["PULLABLE", "drift_report"]

# What a pull brings in: edits made in the Kameleoon UI (remote-ahead is code of another branch: merge it in git).
PULLABLE = frozenset({State.REMOTE_CHANGED.value, State.CONFLICT.value})
# Who the drift commit is by, when git has no identity configured (a fresh runner).
_BOT = ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")
_IDENTITY = {
    "GIT_AUTHOR_NAME": _BOT[0],
    "GIT_AUTHOR_EMAIL": _BOT[1],
    "GIT_COMMITTER_NAME": _BOT[0],
    "GIT_COMMITTER_EMAIL": _BOT[1],
}


def drift_report(opts: Options, report: Report, *, open_pr: bool, branch: str) -> RunReport:
    """The drift of the whole manifest; with ``open_pr``, Kameleoon's edits pushed on ``branch``."""
    if not open_pr:
        return status_report(opts, report, (), command="drift")
    repo = GitRepo.discover(Path.cwd())
    _forget_branch(repo, branch)
    found = status_report(opts, report, (), command="drift")
    if not any(r.state in PULLABLE for r in found.rows):
        return found
    pushed = _pull_onto(opts, report, repo, branch)
    return replace(found, drift_branch=branch if pushed else None)


def _forget_branch(repo: GitRepo, branch: str) -> None:
    """Drop this clone's copies of the drift branch: the values it holds were pulled from Kameleoon, and seen
    there they would make the edits look like code of another branch (remote-ahead), which a pull leaves alone.
    The branch is made afresh and pushed again anyway."""
    for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        repo.try_run("update-ref", "-d", ref)


def _pull_onto(opts: Options, report: Report, repo: GitRepo, branch: str) -> bool:
    """Pull Kameleoon's edits onto ``branch`` (made afresh from HEAD), commit them, push it, come back."""
    back = (repo.try_run("symbolic-ref", "-q", "--short", "HEAD") or repo.resolve("HEAD")).strip()
    identity = {} if (repo.try_run("config", "user.email") or "").strip() else _IDENTITY
    repo.run("checkout", "-q", "-B", branch)
    try:
        run_pull(opts, report, (), experiments=(), force=False)
        if repo.try_run("rev-parse", "-q", "--verify", "MERGE_HEAD") is None:
            return False  # nothing was pulled after all
        unmerged = repo.run("diff", "--name-only", "--diff-filter=U").split()
        if unmerged:  # overlapping edits: committed with their markers, for the reviewer to resolve on the branch
            repo.run("add", "--", *unmerged)
        message = "Adopt the edits made in Kameleoon\n\nPulled by `kamsync drift --open-pr`."
        repo.run("commit", "-q", "--no-verify", "-m", message, extra=identity)
        repo.run("push", "-q", "--force", "origin", f"HEAD:refs/heads/{branch}")
        return True
    finally:
        if repo.try_run("checkout", "-q", back) is None:
            raise GitError(f"could not check out {back} again after preparing {branch}")
