"""A browser for the login tests, named in ``BROWSER``: it opens the authorize page and follows where it leads
(the sandbox approves at once and sends it to kamsync's loopback callback), as a person's browser would.

``KAMSYNC_TEST_BROWSER_STATE`` makes it follow the page first with that ``state`` instead of the one it was given
(a forged or stale answer reaching the callback), then as given."""

from __future__ import annotations

import os
import sys
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

url = sys.argv[1]
visits = [url]
forged = os.environ.get("KAMSYNC_TEST_BROWSER_STATE")
if forged is not None:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["state"] = forged
    visits.insert(0, urlunsplit(parts._replace(query=urlencode(query))))
with httpx.Client(follow_redirects=True, timeout=30) as browser:
    for visit in visits:
        browser.get(visit)
