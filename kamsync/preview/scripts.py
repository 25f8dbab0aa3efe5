"""The JavaScript a preview hands out (pure text): the loader, the bookmarklet and console snippet that load it, and
the userscript. Every value placed in them goes through ``js_literal``; code reaches the page only as data (a JSON
string) and runs from a script element's text, so nothing in it can end or escape the script that carries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from kamsync.core.preview import Bundle, js_literal

__all__ = ["MESSAGE_ID", "bookmarklet", "console_snippet", "loader", "userscript"]

MESSAGE_ID = "kamsync-preview-message"  # the element where the bookmarklet says what went wrong

# Shared by the loader and the userscript: applies a bundle through ``io``, changed parts only. CSS parts are
# handed over together, in order, so the variation's CSS always follows the experiment's; JS is queued through
# kameleoonQueue where a Kameleoon engine is (or is about to be) on the page, and runs at once where there is none.
_RUNTIME = r"""
function kamsyncPreview(io) {
  var codes = {};
  function queued(name, code) {
    return "(function () {\nvar run = function () {\n" + code + "\n};\nvar w = window;\n" +
      "if (w.Kameleoon || w.kameleoonQueue) { (w.kameleoonQueue = w.kameleoonQueue || []).push(run); } " +
      "else { run(); }\n})();\n//# sourceURL=kamsync-preview/" + name + ".js\n";
  }
  return function apply(bundle) {
    var changed = [], css = false;
    bundle.parts.forEach(function (part) {
      if (codes[part.name] === part.code) return;
      codes[part.name] = part.code;
      changed.push(part.name);
      if (part.kind === "css") css = true;
    });
    if (css) io.styles(bundle.parts.filter(function (p) { return p.kind === "css"; }));
    bundle.parts.forEach(function (part) {
      if (part.kind === "js" && part.code && changed.indexOf(part.name) >= 0) io.script(queued(part.name, part.code));
    });
    document.documentElement.setAttribute("data-kamsync-preview", String(bundle.version));
    if (changed.length) console.info("kamsync preview: variation " + bundle.variation + " version " +
      bundle.version + " applied (" + changed.join(", ") + ")");
  };
}
"""

_LOADER = r"""(function () {
  var base = __BASE__, first = __BUNDLE__, d = document;
  __RUNTIME__
  var previous = window.__kamsyncPreview;
  if (previous && previous.close) previous.close();
  var styles = {};
  var apply = kamsyncPreview({
    styles: function (parts) {
      parts.forEach(function (part) {
        var el = styles[part.name];
        if (!el) {
          el = d.createElement("style");
          el.setAttribute("data-kamsync-preview", part.name);
          (d.head || d.documentElement).appendChild(el);
          styles[part.name] = el;
        }
        el.textContent = part.code;
      });
    },
    script: function (text) {
      var s = d.createElement("script");
      s.textContent = text;
      (d.head || d.documentElement).appendChild(s);
      s.remove();
    }
  });
  if (first) apply(first);
  __TRANSPORT__
})();
"""

# How the loader hears of saves: the event stream, or, on an https page, messages from the preview window.
_EVENTS = r"""var events = new EventSource(base + "events");
  events.addEventListener("bundle", function (e) { apply(JSON.parse(e.data)); });
  window.__kamsyncPreview = events;"""
_MESSAGES = r"""var origin = __ORIGIN__;
  function listen(e) { if (e.origin === origin && e.data && e.data.kamsyncPreview) apply(e.data.kamsyncPreview); }
  window.addEventListener("message", listen);
  window.__kamsyncPreview = { close: function () { window.removeEventListener("message", listen); } };"""

# On an https page the bookmarklet opens the preview window at an address new at each click (a query the server
# ignores): the window keeps its name across the page's reloads, and asked for the very address it shows, a browser
# leaves it as it is, so the reloaded page would never get the loader. (No line comment inside: it becomes one line.)
_BOOKMARKLET = r"""(function () {
  var loader = __LOADER__, bridge = __BRIDGE__, origin = __ORIGIN__, userscript = __USERSCRIPT_HINT__;
  var d = document, blockedText = "kamsync preview: this page's Content-Security-Policy blocks the preview " +
    "code, and kamsync never strips it. Use the userscript instead: " + userscript;
  function say(text) {
    console.error(text);
    var e = d.getElementById(__MESSAGE_ID__);
    if (!e) {
      e = d.createElement("div");
      e.id = __MESSAGE_ID__;
      e.setAttribute("role", "alert");
      var s = e.style;
      s.position = "fixed"; s.zIndex = "2147483647"; s.top = "0"; s.left = "0"; s.right = "0";
      s.padding = "8px 12px"; s.background = "#b00020"; s.color = "#fff"; s.font = "14px/1.4 sans-serif";
      (d.body || d.documentElement).appendChild(e);
    }
    e.textContent = text;
  }
  if (location.protocol === "https:") {
    var click = Date.now().toString(36) + Math.random().toString(36).slice(2);
    var popup = window.open(bridge + "?click=" + click + "#" + encodeURIComponent(location.origin), "kamsync-preview",
      "popup,width=480,height=160");
    if (!popup) {
      say("kamsync preview: the browser blocked the preview window; allow pop-ups here, or use the userscript: " +
        userscript);
      return;
    }
    var started = false;
    window.addEventListener("message", function (e) {
      if (started || e.origin !== origin || e.source !== popup || !e.data || typeof e.data.kamsyncLoader !== "string") {
        return;
      }
      started = true;
      var before = window.__kamsyncPreview, s = d.createElement("script");
      s.textContent = e.data.kamsyncLoader;
      (d.head || d.documentElement).appendChild(s);
      s.remove();
      if (window.__kamsyncPreview === before) say(blockedText);
    });
    return;
  }
  var blocked = false;
  d.addEventListener("securitypolicyviolation", function (v) {
    if (String(v.blockedURI).indexOf(origin) !== 0) return;
    blocked = true;
    say(blockedText);
  });
  var s = d.createElement("script");
  s.src = loader;
  s.onerror = function () {
    if (!blocked) say("kamsync preview: could not load the loader from " + origin + ": is `kamsync preview` " +
      "running? (A browser may also refuse a page on the internet any request to 127.0.0.1: use the userscript.)");
  };
  (d.head || d.documentElement).appendChild(s);
})();"""

_USERSCRIPT = r"""// ==UserScript==
// @name        kamsync preview: variation __VARIATION__ of experiment __EXPERIMENT__
// @namespace   kamsync-preview
// @description Applies the local code of Kameleoon variation __VARIATION__ and follows every save
// @version     1
__MATCHES__
// @noframes
// @run-at      document-end
// @grant       GM_addElement
// @grant       GM_addStyle
// @grant       GM_getValue
// @grant       GM_setValue
// @grant       GM_xmlhttpRequest
// @connect     127.0.0.1
// ==/UserScript==
(function () {
  "use strict";
  var base = __BASE__, optIn = __OPT_IN__;
  // Whether this tab was opted in on this site. The tab carries a random name in sessionStorage, which the
  // page can write too: only a name this userscript's own storage keeps for the site counts, and no page
  // script reaches that storage, so a page writing its sessionStorage opts nothing in.
  function optedIn() {
    var key = "opted-in tabs of " + location.origin, tabs = GM_getValue(key, []), tab = null;
    if (!Array.isArray(tabs)) tabs = [];
    try { tab = sessionStorage.getItem("kamsync-preview"); } catch (e) { tab = null; }
    if (tab && tabs.indexOf(tab) >= 0) return true;
    if (!/[?#&]kamsync-preview\b/.test(location.href)) return false;
    tab = Array.prototype.map.call(crypto.getRandomValues(new Uint32Array(4)), function (n) {
      return n.toString(36);
    }).join("-");
    try { sessionStorage.setItem("kamsync-preview", tab); } catch (e) { return true; }  // no storage: this page only
    GM_setValue(key, tabs.concat([tab]).slice(-20));  // the last 20 tabs per site: the storage stays small
    return true;
  }
  if (optIn && !optedIn()) return;
  __RUNTIME__
  var root = document.head || document.documentElement, styles = [];
  function addStyle(part) {
    if (typeof GM_addElement === "function") {
      return GM_addElement(root, "style", { textContent: part.code, "data-kamsync-preview": part.name });
    }
    return GM_addStyle(part.code);
  }
  var apply = kamsyncPreview({
    styles: function (parts) {
      styles.forEach(function (el) { if (el && el.remove) el.remove(); });
      styles = parts.filter(function (p) { return p.code; }).map(addStyle);
    },
    script: function (text) { GM_addElement("script", { textContent: text }); }
  });
  function poll(after) {
    GM_xmlhttpRequest({
      method: "GET",
      url: base + "bundle.json?after=" + after,
      timeout: 60000,
      onload: function (r) {
        if (r.status !== 200) {
          console.error("kamsync preview answered " + r.status + ": restart it and reinstall this userscript");
          return;
        }
        var bundle = JSON.parse(r.responseText);
        apply(bundle);
        poll(bundle.version);
      },
      onerror: function () { setTimeout(function () { poll(after); }, 2000); },
      ontimeout: function () { poll(after); }
    });
  }
  poll(0);
})();
"""


def _fill(template: str, **values: str) -> str:
    for name, value in values.items():
        template = template.replace(f"__{name}__", value)
    return template


def loader(base: str, bundle: Bundle | None, *, origin: str | None = None) -> str:
    """The loader: applies ``bundle`` and follows the event stream at ``base`` + ``events``; with ``origin``
    instead, it follows the messages the preview window on that origin posts (``bundle`` may then be None)."""
    return _fill(
        _LOADER,
        RUNTIME=_RUNTIME.strip(),
        TRANSPORT=_EVENTS if origin is None else _MESSAGES,
        BASE=js_literal(base),
        ORIGIN=js_literal(origin or ""),
        BUNDLE="null" if bundle is None else bundle.json(),
    )


def console_snippet(base: str, origin: str) -> str:
    """What to paste into the browser's console, on one line: loads the loader, or says plainly why it cannot
    (its statements all end in ``;`` or ``}``, and it has no line comment, so its lines join safely)."""
    text = _fill(
        _BOOKMARKLET,
        LOADER=js_literal(base + "loader.js"),
        BRIDGE=js_literal(base + "bridge.html"),
        ORIGIN=js_literal(origin),
        USERSCRIPT_HINT=js_literal("install it from the URL `kamsync preview` printed"),
        MESSAGE_ID=js_literal(MESSAGE_ID),
    )
    return " ".join(line.strip() for line in text.splitlines())


def bookmarklet(base: str, origin: str) -> str:
    """The console snippet as a ``javascript:`` URL (percent-encoded where a browser would decode it)."""
    return "javascript:" + quote(console_snippet(base, origin), safe="!$&'()*+,;=:@/?[]{}<>|^~`.-_")


def userscript(base: str, bundle: Bundle, matches: Sequence[str]) -> str:
    """The installable userscript. With no ``matches`` it is installed for every page but acts only in a tab
    opened with ``#kamsync-preview`` (or ``?kamsync-preview``), then on that site's pages in that tab, as kept in
    the userscript manager's storage: a page cannot opt itself in by writing its own storage. It can still load
    itself at such an address, so ``matches`` is what keeps the developer's code to the sites they name."""
    lines = [f"// @match       {m.strip()}" for m in matches if m.strip() and "\n" not in m] or [
        "// @match       *://*/*"
    ]
    return _fill(
        _USERSCRIPT,
        RUNTIME=_RUNTIME.strip(),
        BASE=js_literal(base),
        OPT_IN="false" if matches else "true",
        MATCHES="\n".join(lines),
        EXPERIMENT=str(int(bundle.experiment_id)),
        VARIATION=str(int(bundle.variation_id)),
    )
