"""One deadline for a whole request, from connecting to its last byte.

httpx's ``Timeout`` bounds each network operation: a server trickling its answer one byte a second never trips
it, and a run would hang for as long as the server likes. ``send_within`` streams the answer and reads it chunk
by chunk against a monotonic deadline, so ``KAMSYNC_TIMEOUT`` bounds the request as a whole. Connecting,
sending and each read are still bounded by the same number of seconds; the one read under way when the
deadline passes is the only overshoot.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

__all__ = ["send_within"]

_ENCODED = ("content-encoding", "content-length", "transfer-encoding")


def send_within(
    http: httpx.Client, request: httpx.Request, seconds: float, clock: Callable[[], float] = time.monotonic
) -> httpx.Response:
    """The answer to ``request``, read completely; ``httpx.ReadTimeout`` once it takes longer than ``seconds``."""
    deadline = clock() + seconds
    response = http.send(request, stream=True)
    try:
        body: list[bytes] = []
        for chunk in response.iter_bytes():
            body.append(chunk)
            if clock() > deadline:
                raise httpx.ReadTimeout(f"the whole request took longer than {seconds:g} s", request=request)
    finally:
        response.close()
    # A complete answer holding the decoded body: the headers that described the encoded one go.
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _ENCODED]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=b"".join(body),
        request=request,
    )
