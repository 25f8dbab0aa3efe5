"""Remote text in human output: control characters are shown, never obeyed; JSON and files keep them as they are."""

from __future__ import annotations

import json
import re
import sys

import click
import pytest

from kamsync.ui.console import Console, Styled, visible
from tests.helpers import path_of
from tests.terminal import run_on_a_terminal

# A UI edit that hides its own lines from a reviewer reading `kamsync diff` on a terminal.
CONCEALED = "\x1b[8msteal(document.cookie);\x1b[0m"
ERASED = "exfiltrate();\x1b[1A\x1b[2K"
HOSTILE_CODE = f"// looks harmless\n{CONCEALED}\n{ERASED}\n"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, tabs\tand\nnewlines stay", "plain text, tabs\tand\nnewlines stay"),
        ("\x1b[8mhidden\x1b[0m", "\\x1b[8mhidden\\x1b[0m"),
        ("up\x1b[1A\x1b[2K", "up\\x1b[1A\\x1b[2K"),
        ("cr\roverwrites", "cr\\x0doverwrites"),
        ("nul\x00 bell\x07 backspace\x08", "nul\\x00 bell\\x07 backspace\\x08"),
        ("del\x7f c1-csi\x9b31m nel\x85", "del\\x7f c1-csi\\x9b31m nel\\x85"),
        ("é ü → 漢字 stay", "é ü → 漢字 stay"),
    ],
)
def test_visible_shows_control_characters_as_escapes_keeping_tab_and_newline(text: str, shown: str) -> None:
    assert visible(text) == shown
    assert visible(shown) == shown, "already visible text is left as it is"


def test_styled_parts_are_made_visible_before_they_are_coloured() -> None:
    console = Console(color=True)
    line = console.line((Styled("-\x1b[8mx", "-"), " and \x1b[2K"))
    assert line == click.style("-\\x1b[8mx", fg="red") + " and \\x1b[2K"
    assert Console(color=False).line((Styled("\x1b[8m", "-"),)) == "\\x1b[8m"


def test_every_human_line_is_made_visible_but_json_output_is_not(capsys: pytest.CaptureFixture[str]) -> None:
    Console().out("code: ", CONCEALED)
    Console().warn(f"Kameleoon says {CONCEALED}")
    Console(json_mode=True).out("silent in JSON mode")
    Console(json_mode=True).emit_json({"code": CONCEALED})
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "code: \\x1b[8msteal(document.cookie);\\x1b[0m"
    assert json.loads("\n".join(captured.out.splitlines()[1:])) == {"code": CONCEALED}
    assert captured.err == "warning: Kameleoon says \\x1b[8msteal(document.cookie);\\x1b[0m\n"


def test_messages_above_the_progress_line_are_made_visible() -> None:
    noted: list[str] = []
    Console(above=noted.append).error("\x1b[1Aserver text")
    assert noted == ["error: \\x1b[1Aserver text"]


def test_diff_on_a_terminal_shows_a_ui_edits_concealed_and_erasing_lines_visibly(kamsync, sandbox, repo, env):
    sandbox.store.ui_edit_variation(200001, jsCode=HOSTILE_CODE)
    colour = {k: v for k, v in env.items() if k != "NO_COLOR"} | {"TERM": "xterm"}
    code, terminal = run_on_a_terminal([sys.executable, "-m", "kamsync", "diff"], repo, colour)
    assert code == 0, terminal
    assert "-\\x1b[8msteal(document.cookie);\\x1b[0m" in terminal
    assert "-exfiltrate();\\x1b[1A\\x1b[2K" in terminal
    assert click.style("-// looks harmless", fg="red") in terminal, "colour is on: the escapes left are kamsync's"
    escapes = set(re.findall(r"\x1b\[[0-9;]*[A-Za-z]", terminal))
    assert escapes <= {"\x1b[31m", "\x1b[32m", "\x1b[36m", "\x1b[1m", "\x1b[0m"}, escapes


def test_diff_json_and_pulled_files_keep_remote_text_exactly(kamsync, sandbox, repo):
    sandbox.store.ui_edit_variation(200001, jsCode=HOSTILE_CODE)
    diff = kamsync("diff", "--json")
    assert diff.code == 0, diff.output
    [entry] = [e for e in diff.json()["entries"] if e["variation_id"] == 200001]
    assert f"-{CONCEALED}" in entry["diff"].splitlines()
    assert "\x1b" not in diff.stdout, "JSON encoding escapes the control characters itself"
    path = path_of(kamsync("status", "--json"), 200001, "jsCode")
    pulled = kamsync("pull")
    assert pulled.code == 0, pulled.output
    assert (repo / path).read_bytes() == HOSTILE_CODE.encode(), "files on disk hold what Kameleoon holds"


def test_a_lone_surrogate_is_shown_as_an_escape_that_any_utf8_output_can_write():
    shown = visible("half an emoji \ud83d")
    assert shown == "half an emoji \\ud83d"
    shown.encode("utf-8")
