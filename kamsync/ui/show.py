"""The render registry: one function per type of value a use case returns or reports, kept by the module of its
command family (``ui/status``, ``ui/push``, …) with ``@renders(Type)``. ``show`` finds it by the value's type.

A new command adds its result type in ``kamsync.core.reports`` (or an event in ``kamsync.core.events``), a
module here with one ``@renders`` function writing its human lines and its JSON document through the console,
and that module's name in ``FAMILIES``. The families are imported when the first value is shown, not before: a
command that ends without showing anything (``--version``, a pre-push hook with nothing to examine) does not pay
for importing every command's renderers and what they import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from kamsync.ui.console import Console

__all__ = ["FAMILIES", "rendered", "renders", "show"]

# The modules holding the renderers, one per command family (importing one registers its renderers).
FAMILIES = (
    "hook",
    "session",
    "status",
    "push",
    "creation",
    "pull",
    "quota",
    "doctor",
    "preview",
    "login",
    "watch",
    "runs",
    "catalog",
)

T = TypeVar("T")
_RENDERERS: dict[type, Callable[[Console, Any], None]] = {}


def renders(kind: type[T]) -> Callable[[Callable[[Console, T], None]], Callable[[Console, T], None]]:
    """Register the decorated function as how values of ``kind`` are shown."""

    def register(render: Callable[[Console, T], None]) -> Callable[[Console, T], None]:
        assert kind not in _RENDERERS, f"{kind.__name__} is rendered twice"
        _RENDERERS[kind] = render
        return render

    return register


def show(console: Console, value: object) -> None:
    """Write ``value`` as its family's renderer says (``TypeError`` for a type nobody renders)."""
    render = _RENDERERS.get(type(value))
    while render is None and _load_next_family():
        render = _RENDERERS.get(type(value))
    if render is None:
        raise TypeError(f"no renderer for {type(value).__name__}: add an @renders function in kamsync/ui/")
    render(console, value)


def rendered(kind: type) -> bool:
    """Whether values of ``kind`` have a renderer."""
    while _load_next_family():
        pass
    return kind in _RENDERERS


_unloaded = list(FAMILIES)


def _load_next_family() -> bool:
    """Import the next family's renderers (the hook's first: its quick answers need no other); False when all are."""
    if not _unloaded:
        return False
    importlib.import_module(f"kamsync.ui.{_unloaded.pop(0)}")
    return True
