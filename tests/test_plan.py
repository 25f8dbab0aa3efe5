"""Verdicts and the push plan are pure decisions: tables of cases."""

from __future__ import annotations

import pytest

from kamsync.model import FieldRef, MappedFile
from kamsync.plan import plan_push
from kamsync.states import FieldStatus, Seen, State, classify

HEAD_COMMIT = Seen("a" * 40, in_head=True)
OTHER_COMMIT = Seen("b" * 40, in_head=False)


@pytest.mark.parametrize(
    ("local", "remote", "seen", "recorded", "expected"),
    [
        ("x", None, None, False, State.REMOTE_MISSING),
        (None, None, None, False, State.REMOTE_MISSING),
        (None, "code", None, False, State.REMOTE_ONLY),
        (None, "", None, False, None),  # nothing on either side: not listed
        ("x", "x", None, False, State.IN_SYNC),
        ("x", "old", HEAD_COMMIT, False, State.LOCAL_CHANGED),
        ("x", "old", OTHER_COMMIT, False, State.REMOTE_AHEAD),
        ("x", "old", OTHER_COMMIT, True, State.REMOTE_AHEAD),  # commits take precedence over the record
        ("x", "old", None, True, State.LOCAL_CHANGED),
        ("x", "ui", None, False, State.REMOTE_CHANGED),
        ("x", "", None, False, State.REMOTE_CHANGED),  # a field emptied in the UI is an edit, not a gap
    ],
)
def test_classify(local, remote, seen, recorded, expected):
    assert classify(local, remote, seen=seen, recorded=recorded) == expected


def status(
    variation_id: int | None, field: str, state: State, *, live: bool = False, local: str = "new"
) -> FieldStatus:
    ref = FieldRef(1, variation_id, field)
    return FieldStatus(MappedFile(ref, f"{variation_id}/{field}", 3), state, local, "old", live, raw_local=local + "\n")


def test_one_write_per_entity_with_only_changed_fields():
    plan = plan_push(
        [
            status(10, "jsCode", State.LOCAL_CHANGED),
            status(10, "cssCode", State.LOCAL_CHANGED),
            status(11, "jsCode", State.IN_SYNC),
            status(None, "commonCssCode", State.LOCAL_CHANGED),
            status(None, "globalScript", State.REMOTE_ONLY),
        ]
    )
    assert not plan.refusals
    assert [(w.entity.value, w.entity_id, w.body) for w in plan.writes] == [
        ("variation", 10, {"jsCode": "new\n", "cssCode": "new\n"}),
        ("experiment", 1, {"commonCssCode": "new\n"}),
    ]
    assert plan.requests == 2


@pytest.mark.parametrize(
    ("state", "live", "force", "allow_live", "refused", "written"),
    [
        (State.REMOTE_CHANGED, False, False, False, True, False),
        (State.REMOTE_CHANGED, False, True, False, False, True),
        (State.REMOTE_AHEAD, False, False, False, True, False),
        (State.REMOTE_AHEAD, False, True, False, False, True),
        (State.LOCAL_CHANGED, True, False, False, True, False),
        (State.LOCAL_CHANGED, True, False, True, False, True),
        (State.REMOTE_CHANGED, True, True, False, True, False),  # --force does not imply --allow-live
        (State.REMOTE_MISSING, False, True, True, True, False),  # nothing overrides a missing entity
        (State.IN_SYNC, True, False, False, False, False),  # live but unchanged: nothing to refuse
    ],
)
def test_refusals(state, live, force, allow_live, refused, written):
    plan = plan_push([status(10, "jsCode", state, live=live)], force=force, allow_live=allow_live)
    assert bool(plan.refusals) is refused
    assert bool(plan.writes) is written


def test_every_refusal_says_the_way_out():
    plan = plan_push(
        [
            status(10, "jsCode", State.REMOTE_CHANGED),
            status(11, "jsCode", State.REMOTE_AHEAD),
            status(12, "jsCode", State.LOCAL_CHANGED, live=True),
            status(13, "jsCode", State.REMOTE_MISSING),
        ]
    )
    fixes = [r.fix for r in plan.refusals]
    assert len(fixes) == 4
    assert "kamsync pull" in fixes[0] and "--force" in fixes[0]
    assert "update your branch" in fixes[1]
    assert "--allow-live" in fixes[2]
    assert "manifest" in fixes[3]
    assert "b" * 12 not in plan.refusals[1].reason  # no commit known for this one: says "another commit"
