"""The write journal: what survives a kill, and what counts as drift when a push resumes."""

from __future__ import annotations

from kamsync.state.journal import Interrupted, Journal, JournalField, JournalWrite, digest, drift

WRITES = (
    JournalWrite("variation", 1, 10, (JournalField("jsCode", "a.js", digest("old a"), digest("new a")),)),
    JournalWrite(
        "experiment",
        10,
        10,
        (
            JournalField("commonJavaScriptCode", "c.js", digest("old c"), digest("new c")),
            JournalField("commonCssCode", "c.css", digest(None), digest("new css")),
        ),
    ),
)


def test_a_journal_remembers_the_plan_and_each_mark(tmp_path):
    journal = Journal.at(tmp_path)
    assert journal.load() is None
    journal.begin("kamsync push", WRITES)
    journal.mark(0, "sending")
    journal.mark(0, "done")
    journal.mark(1, "sending")
    loaded = journal.load()
    assert loaded is not None
    assert loaded.writes == WRITES and loaded.command == "kamsync push"
    assert loaded.done == 1
    assert loaded.in_doubt == (WRITES[1],)
    journal.clear()
    assert journal.load() is None


def test_a_line_torn_by_a_kill_is_ignored(tmp_path):
    journal = Journal.at(tmp_path)
    journal.begin("kamsync push", WRITES)
    journal.mark(0, "sending")
    with journal.path.open("a") as handle:
        handle.write('{"write": 0, "sta')
    loaded = journal.load()
    assert loaded is not None and loaded.marks == {0: "sending"}


def test_a_damaged_header_reads_as_no_journal(tmp_path):
    (tmp_path / "journal.jsonl").write_text("not json\n")
    assert Journal.at(tmp_path).load() is None


def _interrupted() -> Interrupted:
    return Interrupted("kamsync push", 0.0, WRITES, {0: "sending"})


def test_remote_values_the_push_replaced_or_sent_are_not_drift():
    now = {
        ("variation", 1, "jsCode"): ("new a", "new a"),  # applied before the kill
        ("experiment", 10, "commonJavaScriptCode"): ("old c", "new c"),  # not sent yet
        ("experiment", 10, "commonCssCode"): (None, "new css"),
    }
    assert drift(_interrupted(), now) == []


def test_a_value_someone_else_wrote_meanwhile_is_drift():
    now = {
        ("variation", 1, "jsCode"): ("edited in the UI", "new a"),
        ("experiment", 10, "commonJavaScriptCode"): ("old c", "new c"),
    }
    assert drift(_interrupted(), now) == [(WRITES[0], WRITES[0].fields[0])]


def test_a_value_already_adopted_locally_is_not_drift():
    now = {("variation", 1, "jsCode"): ("edited in the UI", "edited in the UI")}
    assert drift(_interrupted(), now) == []
