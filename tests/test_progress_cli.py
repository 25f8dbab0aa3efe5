"""The live progress line of a real push on a real pseudo-terminal: item n/N, the wait and its reason, then gone."""

from __future__ import annotations

import sys

from tests.helpers import commit_all, path_of
from tests.terminal import run_on_a_terminal


def test_a_push_that_waits_shows_items_and_the_wait_then_erases_the_line(kamsync, repo, env):
    status = kamsync("status", "--json")
    for variation_id in (200001, 200002, 200003):
        (repo / path_of(status, variation_id, "jsCode")).write_text(f"// v2 of {variation_id}\n")
    commit_all(repo, "three changes")
    # 3 requests a second: the reads and the first write fill the window, the next writes wait for it.
    slow = {**env, "KAMSYNC_RATE_LIMIT": "3/1s,100/1h", "KAMSYNC_PROGRESS_AFTER": "0", "TERM": "xterm"}
    code, terminal = run_on_a_terminal(
        [sys.executable, "-m", "kamsync", "push", "--allow-live"], repo, slow, both=False
    )
    assert code == 0, terminal
    assert "[1/3] variation 200001" in terminal
    assert "[3/3] variation 200003" in terminal
    assert "waiting 0:01 — rate limit 3/1s,100/1h" in terminal
    assert terminal.endswith("\r\x1b[K"), "the status line is erased at the end"

    for variation_id in (200001, 200002, 200003):
        (repo / path_of(status, variation_id, "jsCode")).write_text(f"// v3 of {variation_id}\n")
    commit_all(repo, "three more")
    argv = [sys.executable, "-m", "kamsync", "push", "--allow-live", "--json"]
    code, terminal = run_on_a_terminal(argv, repo, slow, both=False)
    assert code == 0, terminal
    assert "\x1b[K" not in terminal and "[1/3]" not in terminal, "--json turns the line off"


def test_on_one_terminal_each_write_is_reported_once_above_the_status_line(kamsync, repo, env):
    status = kamsync("status", "--json")
    for variation_id in (200001, 200002):
        (repo / path_of(status, variation_id, "jsCode")).write_text(f"// v2 of {variation_id}\n")
    commit_all(repo, "two changes")
    shown = {**env, "KAMSYNC_PROGRESS_AFTER": "0", "TERM": "xterm"}
    code, terminal = run_on_a_terminal([sys.executable, "-m", "kamsync", "push"], repo, shown, both=True)
    assert code == 0, terminal
    for variation_id in (200001, 200002):
        line = f"updated variation {variation_id} (experiment 100001): jsCode"
        assert terminal.count(line) == 1, terminal
        assert f"\r\x1b[K{line}\r\n" in terminal, "printed over the erased status line, which is drawn again"
    quiet = kamsync("push", "-q")
    assert quiet.stdout == "nothing to push: every mapped field is in sync with Kameleoon\n"


def test_quiet_turns_the_status_line_off(kamsync, repo, env):
    status = kamsync("status", "--json")
    (repo / path_of(status, 200001, "jsCode")).write_text("// quiet\n")
    commit_all(repo, "one change")
    shown = {**env, "KAMSYNC_PROGRESS_AFTER": "0", "TERM": "xterm"}
    code, terminal = run_on_a_terminal([sys.executable, "-m", "kamsync", "push", "-q"], repo, shown, both=False)
    assert code == 0, terminal
    assert terminal == ""
