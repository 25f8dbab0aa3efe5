"""A userscript manager for tests, as Tampermonkey and Violentmonkey behave: the userscript runs in an isolated
world at the ``@run-at`` it asks for, and its ``GM_*`` functions act with the manager's privileges, outside the
page's Content-Security-Policy. Here those privileges are the test's Python side, reached through a DevTools
binding: ``GM_xmlhttpRequest`` is a real HTTP request made by Python (the page's ``connect-src`` does not apply),
``GM_addElement('script')`` evaluates the text in the page's main world, and ``GM_addElement('style')`` /
``GM_addStyle`` adopt a constructed stylesheet, which no ``style-src`` blocks.
"""

from __future__ import annotations

import json
import queue
import threading
from contextlib import suppress
from typing import Any

import httpx

from tests.cdp import Tab

WORLD = "userscript-manager"
BINDING = "__kamsyncUserscriptManager"

_GM = """
(function () {
  var next = 0, pending = {}, sheets = {};
  function call(op, args) { BINDING(JSON.stringify(Object.assign({ op: op }, args))); }
  window.GM_addElement = function (a, b, c) {
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
  window.GM_addStyle = function (css) { return window.GM_addElement("style", { textContent: css }); };
  window.GM_xmlhttpRequest = function (details) {
    var id = ++next;
    pending[id] = details;
    call("xhr", { id: id, method: details.method || "GET", url: details.url });
  };
  window.__userscriptManagerDone = function (id, status, text) {
    var details = pending[id];
    delete pending[id];
    if (!details) return;
    if (status) { if (details.onload) details.onload({ status: status, responseText: text }); }
    else if (details.onerror) details.onerror({ error: text });
  };
})();
""".replace("BINDING", BINDING)


class UserscriptManager:
    """Installs a userscript in ``tab``: it runs on every page the tab loads from then on."""

    def __init__(self, tab: Tab) -> None:
        self.tab = tab
        self.requests: list[str] = []
        self._work: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._serve, daemon=True)
        self._worker.start()
        tab.on("Runtime.bindingCalled", self._called)

    def install(self, source: str) -> None:
        body = f"{_GM}\n(function () {{\n{source}\n}})();"
        if "@run-at      document-end" in source:
            body = (
                "(function (run) { if (document.readyState === 'loading') "
                "document.addEventListener('DOMContentLoaded', run); else run(); })"
                f"(function () {{\n{body}\n}});"
            )
        self.tab.send("Runtime.addBinding", {"name": BINDING, "executionContextName": WORLD})
        self.tab.send("Page.addScriptToEvaluateOnNewDocument", {"source": body, "worldName": WORLD})

    def close(self) -> None:
        self._work.put(None)
        self._worker.join(timeout=5)

    def _called(self, params: dict[str, Any]) -> None:
        if params.get("name") == BINDING:  # on the reading thread: hand it over, never wait for an answer here
            self._work.put({**json.loads(params["payload"]), "context": params["executionContextId"]})

    def _serve(self) -> None:
        while (call := self._work.get()) is not None:
            if call["op"] == "xhr":
                threading.Thread(target=self._fetch, args=(call,), daemon=True).start()
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
