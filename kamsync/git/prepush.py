"""What a push asks the pre-push hook to look at: pure functions, no git and no I/O.

Git runs ``pre-push REMOTE URL`` with one line per ref on standard input (githooks(5)):
``<local ref> SP <local id> SP <remote ref> SP <remote id> LF``. An all-zero id means "none": a zero local id
deletes the remote ref, a zero remote id creates it. Ids have 40 (SHA-1) or 64 (SHA-256) hex digits.

The pre-commit framework runs its hooks differently: no arguments and no standard input, but environment
variables (``PRE_COMMIT_FROM_REF``/``PRE_COMMIT_TO_REF`` when it found a range, ``PRE_COMMIT_LOCAL_BRANCH``,
``PRE_COMMIT_REMOTE_BRANCH``, ``PRE_COMMIT_REMOTE_NAME``, ``PRE_COMMIT_REMOTE_URL``), and only for the first
pushed ref that has commits to push; ``from_pre_commit`` turns those into the same ``PushedRef``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from kamsync.core.errors import UsageError
from kamsync.git.ranges import GitRange

__all__ = [
    "PRE_COMMIT_VARIABLES",
    "Decision",
    "PushedRef",
    "base_candidates",
    "branch_name",
    "decide",
    "decide_all",
    "from_pre_commit",
    "parse_pre_push",
]

_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_BRANCH_PREFIX = "refs/heads/"
PRE_COMMIT_VARIABLES = (
    "PRE_COMMIT_FROM_REF",
    "PRE_COMMIT_TO_REF",
    "PRE_COMMIT_LOCAL_BRANCH",
    "PRE_COMMIT_REMOTE_BRANCH",
    "PRE_COMMIT_REMOTE_NAME",
    "PRE_COMMIT_REMOTE_URL",
)


@dataclass(frozen=True, slots=True)
class PushedRef:
    """One ref of a push. ``local_id`` None: the push deletes ``remote_ref``; ``remote_id`` None: the remote
    does not have ``remote_ref`` yet (or its id is not known, as under pre-commit with no range)."""

    local_ref: str  # as the user named it: "refs/heads/feature", "HEAD", "(delete)", a commit id…
    local_id: str | None
    remote_ref: str  # "refs/heads/main", "refs/tags/v1"…
    remote_id: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    """What the hook does with one pushed ref: examine ``range``, or skip it for ``reason``."""

    ref: PushedRef
    branch: str | None  # the remote branch it updates; None for tags and other refs
    range: GitRange | None
    reason: str = ""  # why it is skipped, for messages ("" when examined)


def parse_pre_push(text: str) -> tuple[PushedRef, ...]:
    """The refs git lists on the pre-push hook's standard input; blank lines are ignored."""
    refs: list[PushedRef] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split(" ")
        if len(fields) != 4 or not all(fields) or not _ID.fullmatch(fields[1]) or not _ID.fullmatch(fields[3]):
            raise UsageError(
                f"pre-push input line {number} is not `<local ref> <local id> <remote ref> <remote id>`: "
                f"{line!r}; run the hook only from `git push` (it reads what git writes on its standard input)"
            )
        local_ref, local_id, remote_ref, remote_id = fields
        refs.append(PushedRef(local_ref, _known(local_id), remote_ref, _known(remote_id)))
    return tuple(refs)


def _known(object_id: str) -> str | None:
    """An object id, or None for git's all-zero "no object"."""
    return None if not object_id.strip("0") else object_id


def branch_name(remote_ref: str) -> str | None:
    """The branch a remote ref names (``refs/heads/main`` → ``main``); None for tags and other refs."""
    if remote_ref.startswith(_BRANCH_PREFIX) and len(remote_ref) > len(_BRANCH_PREFIX):
        return remote_ref[len(_BRANCH_PREFIX) :]
    return None


def decide(
    ref: PushedRef,
    branches: Iterable[str],
    *,
    known: Callable[[str], bool],
    merge_base: Callable[[str, str], str | None],
) -> Decision:
    """Whether to examine ``ref`` and which range, given the branches the hook checks.

    An update of a branch examines what changed since the remote's commit. A new branch, or one whose remote
    commit this clone does not have (``known(id)`` says), examines what changed since
    ``merge_base(local_id, branch)`` (see ``base_candidates``), or every mapped file when that is None.
    """
    branch = branch_name(ref.remote_ref)
    if branch is None:
        what = "a tag" if ref.remote_ref.startswith("refs/tags/") else "not a branch"
        return Decision(ref, None, None, f"{ref.remote_ref} is {what}")
    if branch not in set(branches):
        return Decision(ref, branch, None, f"branch {branch} is not one the hook checks")
    if ref.local_id is None:
        return Decision(ref, branch, None, f"the push deletes branch {branch}")
    if ref.remote_id is not None and known(ref.remote_id):
        return Decision(ref, branch, GitRange(ref.remote_id, ref.local_id))
    return Decision(ref, branch, GitRange(merge_base(ref.local_id, branch), ref.local_id))


def decide_all(
    refs: Iterable[PushedRef],
    branches: Iterable[str],
    *,
    known: Callable[[str], bool],
    merge_base: Callable[[str, str], str | None],
) -> tuple[Decision, ...]:
    """``decide`` for each ref of a push, in git's order."""
    wanted = tuple(branches)
    return tuple(decide(ref, wanted, known=known, merge_base=merge_base) for ref in refs)


def base_candidates(remote: str, default_branch: str, branch: str) -> tuple[str, ...]:
    """The refs whose merge-base with a new branch's commit starts the range to examine, best first: what the
    remote already has of the default branch (its remote-tracking ref), else the local default branch —
    unless that is the branch being pushed, whose merge-base with itself would hide every change. Use the
    first that exists; with none, examine every mapped file."""
    candidates = [f"refs/remotes/{remote}/{default_branch}"] if _plain_name(remote) else []
    if branch != default_branch:
        candidates.append(f"{_BRANCH_PREFIX}{default_branch}")
    return tuple(candidates)


def _plain_name(remote: str) -> bool:
    """Whether ``remote`` can be a configured remote's name (git passes the URL when there is none)."""
    return bool(remote) and not any(c in remote for c in ":/\\ ") and not remote.startswith((".", "-"))


def from_pre_commit(environ: Mapping[str, str], *, resolve: Callable[[str], str]) -> PushedRef | None:
    """The ref pre-commit asks its pre-push hooks about, from its environment variables; None when none of
    them is set (not run by pre-commit's pre-push stage).

    With ``PRE_COMMIT_FROM_REF`` and ``PRE_COMMIT_TO_REF`` (the remote's commit, or the parent of the first
    commit the remote lacks, and the pushed commit): that range. With neither (pre-commit found the whole
    pushed history new, down to a root commit): the local ref, ``resolve``d to its commit, with no remote id,
    so that ``decide`` examines from the merge-base with the default branch, or every mapped file.
    """
    values = {name: environ.get(name, "").strip() for name in PRE_COMMIT_VARIABLES}
    if not any(values.values()):
        return None
    remote_ref = values["PRE_COMMIT_REMOTE_BRANCH"]
    if not remote_ref:
        raise UsageError(
            "pre-commit did not say which branch is pushed (PRE_COMMIT_REMOTE_BRANCH is not set); "
            "upgrade pre-commit to 3.2 or later"
        )
    from_ref, to_ref = values["PRE_COMMIT_FROM_REF"], values["PRE_COMMIT_TO_REF"]
    local_ref = values["PRE_COMMIT_LOCAL_BRANCH"] or to_ref or "HEAD"
    return PushedRef(
        local_ref=local_ref,
        local_id=to_ref or resolve(local_ref),
        remote_ref=remote_ref,
        remote_id=(_known(from_ref) if from_ref else None) if to_ref else None,
    )
