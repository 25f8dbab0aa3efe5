"""What start-up spends only when it is needed: the CA bundle for an https API, and nothing TLS for plain http."""

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
