"""Typed, immutable values shared by every part of kamsync: what the manifest maps, and what Kameleoon holds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    """How messages name an object: ``experiment 1``, ``variation 2 (personalization 1)``, ``site 3``; the site
    a manifest names by its code (id 0 until Kameleoon is asked) is ``site``."""
    kind = Entity(entity)
    if kind is Entity.SITE and not entity_id:
        return "site"
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
PERSONALIZATION_FIELDS: tuple[CodeField, ...] = (
    CodeField(Entity.PERSONALIZATION, "javaScriptCode", "js", "code.js"),
    CodeField(Entity.PERSONALIZATION, "cssCode", "css", "code.css"),
    CodeField(Entity.PERSONALIZATION, "globalScript", "script", "script.js"),
)
# A personalization's variations are ordinary variations: the same fields, files and override keys.
PERSONALIZATION_VARIATION_FIELDS: tuple[CodeField, ...] = tuple(
    CodeField(Entity.PERSONALIZATION_VARIATION, f.api_name, f.manifest_key, f.default_file) for f in VARIATION_FIELDS
)
SITE_FIELDS: tuple[CodeField, ...] = (CodeField(Entity.SITE, "trackingScript", "script", "script.js"),)
CODE_FIELDS: tuple[CodeField, ...] = (*EXPERIMENT_FIELDS, *VARIATION_FIELDS, *PERSONALIZATION_FIELDS, *SITE_FIELDS)


@dataclass(frozen=True, slots=True)
class Campaign:
    """What tells an experiment from a personalization in the manifest: its kind, its fields and its variations'."""

    entity: Entity
    fields: tuple[CodeField, ...]
    variation_fields: tuple[CodeField, ...]
    manifest_key: str  # its list's key at the top of the manifest
    example_dir: str  # how messages suggest a folder

    @property
    def variation_entity(self) -> Entity:
        return self.variation_fields[0].entity


EXPERIMENTS = Campaign(Entity.EXPERIMENT, EXPERIMENT_FIELDS, VARIATION_FIELDS, "experiments", "experiments/<folder>")
PERSONALIZATIONS = Campaign(
    Entity.PERSONALIZATION,
    PERSONALIZATION_FIELDS,
    PERSONALIZATION_VARIATION_FIELDS,
    "personalizations",
    "personalizations/<folder>",
)


@dataclass(frozen=True, slots=True)
class FieldRef:
    """Which remote value a file maps to: one code field of one object, named by its kind and id (and, for a
    variation, the experiment or personalization it belongs to)."""

    entity: Entity
    entity_id: int
    field: str  # the API field name
    owner_id: int | None = None  # a variation's experiment or personalization; None for an object on its own
    site_code: str | None = None  # the site a manifest names by its code (its id is 0: Kameleoon knows it)

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
    def root(self) -> Entity:
        """The kind of the object that stands alone: an experiment, a personalization, or the site."""
        return self.entity.owner or self.entity

    @property
    def root_id(self) -> int:
        """The id of that object (a variation's owner, else the object itself)."""
        return self.owner_id if self.entity.owner is not None and self.owner_id is not None else self.entity_id

    def root_id_of(self, kind: Entity) -> int | None:
        """``root_id`` when the root is of ``kind``, else ``None`` (a JSON entry's experiment_id and
        personalization_id)."""
        return self.root_id if self.root is kind else None

    @property
    def key(self) -> str:
        """The field's name in kamsync's record: entity, id (the site's code) and field."""
        ident = self.site_code if self.entity is Entity.SITE and self.site_code else str(self.entity_id)
        return f"{self.entity.value}:{ident}:{self.field}"

    @property
    def variation_id(self) -> int | None:
        """The variation this field belongs to, or ``None`` for a field of the object itself."""
        return self.entity_id if self.entity.owner is not None else None

    def with_field(self, field: str) -> FieldRef:
        return FieldRef(self.entity, self.entity_id, field, self.owner_id, self.site_code)

    def describe_object(self) -> str:
        if self.entity is Entity.SITE and self.site_code:
            return f"site {self.site_code}"
        return describe_entity(self.entity, self.entity_id, self.owner_id)

    def describe(self) -> str:
        return f"{self.describe_object()} {self.field}"


@dataclass(frozen=True, slots=True)
class MappedFile:
    """A repository file mapped to a remote field. ``path`` is POSIX, relative to the manifest's folder."""

    ref: FieldRef
    path: str
    line: int  # the manifest line that maps it (the entity's line for conventional paths)
    label: str = ""  # how messages name the field when ``ref`` cannot yet (a variation not created yet)

    def __hash__(self) -> int:
        # Mapped files key every map of a command, hundreds of thousands of look-ups at scale. The path is as
        # good a hash (no two fields share a file) and a string keeps its hash: a third of the generated one's cost.
        return hash(self.path)


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
    """An entry of ``experiments:`` or of ``personalizations:`` (the same shape)."""

    id: int
    dir: str  # relative to the manifest's folder
    line: int
    files: tuple[MappedFile, ...]  # the experiment's own fields
    variations: tuple[VariationSpec, ...]
    new_variations: tuple[NewVariationSpec, ...] = ()
    # The split a creation sets, from "origin" and each variation's dir to its share; None: equal shares.
    traffic: tuple[tuple[str, float], ...] | None = None

    def all_files(self) -> tuple[MappedFile, ...]:
        return (*self.files, *(f for v in self.variations for f in v.files))


PersonalizationSpec = ExperimentSpec


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """``site: {code, script}``: the site's global custom script (``trackingScript``)."""

    code: str
    line: int
    files: tuple[MappedFile, ...]


@dataclass(frozen=True, slots=True)
class Manifest:
    """A parsed, validated ``kamsync.yaml``. ``path`` is the manifest file; ``root`` its folder (both absolute)."""

    path: str
    root: str
    version: int
    rate_limit: str | None
    experiments: tuple[ExperimentSpec, ...]
    personalizations: tuple[PersonalizationSpec, ...] = ()
    site: SiteSpec | None = None

    def files(self) -> tuple[MappedFile, ...]:
        out: list[MappedFile] = []
        for entry in (*self.experiments, *self.personalizations):
            out.extend(entry.all_files())
        if self.site is not None:
            out.extend(self.site.files)
        return tuple(out)

    def experiment(self, experiment_id: int) -> ExperimentSpec | None:
        return next((e for e in self.experiments if e.id == experiment_id), None)

    def personalization(self, personalization_id: int) -> PersonalizationSpec | None:
        return next((p for p in self.personalizations if p.id == personalization_id), None)

    def variation_ids(self) -> tuple[int, ...]:
        """Every mapped variation, of experiments and of personalizations."""
        return tuple(v.id for e in (*self.experiments, *self.personalizations) for v in e.variations)

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
class RemotePersonalization(RemoteExperiment):
    """A personalization: the same shape (its code fields: ``javaScriptCode``, ``cssCode``, ``globalScript``)."""


@dataclass(frozen=True, slots=True)
class RemoteVariation:
    id: int
    name: str
    experiment_id: int | None
    code: Mapping[str, str] = field(default_factory=dict)
    personalization_id: int | None = None
    code_elsewhere: str | None = None  # why its code is not its own (graphic editor, widget, redirect), if so


@dataclass(frozen=True, slots=True)
class RemoteSite:
    """A site as read: its code, its global script, and the whole object as Kameleoon sent it (a write of the
    site replaces the whole object, so every field it does not change goes back exactly as read)."""

    id: int
    code: str
    tracking_script: str | None  # None: the answer did not hold it
    raw: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RemoteState:
    """What Kameleoon holds for the experiments, personalizations, variations and site a command looked at."""

    experiments: Mapping[int, RemoteExperiment]
    variations: Mapping[int, RemoteVariation]
    personalizations: Mapping[int, RemotePersonalization] = field(default_factory=dict)
    sites: Mapping[str, RemoteSite] = field(default_factory=dict)  # by code

    def campaign(self, kind: Entity, ident: int) -> RemoteExperiment | None:
        """The experiment or personalization ``ident``."""
        found = self.personalizations if kind is Entity.PERSONALIZATION else self.experiments
        return found.get(ident)


@dataclass(frozen=True, slots=True)
class Wanted:
    """What reading the remote state of some mapped files asks Kameleoon for, by kind."""

    experiments: tuple[int, ...]
    personalizations: tuple[int, ...]
    variations: tuple[int, ...]
    sites: tuple[str, ...]

    @classmethod
    def of(cls, files: Iterable[MappedFile]) -> Wanted:
        refs = [f.ref for f in files]
        return cls(
            tuple(sorted({r.root_id for r in refs if r.root is Entity.EXPERIMENT})),
            tuple(sorted({r.root_id for r in refs if r.root is Entity.PERSONALIZATION})),
            tuple(sorted({r.entity_id for r in refs if r.entity.owner is not None})),
            tuple(sorted({r.site_code for r in refs if r.entity is Entity.SITE and r.site_code})),
        )
