"""The one error root of kamsync.

Every expected failure is a ``KamsyncError`` whose message says what went wrong and what to do about it.
The CLI is the single place that turns these into text and exit codes; the core never prints or exits.
"""

from __future__ import annotations

import errno
import os
from enum import IntEnum


class Exit(IntEnum):
    """Exit codes (a contract: scripts and CI rely on them)."""

    OK = 0
    DIFFERENCES = 1
    USAGE = 2
    REFUSED = 3
    API = 4
    CRASH = 70  # an unexpected error: a bug, reported with a crash file (sysexits' EX_SOFTWARE)
    INTERRUPTED = 130


# When several outcomes apply, the first of these that occurs wins (the README: 130, 70, 4, 3, 1; a usage
# error, which normally stops a command before any other outcome, still outranks differences).
PRECEDENCE = (Exit.INTERRUPTED, Exit.CRASH, Exit.API, Exit.REFUSED, Exit.USAGE, Exit.DIFFERENCES)


def worst(*codes: int) -> int:
    """The exit code of several outcomes: the place where outcomes combine."""
    return int(next((code for code in PRECEDENCE if code in codes), Exit.OK))


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


class LedgerUnavailable(KamsyncError):
    """The shared rate-limit ledger configured (``KAMSYNC_LEDGER_URL``) cannot be used: nothing was sent.
    ``problem`` says what is wrong, without the advice (for a caller that falls back and only warns)."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        super().__init__(f"{problem}; {fix}")


class LockedRepository(KamsyncError):
    """Another kamsync process is working on this repository."""


# Why a file could not be written, and what the user can do about it, by errno.
_WRITE_PROBLEMS = {
    errno.ENOSPC: ("no space left on the device", "free some disk space"),
    getattr(errno, "EDQUOT", -122): (  # not defined on every platform
        "the disk quota is exceeded",
        "free some space or ask for a larger quota",
    ),
    errno.EACCES: ("permission denied", "make it writable for this user"),
    errno.EPERM: ("operation not permitted", "make it writable for this user"),
    errno.EROFS: ("the file system is read-only", "run kamsync where it can write"),
}


class LocalWriteError(KamsyncError):
    """A file on this machine could not be written (disk full, quota, permissions). ``path`` names it; whatever
    it held before was left as it was (kamsync writes through a temporary file and an atomic rename)."""

    def __init__(self, path: str | os.PathLike[str], error: OSError, what: str | None = None) -> None:
        self.path = os.fspath(path)
        self.errno = error.errno
        cause, fix = _WRITE_PROBLEMS.get(
            error.errno or 0,
            (error.strerror or str(error), "check the disk and that folder's permissions"),
        )
        # What went wrong, without the advice: for callers that go on regardless and only warn.
        self.problem = f"cannot write {self.path}{f' ({what})' if what else ''}: {cause}"
        super().__init__(f"{self.problem}; it was left as it was; {fix}, then run the same command again")


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


class ChangedSinceRead(ApiError):
    """A field changed in Kameleoon between the read its write is based on and the write: nothing was sent."""


class LongWait(ApiError):
    """The rate budget has no room for longer than the run may wait (without ``--wait``)."""


class LedgerLost(ApiError):
    """The shared rate-limit ledger stopped answering during a run: the next request was not sent (resumable)."""
