"""The one error root of kamsync.

Every expected failure is a ``KamsyncError`` whose message says what went wrong and what to do about it.
The CLI is the single place that turns these into text and exit codes; the core never prints or exits.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """Exit codes (a contract: scripts and CI rely on them)."""

    OK = 0
    DIFFERENCES = 1
    USAGE = 2
    REFUSED = 3
    API = 4
    INTERRUPTED = 130


class KamsyncError(Exception):
    """Root of every error kamsync expects. ``str(error)`` is the message shown to the user."""

    exit_code: Exit = Exit.USAGE


class UsageError(KamsyncError):
    """Bad command-line input or configuration (nothing was sent)."""


class ManifestError(KamsyncError):
    """A problem in ``kamsync.yaml`` or in a file it maps, located as ``file:line``."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {problem}")


class CredentialsError(KamsyncError):
    """Credentials are missing or rejected."""


class LockedRepository(KamsyncError):
    """Another kamsync process is working on this repository."""


class GitError(KamsyncError):
    """A git command failed, or the folder is not a git repository."""


class RefusedError(KamsyncError):
    """The work was refused for safety; nothing was changed."""

    exit_code = Exit.REFUSED


class ApiError(KamsyncError):
    """The Kameleoon API answered with an error, or could not be reached.

    ``status`` is the HTTP status (``None`` when no answer arrived); ``server_message`` is the ``message`` field
    of the error body when there was one; ``subject`` names what the request was about ("variation 42").
    """

    exit_code = Exit.API

    def __init__(
        self,
        text: str,
        *,
        status: int | None = None,
        server_message: str | None = None,
        subject: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.server_message = server_message
        self.subject = subject
        self.retry_after = retry_after
        super().__init__(text)


class AuthError(ApiError):
    """The token endpoint refused the credentials, or every token was rejected."""

    exit_code = Exit.USAGE


class LockedInApp(ApiError):
    """423: the object is held by the Kameleoon app (someone is editing it in the UI)."""


class RequestCapReached(ApiError):
    """The run sent as many requests as ``--max-requests`` allows; the next one was not sent."""


class WriteMismatch(ApiError):
    """Kameleoon accepted a write but stored something other than what was sent."""


class LongWait(ApiError):
    """The rate budget has no room for longer than the run may wait (without ``--wait``)."""
