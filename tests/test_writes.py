"""After a write, what Kameleoon answered is compared (normalised) with what was sent."""

from __future__ import annotations

import pytest

from kamsync.core.errors import WriteMismatch
from kamsync.core.model import Entity, FieldRef, MappedFile
from kamsync.core.plan import Write
from kamsync.core.states import FieldStatus, State
from kamsync.sync.writes import check_stored


def write(js: str) -> Write:
    ref = FieldRef.of_variation(1, 10, "jsCode")
    status = FieldStatus(MappedFile(ref, "v/variation.js", 4), State.LOCAL_CHANGED, js, "old", False, raw_local=js)
    return Write(Entity.VARIATION, 10, 1, (status,))


def test_answer_equal_after_normalising_is_accepted():
    sent = write("a();\n")
    answer = {"id": 10, "jsCode": "a();   \r\n\r\n", "cssCode": "unrelated"}
    assert answer["jsCode"] != sent.body["jsCode"]  # only normalising makes them equal
    assert check_stored(sent, answer) is None


def test_answer_without_the_fields_or_no_body_is_accepted():
    sent = write("a();\n")
    assert "jsCode" in sent.body
    assert check_stored(sent, {"id": 10}) is None
    assert check_stored(sent, None) is None


def test_answer_holding_something_else_is_a_failure():
    with pytest.raises(WriteMismatch, match="variation 10"):
        check_stored(write("a();\n"), {"jsCode": "b();"})
