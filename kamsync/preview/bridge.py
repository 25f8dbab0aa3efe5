"""The preview window, for https pages: a page of the preview server, opened by the bookmarklet as a pop-up, at
an address new at each click, so every click loads it again and it sends the loader again. A pop-up is a
top-level page of its own, so its event stream from ``http://127.0.0.1`` is no mixed content for the https page;
it hands the page the loader, then each save, with ``postMessage`` addressed to that page's origin only (the page
accepts them only from this window and this origin). The page still runs them from a script element's text: a
strict CSP blocks that, and the bookmarklet then says so."""

from __future__ import annotations

import secrets

from kamsync.core.preview import js_literal
from kamsync.preview.scripts import loader

__all__ = ["bridge_page"]

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>kamsync preview</title></head>
<body><p id="status">kamsync preview: connecting…</p>
<script nonce="__NONCE__">
(function () {
  var loaderText = __LOADER__, status = document.getElementById("status");
  var target = decodeURIComponent(location.hash.slice(1));
  if (!/^https?:\\/\\/[A-Za-z0-9.-]+(:[0-9]+)?$/.test(target) || !window.opener) {
    status.textContent = "kamsync preview: open this window with the bookmarklet, on the page to preview";
    return;
  }
  var sent = false, events = new EventSource("events");
  events.addEventListener("bundle", function (e) {
    if (!window.opener) {
      status.textContent = "kamsync preview: the previewed page is gone; close this window";
      events.close();
      return;
    }
    if (!sent) window.opener.postMessage({ kamsyncLoader: loaderText }, target);
    sent = true;
    var bundle = JSON.parse(e.data);
    window.opener.postMessage({ kamsyncPreview: bundle }, target);
    status.textContent = "kamsync preview: version " + bundle.version + " sent to " + target +
      ". Keep this window open: every save goes through it.";
  });
})();
</script></body></html>
"""


def bridge_page(base: str, origin: str) -> tuple[str, str]:
    """The preview window's HTML and the Content-Security-Policy it is served with (its one script by nonce)."""
    nonce = secrets.token_urlsafe(16)
    html = _PAGE.replace("__LOADER__", js_literal(loader(base, None, origin=origin))).replace("__NONCE__", nonce)
    policy = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return html, policy
