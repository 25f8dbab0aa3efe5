"""scripts/demo.sh, run as a newcomer runs it: every scene narrated, commands shown as typed, nothing left behind."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, base_env


def test_the_demo_narrates_every_scene_shows_commands_as_typed_and_removes_its_folder(home, tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**base_env(home), "TMPDIR": str(temporary), "KAMSYNC_BIN": str(Path(sys.executable).parent)}
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    shown = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    assert proc.returncode == 0, shown
    steps = [line[2:] for line in shown.splitlines() if line.startswith("$ ")]
    assert steps[0] == "kamsync status"
    assert all(s.startswith(("kamsync ", "git ")) for s in steps), steps
    assert ".venv" not in "\n".join(steps)
    scenes = [line for line in shown.splitlines() if line.startswith("== ")]
    assert len(scenes) == 6, scenes
    # Each scene says what is about to happen before its first command.
    for scene in scenes[:-1]:
        after = shown.split(scene, 1)[1].lstrip("\n").splitlines()[0]
        assert not after.startswith("$ "), (scene, after)
    assert "error: refused: variation 200002 (experiment 100001) cssCode" in shown
    assert "kamsync pre-push: the push is blocked" in shown
    assert "The hook refused the push: variation 200001 was edited in the Kameleoon UI" in shown
    assert list(temporary.iterdir()) == [], "the demo removes its temporary folder"
