"""A real Redis server for the tests of the shared rate-limit ledger: Debian's ``redis-server`` on a fresh loopback
port, nothing saved to disk, a password required, stopped by the tests.

Where ``redis-server`` is missing, ``scripts/install-test-deps.sh`` installs it (the tests never skip for it).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
DATABASES = 64
READY = "Ready to accept connections"


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "install-test-deps.sh")], check=True, timeout=900)
        found = shutil.which("redis-server")
    assert found is not None, "scripts/install-test-deps.sh did not install redis-server"
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RedisServer:
    """One ``redis-server`` process; ``url(db)`` names one of its databases with the password."""

    password: str
    port: int = 0
    process: subprocess.Popen[str] | None = None
    log: list[str] = field(default_factory=list)
    drain: threading.Thread | None = None

    def start(self) -> RedisServer:
        for _attempt in range(5):  # the free port may be taken between choosing and binding it
            self.port = self.port or free_port()
            if self._launch():
                return self
            self.port = 0
        raise AssertionError("redis-server did not start:\n" + "\n".join(self.log[-20:]))

    def _launch(self) -> bool:
        self.log.clear()
        args = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
        args += ["no", "--requirepass", self.password, "--databases", str(DATABASES), "--logfile", ""]
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:  # its log: ready, or why not (it exits then, ending the loop)
            self.log.append(line.rstrip())
            if READY in line:
                self.drain = threading.Thread(target=self._drain, daemon=True)
                self.drain.start()
                return True
        self.process.wait(timeout=10)
        self.process.stdout.close()
        return False

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line.rstrip())

    def url(self, db: int = 0, *, password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"redis://:{secret}@127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, password=self.password, decode_responses=True)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        if self.drain is not None:
            self.drain.join(timeout=10)  # it reads the log to its end, which the exit closed
        if self.process.stdout is not None:
            self.process.stdout.close()
