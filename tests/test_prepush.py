"""What a push asks the pre-push hook to look at: git's standard input, pre-commit's variables, the ranges."""

from __future__ import annotations

import pytest

from kamsync.core.errors import UsageError
from kamsync.git.prepush import (
    Decision,
    PushedRef,
    base_candidates,
    branch_name,
    decide,
    decide_all,
    from_pre_commit,
    parse_pre_push,
)
from kamsync.git.ranges import GitRange

A, B, C = "a" * 40, "b" * 40, "c" * 40
A64, B64 = "a" * 64, "b" * 64
ZERO, ZERO64 = "0" * 40, "0" * 64


# --- parsing git's standard input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        ("\n\n  \n", ()),
        (
            f"refs/heads/main {A} refs/heads/main {B}\n",
            (PushedRef("refs/heads/main", A, "refs/heads/main", B),),
        ),
        (  # SHA-256 repositories
            f"refs/heads/main {A64} refs/heads/main {B64}\n",
            (PushedRef("refs/heads/main", A64, "refs/heads/main", B64),),
        ),
        (  # a new branch: the remote has no such ref
            f"refs/heads/feature {A} refs/heads/feature {ZERO}\n",
            (PushedRef("refs/heads/feature", A, "refs/heads/feature", None),),
        ),
        (  # a delete: `git push origin :old`
            f"(delete) {ZERO64} refs/heads/old {B64}\n",
            (PushedRef("(delete)", None, "refs/heads/old", B64),),
        ),
        (  # `git push origin feature:main`, `HEAD~1:main`, a tag, and a line with no final newline
            f"refs/heads/feature {A} refs/heads/main {B}\n"
            f"HEAD~1 {B} refs/heads/release {C}\n\n"
            f"refs/tags/v1 {C} refs/tags/v1 {ZERO}",
            (
                PushedRef("refs/heads/feature", A, "refs/heads/main", B),
                PushedRef("HEAD~1", B, "refs/heads/release", C),
                PushedRef("refs/tags/v1", C, "refs/tags/v1", None),
            ),
        ),
        (  # CRLF from a hook wrapper on Windows
            f"refs/heads/main {A} refs/heads/main {B}\r\n",
            (PushedRef("refs/heads/main", A, "refs/heads/main", B),),
        ),
    ],
)
def test_parse_pre_push_reads_one_ref_per_line(text: str, expected: tuple[PushedRef, ...]) -> None:
    assert parse_pre_push(text) == expected


@pytest.mark.parametrize(
    ("text", "number", "line"),
    [
        (f"refs/heads/main {A} refs/heads/main\n", 1, f"refs/heads/main {A} refs/heads/main"),
        (f"\nrefs/heads/main {A} refs/heads/main {B} extra\n", 2, f"refs/heads/main {A} refs/heads/main {B} extra"),
        (f"refs/heads/main {A[:39]} refs/heads/main {B}", 1, f"refs/heads/main {A[:39]} refs/heads/main {B}"),
        (f"refs/heads/main {A} refs/heads/main {'b' * 50}", 1, f"refs/heads/main {A} refs/heads/main {'b' * 50}"),
        (f"refs/heads/main {A.upper()} refs/heads/main {B}", 1, f"refs/heads/main {A.upper()} refs/heads/main {B}"),
        (f"refs/heads/main  {A} refs/heads/main {B}", 1, f"refs/heads/main  {A} refs/heads/main {B}"),
        ("origin https://example.invalid/repo.git", 1, "origin https://example.invalid/repo.git"),
    ],
)
def test_parse_pre_push_refuses_a_malformed_line_naming_it(text: str, number: int, line: str) -> None:
    with pytest.raises(UsageError) as error:
        parse_pre_push(text)
    assert str(error.value) == (
        f"pre-push input line {number} is not `<local ref> <local id> <remote ref> <remote id>`: {line!r}; "
        "run the hook only from `git push` (it reads what git writes on its standard input)"
    )


@pytest.mark.parametrize(
    ("remote_ref", "branch"),
    [
        ("refs/heads/main", "main"),
        ("refs/heads/release/2.0", "release/2.0"),
        ("refs/heads/", None),
        ("refs/tags/v1", None),
        ("refs/notes/commits", None),
        ("main", None),
        ("", None),
    ],
)
def test_branch_name_only_for_refs_under_refs_heads(remote_ref: str, branch: str | None) -> None:
    assert branch_name(remote_ref) == branch


# --- deciding what to examine -----------------------------------------------------------------------------

KNOWN = {A, B, A64, B64}
BASES = {(A, "feature"): C, (A, "main"): None}


def known(object_id: str) -> bool:
    return object_id in KNOWN


def merge_base(local_id: str, branch: str) -> str | None:
    return BASES.get((local_id, branch))


def ref(local: str, local_id: str | None, remote: str, remote_id: str | None) -> PushedRef:
    return PushedRef(local, local_id, remote, remote_id)


@pytest.mark.parametrize(
    ("pushed", "branches", "expected_range", "reason"),
    [
        # An update: what changed since the remote's commit.
        (ref("refs/heads/main", A, "refs/heads/main", B), ["main"], GitRange(B, A), ""),
        (ref("refs/heads/main", A64, "refs/heads/main", B64), ["main"], GitRange(B64, A64), ""),
        # `git push origin feature:main`: the commit pushed, whatever is checked out.
        (ref("refs/heads/feature", A, "refs/heads/main", B), ["main", "release"], GitRange(B, A), ""),
        # A new branch: from its merge-base with the default branch.
        (ref("refs/heads/feature", A, "refs/heads/feature", None), ["feature"], GitRange(C, A), ""),
        # A new branch with no merge-base (first push of the default branch, an orphan): every mapped file.
        (ref("refs/heads/main", A, "refs/heads/main", None), ["main"], GitRange(None, A), ""),
        # The remote's commit is not in this clone (someone pushed since our last fetch): as a new branch.
        (ref("refs/heads/feature", A, "refs/heads/feature", C), ["feature"], GitRange(C, A), ""),
        # Skipped.
        (ref("refs/heads/main", A, "refs/heads/dev", B), ["main"], None, "branch dev is not one the hook checks"),
        (ref("(delete)", None, "refs/heads/main", B), ["main"], None, "the push deletes branch main"),
        (ref("refs/tags/v1", A, "refs/tags/v1", None), ["main"], None, "refs/tags/v1 is a tag"),
        (ref("refs/notes/x", A, "refs/notes/x", None), ["main"], None, "refs/notes/x is not a branch"),
    ],
)
def test_decide_examines_configured_branches_from_the_right_commit(
    pushed: PushedRef, branches: list[str], expected_range: GitRange | None, reason: str
) -> None:
    decision = decide(pushed, branches, known=known, merge_base=merge_base)
    assert (decision.range, decision.reason) == (expected_range, reason)
    assert decision.ref == pushed


def test_decide_all_keeps_gits_order_for_several_refs() -> None:
    refs = parse_pre_push(
        f"refs/heads/main {A} refs/heads/main {B}\n"
        f"refs/tags/v2 {B} refs/tags/v2 {ZERO}\n"
        f"refs/heads/feature {A} refs/heads/feature {ZERO}\n"
    )
    decisions = decide_all(refs, ["main", "feature"], known=known, merge_base=merge_base)
    assert decisions == (
        Decision(refs[0], "main", GitRange(B, A)),
        Decision(refs[1], None, None, "refs/tags/v2 is a tag"),
        Decision(refs[2], "feature", GitRange(C, A)),
    )


def test_decide_all_of_an_empty_push_is_nothing() -> None:
    assert decide_all(parse_pre_push(""), ["main"], known=known, merge_base=merge_base) == ()


@pytest.mark.parametrize(
    ("remote", "default", "branch", "expected"),
    [
        ("origin", "main", "feature", ("refs/remotes/origin/main", "refs/heads/main")),
        ("origin", "main", "main", ("refs/remotes/origin/main",)),
        ("upstream", "trunk", "x", ("refs/remotes/upstream/trunk", "refs/heads/trunk")),
        # git passes the URL as REMOTE when the push names no configured remote
        ("https://example.invalid/r.git", "main", "feature", ("refs/heads/main",)),
        ("../bare.git", "main", "main", ()),
    ],
)
def test_base_candidates_prefer_what_the_remote_has(
    remote: str, default: str, branch: str, expected: tuple[str, ...]
) -> None:
    assert base_candidates(remote, default, branch) == expected


# --- pre-commit's environment ------------------------------------------------------------------------------


def resolve(rev: str) -> str:
    return {"refs/heads/main": A, "HEAD": C}[rev]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"PRE_COMMIT_FROM_REF": ""}, None),
        (  # pre-commit found a range: the remote's commit (or the parent of the first new one) and the pushed one
            {
                "PRE_COMMIT_FROM_REF": B,
                "PRE_COMMIT_TO_REF": A,
                "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/feature",
                "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main",
                "PRE_COMMIT_REMOTE_NAME": "origin",
                "PRE_COMMIT_REMOTE_URL": "https://example.invalid/r.git",
            },
            PushedRef("refs/heads/feature", A, "refs/heads/main", B),
        ),
        (  # the whole pushed history is new (down to a root commit): no range, only the refs
            {
                "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main",
                "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main",
                "PRE_COMMIT_REMOTE_NAME": "origin",
                "PRE_COMMIT_REMOTE_URL": "/srv/r.git",
            },
            PushedRef("refs/heads/main", A, "refs/heads/main", None),
        ),
        (  # TO only: taken as a new branch
            {"PRE_COMMIT_TO_REF": A, "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main"},
            PushedRef(A, A, "refs/heads/main", None),
        ),
        (  # FROM only (never sent by pre-commit): nothing to anchor it, the local ref as a new branch
            {"PRE_COMMIT_FROM_REF": B, "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main"},
            PushedRef("HEAD", C, "refs/heads/main", None),
        ),
    ],
)
def test_from_pre_commit_reads_its_variables(environ: dict[str, str], expected: PushedRef | None) -> None:
    assert from_pre_commit(environ, resolve=resolve) == expected


def test_from_pre_commit_then_decide_gives_the_range_or_the_new_branch_logic() -> None:
    ranged = from_pre_commit(
        {"PRE_COMMIT_FROM_REF": B, "PRE_COMMIT_TO_REF": A, "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main"},
        resolve=resolve,
    )
    whole = from_pre_commit(
        {"PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main", "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/feature"},
        resolve=resolve,
    )
    assert ranged is not None and whole is not None
    assert decide(ranged, ["main"], known=known, merge_base=merge_base).range == GitRange(B, A)
    assert decide(whole, ["feature"], known=known, merge_base=merge_base).range == GitRange(C, A)


def test_from_pre_commit_without_the_remote_branch_asks_for_a_newer_pre_commit() -> None:
    with pytest.raises(UsageError) as error:
        from_pre_commit({"PRE_COMMIT_FROM_REF": B, "PRE_COMMIT_TO_REF": A}, resolve=resolve)
    assert str(error.value) == (
        "pre-commit did not say which branch is pushed (PRE_COMMIT_REMOTE_BRANCH is not set); "
        "upgrade pre-commit to 3.2 or later"
    )
