"""Typed, immutable values shared by every part of kamsync: what the manifest maps, and what Kameleoon holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum


class Entity(str, Enum):
    EXPERIMENT = "experiment"
    VARIATION = "variation"


def describe_entity(entity: Entity | str, entity_id: int, experiment_id: int) -> str:
    """How messages name an experiment or a variation: ``experiment 1`` or ``variation 2 (experiment 1)``."""
    if Entity(entity) is Entity.EXPERIMENT:
        return f"experiment {entity_id}"
    return f"variation {entity_id} (experiment {experiment_id})"


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


@dataclass(frozen=True, slots=True, order=True)
class FieldRef:
    """Which remote value a file maps to: an experiment field, or a variation field (with its experiment)."""

    experiment_id: int
    variation_id: int | None
    field: str  # the API field name

    @property
    def entity(self) -> Entity:
        return Entity.EXPERIMENT if self.variation_id is None else Entity.VARIATION

    @property
    def entity_id(self) -> int:
        return self.experiment_id if self.variation_id is None else self.variation_id

    def describe(self) -> str:
        return f"{describe_entity(self.entity, self.entity_id, self.experiment_id)} {self.field}"


@dataclass(frozen=True, slots=True)
class MappedFile:
    """A repository file mapped to a remote field. ``path`` is POSIX, relative to the manifest's folder."""

    ref: FieldRef
    path: str
    line: int  # the manifest line that maps it (the entity's line for conventional paths)


@dataclass(frozen=True, slots=True)
class VariationSpec:
    id: int
    name: str | None
    dir: str  # relative to "<experiment dir>/variations/"
    line: int
    files: tuple[MappedFile, ...]


@dataclass(frozen=True, slots=True)
class ExperimentSpec:
    id: int
    dir: str  # relative to the manifest's folder
    line: int
    files: tuple[MappedFile, ...]  # the experiment's own fields
    variations: tuple[VariationSpec, ...]


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
