"""Talking to Kameleoon: the pure protocol (queries, payloads, responses, retry policy, the error ending a request
in ``failures``, scrubbing secrets), OAuth2 auth, a partner app's login (``login``, pure; ``callback``, its
loopback callback server), the one HTTP client, and reading the remote state of mapped fields (``remote``); and
the little of GitHub's REST API the Action uses: its sticky comment and the drift pull request (``github``).

May import ``core``, ``state`` and ``budget``.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kamsync.api.client import KameleoonClient
    from kamsync.api.settings import DEFAULT_API_URL, Credentials, credentials_from_env, resolve_api_url
    from kamsync.budget.windows import RequestBudget

__all__ = [
    "DEFAULT_API_URL",
    "Credentials",
    "KameleoonClient",
    "RequestBudget",
    "credentials_from_env",
    "resolve_api_url",
]

# Where each name lives: imported when first asked for, so that reading a setting (``api.settings``) does not
# load the HTTP stack — the pre-push hook's quick answers need no httpx.
_HOMES = {
    "KameleoonClient": "kamsync.api.client",
    "DEFAULT_API_URL": "kamsync.api.settings",
    "Credentials": "kamsync.api.settings",
    "credentials_from_env": "kamsync.api.settings",
    "resolve_api_url": "kamsync.api.settings",
    "RequestBudget": "kamsync.budget.windows",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name not in _HOMES:
        raise AttributeError(f"module 'kamsync.api' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
