"""What a credential can see in Kameleoon, as ``kamsync list`` shows it and ``kamsync pull --site`` maps it
(pure): sites, experiments and personalizations, which of their variations hold code kamsync must not own, and
which of them a bootstrap maps.

A variation whose code Kameleoon generates (the graphic editor's ``generatedJsCode``/``generatedCssCode``, a widget)
or that redirects has no code of its own to keep in git: files for it would be pushed over what the editor made.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kamsync.core.errors import UsageError
from kamsync.core.model import Entity, RemoteExperiment, RemoteSite

if TYPE_CHECKING:
    from kamsync.core.reports import PullReport  # which imports this module

__all__ = [
    "Listed",
    "Listing",
    "NotMapped",
    "SitePulled",
    "VariationTraits",
    "bootstrap_choice",
    "check_site_code",
    "code_elsewhere",
    "status_matches",
]


@dataclass(frozen=True, slots=True)
class Listed:
    """One experiment or personalization as Kameleoon lists it, with the code of its site."""

    kind: Entity  # EXPERIMENT or PERSONALIZATION
    remote: RemoteExperiment  # a RemotePersonalization for a personalization
    site_code: str | None

    @property
    def id(self) -> int:
        return self.remote.id

    @property
    def name(self) -> str:
        return self.remote.name

    @property
    def status(self) -> str:
        return self.remote.status

    @property
    def site_id(self) -> int | None:
        return self.remote.site_id

    @property
    def variation_ids(self) -> tuple[int, ...] | None:
        return self.remote.variation_ids


@dataclass(frozen=True, slots=True)
class VariationTraits:
    """What a variation's answer says about where its code lives."""

    id: int
    name: str
    owner: tuple[Entity, int] | None = None  # the experiment or personalization it names as its own
    generated: bool = False  # non-empty generatedJsCode or generatedCssCode
    widget: bool = False  # a widget variation (widgetTemplateInput set)
    redirect: bool = False  # a redirection with a URL


@dataclass(frozen=True, slots=True)
class NotMapped:
    """An entity a bootstrap leaves out of the manifest, and why (a sentence that fits after its name)."""

    kind: Entity
    id: int
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Listing:
    """What ``kamsync list`` found: the sites, the entities (filtered), where each mapped one lives, the cost."""

    sites: tuple[RemoteSite, ...]
    entities: tuple[Listed, ...]
    mapped: Mapping[tuple[Entity, int], str]  # (kind, id) -> dir, relative to the manifest's folder
    requests: int
    manifest: str | None  # the manifest compared with, as shown; None when there is none
    code: int = 0  # listing always succeeds once it has read


@dataclass(frozen=True, slots=True)
class SitePulled:
    """What ``pull --site`` did: pull's report (its ``not_mapped`` says what it left out) and the site."""

    pull: PullReport
    site_code: str

    @property
    def code(self) -> int:
        return self.pull.code


_SITE_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_site_code(code: str) -> None:
    """Refuse (``UsageError``, before any request) what cannot be a Kameleoon site code (10 letters and digits)."""
    if _SITE_CODE.fullmatch(code) is None:
        raise UsageError(
            f"--site {code!r}: a site code is letters and digits (10 of them in Kameleoon, e.g. demoshop01); "
            "`kamsync list` shows the sites these credentials can see"
        )


def code_elsewhere(variation: VariationTraits) -> str | None:
    """Why kamsync must not turn this variation's code into files, or ``None`` when its code is its own."""
    label = f"variation {variation.id}"
    if variation.redirect:
        return f"{label} redirects to another URL: its traffic goes elsewhere, it has no code to keep in git"
    if variation.widget:
        return f"{label} is a widget variation: Kameleoon builds its code from the widget's settings"
    if variation.generated:
        return (
            f"{label} was made in the graphic editor (generatedJsCode/generatedCssCode): files for it would be "
            "pushed over what the editor made"
        )
    return None


def status_matches(status: str, wanted: Collection[str]) -> bool:
    """Whether ``status`` is one of ``wanted`` (every status when none); letter case varies between sources."""
    return not wanted or status.strip().casefold() in {w.strip().casefold() for w in wanted}


def bootstrap_choice(
    entities: Iterable[Listed],
    traits: Mapping[int, VariationTraits],
    mapped: Collection[tuple[Entity, int]],
    mapped_variations: Collection[int] = (),
) -> tuple[list[Listed], list[NotMapped]]:
    """Which entities a bootstrap maps (in id order) and which it leaves out with a note. Already mapped ones are
    in neither. An entity is mapped whole or not at all: one whose variations Kameleoon did not all return, one
    holding a variation whose code lives elsewhere or one the manifest maps under another entity, is left out, so
    no later pull maps that variation either."""
    take: list[Listed] = []
    notes: list[NotMapped] = []
    named: dict[tuple[Entity, int], set[int]] = {}  # the variations that name their owner
    for variation in traits.values():
        if variation.owner is not None:
            named.setdefault(variation.owner, set()).add(variation.id)
    known = set(mapped_variations)
    for entity in sorted(entities, key=lambda e: (e.kind.value, e.id)):
        if (entity.kind, entity.id) in mapped:
            continue
        # Its variations: those it lists and those that name it as their owner.
        variation_ids = sorted(named.get((entity.kind, entity.id), set()).union(entity.variation_ids or ()))
        reason = _leave_out(variation_ids, traits, known)
        if reason is None:
            take.append(entity)
        else:
            notes.append(NotMapped(entity.kind, entity.id, entity.name, reason))
    return take, notes


def _leave_out(
    variation_ids: list[int], traits: Mapping[int, VariationTraits], mapped_variations: Collection[int]
) -> str | None:
    elsewhere = [v for v in variation_ids if v in mapped_variations]
    if elsewhere:
        return (
            f"its variation {elsewhere[0]} is already mapped under another entry of the manifest; move that entry first"
        )
    absent = [v for v in variation_ids if v not in traits]
    if absent:
        shown = ", ".join(map(str, absent[:5])) + (" …" if len(absent) > 5 else "")
        return (
            f"Kameleoon lists variation(s) {shown} for it but did not return them in the site's variations; "
            "run again later"
        )
    for variation_id in variation_ids:
        reason = code_elsewhere(traits[variation_id])
        if reason is not None:
            return reason
    return None
