"""A userscript manager for tests, as Tampermonkey and Violentmonkey behave: the userscript runs in an isolated
world at the ``@run-at`` it asks for, given only the ``GM_*`` functions its ``@grant`` lines name, and these act
with the manager's privileges, outside the page's Content-Security-Policy and out of the page's reach. Here those
privileges are the test's Python side, reached through a DevTools binding only that isolated world has:
``GM_xmlhttpRequest`` is a real HTTP request made by Python (the page's ``connect-src`` does not apply),
``GM_addElement('script')`` evaluates the text in the page's main world, ``GM_addElement('style')`` /
``GM_addStyle`` adopt a constructed stylesheet, which no ``style-src`` blocks, and ``GM_setValue`` keeps the value
in Python, where the page's own scripts cannot reach it (nor the functions, nor the binding). One difference: a
real manager keeps a script's values for every tab; this one, for its own tab.
"""

from __future__ import annotations

import json
import queue
import re
import threading
from contextlib import suppress
from typing import Any

import httpx

from tests.cdp import Tab

WORLD = "userscript-manager"
BINDING = "__kamsyncUserscriptManager"

# The manager's side in the isolated world: called with the names the userscript grants and the values stored.
_GM = """function (granted, values) {
  var next = 0, pending = {}, sheets = {}, api = {};
  function call(op, args) { BINDING(JSON.stringify(Object.assign({ op: op }, args))); }
  function copy(value) { return value === undefined ? undefined : JSON.parse(JSON.stringify(value)); }
  api.GM_addElement = function (a, b, c) {
    var tag = typeof a === "string" ? a : b, attrs = (typeof a === "string" ? b : c) || {}, id = ++next;
    if (tag === "style") {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(attrs.textContent || "");
      sheets[id] = sheet;
      document.adoptedStyleSheets = document.adoptedStyleSheets.concat([sheet]);
    } else {
      call("addElement", { id: id, tag: tag, attrs: attrs });
    }
    return { remove: function () {
      var sheet = sheets[id];
      delete sheets[id];
      document.adoptedStyleSheets = document.adoptedStyleSheets.filter(function (s) { return s !== sheet; });
    } };
  };
  api.GM_addStyle = function (css) { return api.GM_addElement("style", { textContent: css }); };
  api.GM_xmlhttpRequest = function (details) {
    var id = ++next;
    pending[id] = details;
    call("xhr", { id: id, method: details.method || "GET", url: details.url });
  };
  api.GM_getValue = function (key, fallback) {
    return Object.prototype.hasOwnProperty.call(values, key) ? copy(values[key]) : fallback;
  };
  api.GM_setValue = function (key, value) {
    values[key] = copy(value);
    call("setValue", { key: key, value: values[key] });
  };
  granted.forEach(function (name) { if (api[name]) window[name] = api[name]; });
  window.__userscriptManagerDone = function (id, status, text) {
    var details = pending[id];
    delete pending[id];
    if (!details) return;
    if (status) { if (details.onload) details.onload({ status: status, responseText: text }); }
    else if (details.onerror) details.onerror({ error: text });
  };
}""".replace("BINDING", BINDING)
_GRANT = re.compile(r"^// @grant\s+(\S+)", re.MULTILINE)


class UserscriptManager:
    """Installs a userscript in ``tab``: it runs on every page the tab loads from then on.

    Calls are handled in the order the userscript makes them: a value it stores is kept, and given to the next
    documents, before any later request of it is answered."""

    def __init__(self, tab: Tab) -> None:
        self.tab = tab
        self.requests: list[str] = []
        # Each call's op, kept as its event arrives: once navigate() returns, every call made before the load is in.
        self.calls: list[str] = []
        self.values: dict[str, Any] = {}  # the userscript's storage, which only its own GM_* functions reach
        self._source = ""
        self._registered: str | None = None
        self._registering = threading.Lock()
        self._work: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._serve, daemon=True)
        self._worker.start()
        tab.on("Runtime.bindingCalled", self._called)

    def install(self, source: str) -> None:
        self._source = source
        self.tab.send("Runtime.addBinding", {"name": BINDING, "executionContextName": WORLD})
        self._register()

    def _register(self) -> None:
        """The userscript, for every document the tab loads next, with the values stored now (a manager hands a
        script its values before it runs, so ``GM_getValue`` answers at once)."""
        manager = f"({_GM})({json.dumps(_GRANT.findall(self._source))}, {json.dumps(self.values)});"
        body = f"{manager}\n(function () {{\n{self._source}\n}})();"
        if "@run-at      document-end" in self._source:
            body = (
                "(function (run) { if (document.readyState === 'loading') "
                "document.addEventListener('DOMContentLoaded', run); else run(); })"
                f"(function () {{\n{body}\n}});"
            )
        with self._registering:
            if self._registered is not None:
                self.tab.send("Page.removeScriptToEvaluateOnNewDocument", {"identifier": self._registered})
            added = self.tab.send("Page.addScriptToEvaluateOnNewDocument", {"source": body, "worldName": WORLD})
            self._registered = added["identifier"]

    def close(self) -> None:
        self._work.put(None)
        self._worker.join(timeout=5)

    def _called(self, params: dict[str, Any]) -> None:
        if params.get("name") == BINDING:  # on the reading thread: hand it over, never wait for an answer here
            call = {**json.loads(params["payload"]), "context": params["executionContextId"]}
            self.calls.append(call["op"])
            self._work.put(call)

    def _serve(self) -> None:
        while (call := self._work.get()) is not None:
            if call["op"] == "xhr":
                threading.Thread(target=self._fetch, args=(call,), daemon=True).start()
            elif call["op"] == "setValue":
                self.values[call["key"]] = call["value"]
                self._register()
            elif call["op"] == "addElement" and call["tag"] == "script":
                self.tab.evaluate(call["attrs"].get("textContent", ""))  # the page's main world

    def _fetch(self, call: dict[str, Any]) -> None:
        self.requests.append(call["url"])
        try:
            response = httpx.request(call["method"], call["url"], timeout=60)
            status, text = response.status_code, response.text
        except httpx.HTTPError as error:
            status, text = 0, str(error)
        done = f"__userscriptManagerDone({call['id']}, {status}, {json.dumps(text)})"
        with suppress(Exception):  # the page navigated away meanwhile: its request has no one left to answer
            self.tab.evaluate(done, context=call["context"])
