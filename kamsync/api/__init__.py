"""Talking to Kameleoon: the pure protocol (queries, payloads, responses, retry policy, the error ending a request
in ``failures``, scrubbing secrets), OAuth2 auth, a partner app's login (``login``, pure; ``callback``, its
loopback callback server), the one HTTP client, and reading the remote state of mapped fields (``remote``).

May import ``core``, ``state`` and ``budget``.
"""

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
