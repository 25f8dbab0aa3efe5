"""kamsync preview in a real headless Chromium (the system's, driven over the DevTools protocol), on test pages served
on loopback: one without a Content-Security-Policy for the bookmarklet's loader, one with a strict one for the
userscript. Saves are real file writes seen by the real watch; the sandbox API must see no request at all."""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from kamsync.core.preview import choose_variation
from kamsync.git.workspace import Workspace
from kamsync.preview.run import Preview
from kamsync.preview.scripts import MESSAGE_ID
from kamsync.sandbox import Sandbox
from tests.cdp import Browser, Tab, chromium_binary
from tests.userscripts import BINDING, UserscriptManager

# One Chromium per run: every browser test goes to the same xdist worker (pyproject's --dist=loadgroup).
pytestmark = pytest.mark.xdist_group("chromium")

STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'"
# A stand-in for Kameleoon's engine: until startEngine() runs, kameleoonQueue is the array the install tag makes.
ENGINE = """<script>
window.kameleoonQueue = window.kameleoonQueue || [];
window.startEngine = function () {
  var queued = window.kameleoonQueue;
  window.Kameleoon = { API: {} };
  window.kameleoonQueue = { push: function (f) { f(); } };
  queued.forEach(function (f) { f(); });
};
</script>"""
PAGE = """<!doctype html><html><head><title>shop</title>{head}</head>
<body><h1 id="title">Welcome</h1><button id="cta">Buy</button></body></html>"""
# What variation code may hold that must neither break the script carrying it nor run as markup.
HOSTILE = "it's </script><script>window.__injected = 1</script> <!-- ` ${1} \u2028 \u2029 \\ \" done"

COMMON_CSS = "#cta { background-color: rgb(1, 1, 1); }\n#title { color: rgb(0, 0, 255); }\n"
COMMON_JS = 'window.__order = (window.__order || []).concat("common");\n'
VARIATION_CSS = "#cta { background-color: rgb(2, 2, 2); color: rgb(255, 0, 0); }\n"


def template_literal(text: str) -> str:
    """``text`` as a JavaScript template literal, as a developer would write it in a variation."""
    return "`" + text.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${") + "`"


VARIATION_JS = (
    'window.__order = (window.__order || []).concat("variation");\n'
    f'document.getElementById("cta").textContent = {template_literal(HOSTILE)};\n'
    "// a last line comment without a newline"
)


# A page that opts itself in as the userscript once did, and as any page's own script can: in its sessionStorage.
SELF_OPT_IN = '<script>sessionStorage.setItem("kamsync-preview", "on");</script>'


class _Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        strict = self.path.startswith("/strict")
        head = SELF_OPT_IN if self.path.startswith("/self-opted-in") else "" if strict else ENGINE
        body = PAGE.format(head=head).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if strict:
            self.send_header("Content-Security-Policy", STRICT_CSP)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    started = Browser(chromium_binary(), resolve={"rebind.test": "127.0.0.1"}, any_certificate=True)
    yield started
    started.close()


@pytest.fixture(scope="session")
def pages() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def https_pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same pages over https, with a certificate made for this run."""
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
    subprocess.run(
        [*request, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    opened = browser.new_tab()
    yield opened
    opened.close()


@pytest.fixture
def variation_files(repo: Path) -> dict[str, Path]:
    experiment = repo / "experiments" / "100001-homepage-hero"
    files = {
        "common.css": experiment / "common.css",
        "common.js": experiment / "common.js",
        "variation.css": experiment / "variations" / "red-button" / "variation.css",
        "variation.js": experiment / "variations" / "red-button" / "variation.js",
    }
    for name, text in zip(files, (COMMON_CSS, COMMON_JS, VARIATION_CSS, VARIATION_JS), strict=True):
        files[name].write_text(text, encoding="utf-8")
    return files


@pytest.fixture
def preview(repo: Path, env: dict[str, str], variation_files: dict[str, Path], sandbox: Sandbox) -> Iterator[Preview]:
    ws = Workspace.open(None, env, repo)
    experiment, variation = choose_variation(ws.manifest, None, 200001)
    with Preview(ws, experiment, variation) as running:
        yield running
    assert sandbox.store.requests == []  # previewing never talks to Kameleoon


def run_bookmarklet(tab: Tab, bookmarklet: str) -> None:
    """Run a bookmarklet as the browser does when it is clicked: its URL decoded, its code run on the page, with
    the click's user activation."""
    assert bookmarklet.startswith("javascript:")
    tab.evaluate(unquote(bookmarklet.removeprefix("javascript:")), gesture=True)


def style_of(selector: str, prop: str) -> str:
    return f"getComputedStyle(document.querySelector({selector!r})).getPropertyValue({prop!r})"


def save(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_the_bookmarklet_applies_the_code_and_follows_saves_without_reload(tab: Tab, pages: str, preview: Preview):
    tab.navigate(f"{pages}/plain")
    run_bookmarklet(tab, preview.server.urls()["bookmarklet"])
    tab.wait_for("document.documentElement.getAttribute('data-kamsync-preview') === '1'")
    # The variation's CSS comes after the experiment's: same selector, the variation wins.
    assert tab.evaluate(style_of("#cta", "background-color")) == "rgb(2, 2, 2)"
    assert tab.evaluate(style_of("#title", "color")) == "rgb(0, 0, 255)"
    # The page has a Kameleoon install tag: the JS waits in kameleoonQueue until the engine is ready.
    assert tab.evaluate("window.__order === undefined")
    tab.evaluate("startEngine()")
    assert tab.evaluate("window.__order") == ["common", "variation"]
    assert tab.evaluate("document.getElementById('cta').textContent") == HOSTILE
    assert tab.evaluate("window.__injected === undefined")

    tab.evaluate("window.__sameDocument = true")
    save(preview_file(preview, "variation.css"), "#cta { color: rgb(0, 128, 0); }\n")
    save(preview_file(preview, "variation.js"), 'window.__order = window.__order.concat("saved");\n')
    tab.wait_for(f"{style_of('#cta', 'color')} === 'rgb(0, 128, 0)' && window.__order.includes('saved')")
    assert tab.evaluate("window.__sameDocument") is True  # updated in place: no reload
    assert tab.evaluate(style_of("#cta", "background-color")) == "rgb(1, 1, 1)"  # the variation's rule is gone
    assert tab.evaluate("window.__order") == ["common", "variation", "saved"]  # only the saved part ran again


def test_a_wrong_token_or_a_rebound_host_name_gets_403(tab: Tab, preview: Preview):
    urls = preview.server.urls()
    wrong_token = urls["loader"].replace(preview.server.token, "x" * len(preview.server.token))
    rebound = urls["loader"].replace("127.0.0.1", "rebind.test")  # a site name made to resolve to loopback
    for url in (wrong_token, rebound):
        tab.navigate(url)
        assert tab.evaluate("document.body.innerText.trim()") == "forbidden"
    tab.navigate(urls["loader"])
    assert "kamsyncPreview" in tab.evaluate("document.body.innerText")


def test_on_a_strict_csp_page_the_userscript_works_and_the_bookmarklet_says_why_it_cannot(
    browser: Browser, tab: Tab, pages: str, preview: Preview
):
    manager = UserscriptManager(tab)
    source = preview.server.urls()["userscript"]
    manager.install(httpx.get(source).text)
    tab.navigate(f"{pages}/strict#kamsync-preview")
    tab.wait_for("document.documentElement.getAttribute('data-kamsync-preview') === '1'")
    assert tab.evaluate(style_of("#cta", "background-color")) == "rgb(2, 2, 2)"
    tab.wait_for("window.__order && window.__order.length === 2")  # no engine on this page: the JS runs at once
    assert tab.evaluate("window.__order") == ["common", "variation"]
    assert tab.evaluate("document.getElementById('cta').textContent") == HOSTILE

    tab.evaluate("window.__sameDocument = true")
    save(preview_file(preview, "common.css"), "#title { color: rgb(0, 100, 0); }\n")
    tab.wait_for(f"{style_of('#title', 'color')} === 'rgb(0, 100, 0)'")
    assert tab.evaluate("window.__sameDocument") is True
    assert tab.evaluate(style_of("#cta", "background-color")) == "rgb(2, 2, 2)"
    manager.close()

    plain = browser.new_tab()  # the same page, no userscript: the bookmarklet's loader is blocked by the CSP
    try:
        plain.navigate(f"{pages}/strict")
        run_bookmarklet(plain, preview.server.urls()["bookmarklet"])
        message = plain.wait_for(f"(document.getElementById({MESSAGE_ID!r}) || {{}}).textContent")
        assert "Content-Security-Policy" in message and "userscript" in message
        assert preview.server.token not in message
        assert plain.evaluate("document.documentElement.getAttribute('data-kamsync-preview')") is None
    finally:
        plain.close()


APPLIED = "document.documentElement.getAttribute('data-kamsync-preview') === '1'"
NOT_APPLIED = "document.documentElement.getAttribute('data-kamsync-preview') === null"


def visit_unpreviewed(tab: Tab, manager: UserscriptManager, url: str) -> None:
    """Load ``url`` and check the userscript left it alone: by the load, it asked the preview for nothing."""
    asked = len(manager.calls)
    tab.navigate(url)
    assert manager.calls[asked:] == [], url
    assert tab.evaluate(NOT_APPLIED), url


def test_a_page_that_writes_the_opt_in_into_its_own_storage_is_not_previewed(tab: Tab, pages: str, preview: Preview):
    manager = UserscriptManager(tab)
    manager.install(httpx.get(preview.server.urls()["userscript"]).text)
    try:
        visit_unpreviewed(tab, manager, f"{pages}/self-opted-in")
        assert tab.evaluate("sessionStorage.getItem('kamsync-preview')") == "on"  # its script did write it
        visit_unpreviewed(tab, manager, f"{pages}/plain")  # a later page of the site, the value there from its start
        # What keeps the opt-in is out of the page's reach: no GM_* function, no way to the manager, no value.
        reach = f"[typeof GM_getValue, typeof GM_setValue, typeof window[{BINDING!r}]]"
        assert tab.evaluate(reach) == ["undefined"] * 3
        assert manager.values == {} and manager.requests == []
    finally:
        manager.close()


def test_without_match_a_tab_opted_in_with_the_hash_is_previewed_on_that_site_only(
    tab: Tab, pages: str, preview: Preview
):
    other_site = pages.replace("127.0.0.1", "rebind.test")  # another origin, on the same test server
    manager = UserscriptManager(tab)
    manager.install(httpx.get(preview.server.urls()["userscript"]).text)
    try:
        visit_unpreviewed(tab, manager, f"{pages}/strict")
        tab.navigate(f"{pages}/strict?page=1#kamsync-preview")
        tab.wait_for(APPLIED)
        tab.navigate(f"{pages}/strict?page=2")  # the site's other pages, in this tab, without the hash
        tab.wait_for(APPLIED)
        remembered = tab.evaluate("sessionStorage.getItem('kamsync-preview')")
        assert remembered and manager.values == {f"opted-in tabs of {pages}": [remembered]}  # the manager's storage
        # Another site gets nothing, even holding what the opted-in site's pages could read and pass on.
        visit_unpreviewed(tab, manager, f"{other_site}/strict?page=1")
        tab.evaluate(f"sessionStorage.setItem('kamsync-preview', {remembered!r})")
        visit_unpreviewed(tab, manager, f"{other_site}/strict?page=2")
    finally:
        manager.close()


def preview_file(preview: Preview, name: str) -> Path:
    kinds = {"common.css": 0, "common.js": 1, "variation.css": 2, "variation.js": 3}
    mapped = preview.files[kinds[name]]
    assert mapped is not None
    return preview.ws.absolute(mapped.path)


def test_on_an_https_page_the_bookmarklet_works_through_the_preview_window_without_mixed_content(
    browser: Browser, tab: Tab, https_pages: str, preview: Preview
):
    tab.send("Network.enable")
    tab.navigate(f"{https_pages}/plain")
    run_bookmarklet(tab, preview.server.urls()["bookmarklet"])
    try:
        tab.wait_for("document.documentElement.getAttribute('data-kamsync-preview') === '1'")
        assert tab.evaluate(style_of("#cta", "background-color")) == "rgb(2, 2, 2)"
        tab.evaluate("startEngine()")
        assert tab.evaluate("window.__order") == ["common", "variation"]
        assert tab.evaluate("document.getElementById('cta').textContent") == HOSTILE
        save(preview_file(preview, "variation.css"), "#cta { color: rgb(0, 0, 128); }\n")
        tab.wait_for(f"{style_of('#cta', 'color')} === 'rgb(0, 0, 128)'")
        # The https page itself never asked http://127.0.0.1 for anything: the preview window did.
        asked = [e["request"]["url"] for e in tab.seen("Network.requestWillBeSent")]
        assert asked and not [url for url in asked if url.startswith(preview.server.origin)]
    finally:
        close_preview_windows(browser)


def preview_windows(browser: Browser) -> list[str]:
    return [t["targetId"] for t in browser.send("Target.getTargets")["targetInfos"] if "bridge.html" in t["url"]]


def close_preview_windows(browser: Browser) -> None:
    for target in preview_windows(browser):
        browser.send("Target.closeTarget", {"targetId": target})


def test_on_an_https_page_a_click_after_a_reload_runs_the_code_again_through_the_window_still_open(
    browser: Browser, tab: Tab, https_pages: str, preview: Preview
):
    bookmarklet = preview.server.urls()["bookmarklet"]
    tab.navigate(f"{https_pages}/plain")
    try:
        run_bookmarklet(tab, bookmarklet)
        tab.wait_for("document.documentElement.getAttribute('data-kamsync-preview') === '1'")
        tab.evaluate("startEngine()")
        assert tab.evaluate("window.__order") == ["common", "variation"]

        tab.reload()  # the page starts clean; the preview window stays open, on the same address
        assert tab.evaluate(
            "window.__order === undefined && !document.documentElement.hasAttribute('data-kamsync-preview')"
        )
        run_bookmarklet(tab, bookmarklet)
        tab.wait_for("document.documentElement.getAttribute('data-kamsync-preview') === '1'")
        assert tab.evaluate(style_of("#cta", "background-color")) == "rgb(2, 2, 2)"
        tab.evaluate("startEngine()")
        assert tab.evaluate("window.__order") == ["common", "variation"]
        assert tab.evaluate("document.getElementById('cta').textContent") == HOSTILE
        assert len(preview_windows(browser)) == 1  # the click reused the window it had opened
        save(preview_file(preview, "variation.css"), "#cta { color: rgb(0, 0, 128); }\n")
        tab.wait_for(f"{style_of('#cta', 'color')} === 'rgb(0, 0, 128)'")  # and saves reach the reloaded page
    finally:
        close_preview_windows(browser)
