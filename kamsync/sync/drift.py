"""``kamsync drift``: the status of the whole manifest, and, with ``--open-pr``, the edits made in Kameleoon
pulled onto one branch (``kamsync/drift``) with one pull request for them, found again by its marker.

The branch is made afresh from the checked-out commit each time and pushed with ``--force``: the pull
request always shows exactly what Kameleoon holds now. Its commits go to that branch only, never to the
branch the push job deploys, so a drift run never sets off a push, and no push sets off a drift run.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kamsync.api.github import GitHub, own_marked
from kamsync.core.errors import Exit, GitError, UsageError
from kamsync.core.runreport import DRIFTED, RunReport
from kamsync.core.states import State
from kamsync.git.repo import GitRepo
from kamsync.sync.commands import run_pull
from kamsync.sync.github import status_report
from kamsync.sync.github_publish import ActionsEnv
from kamsync.sync.options import Options
from kamsync.ui.console import Console, Styled
from kamsync.ui.markdown import COMMENT_LIMIT, comment_marker, document

__all__ = ["PULLABLE", "drift_report", "text_drift"]

# What a pull brings in: edits made in the Kameleoon UI (remote-ahead is code of another branch: merge it in git).
PULLABLE = frozenset({State.REMOTE_CHANGED.value, State.CONFLICT.value})
# Who the drift commit is by, when git has no identity configured (a fresh runner).
_IDENTITY = {
    "GIT_AUTHOR_NAME": "github-actions[bot]",
    "GIT_AUTHOR_EMAIL": "41898282+github-actions[bot]@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "github-actions[bot]",
    "GIT_COMMITTER_EMAIL": "41898282+github-actions[bot]@users.noreply.github.com",
}


def drift_report(opts: Options, console: Console, env: ActionsEnv, *, open_pr: bool, branch: str) -> RunReport:
    if not open_pr:
        return status_report(opts, console, (), command="drift")
    if not env.token or not env.repository:
        raise UsageError("--open-pr needs GITHUB_TOKEN and GITHUB_REPOSITORY (the action passes them)")
    repo = GitRepo.discover(Path.cwd())
    _forget_branch(repo, branch)
    report = status_report(opts, console, (), command="drift")
    if not any(r.state in PULLABLE for r in report.rows):
        console.info("no edit made in Kameleoon to pull: no drift pull request to open or update")
        return report
    _pull_onto(opts, console, repo, branch)
    url = _open_or_update(env, report, branch)
    console.info(f"the edits made in Kameleoon are on branch {branch}: {url}")
    return replace(report, pull_request=url)


def text_drift(opts: Options, console: Console, *, exit_code: bool) -> int:
    """``kamsync drift`` in text: one line per drifted field; exit 1 with ``exit_code`` when any drifted."""
    report = drift_report(opts, console, ActionsEnv.of({}), open_pr=False, branch="")
    drifted = [r for r in report.rows if r.state in DRIFTED]
    console.emit_json(
        {
            "drifted": [
                {"path": r.file, "experiment_id": r.experiment_id, "variation_id": r.variation_id,
                 "field": r.field, "state": r.state}
                for r in drifted
            ],
            "requests": report.requests,
        }
    )  # fmt: skip
    for row in drifted:
        console.out(Styled(row.state, row.state), f"  {row.file}  ({row.field})")
    console.summary(f"{report.drifted} field(s) drifted from git, of {report.changes} that differ")
    return int(Exit.DIFFERENCES) if exit_code and report.drifted else int(Exit.OK)


def _forget_branch(repo: GitRepo, branch: str) -> None:
    """Drop this clone's copies of the drift branch: the values it holds were pulled from Kameleoon, and seen
    there they would make the edits look like code of another branch (remote-ahead), which a pull leaves alone.
    The branch is made afresh and pushed again anyway."""
    for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        repo.try_run("update-ref", "-d", ref)


def _pull_onto(opts: Options, console: Console, repo: GitRepo, branch: str) -> None:
    """Pull Kameleoon's edits onto ``branch`` (made afresh from HEAD), commit them, push it, come back."""
    back = (repo.try_run("symbolic-ref", "-q", "--short", "HEAD") or repo.resolve("HEAD")).strip()
    identity = {} if (repo.try_run("config", "user.email") or "").strip() else _IDENTITY
    repo.run("checkout", "-q", "-B", branch)
    try:
        run_pull(opts, console, (), experiments=(), force=False)
        if repo.try_run("rev-parse", "-q", "--verify", "MERGE_HEAD") is None:
            return  # nothing was pulled after all
        unmerged = repo.run("diff", "--name-only", "--diff-filter=U").split()
        if unmerged:  # overlapping edits: committed with their markers, for the reviewer to resolve on the branch
            repo.run("add", "--", *unmerged)
        message = "Adopt the edits made in Kameleoon\n\nPulled by `kamsync drift --open-pr`."
        repo.run("commit", "-q", "--no-verify", "-m", message, extra=identity)
        repo.run("push", "-q", "--force", "origin", f"HEAD:refs/heads/{branch}")
    finally:
        if repo.try_run("checkout", "-q", back) is None:
            raise GitError(f"could not check out {back} again after preparing {branch}")


def _open_or_update(env: ActionsEnv, report: RunReport, branch: str) -> str:
    assert env.repository is not None
    marker = comment_marker("drift", report.manifest)
    body = document(replace(report, pull_request=None), limit=COMMENT_LIMIT, marker=marker)
    title = f"kamsync: adopt the edits made in Kameleoon ({report.manifest})"
    owner = env.repository.split("/", 1)[0]
    with GitHub(env.api_url, env.token, env.repository) as github:
        mine = own_marked(github.open_pulls(owner, branch), marker, github.login())
        if mine is None:
            made = github.create_pull(head=branch, base=env.base_branch, title=title, body=body)
        else:
            made = github.update_pull(mine.number, title=title, body=body)
    return made.url if made is not None and made.url else branch
