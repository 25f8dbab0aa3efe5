"""kamsync preview without a browser: what it serves and to whom (the token, the Host), how code is escaped, the
real command's first JSON line and its event stream on a real save, and ``--remote`` against the sandbox."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kamsync.api.remote import web_url
from kamsync.core.errors import UsageError
from kamsync.core.preview import Bundle, Verdict, choose_variation, js_literal, judge_request
from kamsync.git.workspace import Workspace
from kamsync.manifest.parse import load_manifest
from kamsync.preview.run import Preview, check_matches
from kamsync.preview.scripts import userscript
from kamsync.preview.server import PreviewServer
from kamsync.sandbox import Sandbox
from tests.conftest import Result

NAMES = ("loader.js", "events")
VARIATION_JS = "experiments/100001-homepage-hero/variations/red-button/variation.js"


@pytest.mark.parametrize(
    ("host", "method", "path", "verdict"),
    [
        ("127.0.0.1:8000", "GET", "/tok/loader.js", Verdict.SERVE),
        ("127.0.0.1:8000", "HEAD", "/tok/loader.js", Verdict.SERVE),
        ("127.0.0.1:8000", "GET", "/tok/nothing", Verdict.NOT_FOUND),
        ("127.0.0.1:8000", "GET", "/bad/loader.js", Verdict.FORBIDDEN),
        ("127.0.0.1:8000", "GET", "/toke/loader.js", Verdict.FORBIDDEN),
        ("127.0.0.1:8000", "GET", "/loader.js", Verdict.FORBIDDEN),
        ("localhost:8000", "GET", "/tok/loader.js", Verdict.FORBIDDEN),  # a name: what DNS rebinding sends
        ("evil.example:8000", "GET", "/tok/loader.js", Verdict.FORBIDDEN),
        ("127.0.0.1:8001", "GET", "/tok/loader.js", Verdict.FORBIDDEN),
        (None, "GET", "/tok/loader.js", Verdict.FORBIDDEN),
        # The method is judged after the Host and the token: without them, it changes nothing.
        ("127.0.0.1:8000", "POST", "/tok/loader.js", Verdict.NOT_ALLOWED),
        ("127.0.0.1:8000", "OPTIONS", "/tok/nothing", Verdict.NOT_ALLOWED),
        ("127.0.0.1:8000", "POST", "/bad/loader.js", Verdict.FORBIDDEN),
        ("localhost:8000", "DELETE", "/tok/loader.js", Verdict.FORBIDDEN),
        (None, "PROPFIND", "/tok/loader.js", Verdict.FORBIDDEN),
    ],
)
def test_only_the_token_on_the_loopback_address_served_is_answered_and_then_only_get_and_head(
    host, method, path, verdict
):
    judged = judge_request(host, path, method=method, served_host="127.0.0.1:8000", token="tok", names=NAMES)
    assert judged[0] is verdict


@pytest.mark.parametrize(
    "code", ["</script><script>alert(1)</script>", "`${alert(1)}`", "a\u2028b\u2029c", "\"\\'", "<!-- -->", "é😀"]
)
def test_code_becomes_a_literal_that_cannot_end_its_script(code):
    literal = js_literal(code)
    assert json.loads(literal) == code
    assert literal.isascii() and not {"<", ">", "&"} & set(literal)


def test_a_bundle_puts_the_experiments_common_code_before_the_variations():
    document = Bundle(1, 2, ("c-css", "c-js", "v-css", "v-js")).document()
    assert [(p["name"], p["code"]) for p in document["parts"]] == [  # type: ignore[attr-defined]
        ("common-css", "c-css"),
        ("common-js", "c-js"),
        ("variation-css", "v-css"),
        ("variation-js", "v-js"),
    ]


def test_the_variation_is_chosen_or_the_choices_are_named(repo: Path):
    manifest = load_manifest(repo / "kamsync.yaml", repo)
    assert choose_variation(manifest, None, 200002)[1].id == 200002
    assert choose_variation(manifest, 100002, None)[1].id == 200003
    for experiment, variation, says in [
        (None, None, "say which variation to preview with --variation ID: 200001 (Red button"),
        (100001, None, "200002 (Big headline, experiment 100001)"),
        (999, None, "--experiment 999: the manifest maps no such experiment"),
        (100002, 200001, "--variation 200001: experiment 100002 maps no such variation"),
    ]:
        with pytest.raises(UsageError, match=re.escape(says)):
            choose_variation(manifest, experiment, variation)


def test_a_match_pattern_cannot_end_the_userscript_header():
    check_matches(["https://shop.example/*"])
    for bad in ["https://a/* \n// @grant none", "// ==/UserScript==", ""]:
        with pytest.raises(UsageError):
            check_matches([bad])
    source = userscript("http://127.0.0.1:1/t/", Bundle(1, 2, ("",) * 4), ["https://shop.example/*"])
    assert "// @match       https://shop.example/*" in source and "optIn = false" in source


@pytest.fixture
def server() -> Iterator[PreviewServer]:
    with PreviewServer(Bundle(100001, 200001, ("a", "b", "c", "</script>"))) as running:
        yield running


def test_the_server_answers_the_token_only_on_its_own_host(server: PreviewServer):
    urls = server.urls()
    assert all(server.token in urls[k] for k in ("loader", "bookmarklet", "userscript", "events"))
    ok = httpx.get(urls["loader"])
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/javascript")
    assert "\\u003c/script\\u003e" in ok.text and "</script>" not in ok.text
    assert ok.headers["cache-control"] == "no-store"
    wrong = urls["loader"].replace(server.token, server.token[:-1] + ("A" if server.token[-1] != "A" else "B"))
    assert httpx.get(wrong).status_code == 403
    assert httpx.get(server.origin + "/").status_code == 403
    for host in ("localhost", f"localhost:{server.port}", f"rebind.example:{server.port}"):
        assert httpx.get(urls["loader"], headers={"Host": host}).status_code == 403
    assert httpx.get(server.base + "missing").status_code == 404
    window = httpx.get(server.base + "bridge.html")
    policy = window.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert window.text.count(f'nonce="{nonce}"') == 1 and window.text.count("</script>") == 1  # the code's is escaped
    assert httpx.get(server.base + "bridge.html").headers["content-security-policy"] != policy  # a nonce each time
    installed = httpx.get(urls["userscript"]).text
    assert installed.startswith("// ==UserScript==") and "@grant       GM_xmlhttpRequest" in installed


def test_the_preview_window_is_served_whatever_the_query_of_a_click_and_only_with_the_token(server: PreviewServer):
    window = httpx.get(server.base + "bridge.html?click=lz4k2q0.8f3c")
    assert window.status_code == 200 and "content-security-policy" in window.headers
    assert window.headers["cache-control"] == "no-store"  # so the window a click reloads is never a cached one
    wrong = server.origin + "/" + "x" * len(server.token) + "/bridge.html?click=lz4k2q0.8f3c"
    assert httpx.get(wrong).status_code == 403


# Every method but GET and HEAD, and one no HTTP library knows: a hostile page sends the simple ones, a local
# process any.
OTHER_METHODS = ("POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "KAMSYNC")


def answered(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    """All a client learns from an answer but its date."""
    return response.status_code, response.content, {k: v for k, v in response.headers.items() if k != "date"}


def test_without_the_token_or_its_host_every_method_gets_the_same_403_as_a_get(server: PreviewServer):
    wrong_token = server.urls()["loader"].replace(server.token, "x" * len(server.token))
    refusal = answered(httpx.get(wrong_token))
    assert refusal[:2] == (403, b"forbidden\n")
    assert answered(httpx.head(wrong_token)) == (403, b"", refusal[2])  # the same headers, no body
    rebound = {"Host": f"rebind.example:{server.port}"}
    for method in OTHER_METHODS:
        for url, headers in ((wrong_token, {}), (server.origin + "/", {}), (server.urls()["loader"], rebound)):
            got = answered(httpx.request(method, url, headers=headers, content=b"a=1"))
            assert got == refusal, f"{method} {url} {headers}"


def test_with_the_token_only_get_and_head_are_answered(server: PreviewServer):
    loader = server.urls()["loader"]
    for method in OTHER_METHODS:
        refused = httpx.request(method, loader, content=b"a=1")
        assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD"), method
        assert "access-control-allow-origin" not in refused.headers  # no page may read it, nor pass a preflight
    got, head = httpx.get(loader), httpx.head(loader)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["content-type"] == got.headers["content-type"]
    stream = httpx.head(server.urls()["events"], timeout=10)  # headers only: no stream left open
    assert stream.status_code == 200 and stream.headers["content-type"] == "text/event-stream"
    assert httpx.get(server.base + "missing").status_code == 404


def test_a_long_poll_answers_at_the_next_change_and_an_unchanged_publish_sends_nothing(server: PreviewServer):
    assert server.publish(server.bundle.codes) is None
    answer: list[httpx.Response] = []
    waiting = threading.Thread(target=lambda: answer.append(httpx.get(server.base + "bundle.json?after=1", timeout=30)))
    waiting.start()
    assert server.publish(("a", "b", "c", "new")) is not None
    waiting.join(timeout=30)
    assert json.loads(answer[0].text)["version"] == 2
    assert json.loads(answer[0].text)["parts"][3]["code"] == "new"
    assert json.loads(httpx.get(server.base + "bundle.json?after=0").text)["version"] == 2


def events(url: str, within: float = 20) -> Iterator[dict[str, object]]:
    """The bundles an event stream sends, as they come; an error once ``within`` seconds have passed."""
    deadline = time.monotonic() + within
    with httpx.stream("GET", url, timeout=within) as response:
        assert response.headers["content-type"] == "text/event-stream"
        for line in response.iter_lines():
            assert time.monotonic() < deadline, f"no awaited event within {within} s"
            if line.startswith("data: "):
                yield json.loads(line.removeprefix("data: "))


def start_preview(env: dict[str, str], repo: Path, *args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    # On Windows, Ctrl-Break reaches only a process of its own group; elsewhere a signal reaches the process.
    group = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if sys.platform == "win32" else {}
    proc = subprocess.Popen(  # type: ignore[call-overload]
        [sys.executable, "-m", "kamsync", "preview", "--json", *args],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        **group,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first, proc.communicate(timeout=10)[1]
    return proc, json.loads(first)


def stop(proc: subprocess.Popen[str], how: str) -> tuple[int, str]:
    """Stop the preview as a person (Ctrl-C: SIGINT) or a service manager (SIGTERM) does."""
    proc.send_signal(getattr(signal, "CTRL_BREAK_EVENT", None) or getattr(signal, how))
    _out, err = proc.communicate(timeout=20)
    return proc.returncode, err


@pytest.mark.parametrize("poll", [False, True], ids=["events", "poll"])
def test_the_command_prints_its_urls_first_and_streams_each_save(
    env: dict[str, str], repo: Path, sandbox: Sandbox, poll: bool
):
    proc, urls = start_preview(env, repo, "--variation", "200001", *(["--poll"] if poll else []))
    try:
        assert sorted(urls) == ["bookmarklet", "events", "loader", "userscript"]
        token = urls["loader"].split("/")[3]
        assert all(token in value for value in urls.values())
        stream = events(urls["events"])
        assert next(stream)["version"] == 1
        (repo / VARIATION_JS).write_text("console.log('saved');\n")
        # The save arrives (a loaded machine may split the in-place write into two events: never more)
        saved = next(b for b in stream if b["parts"][3]["code"] == "console.log('saved');\n")  # type: ignore[index]
        assert saved["version"] in (2, 3)
        assert proc.stdout is not None
        said = [json.loads(proc.stdout.readline()) for _ in range(int(saved["version"]) - 1)]  # type: ignore[call-overload]
        assert said[-1] == {"version": saved["version"], "changed": ["variation-js"]}
        assert saved["parts"][3] == {"name": "variation-js", "kind": "js", "code": "console.log('saved');\n"}  # type: ignore[index]
    finally:
        code, err = stop(proc, "SIGTERM" if poll else "SIGINT")
    assert code == 0 and "preview stopped" in err
    assert sandbox.store.requests == []


def test_remote_pushes_a_draft_variation_and_prints_the_simulation_url(kamsync, repo: Path, sandbox: Sandbox):
    (repo / VARIATION_JS).write_text("document.title = 'remote';\n")
    result: Result = kamsync("preview", "--variation", "200001", "--remote")
    assert result.code == 0, result.output
    assert sandbox.store.get("variation", 200001)["jsCode"] == "document.title = 'remote';\n"
    assert "kameleoon-simulation=true&kameleoon-experiment-id=100001" in result.stdout
    assert [r.method for r in sandbox.store.requests if r.path.startswith("/variations/")] == ["PATCH"]
    assert any(r.path == "/experiments/simulate/100001" for r in sandbox.store.requests)


def test_remote_refuses_a_live_experiment_and_sends_no_write(kamsync, repo: Path, sandbox: Sandbox):
    path = "experiments/100002-checkout-trust-badges/variations/badges-above-total/variation.js"
    (repo / path).write_text("alert('live');\n")
    result: Result = kamsync("preview", "--variation", "200003", "--remote")
    assert result.code == 3
    assert "experiment 100002 is live (active)" in result.stderr
    assert not [r for r in sandbox.store.requests if r.method == "PATCH"]


def test_preview_reads_the_workspace_it_is_given(env: dict[str, str], repo: Path):
    ws = Workspace.open(None, env, repo)
    assert choose_variation(ws.manifest, 100001, 200001)[0].id == 100001


def test_remote_in_sync_sends_no_write_and_still_prints_the_simulation_url(kamsync, sandbox: Sandbox):
    result: Result = kamsync("preview", "--variation", "200002", "--remote", "--json")
    assert result.code == 0, result.output
    payload = json.loads(result.stdout[: result.stdout.rindex("}") + 1])
    assert payload["planned"] == [] and "kameleoon-experiment-id=100001" in payload["simulation"]
    assert not [r for r in sandbox.store.requests if r.method == "PATCH"]


def test_remote_refuses_a_field_edited_in_kameleoon(kamsync, repo: Path, sandbox: Sandbox):
    sandbox.store.ui_edit_variation(200001, jsCode="// edited in the Kameleoon app\n")
    (repo / VARIATION_JS).write_text("document.title = 'mine';\n")
    result: Result = kamsync("preview", "--variation", "200001", "--remote")
    assert result.code == 3, result.output
    assert "refused: variation 200001 (experiment 100001) jsCode" in result.stderr
    assert not [r for r in sandbox.store.requests if r.method == "PATCH" or "simulate" in r.path]


@pytest.mark.parametrize(
    ("answer", "url"),
    [
        ("https://shop.example/?kameleoon-simulation=true\n", "https://shop.example/?kameleoon-simulation=true"),
        ('"https://shop.example/"', "https://shop.example/"),
        ("javascript:alert(1)", None),
        ("https://shop.example/ \x1b[2J", None),
        ("not a url", None),
    ],
)
def test_only_a_web_url_is_taken_as_the_simulation_url(answer, url):
    assert web_url(answer) == url


def test_a_file_made_unreadable_mid_edit_is_reported_and_the_last_code_kept_served(env: dict[str, str], repo: Path):
    ws = Workspace.open(None, env, repo)
    experiment, variation = choose_variation(ws.manifest, None, 200001)
    errors: list[str] = []
    preview = Preview(ws, experiment, variation, on_error=errors.append)
    before = preview.server.bundle
    (repo / VARIATION_JS).write_bytes(b"\xff not utf-8")
    preview.reread()
    assert preview.server.bundle == before
    assert errors and "is not UTF-8 text" in errors[0]
    preview.server.close()
