"""Validating a parsed manifest into frozen models: known keys only, ids, folders, paths that stay in the
work tree and out of git's files, one field per file. Every refusal is a ``ManifestError`` at ``file:line``
that says how to fix it; the paths are checked through a ``PathView`` (the disk, or a commit)."""

from __future__ import annotations

import difflib
import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from kamsync.budget.windows import parse_rate_limit
from kamsync.core.errors import ManifestError, UsageError
from kamsync.core.model import (
    EXPERIMENT_FIELDS,
    EXPERIMENTS,
    PERSONALIZATIONS,
    VARIATION_FIELDS,
    Campaign,
    CodeField,
    ExperimentSpec,
    FieldRef,
    Manifest,
    MappedFile,
    NewFile,
    NewVariationSpec,
    VariationSpec,
)
from kamsync.core.paths import (
    PathProblem,
    Resolver,
    clean_relative,
    escape_problem,
    relative_posix,
    slugify,
)
from kamsync.manifest.find import CREATE_HINT
from kamsync.manifest.nodes import YamlMap, YamlSeq, describe_value, item_line, key_line, node_line
from kamsync.manifest.site import site_spec
from kamsync.manifest.traffic import check_traffic

__all__ = ["MANIFEST_VERSION", "DiskView", "Kind", "PathView", "validate"]

MANIFEST_VERSION = 1

TOP_KEYS = ("version", "rate_limit", "experiments", "personalizations", "site")
EXPERIMENT_KEYS = ("id", "dir", *(f.manifest_key for f in EXPERIMENT_FIELDS), "variations", "traffic")
VARIATION_KEYS = ("id", "name", "dir", *(f.manifest_key for f in VARIATION_FIELDS))
# A personalization has no traffic split kamsync could set, and its variations are created in Kameleoon.
PERSONALIZATION_KEYS = ("id", "dir", *(f.manifest_key for f in PERSONALIZATIONS.fields), "variations")


def _entry_keys(kind: Campaign) -> tuple[str, ...]:
    return EXPERIMENT_KEYS if kind is EXPERIMENTS else PERSONALIZATION_KEYS


_describe = describe_value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else "remove it or fix its spelling."


Kind = Literal["folder", "other", "missing"]


class PathView(Protocol):
    """What the validator may ask about paths, so a manifest can be checked against the disk or a commit."""

    def escape(self, base: Path, rel: str) -> str | None:
        """Why ``base / rel`` (``base`` absolute) is no place for code — it leaves the repository, or is inside
        a git directory — with the way out; None when it is fine."""
        ...

    def kind(self, path: Path) -> Kind:
        """What ``path`` (absolute) is."""
        ...


@dataclass(frozen=True, slots=True)
class DiskView:
    """The work tree as it is on disk: paths leave the repository by ``..`` or through a symlink, and reach
    git's own files by a ``.git`` component or through a symlink to one of ``git_dirs``."""

    repo_top: Path
    git_dirs: tuple[Path, ...] = ()
    resolver: Resolver = field(default_factory=Resolver, compare=False, repr=False)

    def escape(self, base: Path, rel: str) -> str | None:
        return escape_problem(base, rel, self.repo_top, self.git_dirs, self.resolver)

    def kind(self, path: Path) -> Kind:
        return "folder" if path.is_dir() else "other" if path.exists() else "missing"


@dataclass
class _Validator:
    shown: str
    root: Path  # the manifest's folder, resolved
    repo_top: Path
    view: PathView
    entry_ids: dict[tuple[str, int], int] = field(default_factory=dict)  # (kind, id) -> line
    variation_ids: dict[int, tuple[int, str]] = field(default_factory=dict)  # id -> (line, "experiment 1")
    targets: dict[str, tuple[str, int]] = field(default_factory=dict)  # normalised path -> (who, line)

    def fail(self, line: int | None, problem: str) -> ManifestError:
        return ManifestError(self.shown, line, problem)

    def check_keys(self, node: YamlMap, allowed: tuple[str, ...], where: str, line: int) -> None:
        for key in node:
            if key not in allowed:
                raise self.fail(
                    key_line(node, key, line),
                    f"unknown key '{key}' {where}; {_suggest(str(key), allowed)} Allowed keys: {', '.join(allowed)}",
                )

    def require(self, node: YamlMap, key: str, where: str, line: int, example: str) -> object:
        if key not in node:
            raise self.fail(line, f"{where} has no '{key}'; add `{key}: {example}`")
        return node[key]

    def entity_id(self, node: YamlMap, what: str, label: str, line: int) -> int:
        value = node["id"]
        if not _is_int(value) or value <= 0:
            quoted = isinstance(value, str) and value.strip().isdigit()
            fix = "remove the quotes" if quoted else "write the id as a whole number, e.g. `id: 123456`"
            raise self.fail(
                line,
                f"'id' of {label} must be a positive integer (the Kameleoon {what} id), not {_describe(value)}; {fix}",
            )
        return int(value)

    def string(self, node: YamlMap, key: str, where: str, line: int, *, optional: bool) -> str | None:
        value = node.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            hint = "quote it" if _is_int(value) or isinstance(value, float) else "fill it in or remove the key"
            raise self.fail(line, f"'{key}' of {where} must be a non-empty string, not {_describe(value)}; {hint}")
        return str(value)

    def rel_path(self, raw: str, key: str, where: str, line: int, base: Path) -> str:
        """``raw`` (relative to ``base``) as a normalised path relative to the manifest's folder."""
        try:
            cleaned = clean_relative(raw)
        except PathProblem as problem:
            raise self.fail(line, f"'{key}' of {where} ({raw!r}) {problem}") from None
        escape = self.view.escape(base, cleaned)
        if escape is not None:
            raise self.fail(line, f"'{key}' of {where} ({raw!r}) {escape}")
        return relative_posix(os.path.normpath(os.path.join(base, cleaned)), str(self.root))

    def claim(self, path: str, who: str, line: int, key: str, explicit: bool) -> None:
        """Take ``path`` for one field, refusing a file two fields would share."""
        first = self.targets.get(path)
        if first is not None:
            raise self.fail(
                line,
                f"{who} and {first[0]} (line {first[1]}) both map to '{path}'; "
                f"give each field its own file" + ("" if explicit else f" (set '{key}' or a distinct 'dir')"),
            )
        self.targets[path] = (who, line)

    def field_paths(
        self,
        node: YamlMap,
        fields: tuple[CodeField, ...],
        who: Callable[[CodeField], str],
        where: str,
        id_line: int,
        folder: str,
    ) -> list[tuple[CodeField, str, int]]:
        """Each field's file (its override key, else the conventional name in ``folder``) and manifest line."""
        out: list[tuple[CodeField, str, int]] = []
        for code_field in fields:
            key = code_field.manifest_key
            if key in node:
                line = key_line(node, key, id_line)
                raw = self.string(node, key, where, line, optional=False)
                assert raw is not None
                path = self.rel_path(raw, key, where, line, self.root)
            else:
                line, path = id_line, posixpath.normpath(f"{folder}/{code_field.default_file}")
            self.claim(path, who(code_field), line, key, explicit=key in node)
            out.append((code_field, path, line))
        return out

    def map_fields(
        self,
        node: YamlMap,
        fields: tuple[CodeField, ...],
        ref: FieldRef,
        where: str,
        id_line: int,
        folder: str,
    ) -> tuple[MappedFile, ...]:
        placed = self.field_paths(node, fields, lambda f: ref.with_field(f.api_name).describe(), where, id_line, folder)
        return tuple(MappedFile(ref.with_field(f.api_name), path, line) for f, path, line in placed)

    def experiment(self, node: object, index: int, seq: YamlSeq, kind: Campaign = EXPERIMENTS) -> ExperimentSpec:
        """An entry of ``experiments:`` or (``kind``) of ``personalizations:``."""
        first_line = item_line(seq, index)
        what = kind.entity.value
        if not isinstance(node, YamlMap):
            raise self.fail(
                first_line,
                f"{what} entry {index + 1} must be a mapping like `- id: 123456` + `  dir: exp/x`, "
                f"not {_describe(node)}",
            )
        line = node_line(node, first_line)
        id_line = key_line(node, "id", line)
        label = f"{what} {node['id']}" if _is_int(node.get("id")) else f"{what} entry {index + 1}"
        self.check_keys(node, _entry_keys(kind), f"in {label}", line)
        self.require(node, "id", label, line, f"<Kameleoon {what} id>")
        exp_id = self.entity_id(node, what, label, id_line)
        if (what, exp_id) in self.entry_ids:
            raise self.fail(
                id_line,
                f"{what} {exp_id} is listed twice (also at line {self.entry_ids[(what, exp_id)]}); "
                f"keep one entry per {what}",
            )
        self.entry_ids[(what, exp_id)] = id_line
        self.require(node, "dir", label, line, kind.example_dir)
        dir_line = key_line(node, "dir", line)
        raw_dir = self.string(node, "dir", label, dir_line, optional=False)
        assert raw_dir is not None
        exp_dir = self.rel_path(raw_dir, "dir", label, dir_line, self.root)
        found = self.view.kind(self.root / exp_dir)
        if found != "folder":
            what = "is not a folder" if found == "other" else "does not exist"
            raise self.fail(
                dir_line,
                f"'dir' of {label} ({exp_dir}) {what}; create the folder or fix 'dir' "
                f"(it is relative to the manifest's folder)",
            )
        ref = FieldRef(kind.entity, exp_id, "")
        files = self.map_fields(node, kind.fields, ref, label, id_line, exp_dir)
        variations, new = self.variations(node, kind, exp_id, exp_dir, line)
        traffic = self.traffic(node, label, line, variations, new) if "traffic" in node else None
        return ExperimentSpec(
            id=exp_id,
            dir=exp_dir,
            line=id_line,
            files=files,
            variations=variations,
            new_variations=new,
            traffic=traffic,
        )

    def traffic(
        self,
        node: YamlMap,
        label: str,
        line: int,
        variations: tuple[VariationSpec, ...],
        new: tuple[NewVariationSpec, ...],
    ) -> tuple[tuple[str, float], ...]:
        dirs = [v.dir for v in variations] + [v.dir for v in new]
        return check_traffic(node, label, line, dirs, self.fail)

    def variations(
        self, node: YamlMap, kind: Campaign, exp_id: int, exp_dir: str, line: int
    ) -> tuple[tuple[VariationSpec, ...], tuple[NewVariationSpec, ...]]:
        seq = node.get("variations")
        if seq is None:
            return (), ()
        if not isinstance(seq, YamlSeq):
            raise self.fail(
                key_line(node, "variations", line),
                f"'variations' of {kind.entity.value} {exp_id} must be a list (items starting with `- id:`), "
                f"not {_describe(seq)}",
            )
        known: list[VariationSpec] = []
        new: list[NewVariationSpec] = []
        for i, item in enumerate(seq):
            spec = self.variation(item, i, seq, kind, exp_id, exp_dir)
            if isinstance(spec, VariationSpec):
                known.append(spec)
            else:
                twin = next((n for n in new if n.name == spec.name), None)
                if twin is not None:
                    raise self.fail(
                        spec.line,
                        f"experiment {exp_id} has two new variations named {spec.name!r} (also at line "
                        f"{twin.line}); kamsync finds a created variation by its name, so give each its own",
                    )
                new.append(spec)
        return tuple(known), tuple(new)

    def variation(
        self, node: object, index: int, seq: YamlSeq, kind: Campaign, exp_id: int, exp_dir: str
    ) -> VariationSpec | NewVariationSpec:
        first_line = item_line(seq, index)
        owner = f"{kind.entity.value} {exp_id}"
        if not isinstance(node, YamlMap):
            raise self.fail(
                first_line,
                f"variation entry {index + 1} of {owner} must be a mapping like `- id: 987654`, not {_describe(node)}",
            )
        line = node_line(node, first_line)
        if "id" not in node and kind is EXPERIMENTS:
            return self.new_variation(node, index, exp_id, exp_dir, line)
        id_line = key_line(node, "id", line)
        label = f"variation {node['id']}" if _is_int(node.get("id")) else f"variation entry {index + 1} of {owner}"
        self.check_keys(node, VARIATION_KEYS, f"in {label}", line)
        self.require(node, "id", label, line, "<Kameleoon variation id> (create it in Kameleoon first)")
        var_id = self.entity_id(node, "variation", label, id_line)
        if var_id in self.variation_ids:
            seen_line, first_owner = self.variation_ids[var_id]
            raise self.fail(
                id_line,
                f"variation {var_id} is listed twice (also at line {seen_line}, in {first_owner}); "
                f"a variation belongs to one {kind.entity.value}, remove one entry",
            )
        self.variation_ids[var_id] = (id_line, owner)
        name = self.string(node, "name", label, key_line(node, "name", line), optional=True)
        full, var_dir = self.variation_dir(node, label, line, id_line, exp_dir, slugify(name or "") or str(var_id))
        ref = FieldRef(kind.variation_entity, var_id, "", exp_id)
        files = self.map_fields(node, kind.variation_fields, ref, label, id_line, full)
        return VariationSpec(id=var_id, name=name, dir=var_dir, line=id_line, files=files)

    def new_variation(self, node: YamlMap, index: int, exp_id: int, exp_dir: str, line: int) -> NewVariationSpec:
        """An entry without ``id``: a variation to create, named so that kamsync can find it again."""
        label = f"variation entry {index + 1} of experiment {exp_id}"
        self.check_keys(node, VARIATION_KEYS, f"in {label}", line)
        if "name" not in node:
            raise self.fail(
                line,
                f"{label} has neither 'id' nor 'name'; give the Kameleoon variation's `id:`, or a `name:` for "
                "`kamsync push --allow-traffic-change` to create it",
            )
        name = self.string(node, "name", label, key_line(node, "name", line), optional=False)
        assert name is not None
        label = f"new variation {name!r} of experiment {exp_id}"
        full, var_dir = self.variation_dir(node, label, line, line, exp_dir, slugify(name) or f"new-{index + 1}")
        placed = self.field_paths(node, VARIATION_FIELDS, lambda f: f"{label} {f.api_name}", label, line, full)
        files = tuple(NewFile(f.api_name, path, file_line) for f, path, file_line in placed)
        return NewVariationSpec(name=name, dir=var_dir, line=line, files=files)

    def variation_dir(
        self, node: YamlMap, label: str, line: int, id_line: int, exp_dir: str, default: str
    ) -> tuple[str, str]:
        """A variation's folder: relative to the manifest's folder, and to ``<experiment dir>/variations``."""
        if "dir" in node:
            dir_line = key_line(node, "dir", line)
            raw_dir = self.string(node, "dir", label, dir_line, optional=False)
            assert raw_dir is not None
        else:
            dir_line, raw_dir = id_line, default
        base = self.root / exp_dir / "variations"
        full = self.rel_path(raw_dir, "dir", label, dir_line, base)
        return full, relative_posix(os.path.normpath(os.path.join(self.root, full)), str(base))

    def entries(self, data: YamlMap, kind: Campaign) -> tuple[ExperimentSpec, ...]:
        key = kind.manifest_key
        seq = data.get(key)
        if seq is None:
            seq = YamlSeq(None)
        if not isinstance(seq, YamlSeq):
            raise self.fail(
                key_line(data, key, 1),
                f"'{key}' must be a list (items starting with `- id:`), not {_describe(seq)}",
            )
        return tuple(self.experiment(item, i, seq, kind) for i, item in enumerate(seq))


def validate(data: Any, path: Path, repo_top: Path, shown: str, view: PathView | None) -> Manifest:
    if data is None:
        raise ManifestError(
            shown, 1, f"the manifest is empty; it needs `version: 1` and `experiments:` ({CREATE_HINT})"
        )
    if not isinstance(data, YamlMap):
        raise ManifestError(
            shown,
            node_line(data, 1),
            f"the manifest must be a mapping with the keys {', '.join(TOP_KEYS)}, not {_describe(data)}",
        )
    root = path.absolute().parent.resolve()
    top = repo_top.resolve()
    check = _Validator(shown=shown, root=root, repo_top=top, view=DiskView(top) if view is None else view)
    check.check_keys(data, TOP_KEYS, "at the top of the manifest", 1)
    check.require(data, "version", "the manifest", 1, str(MANIFEST_VERSION))
    version = data["version"]
    if not _is_int(version) or version != MANIFEST_VERSION:
        newer = _is_int(version) and version > MANIFEST_VERSION
        fix = "upgrade kamsync" if newer else f"write `version: {MANIFEST_VERSION}`"
        raise ManifestError(
            shown,
            key_line(data, "version", 1),
            f"'version' must be {MANIFEST_VERSION}, not {_describe(version)}; {fix}",
        )
    rate_limit = check.string(data, "rate_limit", "the manifest", key_line(data, "rate_limit", 1), optional=True)
    if rate_limit:
        try:
            parse_rate_limit(rate_limit)
        except UsageError as exc:
            raise ManifestError(shown, key_line(data, "rate_limit", 1), f"'rate_limit': {exc}") from None
    if "personalizations" not in data and "site" not in data:
        check.require(data, "experiments", "the manifest", 1, "[]")
    experiments = check.entries(data, EXPERIMENTS)
    return Manifest(
        path=str(path.absolute()),
        root=str(root),
        version=MANIFEST_VERSION,
        rate_limit=rate_limit,
        experiments=experiments,
        personalizations=check.entries(data, PERSONALIZATIONS),
        site=site_spec(check, data),
    )
