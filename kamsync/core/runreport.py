"""What a run of ``--format github`` found and did, as one value its renderers read (pure).

A row is one mapped field that differs (or was refused); its names and code come from Kameleoon and are
untrusted: the renderers make them inert wherever they go.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from kamsync.core.states import State

__all__ = ["DRIFTED", "FieldRow", "Problem", "RunReport", "TokenObtained", "diff_counts", "kameleoon_to_local"]

# What `drift` reports: edited in Kameleoon (remote-changed, conflict) or holding code from commits the default
# branch lacks (remote-ahead).
DRIFTED = frozenset({State.REMOTE_CHANGED.value, State.CONFLICT.value, State.REMOTE_AHEAD.value})


@dataclass(frozen=True, slots=True)
class TokenObtained:
    """An access token, the moment the client obtained it: a view that can hide it from its log does so."""

    value: str

    def __repr__(self) -> str:
        return "TokenObtained(<hidden>)"


@dataclass(frozen=True, slots=True)
class FieldRow:
    file: str  # the code file, relative to the top of the repository (where annotations go)
    experiment_id: int
    experiment_name: str | None
    variation_id: int | None
    variation_name: str | None
    field: str
    state: str
    live: bool
    diff: str = ""  # unified diff, Kameleoon → local
    refused: str | None = None  # why it is refused (None: not refused)
    fix: str | None = None  # the way out of the refusal
    outcome: str | None = None  # push: written, skipped, failed, not attempted; plan: planned
    line: int = 1  # the first line the diff touches in the local file

    @property
    def added(self) -> int:
        return diff_counts(self.diff)[0]

    @property
    def removed(self) -> int:
        return diff_counts(self.diff)[1]


@dataclass(frozen=True, slots=True)
class Problem:
    """An error of the run, located when kamsync knows where (a manifest line)."""

    message: str
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class RunReport:
    command: str  # plan, push, status, drift
    manifest: str  # the manifest, relative to the top of the repository (it names the sticky comment)
    rows: tuple[FieldRow, ...] = ()
    requests: int = 0
    hour_used: int | None = None  # requests of this credential in the longest rate window, this run included
    hour_limit: int | None = None
    hour_window: str = "1h"
    plan_path: str | None = None
    not_read: str | None = None  # why Kameleoon was not read at all
    problems: tuple[Problem, ...] = ()
    warnings: tuple[str, ...] = ()
    exit_code: int = 0
    pull_request: str | None = None  # drift: the pull request opened or updated
    drift_branch: str | None = None  # drift: the branch holding Kameleoon's edits, pushed for a pull request

    @property
    def changes(self) -> int:
        return sum(1 for r in self.rows if r.state != State.IN_SYNC.value)

    @property
    def refused(self) -> int:
        return sum(1 for r in self.rows if r.refused is not None)

    @property
    def conflicts(self) -> int:
        return sum(1 for r in self.rows if r.refused is not None and r.state == State.CONFLICT.value)

    @property
    def drifted(self) -> int:
        return sum(1 for r in self.rows if r.state in DRIFTED)

    def outputs(self) -> dict[str, str]:
        """The action's outputs (decimal counts, and the saved plan's path)."""
        return {
            "changes": str(self.changes),
            "refused": str(self.refused),
            "conflicts": str(self.conflicts),
            "requests": str(self.requests),
            "drifted": str(self.drifted),
            "plan": self.plan_path or "",
        }


def kameleoon_to_local(remote: str | None, local: str | None, path: str) -> str:
    """A field's unified diff, Kameleoon → local, named as ``kamsync diff`` names its sides."""
    lines = (remote or "").splitlines(), (local or "").splitlines()
    return "\n".join(difflib.unified_diff(*lines, f"kameleoon/{path}", f"local/{path}", lineterm=""))


def diff_counts(diff: str) -> tuple[int, int]:
    """Lines added and removed by a unified diff."""
    added = removed = 0
    in_hunk = False  # the ---/+++ header lines come before the first hunk
    for line in diff.splitlines():
        in_hunk = in_hunk or line.startswith("@@")
        if in_hunk and line.startswith("+"):
            added += 1
        elif in_hunk and line.startswith("-"):
            removed += 1
    return added, removed
