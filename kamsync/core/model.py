"""Typed, immutable values shared by every part of kamsync: what the manifest maps, and what Kameleoon holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum


class Entity(str, Enum):
    """The kinds of Kameleoon object that hold code (their values name them in JSON output and the journal)."""

    def __str__(self) -> str:  # f-strings show the value on every Python version
        return str(self.value)

    EXPERIMENT = "experiment"
    VARIATION = "variation"
    PERSONALIZATION = "personalization"
    PERSONALIZATION_VARIATION = "personalization-variation"
    SITE = "site"

    @property
    def owner(self) -> Entity | None:
        """The kind a variation of this kind belongs to (``None`` for objects that stand alone)."""
        return _OWNERS.get(self)

    @property
    def label(self) -> str:
        """How messages name one: a personalization's variation is a variation too."""
        return "variation" if self is Entity.PERSONALIZATION_VARIATION else self.value


_OWNERS = {Entity.VARIATION: Entity.EXPERIMENT, Entity.PERSONALIZATION_VARIATION: Entity.PERSONALIZATION}


def describe_entity(entity: Entity | str, entity_id: int, owner_id: int | None) -> str:
    """How messages name an object: ``experiment 1``, ``variation 2 (experiment 1)``, ``site 3``."""
    kind = Entity(entity)
    if kind.owner is None or owner_id is None:
        return f"{kind.label} {entity_id}"
    return f"{kind.label} {entity_id} ({kind.owner.label} {owner_id})"


@dataclass(frozen=True, slots=True)
class CodeField:
    """One code-bearing API field, with its manifest override key and its conventional file name."""

    entity: Entity
    api_name: str  # e.g. "jsCode"
    manifest_key: str  # e.g. "js"
    default_file: str  # e.g. "variation.js"


EXPERIMENT_FIELDS: tuple[CodeField, ...] = (
    CodeField(Entity.EXPERIMENT, "commonJavaScriptCode", "common_js", "common.js"),
    CodeField(Entity.EXPERIMENT, "commonCssCode", "common_css", "common.css"),
    CodeField(Entity.EXPERIMENT, "globalScript", "script", "script.js"),
)
VARIATION_FIELDS: tuple[CodeField, ...] = (
    CodeField(Entity.VARIATION, "jsCode", "js", "variation.js"),
    CodeField(Entity.VARIATION, "cssCode", "css", "variation.css"),
)


@dataclass(frozen=True, slots=True)
class FieldRef:
    """Which remote value a file maps to: one code field of one object, named by its kind and id (and, for a
    variation, the experiment or personalization it belongs to)."""

    entity: Entity
    entity_id: int
    field: str  # the API field name
    owner_id: int | None = None  # a variation's experiment or personalization; None for an object on its own

    @classmethod
    def of_experiment(cls, experiment_id: int, field: str) -> FieldRef:
        return cls(Entity.EXPERIMENT, experiment_id, field)

    @classmethod
    def of_variation(cls, experiment_id: int, variation_id: int, field: str) -> FieldRef:
        return cls(Entity.VARIATION, variation_id, field, experiment_id)

    @property
    def experiment_id(self) -> int:
        """The experiment this field belongs to (the object itself, or a variation's experiment)."""
        if self.entity is Entity.EXPERIMENT:
            return self.entity_id
        if self.entity is Entity.VARIATION and self.owner_id is not None:
            return self.owner_id
        raise ValueError(f"{self.describe()} belongs to no experiment")

    @property
    def variation_id(self) -> int | None:
        """The variation this field belongs to, or ``None`` for a field of the object itself."""
        return self.entity_id if self.entity.owner is not None else None

    def with_field(self, field: str) -> FieldRef:
        return FieldRef(self.entity, self.entity_id, field, self.owner_id)

    def describe(self) -> str:
        return f"{describe_entity(self.entity, self.entity_id, self.owner_id)} {self.field}"


@dataclass(frozen=True, slots=True)
class MappedFile:
    """A repository file mapped to a remote field. ``path`` is POSIX, relative to the manifest's folder."""

    ref: FieldRef
    path: str
    line: int  # the manifest line that maps it (the entity's line for conventional paths)
    label: str = ""  # how messages name the field when ``ref`` cannot yet (a variation not created yet)


@dataclass(frozen=True, slots=True)
class VariationSpec:
    id: int
    name: str | None
    dir: str  # relative to "<experiment dir>/variations/"
    line: int
    files: tuple[MappedFile, ...]


@dataclass(frozen=True, slots=True)
class NewFile:
    """A file of a variation that Kameleoon does not have yet: no field reference until it is created."""

    field: str  # the API field name
    path: str  # POSIX, relative to the manifest's folder
    line: int


@dataclass(frozen=True, slots=True)
class NewVariationSpec:
    """A variation entry without ``id``: ``kamsync push`` creates it (or adopts the one variation of the site
    with that exact name), attaches it to its experiment, and writes its id into the manifest."""

    name: str
    dir: str  # relative to "<experiment dir>/variations/"
    line: int
    files: tuple[NewFile, ...]


@dataclass(frozen=True, slots=True)
class ExperimentSpec:
    id: int
    dir: str  # relative to the manifest's folder
    line: int
    files: tuple[MappedFile, ...]  # the experiment's own fields
    variations: tuple[VariationSpec, ...]
    new_variations: tuple[NewVariationSpec, ...] = ()
    # The split a creation sets, from "origin" and each variation's dir to its share; None: equal shares.
    traffic: tuple[tuple[str, float], ...] | None = None


@dataclass(frozen=True, slots=True)
class Manifest:
    """A parsed, validated ``kamsync.yaml``. ``path`` is the manifest file; ``root`` its folder (both absolute)."""

    path: str
    root: str
    version: int
    rate_limit: str | None
    experiments: tuple[ExperimentSpec, ...]

    def files(self) -> tuple[MappedFile, ...]:
        out: list[MappedFile] = []
        for exp in self.experiments:
            out.extend(exp.files)
            for var in exp.variations:
                out.extend(var.files)
        return tuple(out)

    def experiment(self, experiment_id: int) -> ExperimentSpec | None:
        return next((e for e in self.experiments if e.id == experiment_id), None)

    def variation_ids(self) -> tuple[int, ...]:
        return tuple(v.id for e in self.experiments for v in e.variations)

    def creations(self) -> tuple[tuple[ExperimentSpec, NewVariationSpec], ...]:
        """Every variation entry without an id, with its experiment, in manifest order."""
        return tuple((e, v) for e in self.experiments for v in e.new_variations)


@dataclass(frozen=True, slots=True)
class RemoteExperiment:
    id: int
    name: str
    status: str  # as the API spelled it; compare with ``is_live``
    site_id: int | None
    variation_ids: tuple[int, ...] | None  # None when the API did not say
    code: Mapping[str, str] = field(default_factory=dict)  # API field name -> value, for the fields returned

    @property
    def is_live(self) -> bool:
        return self.status.strip().lower() == "active"


@dataclass(frozen=True, slots=True)
class RemoteVariation:
    id: int
    name: str
    experiment_id: int | None
    code: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RemoteState:
    """What Kameleoon holds for the experiments and variations a command looked at."""

    experiments: Mapping[int, RemoteExperiment]
    variations: Mapping[int, RemoteVariation]
