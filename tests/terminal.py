"""Running kamsync on a real pseudo-terminal (POSIX only, as `os.openpty` is)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path


def run_on_a_terminal(
    args: list[str], cwd: Path | str, env: Mapping[str, str], *, both: bool = True
) -> tuple[int, str]:
    """Run ``args`` with stderr on a pseudo-terminal (stdout there too with ``both``, else piped); the exit
    code and what the terminal received, as text."""
    leader, follower = os.openpty()
    stdout = follower if both else subprocess.PIPE
    proc = subprocess.Popen(args, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=stdout, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    proc.communicate(timeout=60)
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace")
