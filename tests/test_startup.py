"""What start-up spends only when it is needed: the CA bundle for an https API, nothing TLS for plain http, and
the renderers of a command family only once there is something of it to show."""

from __future__ import annotations

import ssl

from kamsync.api.settings import tls_verification


def test_an_https_api_is_verified_with_the_ca_bundle() -> None:
    assert tls_verification("https://api.kameleoon.com") is True
    assert tls_verification("HTTPS://api.kameleoon.com") is True


def test_a_plain_http_api_gets_a_context_that_trusts_no_certificate() -> None:
    context = tls_verification("http://127.0.0.1:8080")
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats() == {"x509": 0, "crl": 0, "x509_ca": 0}


def _modules_after(code: str) -> set[str]:
    import subprocess
    import sys

    probe = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_the_command_line_imports_no_renderer_before_it_has_something_to_show() -> None:
    loaded = _modules_after("import kamsync.cli.main")
    assert not {"kamsync.ui.hook", "kamsync.ui.status", "kamsync.ui.quota"} & loaded
    assert "kamsync.budget.ledger" not in loaded, "the ledger (and its file lock) is imported only when used"


def test_showing_a_hook_answer_imports_only_the_hooks_renderers() -> None:
    loaded = _modules_after(
        "from kamsync.core.events import HookSkipped\n"
        "from kamsync.ui.console import Console\n"
        "from kamsync.ui.show import show\n"
        "show(Console.create(json_mode=False, no_color=True, environ={}), HookSkipped())"
    )
    assert "kamsync.ui.hook" in loaded
    assert not {"kamsync.ui.status", "kamsync.ui.push", "kamsync.ui.pull", "kamsync.ui.quota"} & loaded


def test_reading_the_api_settings_loads_no_http_stack() -> None:
    loaded = _modules_after("import kamsync.api.settings\nimport kamsync.api.retry")
    assert "httpx" not in loaded, "the pre-push hook's quick answers read settings without needing httpx"
