"""A small client of the Chrome DevTools protocol over its websocket, enough to drive a headless Chromium in tests.

One ``Browser`` per test run (a session fixture starts and stops it); each test opens its own ``Tab``. Messages
are read on one thread: answers are matched to their request by id, events go to the tab (session) they belong
to, where ``Tab.wait_event`` waits on them. Waiting on page state is ``Tab.wait_for``: a JavaScript condition
evaluated until it holds or the timeout passes, never a sleep standing in for an event.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress
from pathlib import Path
from typing import Any

import websocket

ROOT = Path(__file__).resolve().parent.parent
INSTALL_SCRIPT = ROOT / "scripts" / "install-test-deps.sh"
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MAC_APPS = (
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
)

Json = dict[str, Any]


class CdpError(Exception):
    """The browser answered a command with an error, or did not answer in time."""


def _windows_installs() -> list[str]:
    """Where Chrome and Chromium install themselves on Windows (not on PATH)."""
    roots = [os.environ.get(name) for name in ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA")]
    apps = (("Google", "Chrome"), ("Chromium",))
    return [os.path.join(root, *app, "Application", "chrome.exe") for root in roots if root for app in apps]


def find_chromium() -> str | None:
    found = next((p for p in map(shutil.which, NAMES) if p), None)
    return found or next((p for p in (*MAC_APPS, *_windows_installs()) if os.path.exists(p)), None)


def chromium_binary() -> str:
    """The system's Chromium, installed first through the project's script when there is none."""
    found = find_chromium()
    if found is None:
        subprocess.run(["bash", str(INSTALL_SCRIPT)], check=True, timeout=900)
        found = find_chromium()
    if found is None:
        raise RuntimeError(f"{INSTALL_SCRIPT.name} ran but no Chromium is on PATH")
    return found


class Browser:
    """A headless Chromium process and the one websocket connection to it."""

    def __init__(self, binary: str, *, resolve: dict[str, str] | None = None, any_certificate: bool = False) -> None:
        """``resolve`` maps host names to addresses inside this browser only (as a DNS answer would);
        ``any_certificate`` accepts the test pages' self-signed certificate."""
        self.profile = tempfile.mkdtemp(prefix="kamsync-chromium-")
        args = [
            binary,
            "--headless=new",
            "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--metrics-recording-only",
            "--password-store=basic",
            "about:blank",
        ]
        if any_certificate:
            args.insert(1, "--ignore-certificate-errors")
        if resolve:
            rules = ", ".join(f"MAP {name} {address}" for name, address in resolve.items())
            args.insert(1, f"--host-resolver-rules={rules}")
        if sys.platform.startswith("linux") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to start its sandbox as root
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()  # a full stderr pipe would stall the browser
        self.ws = websocket.create_connection(self._endpoint(), timeout=30, suppress_origin=True)
        self.ws.settimeout(None)
        self._ids = iter(range(1, 1 << 62))
        self._lock = threading.Lock()
        self._pending: dict[int, Future[Json]] = {}
        self._tabs: dict[str, Tab] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for _line in self.process.stderr:
            pass

    def _endpoint(self, timeout: float = 30.0) -> str:
        """The browser's websocket URL, from the file Chromium writes once it listens."""
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Chromium exited with {self.process.returncode} before listening")
            lines = port_file.read_text().split() if port_file.exists() else []
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            threading.Event().wait(0.05)  # polling a file Chromium writes: it sends no event we could wait on
        raise RuntimeError("Chromium did not open its DevTools port in time")

    def _read(self) -> None:
        while True:
            try:
                message = json.loads(self.ws.recv())
            except (websocket.WebSocketException, OSError, ValueError):
                break
            if "id" in message:
                with self._lock:
                    future = self._pending.pop(message["id"], None)
                if future is not None:
                    if "error" in message:
                        future.set_exception(CdpError(json.dumps(message["error"])))
                    else:
                        future.set_result(message.get("result", {}))
            elif (tab := self._tabs.get(message.get("sessionId", ""))) is not None:
                tab.deliver(message["method"], message.get("params", {}))
        with self._lock:
            for future in self._pending.values():
                future.set_exception(CdpError("the browser connection closed"))
            self._pending.clear()

    def send(self, method: str, params: Json | None = None, *, session: str | None = None, timeout: float = 20) -> Json:
        with self._lock:
            ident = next(self._ids)
            future: Future[Json] = Future()
            self._pending[ident] = future
        message: Json = {"id": ident, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        try:
            return future.result(timeout)
        except TimeoutError:
            raise CdpError(f"{method}: no answer within {timeout} s") from None

    def new_tab(self) -> Tab:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        tab = Tab(self, target, session)
        self._tabs[session] = tab
        for domain in ("Page", "Runtime"):
            tab.send(f"{domain}.enable")
        return tab

    def close(self) -> None:
        with suppress(Exception):  # closing anyway, below
            self.send("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.ws.close()
        self._drainer.join(timeout=5)
        assert self.process.stderr is not None
        self.process.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class Tab:
    """One page target of the browser, attached in its own session."""

    def __init__(self, browser: Browser, target: str, session: str) -> None:
        self.browser = browser
        self.target = target
        self.session = session
        self._events: list[tuple[str, Json]] = []
        self._changed = threading.Condition()
        self._handlers: dict[str, Callable[[Json], None]] = {}

    def send(self, method: str, params: Json | None = None, timeout: float = 20) -> Json:
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def on(self, method: str, handler: Callable[[Json], None]) -> None:
        """Call ``handler`` (on the reading thread: it must not wait for an answer) for each ``method`` event."""
        self._handlers[method] = handler

    def deliver(self, method: str, params: Json) -> None:
        handler = self._handlers.get(method)
        if handler is not None:
            handler(params)
        with self._changed:
            self._events.append((method, params))
            self._changed.notify_all()

    def wait_event(self, method: str, where: Callable[[Json], bool] = lambda _p: True, timeout: float = 15) -> Json:
        """The first ``method`` event (since the tab opened) that ``where`` accepts; consumed once returned."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index, (name, params) in enumerate(self._events):
                    if name == method and where(params):
                        del self._events[index]
                        return params
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CdpError(f"no {method} event within {timeout} s")
                self._changed.wait(left)

    def seen(self, method: str) -> list[Json]:
        """Every ``method`` event received so far and not consumed by ``wait_event``."""
        with self._changed:
            return [params for name, params in self._events if name == method]

    def evaluate(
        self, expression: str, *, context: int | None = None, await_promise: bool = False, gesture: bool = False
    ) -> Any:
        """The value of ``expression``; ``gesture`` runs it as a click would (a pop-up may open)."""
        params: Json = {
            "expression": expression,
            "returnByValue": True,
            "awaitPromise": await_promise,
            "userGesture": gesture,
        }
        if context is not None:
            params["contextId"] = context
        result = self.send("Runtime.evaluate", params)
        if "exceptionDetails" in result:
            raise CdpError(json.dumps(result["exceptionDetails"])[:2000])
        return result["result"].get("value")

    def wait_for(self, condition: str, timeout: float = 20) -> Any:
        """The value of the JavaScript ``condition`` once it is truthy; ``CdpError`` naming it after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(condition)
            if value:
                return value
            if time.monotonic() > deadline:
                raise CdpError(f"still false after {timeout} s: {condition}")
            threading.Event().wait(0.05)  # polling the DOM, as the protocol has no event for "this became true"

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def reload(self) -> None:
        """Reload the page as the browser's reload button does: a new document in the same tab."""
        self.send("Page.reload")
        self.wait_event("Page.loadEventFired")

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})
