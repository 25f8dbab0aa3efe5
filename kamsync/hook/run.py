"""``kamsync hook run pre-push`` / ``pre-commit``: what the installed hook does when git pushes.

For each ref pushed to a branch the hook watches, the mapped files changed in the pushed range are examined at
the pushed commit (which need not be checked out). With none, the hook exits 0 at once: no credentials needed,
no request sent, and only git plumbing run — this module imports the HTTP side only when there is work, so the
common push costs a fraction of a second.

- ``check``: block the push when a field is ``remote-changed`` (edited in the Kameleoon UI) or ``remote-ahead``
  (Kameleoon holds code from commits outside the pushed history); a live experiment is a warning.
- ``push``: the rules of ``kamsync push`` for those fields, then push them; git's push goes on only if that
  succeeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from kamsync.core.errors import CredentialsError, Exit, KamsyncError, UsageError, worst
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
from kamsync.git.prepush import Decision, PushedRef, base_candidates, decide_all, from_pre_commit, parse_pre_push
from kamsync.git.ranges import GitRange, RangeChanges, range_changes, short
from kamsync.git.repo import GitRepo
from kamsync.git.tree import CommitTree, find_manifest_at, mapped_paths_at
from kamsync.hook.install import HookMode, skip_requested
from kamsync.manifest.parse import MANIFEST_NAME
from kamsync.sync.options import Options
from kamsync.sync.report import Report

__all__ = ["HookRun", "run_pre_commit", "run_pre_push"]

PREFIX = HOOK_PREFIX


@dataclass(frozen=True, slots=True)
class HookRun:
    """How the installed hook was configured."""

    mode: HookMode
    branches: tuple[str, ...]
    allow_live: bool = False
    require_credentials: bool = False


def run_pre_push(opts: Options, report: Report, settings: HookRun, remote: str, stdin: str) -> int:
    """Examine the refs git is pushing (its standard input lines) to ``remote``."""
    if skip_requested(opts.environ):
        report(HookSkipped())
        return int(Exit.OK)
    repo = GitRepo.discover(Path.cwd())
    return _Examine(opts, report, repo, settings).refs(remote, parse_pre_push(stdin))


def run_pre_commit(opts: Options, report: Report, settings: HookRun) -> int:
    """The same, for the pre-commit framework's pre-push stage: the range comes from its PRE_COMMIT_* variables."""
    if skip_requested(opts.environ):
        report(HookSkipped())
        return int(Exit.OK)
    repo = GitRepo.discover(Path.cwd())
    ref = from_pre_commit(opts.environ, resolve=repo.resolve)
    if ref is None:
        raise UsageError(
            "`kamsync hook run pre-commit` is run by pre-commit's pre-push stage, which sets PRE_COMMIT_FROM_REF, "
            "PRE_COMMIT_TO_REF and PRE_COMMIT_REMOTE_BRANCH; from git itself use `kamsync hook install`"
        )
    remote = opts.environ.get("PRE_COMMIT_REMOTE_NAME", "") or "origin"
    return _Examine(opts, report, repo, settings).refs(remote, (ref,))


@dataclass(frozen=True, slots=True)
class _Examine:
    """The hook's work on the refs of one push: which ranges touch mapped files, then check or push them."""

    opts: Options
    report: Report
    repo: GitRepo
    settings: HookRun

    def refs(self, remote: str, refs: Sequence[PushedRef]) -> int:
        work = self._work(remote, refs)
        if not work:
            return int(Exit.OK)
        if not self.opts.has_credentials:
            return self._without_credentials()
        if self.settings.mode is HookMode.PUSH:
            return self._push(work)
        from kamsync.hook.work import check_range  # the HTTP side, only now that there is work

        codes = []
        for decision, span in work:
            self.report(Examining(str(decision.branch), span.describe()))
            checked = check_range(self._ranged(span), self.report, head=self.repo.head())
            self.report(checked)
            codes.append(checked.code)
        return worst(*codes)

    def _work(self, remote: str, refs: Sequence[PushedRef]) -> list[tuple[Decision, GitRange]]:
        """The pushed refs whose range touches mapped files; each other one is said to pass, and why."""
        repo = self.repo
        default = repo.default_branch()
        branches = self.settings.branches or (default,)

        def merge_base(local_id: str, branch: str) -> str | None:
            for candidate in base_candidates(remote, default, branch):
                if repo.commit_exists(candidate):
                    return repo.merge_base(local_id, candidate)
            return None

        decisions = decide_all(refs, branches, known=repo.commit_exists, merge_base=merge_base)
        work: list[tuple[Decision, GitRange]] = []
        for decision in decisions:
            span, why = _mapped_change(self.opts, repo, decision)
            if span is None:
                self.report(RefPassed(decision.branch or decision.ref.remote_ref, why))
            else:
                work.append((decision, span))
        if not work:
            self.report(NothingToCheck(len(decisions)))
        return work

    def _without_credentials(self) -> int:
        if self.settings.mode is HookMode.CHECK and not self.settings.require_credentials:
            self.report(Unchecked())
            return int(Exit.OK)
        raise CredentialsError(
            f"{PREFIX} set KAMELEOON_CLIENT_ID and KAMELEOON_CLIENT_SECRET (this hook needs them to "
            f"{'push to' if self.settings.mode is HookMode.PUSH else 'check'} Kameleoon); or push unchecked once "
            "with KAMSYNC_SKIP=1 git push"
        )

    def _ranged(self, span: GitRange) -> Options:
        return replace(self.opts, from_rev=span.from_rev, to_rev=span.to_rev)

    def _push(self, work: list[tuple[Decision, GitRange]]) -> int:
        from kamsync.hook.work import push_range  # the HTTP side, only now that there is work

        allow_live = self.settings.allow_live
        if len(work) > 1:
            # Git pushes all refs or none: write nothing unless every ref's fields may be written.
            self.report(CheckingAll(len(work)))
            for decision, span in work:
                dry = push_range(self._ranged(span), self.report, allow_live=allow_live, dry_run=True)
                self.report(dry)
                if dry.code != Exit.OK:
                    self.report(RefRefused(str(decision.branch)))
                    return dry.code
        codes = []
        for index, (decision, span) in enumerate(work):
            self.report(Examining(str(decision.branch), span.describe()))
            pushed = push_range(self._ranged(span), self.report, allow_live=allow_live)
            self.report(pushed)
            if pushed.code != Exit.OK and index + 1 < len(work):
                self.report(StoppedBefore(str(decision.branch), tuple(str(d.branch) for d, _ in work[index + 1 :])))
                return pushed.code
            codes.append(pushed.code)
        return worst(*codes)


def _mapped_change(opts: Options, repo: GitRepo, decision: Decision) -> tuple[GitRange | None, str]:
    """The range to examine for one pushed ref, or None and why there is nothing to examine."""
    span = decision.range
    if span is None:
        return None, decision.reason
    tree = CommitTree(repo, span.to_rev)
    try:
        manifest_path = find_manifest_at(tree, opts.manifest, opts.environ, repo.top)
    except UsageError:
        where = opts.manifest or MANIFEST_NAME
        return None, f"the pushed commit {short(span.to_rev)} has no kamsync manifest ({where})"
    mapped = mapped_paths_at(tree, manifest_path)
    if span.from_rev is None:
        return (span, "") if mapped else (None, "the manifest maps no file")
    found = range_changes(repo, span, manifest_path, mapped)
    if found.content or (found.before is not None and _maps_new(found, tree, manifest_path)):
        return span, ""
    return None, f"no mapped file changed in the pushed commits ({span.describe()})"


def _maps_new(found: RangeChanges, tree: CommitTree, manifest_path: Path) -> bool:
    """Whether the pushed manifest maps files to fields the earlier one did not (parsed in full only now)."""
    try:
        manifest = tree.load_manifest(manifest_path)
    except KamsyncError:
        return True  # the check that follows says why it cannot be read
    return bool(manifest.creations()) or found.maps_new(manifest)
