"""A real `kamsync watch` process for tests: its output read as it comes, waited on by content, never by time."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

TIMEOUT = 20.0


class WatchProcess:
    """``kamsync watch ARGS`` in ``cwd``; stdout and stderr merged into ``lines`` as they arrive."""

    def __init__(
        self, args: list[str], cwd: Path, env: Mapping[str, str], *, stdin: int | IO[bytes] | None = None
    ) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kamsync", "watch", *args],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL if stdin is None else stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            # Ctrl-C goes to the process alone on Windows only when it leads a group of its own.
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def matching(self, pattern: str) -> list[str]:
        with self._changed:
            return [line for line in self.lines if re.search(pattern, line)]

    def wait_for(self, pattern: str, count: int = 1, timeout: float = TIMEOUT) -> list[str]:
        """The lines matching ``pattern`` once there are ``count`` of them (fails after ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [line for line in self.lines if re.search(pattern, line)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no {count} line(s) matching {pattern!r}; output so far:\n{self.output}")
                self._changed.wait(min(left, 0.5))

    def ready(self) -> WatchProcess:
        self.wait_for(r"^watching \d+ mapped file")
        return self

    def interrupt(self, timeout: float = TIMEOUT) -> int:
        """Ctrl-C, as a terminal sends it; the exit code once the process ended."""
        if os.name == "nt":  # pragma: no cover - Windows delivers Ctrl-C to a process group
            os.kill(self.proc.pid, signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
        else:
            self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        self._reader.join(timeout=TIMEOUT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    """Poll an observable condition (a sandbox counter, a file) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
