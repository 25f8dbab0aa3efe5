"""`kamsync watch` as a real process, on real file-system events, against the sandbox: what a save sends, and
what it must never send. Every wait is on something observable (an output line, the sandbox's request log)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kamsync.sandbox import Sandbox
from tests.conftest import git
from tests.watchproc import WatchProcess, wait_until

HERO = Path("experiments/100001-homepage-hero")
RED_JS = HERO / "variations/red-button/variation.js"
HERO_CSS = HERO / "common.css"
BADGES = Path("experiments/100002-checkout-trust-badges")
BATCH = r"^\d\d:\d\d:\d\d  .* \d+ requests?, \d+ ms"


def patches(sandbox: Sandbox, path: str | None = None) -> int:
    return sum(1 for r in sandbox.store.requests if r.method == "PATCH" and (path is None or r.path == path))


@pytest.fixture
def watch(repo: Path, env: dict[str, str]) -> Iterator[object]:
    started: list[WatchProcess] = []

    def start(*args: str, extra: dict[str, str] | None = None, stdin: int | None = None) -> WatchProcess:
        proc = WatchProcess(["--debounce", "150", *args], repo, {**env, **(extra or {})}, stdin=stdin)
        started.append(proc)
        return proc.ready()

    yield start
    for proc in started:
        proc.close()


def test_a_burst_of_twenty_saves_is_exactly_one_patch(repo: Path, sandbox: Sandbox, watch) -> None:  # type: ignore[no-untyped-def]
    # A quiet time longer than the default 300 ms: a test process descheduled mid-burst on a loaded machine must
    # not split the burst it means to make (the batching rule itself is table-tested at 300 ms).
    proc = watch("--debounce", "1000")
    target = repo / RED_JS
    for n in range(20):  # 20 saves within 200 ms, back to back
        target.write_text(f"console.log({n});\n")
    proc.wait_for(BATCH)
    (repo / HERO_CSS).write_text("body { color: red }\n")  # a later batch: everything before it was decided
    proc.wait_for(BATCH, count=2)
    assert patches(sandbox, "/variations/200001") == 1
    assert sandbox.store.variation(200001)["jsCode"] == "console.log(19);\n"
    assert "variation 200001 (experiment 100001) jsCode  1 field" in proc.matching(BATCH)[0]


def test_continuous_saves_are_sent_at_the_latest_after_the_cap(repo: Path, sandbox: Sandbox, watch) -> None:  # type: ignore[no-untyped-def]
    watch("--debounce", "60000", "--max-delay", "300")  # never a quiet minute: only the cap can send
    target, stop = repo / RED_JS, threading.Event()

    def save_continuously() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            target.write_text(f"console.log({n});\n")
            stop.wait(0.02)

    saver = threading.Thread(target=save_continuously)
    saver.start()
    try:
        wait_until(lambda: patches(sandbox, "/variations/200001") >= 2, "two PATCHes while saves never stop")
    finally:
        stop.set()
        saver.join()


def test_nothing_is_sent_at_start_and_unchanged_saves_send_no_request(  # type: ignore[no-untyped-def]
    repo: Path, sandbox: Sandbox, watch, kamsync
) -> None:
    assert kamsync("status").code == 0  # what Kameleoon holds is now known in this clone
    sandbox.store.clear_requests()
    (repo / BADGES / "common.js").write_text("// changed before watching\n")  # local-changed at start
    proc = watch("-v")
    target = repo / RED_JS
    target.write_text(target.read_text().replace("\n", "   \n") + "\n\n")  # normalises to what Kameleoon has
    proc.wait_for(r"unchanged: .*red-button/variation\.js hold what Kameleoon has; no request sent")
    assert sandbox.store.requests == []
    for name in ("variation.js.tmp.4242", ".variation.js.swp", "variation.js~", ".#variation.js", "4913"):
        (target.parent / name).write_text("console.log('temp');\n")
    (target.parent / ".goutputstream-7QX2").write_text("x")
    (target.parent / "notes.txt").write_text("unmapped\n")
    (repo / HERO_CSS).write_text("body { margin: 0 }\n")
    line = proc.wait_for(BATCH)[0]
    assert "experiment 100001 commonCssCode  1 field" in line
    assert patches(sandbox) == 1
    assert len(sandbox.store.requests) == int(line.split(" request")[0].rsplit(" ", 1)[1])
    assert sandbox.store.experiment(100002)["commonJavaScriptCode"] != "// changed before watching\n"


def test_a_vim_rename_save_is_still_watched(repo: Path, sandbox: Sandbox, watch) -> None:  # type: ignore[no-untyped-def]
    proc = watch()
    target = repo / RED_JS
    for n in (1, 2):  # vim, backupcopy=no: probe the folder, rename the file away, write a new one
        (target.parent / "4913").write_text("")
        (target.parent / "4913").unlink()
        os.replace(target, target.with_name("variation.js~"))
        target.write_text(f"// vim save {n}\n")
        target.with_name("variation.js~").unlink()
        proc.wait_for(BATCH, count=n)
    assert patches(sandbox, "/variations/200001") == 2
    assert sandbox.store.variation(200001)["jsCode"] == "// vim save 2\n"


def test_a_field_edited_in_kameleoon_is_refused_and_watching_goes_on(  # type: ignore[no-untyped-def]
    repo: Path, sandbox: Sandbox, watch
) -> None:
    sandbox.store.ui_edit_variation(200001, jsCode="// edited in the Kameleoon UI\n")
    proc = watch()
    (repo / RED_JS).write_text("// mine\n")
    proc.wait_for(r"refused: variation 200001 \(experiment 100001\) jsCode .*edited in Kameleoon outside git")
    (repo / HERO_CSS).write_text("body { padding: 0 }\n")
    proc.wait_for(r"experiment 100001 commonCssCode  1 field")
    assert patches(sandbox) == 1
    assert sandbox.store.variation(200001)["jsCode"] == "// edited in the Kameleoon UI\n"


def test_a_live_experiment_needs_allow_live(repo: Path, sandbox: Sandbox, watch) -> None:  # type: ignore[no-untyped-def]
    proc = watch("--allow-live")
    (repo / BADGES / "common.css").write_text(".badge { display: none }\n")
    proc.wait_for(r"experiment 100002 commonCssCode  1 field")
    assert sandbox.store.experiment(100002)["commonCssCode"] == ".badge { display: none }\n"


def test_a_branch_checkout_pauses_pushing_and_shows_the_plan(  # type: ignore[no-untyped-def]
    repo: Path, sandbox: Sandbox, watch, env: dict[str, str]
) -> None:
    git(repo, "checkout", "-q", "-b", "other", env=env)
    (repo / RED_JS).write_text("// the other branch\n")
    git(repo, "commit", "-qam", "Other", env=env)
    git(repo, "checkout", "-q", "main", env=env)
    proc = watch()
    git(repo, "checkout", "-q", "other", env=env)
    proc.wait_for(r"^paused: HEAD moved from [0-9a-f]{12} to [0-9a-f]{12}")
    proc.wait_for(r"would update variation 200001 \(experiment 100001\): jsCode")
    proc.wait_for(r"stdin is not a terminal, so Enter cannot resume")
    (repo / HERO_CSS).write_text("body { color: blue }\n")  # saves while paused wait too
    assert patches(sandbox) == 0
    assert proc.interrupt() == 0
    assert "not sent: " in proc.output and "red-button/variation.js" in proc.output


def test_follow_head_shows_the_plan_then_pushes(repo: Path, sandbox: Sandbox, watch, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    git(repo, "checkout", "-q", "-b", "other", env=env)
    (repo / RED_JS).write_text("// followed\n")
    git(repo, "commit", "-qam", "Other", env=env)
    git(repo, "checkout", "-q", "main", env=env)
    proc = watch("--follow-head")
    git(repo, "checkout", "-q", "other", env=env)
    proc.wait_for(r"^paused: HEAD moved")
    proc.wait_for(r"^resumed")
    proc.wait_for(r"variation 200001 \(experiment 100001\) jsCode  1 field")
    assert sandbox.store.variation(200001)["jsCode"] == "// followed\n"


def test_staged_entries_pause_but_an_index_refresh_does_not(  # type: ignore[no-untyped-def]
    repo: Path, sandbox: Sandbox, watch, env: dict[str, str]
) -> None:
    proc = watch()
    os.utime(repo / HERO_CSS)  # git status now rewrites the index (stat data), changing no entry
    git(repo, "status", "--porcelain", env=env)
    index = (repo / ".git/index").stat().st_mtime_ns
    (repo / HERO_CSS).write_text("body { color: green }\n")
    proc.wait_for(r"experiment 100001 commonCssCode  1 field")
    assert (repo / ".git/index").stat().st_mtime_ns == index, "kamsync's git reads never rewrite the index"
    (repo / RED_JS).write_text("// staged\n")
    git(repo, "add", str(RED_JS), env=env)
    proc.wait_for(r"^paused: what is staged for the mapped files changed")
    assert patches(sandbox) == 1


def test_a_batch_of_more_than_five_files_pauses(repo: Path, sandbox: Sandbox, watch) -> None:  # type: ignore[no-untyped-def]
    proc = watch("--debounce", "1000")
    files = sorted(p for p in (repo / "experiments").rglob("*.js") if p.is_file())[:6]
    for path in files:
        path.write_text(path.read_text() + "// bulk\n")
    proc.wait_for(r"^paused: this batch would touch 6 files, more than 5")
    assert patches(sandbox) == 0


def test_a_pull_while_watching_takes_the_lock_and_its_writes_send_nothing(  # type: ignore[no-untyped-def]
    repo: Path, sandbox: Sandbox, watch, kamsync
) -> None:
    proc = watch("-v")
    sandbox.store.ui_edit_variation(200001, jsCode="// adopted from the UI\n")
    pulled = kamsync("pull")
    assert pulled.code == 0, pulled.output
    assert (repo / RED_JS).read_text() == "// adopted from the UI\n"
    proc.wait_for(r"unchanged: .*red-button/variation\.js")
    assert patches(sandbox) == 0


def test_budget_low_coalesces_saves_and_says_when_it_sends(repo: Path, sandbox: Sandbox, watch) -> None:  # type: ignore[no-untyped-def]
    proc = watch(extra={"KAMSYNC_RATE_LIMIT": "8/1h"})
    (repo / RED_JS).write_text("// first\n")
    proc.wait_for(r"variation 200001 .* 4 requests, \d+ ms, 4/8 left")
    (repo / RED_JS).write_text("// second\n")
    proc.wait_for(
        r"rate budget runs low \(4 of 8 left\): coalescing changes of .*red-button/variation\.js; sending them at"
    )
    (repo / HERO_CSS).write_text("body { color: teal }\n")
    proc.wait_for(r"coalescing changes of .*common\.css, .*red-button/variation\.js; sending them at")
    assert patches(sandbox) == 1
    assert proc.interrupt() == 0
    assert "common.css" in proc.matching("^not sent: ")[0]


def test_ctrl_c_ends_with_a_summary_naming_uncommitted_values(repo: Path, sandbox: Sandbox, watch) -> None:  # type: ignore[no-untyped-def]
    proc = watch()
    (repo / RED_JS).write_text("// not committed\n")
    proc.wait_for(BATCH)
    assert proc.interrupt() == 0
    assert proc.matching(r"^watched .*: 1 batch\(es\) sent, 1 field\(s\) updated, 4 request\(s\) used")
    [line] = proc.matching("in no commit yet")
    assert "variation 200001 (experiment 100001) jsCode (experiments/100001-homepage-hero/variations/red-button" in line
    assert "other clones and CI will see them as edited outside git until that exact value is committed" in line


def test_ctrl_c_during_a_write_reports_it_and_the_journal_keeps_it(  # type: ignore[no-untyped-def]
    repo: Path, sandbox: Sandbox, watch, kamsync
) -> None:
    proc = watch()
    sandbox.faults.arm("PATCH 1=stall=5")
    (repo / RED_JS).write_text("// in flight\n")
    journal = repo / ".git/kamsync/journal.jsonl"
    wait_until(lambda: journal.exists() and '"sending"' in journal.read_text(), "the write to be in flight")
    assert proc.interrupt() == 130
    assert proc.matching(
        r"interrupted while updating variation 200001 \(experiment 100001\).*`kamsync push` finishes it"
    )
    assert json.loads(journal.read_text().splitlines()[0])
    resumed = kamsync("push")
    assert resumed.code == 0, resumed.output


def test_poll_watches_without_file_system_events(repo: Path, sandbox: Sandbox, watch) -> None:  # type: ignore[no-untyped-def]
    proc = watch("--poll")
    assert proc.matching("by polling")
    (repo / RED_JS).write_text("// polled\n")
    proc.wait_for(r"variation 200001 \(experiment 100001\) jsCode  1 field")
    assert patches(sandbox) == 1


def test_a_batch_waits_for_the_lock_another_command_holds(repo: Path, sandbox: Sandbox, watch) -> None:  # type: ignore[no-untyped-def]
    from kamsync.state.lock import repo_lock

    proc = watch(extra={"KAMSYNC_LOCK_WAIT": "0.2"})
    with repo_lock(repo / ".git/kamsync", "kamsync push"):
        (repo / RED_JS).write_text("// after the lock\n")
        proc.wait_for(r"another kamsync process .*kamsync push.* is working on this repository; .*trying again in 1 s")
        assert patches(sandbox) == 0
    proc.wait_for(r"variation 200001 \(experiment 100001\) jsCode  1 field")


def test_an_entity_locked_in_the_kameleoon_app_is_reported_and_watching_goes_on(  # type: ignore[no-untyped-def]
    repo: Path, sandbox: Sandbox, watch
) -> None:
    sandbox.store.set_locked("variation", 200001, True)
    proc = watch()
    (repo / RED_JS).write_text("// locked\n")
    proc.wait_for(r"^error: not written: variation 200001 \(experiment 100001\): .*watching goes on")
    (repo / HERO_CSS).write_text("body { color: navy }\n")
    proc.wait_for(r"experiment 100001 commonCssCode  1 field")


def test_json_gives_one_object_per_batch_and_the_summary(repo: Path, sandbox: Sandbox, watch) -> None:  # type: ignore[no-untyped-def]
    proc = watch("--json")
    (repo / RED_JS).write_text("// as json\n")
    [line] = proc.wait_for(r'^\{"batch": ')
    batch = json.loads(line)["batch"]
    assert batch["fields"] == ["variation 200001 (experiment 100001) jsCode"]
    assert batch["requests"] == 4 and batch["limit"] == 200
    assert proc.interrupt() == 0
    [end] = proc.matching(r'^\{"summary": ')
    summary = json.loads(end)["summary"]
    assert (summary["batches"], summary["fields_written"], summary["not_sent"]) == (1, 1, [])
    assert summary["uncommitted"] == [
        {"field": "variation 200001 (experiment 100001) jsCode", "path": str(RED_JS.as_posix())}
    ]


def test_a_stash_pauses_pushing(repo: Path, sandbox: Sandbox, watch, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    proc = watch()
    (repo / RED_JS).write_text("// work in progress\n")
    proc.wait_for(r"variation 200001 \(experiment 100001\) jsCode  1 field")
    git(repo, "stash", "-q", env=env)  # the file goes back to HEAD's content, nothing staged changes
    proc.wait_for(r"^paused: the stash changed")
    assert patches(sandbox) == 1
    assert sandbox.store.variation(200001)["jsCode"] == "// work in progress\n"


def test_a_failed_batch_is_reported_and_its_file_goes_with_the_next_save(  # type: ignore[no-untyped-def]
    repo: Path, sandbox: Sandbox, watch
) -> None:
    proc = watch(extra={"KAMSYNC_RETRIES": "0"})
    sandbox.faults.arm("GET *=503")
    (repo / RED_JS).write_text("// while Kameleoon fails\n")
    proc.wait_for(r"^error: not written: this batch: .*503.*its files go with the next save")
    sandbox.faults.clear()
    (repo / HERO_CSS).write_text("body { color: olive }\n")
    line = proc.wait_for(BATCH)[0]
    assert "variation 200001 (experiment 100001) jsCode" in line and "experiment 100001 commonCssCode" in line
    assert patches(sandbox) == 2


def leave_a_write_in_doubt(repo: Path, sandbox: Sandbox, watch) -> WatchProcess:  # type: ignore[no-untyped-def]
    """A watch whose write of the red button Kameleoon applied without its answer ever arriving."""
    proc = watch(extra={"KAMSYNC_RETRIES": "0"})
    sandbox.faults.arm("PATCH 1=drop-after")
    (repo / RED_JS).write_text("// applied, unheard of\n")
    proc.wait_for(r"^error: not written: .*its files go with the next save|^error: .*variation 200001")
    return proc


def test_a_write_left_in_doubt_is_finished_by_the_next_save_after_a_drift_check(  # type: ignore[no-untyped-def]
    repo: Path, sandbox: Sandbox, watch
) -> None:
    proc = leave_a_write_in_doubt(repo, sandbox, watch)
    journal = repo / ".git/kamsync/journal.jsonl"
    assert journal.exists(), "the write is in doubt: journaled"

    (repo / HERO_CSS).write_text("body { color: teal }\n")

    proc.wait_for(r"finishing the interrupted push first, its fields checked for drift")
    line = proc.wait_for(BATCH, count=2)[-1]  # the first: the batch whose answer never came
    assert "experiment 100001 commonCssCode" in line
    assert not journal.exists(), "finished: nothing left in doubt"
    assert sandbox.store.variation(200001)["jsCode"] == "// applied, unheard of\n"
    assert patches(sandbox, "/variations/200001") == 1, "the write Kameleoon applied is not sent twice"


def test_a_write_left_in_doubt_then_edited_in_kameleoon_is_refused_as_drift_and_kept(  # type: ignore[no-untyped-def]
    repo: Path, sandbox: Sandbox, watch
) -> None:
    proc = leave_a_write_in_doubt(repo, sandbox, watch)
    sandbox.store.ui_edit_variation(200001, jsCode="// a teammate, in the Kameleoon UI\n")
    sandbox.store.clear_requests()

    (repo / HERO_CSS).write_text("body { color: teal }\n")

    proc.wait_for(r"changed in Kameleoon since the interrupted push \(drift\)")
    assert patches(sandbox) == 0, "nothing is sent while a field is in drift"
    assert (repo / ".git/kamsync/journal.jsonl").exists()
    assert sandbox.store.variation(200001)["jsCode"] == "// a teammate, in the Kameleoon UI\n"


def test_a_refused_save_after_a_write_left_in_doubt_keeps_the_journal_and_sends_nothing(  # type: ignore[no-untyped-def]
    repo: Path, sandbox: Sandbox, watch
) -> None:
    proc = leave_a_write_in_doubt(repo, sandbox, watch)
    sandbox.store.clear_requests()

    (repo / RED_JS).write_text("// saved again, on top of the write in doubt\n")
    (repo / HERO_CSS).write_text("body { color: teal }\n")

    proc.wait_for(r"refused: variation 200001 \(experiment 100001\) jsCode")
    (repo / BADGES / "common.js").write_text("// a later batch: the one before it has ended\n")
    proc.wait_for(r"refused: variation 200001 \(experiment 100001\) jsCode", count=2)
    assert patches(sandbox) == 0, "nothing is sent while the write in doubt is not settled"
    assert (repo / ".git/kamsync/journal.jsonl").exists(), "what was in doubt stays for kamsync push"
    assert sandbox.store.variation(200001)["jsCode"] == "// applied, unheard of\n"
