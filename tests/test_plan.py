"""Verdicts and the push plan are pure decisions: tables of cases."""

from __future__ import annotations

import pytest

from kamsync.core.merge import has_markers
from kamsync.core.model import Entity, FieldRef, MappedFile
from kamsync.core.normalize import fingerprint
from kamsync.core.plan import kameleoon_edits, plan_push
from kamsync.core.states import Base, Basis, Evidence, FieldStatus, Seen, State, classify

HEAD_COMMIT = Seen("a" * 40, in_head=True)
OTHER_COMMIT = Seen("b" * 40, in_head=False)


def fp(value: str) -> str:
    return fingerprint(value)


NO_RECORD = Evidence()
# (local, remote, evidence, state, basis): the rules of kamsync.core.states, first match wins.
CASES = [
    # entity gone / file absent
    ("x", None, NO_RECORD, State.REMOTE_MISSING, None),
    (None, None, NO_RECORD, State.REMOTE_MISSING, None),
    (None, "code", NO_RECORD, State.REMOTE_ONLY, None),
    (None, "", NO_RECORD, None, None),  # nothing on either side: not listed
    # 1. equal
    ("x", "x", Evidence(recorded=fp("old")), State.IN_SYNC, None),
    # 2. commits outside HEAD's history take precedence over the record
    ("x", "old", Evidence(seen=OTHER_COMMIT), State.REMOTE_AHEAD, Basis.SEEN),
    ("x", "old", Evidence(seen=OTHER_COMMIT, recorded=fp("old")), State.REMOTE_AHEAD, Basis.SEEN),
    # 3. the record decides which side moved
    ("x", "old", Evidence(recorded=fp("old")), State.LOCAL_CHANGED, Basis.RECORD),
    ("x", "ui", Evidence(recorded=fp("x")), State.REMOTE_CHANGED, Basis.RECORD),
    ("x", "ui", Evidence(recorded=fp("base")), State.CONFLICT, Basis.RECORD),
    # a UI revert to an older committed value is news when the record knows better
    ("x", "old", Evidence(seen=HEAD_COMMIT, recorded=fp("x")), State.REMOTE_CHANGED, Basis.RECORD),
    # 4. no record, cleared in Kameleoon: deployed before (cleared in the UI) or never deployed
    ("x", "", Evidence(deployed_empty=False), State.REMOTE_CHANGED, Basis.DEPLOYED),
    ("x", "", Evidence(deployed_empty=True), State.LOCAL_CHANGED, Basis.DEPLOYED),
    ("x", "", Evidence(seen=HEAD_COMMIT, deployed_empty=False), State.REMOTE_CHANGED, Basis.DEPLOYED),
    # 5. no record, Kameleoon holds a value of HEAD's history: a fast-forward
    ("x", "old", Evidence(seen=HEAD_COMMIT), State.LOCAL_CHANGED, Basis.SEEN),
    ("x", "old", Evidence(seen=HEAD_COMMIT, forked=True), State.LOCAL_CHANGED, Basis.SEEN),
    # 6. no record, a value no commit has: a conflict when the file has local work the shared line lacks
    ("x", "ui", NO_RECORD, State.REMOTE_CHANGED, Basis.FORK),
    ("x", "ui", Evidence(forked=True), State.CONFLICT, Basis.FORK),
]


@pytest.mark.parametrize(("local", "remote", "evidence", "state", "basis"), CASES)
def test_classify(local, remote, evidence, state, basis):
    verdict = classify(local, remote, evidence)
    if state is None:
        assert verdict is None
    else:
        assert verdict is not None
        assert (verdict.state, verdict.basis) == (state, basis)


def status(
    variation_id: int | None, field: str, state: State, *, live: bool = False, local: str = "new"
) -> FieldStatus:
    ref = FieldRef.of_experiment(1, field) if variation_id is None else FieldRef.of_variation(1, variation_id, field)
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
        (State.CONFLICT, False, False, False, True, False),
        (State.CONFLICT, False, True, False, False, True),
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


@pytest.mark.parametrize(
    ("state", "live", "blocked"),
    [
        (State.REMOTE_CHANGED, False, True),
        (State.CONFLICT, False, True),
        (State.REMOTE_AHEAD, False, True),
        (State.REMOTE_CHANGED, True, True),
        (State.LOCAL_CHANGED, True, False),  # live: the pre-push check warns, the push itself refuses
        (State.LOCAL_CHANGED, False, False),
        (State.REMOTE_MISSING, False, False),  # the check warns; nothing in Kameleoon to lose
        (State.IN_SYNC, False, False),
        (State.REMOTE_ONLY, False, False),
    ],
)
def test_the_pre_push_check_blocks_on_the_refusals_that_guard_kameleoon_edits(state, live, blocked):
    field = status(10, "jsCode", state, live=live)
    assert [r.status for r in kameleoon_edits([field])] == ([field] if blocked else [])


@pytest.mark.parametrize("state", [State.LOCAL_CHANGED, State.CONFLICT, State.REMOTE_CHANGED])
def test_merge_markers_are_refused_even_with_force(state):
    marked = "a\n<<<<<<< local\nmine\n||||||| base\nold\n=======\ntheirs\n>>>>>>> Kameleoon\n"
    field = FieldStatus(
        MappedFile(FieldRef.of_variation(1, 10, "jsCode"), "v.js", 3), state, marked, "old", False, raw_local=marked
    )
    plan = plan_push([field], force=True, allow_live=True)
    assert not plan.writes
    assert "merge markers" in plan.refusals[0].reason


def test_conflict_refusal_names_its_base():
    field = FieldStatus(
        MappedFile(FieldRef.of_variation(1, 10, "jsCode"), "v.js", 3),
        State.CONFLICT,
        "x",
        "ui",
        False,
        raw_local="x\n",
        base=Base("b", "c" * 40),
    )
    (refusal,) = plan_push([field]).refusals
    assert "c" * 12 in refusal.reason and "kamsync pull" in refusal.fix


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        ("<<<<<<< local\n", True),
        ("a\n=======\nb", True),
        (">>>>>>> Kameleoon", True),
        ("// ======= a comment\n/* <<<<<<<< */", False),
        ("x = '======='", False),
        ("========", False),
    ],
)
def test_merge_markers_are_lines_of_their_own(text, marked):
    assert has_markers(text) is marked


@pytest.mark.parametrize(
    ("ref", "described", "experiment_id", "variation_id"),
    [
        (FieldRef.of_experiment(7, "globalScript"), "experiment 7 globalScript", 7, None),
        (FieldRef.of_variation(7, 70, "jsCode"), "variation 70 (experiment 7) jsCode", 7, 70),
        (FieldRef(Entity.PERSONALIZATION, 9, "cssCode"), "personalization 9 cssCode", None, None),
        (
            FieldRef(Entity.PERSONALIZATION_VARIATION, 90, "jsCode", 9),
            "variation 90 (personalization 9) jsCode",
            None,
            90,
        ),
        (FieldRef(Entity.SITE, 3, "trackingScript"), "site 3 trackingScript", None, None),
    ],
)
def test_a_field_reference_names_its_kind_and_ids_explicitly(ref, described, experiment_id, variation_id):
    assert ref.describe() == described
    assert ref.variation_id == variation_id
    if experiment_id is None:
        with pytest.raises(ValueError, match="belongs to no experiment"):
            _ = ref.experiment_id
    else:
        assert ref.experiment_id == experiment_id
