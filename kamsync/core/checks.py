"""What ``kamsync doctor`` found, as values (pure): one check per thing a support request would ask about."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Check", "failed"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str  # "credentials", "API", "manifest", …
    ok: bool
    detail: str  # what was found
    fix: str = ""  # what to do about it; empty when ok (or when ``detail`` already says it)


def failed(checks: Sequence[Check]) -> tuple[Check, ...]:
    return tuple(c for c in checks if not c.ok)
