"""The Kameleoon Automation API: settings, credentials, pure request/answer helpers, and the HTTP client."""

from kamsync.api.client import KameleoonClient
from kamsync.api.settings import DEFAULT_API_URL, Credentials, credentials_from_env, resolve_api_url
from kamsync.ratelimit import RequestBudget

__all__ = [
    "DEFAULT_API_URL",
    "Credentials",
    "KameleoonClient",
    "RequestBudget",
    "credentials_from_env",
    "resolve_api_url",
]
