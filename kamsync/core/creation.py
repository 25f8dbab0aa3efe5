"""Variations created from the repository: which ones a push creates or adopts, and the traffic split it sets.

Pure decisions. Creating a variation changes live traffic: the split before and after is part of the plan, and
the caller refuses it without ``--allow-traffic-change``. A variation is found again by its exact name among
the site's variations (attached to an experiment or not), so that an interrupted creation is adopted on the
next run instead of being created twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kamsync.core.model import ExperimentSpec, NewVariationSpec

__all__ = [
    "ORIGIN",
    "Adopt",
    "Candidate",
    "Create",
    "Refuse",
    "Slot",
    "decide",
    "equal_split",
    "planned_split",
    "split_text",
]

ORIGIN = "origin"
CREATION_STATUSES = ("posting", "posted", "attached")  # journaled before the POST, after it, once attached


@dataclass(frozen=True, slots=True)
class CreationEntry:
    experiment_id: int
    name: str
    dir: str
    status: str  # one of STATUSES
    variation_id: int | None = None

    def describe(self) -> str:
        made = f" (variation {self.variation_id})" if self.variation_id is not None else ""
        return f"new variation {self.name!r}{made} of experiment {self.experiment_id}"


@dataclass(frozen=True, slots=True)
class Slot:
    """One share of an experiment's traffic: the original page, a variation Kameleoon has, or one to create."""

    variation_id: int | None  # None for the original page and for a variation not created yet
    label: str  # how the plan shows it: "origin", "variation 12 (dir)", "new 'Name' (dir)"
    dir: str | None = None  # the variation's dir in the manifest, when it has one there


@dataclass(frozen=True, slots=True)
class Candidate:
    """A variation of the site as Kameleoon lists it, for the name lookup."""

    id: int
    name: str
    experiment_id: int | None
    personalization_id: int | None = None


@dataclass(frozen=True, slots=True)
class Create:
    """No variation of the site has this name: create it."""


@dataclass(frozen=True, slots=True)
class Adopt:
    """Exactly one variation of the site has this name (an earlier, interrupted creation, or one made in the
    UI): use it instead of creating another; ``attached`` when the experiment already lists it."""

    id: int
    attached: bool


@dataclass(frozen=True, slots=True)
class Refuse:
    reason: str


Decision = Create | Adopt | Refuse


def decide(
    name: str,
    candidates: Sequence[Candidate],
    experiment_id: int,
    attached: Sequence[int],
    mapped: Sequence[int],
    journaled: int | None = None,
) -> Decision:
    """What to do for the new variation ``name`` of ``experiment_id``, given the site's variations; an earlier
    run's journal naming the id it created (``journaled``) finds it even if its name changed since."""
    same = [c for c in candidates if c.id == journaled] or [c for c in candidates if c.name == name]
    if not same:
        return Create()
    if len(same) > 1:
        ids = ", ".join(str(c.id) for c in same)
        return Refuse(
            f"{len(same)} variations of the site are named {name!r} ({ids}): kamsync cannot tell which one is "
            "meant; give the manifest entry the `id:` of the right one"
        )
    found = same[0]
    if found.id in mapped:
        return Refuse(
            f"variation {found.id} of the site is already named {name!r} and mapped in the manifest: give the new "
            "variation another name"
        )
    if found.personalization_id is not None:
        return Refuse(
            f"variation {found.id}, named {name!r}, belongs to personalization {found.personalization_id}: give "
            "the new variation another name"
        )
    if found.experiment_id not in (None, experiment_id) and found.id not in attached:
        return Refuse(
            f"variation {found.id}, named {name!r}, belongs to experiment {found.experiment_id}: give the new "
            "variation another name"
        )
    return Adopt(found.id, attached=found.id in attached)


def equal_split(count: int) -> list[float]:
    """``count`` equal shares rounded to 4 places, the rounding going to the first (the original page), so
    that they sum to 1 exactly as Kameleoon checks it."""
    share = round(1.0 / count, 4)
    return [round(1.0 - share * (count - 1), 4), *([share] * (count - 1))]


def planned_split(
    spec: ExperimentSpec,
    attached: Sequence[int],
    new: Sequence[NewVariationSpec],
    adopted: Mapping[int, str] | None = None,
) -> tuple[list[tuple[Slot, float]], str | None]:
    """The split after attaching ``new`` to ``spec``'s experiment, whose variations are ``attached`` in
    Kameleoon now (``adopted``: the dirs of attached ones that new entries adopt); with the reason, an empty
    split when the manifest's ``traffic:`` cannot say it."""
    dirs = {v.id: v.dir for v in spec.variations} | dict(adopted or {})
    slots = [Slot(None, ORIGIN)]
    slots += [
        Slot(vid, f"variation {vid}" + (f" ({dirs[vid]})" if vid in dirs else ""), dirs.get(vid)) for vid in attached
    ]
    slots += [Slot(None, f"new {v.name!r} ({v.dir})", v.dir) for v in new]
    if spec.traffic is None:
        return list(zip(slots, equal_split(len(slots)), strict=True)), None
    shares = dict(spec.traffic)
    unmapped = [s.variation_id for s in slots[1:] if s.dir is None]
    if unmapped:
        ids = ", ".join(str(i) for i in unmapped)
        return [], (
            f"experiment {spec.id} has variations in Kameleoon that the manifest does not map ({ids}), so its "
            "'traffic:' gives them no share: add them to the manifest (`kamsync pull`), or remove 'traffic:' for "
            "equal shares"
        )
    return [(s, shares.get(s.dir if s.dir is not None else ORIGIN, 0.0)) for s in slots], None


def deviations(split: Sequence[tuple[Slot, float]], created: Mapping[str, int]) -> dict[str, float]:
    """The ``deviations`` map Kameleoon stores, once every new variation (by dir in ``created``) has an id."""
    out: dict[str, float] = {}
    for slot, share in split:
        if slot.variation_id is not None:
            out[str(slot.variation_id)] = share
        elif slot.dir is not None:
            out[str(created[slot.dir])] = share
        else:
            out[ORIGIN] = share
    return out


def split_text(before: Mapping[str, float], after: Sequence[tuple[Slot, float]]) -> str:
    """``origin 50% → 34%, variation 12 (red) 50% → 33%, new 'Blue' (blue) → 33%``."""
    parts = []
    for slot, share in after:
        if slot.variation_id is not None:
            was = before.get(str(slot.variation_id))
        else:
            was = before.get(ORIGIN) if slot.dir is None else None
        shown = f"{_percent(was)} → {_percent(share)}" if was is not None else f"→ {_percent(share)}"
        parts.append(f"{slot.label} {shown}")
    return ", ".join(parts)


def _percent(share: float) -> str:
    return f"{share * 100:.4g}%"


@dataclass(frozen=True, slots=True)
class NewStep:
    spec: NewVariationSpec
    decision: Decision
    code: Mapping[str, str]  # API field -> normalised local code, for the files that exist

    @property
    def attaches(self) -> bool:
        return isinstance(self.decision, Create) or (isinstance(self.decision, Adopt) and not self.decision.attached)


@dataclass(frozen=True, slots=True)
class ExperimentPlan:
    spec: ExperimentSpec
    site_id: int | None
    live: bool
    attached: tuple[int, ...]  # the variations Kameleoon lists now
    before: Mapping[str, float]  # the split Kameleoon has now
    split: tuple[tuple[Slot, float], ...]  # the split after
    steps: tuple[NewStep, ...]
    refusals: tuple[str, ...]

    @property
    def changes_traffic(self) -> bool:
        return any(step.attaches for step in self.steps)

    @property
    def requests(self) -> int:
        """The writes it sends: a POST per creation, and a read and a PATCH to attach them."""
        posts = sum(1 for step in self.steps if isinstance(step.decision, Create))
        return posts + (2 if self.changes_traffic else 0)


@dataclass(frozen=True, slots=True)
class CreationPlan:
    experiments: tuple[ExperimentPlan, ...]
    forgotten: tuple[CreationEntry, ...]  # journal entries the manifest no longer names

    @property
    def refusals(self) -> tuple[str, ...]:
        return tuple(r for e in self.experiments for r in e.refusals)

    @property
    def requests(self) -> int:
        return sum(e.requests for e in self.experiments)


@dataclass(frozen=True, slots=True)
class Created:
    experiment_id: int
    name: str
    dir: str
    variation_id: int
    adopted: bool
