"""The manifest ``kamsync.yaml``: find it, parse it into a validated ``Manifest``, read the code it maps.

Raw YAML never leaves this module: ``load_manifest`` (or ``parse_manifest``, for text read elsewhere, such as
from a commit) turns it into frozen models, and every refusal is a ``ManifestError`` located as ``file:line``
that says how to fix it. Editing lives in ``manifest_edit``.
"""

from __future__ import annotations

import difflib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from kamsync.budget.windows import parse_rate_limit
from kamsync.core.errors import ManifestError, UsageError
from kamsync.core.model import (
    EXPERIMENT_FIELDS,
    VARIATION_FIELDS,
    CodeField,
    ExperimentSpec,
    FieldRef,
    Manifest,
    MappedFile,
    VariationSpec,
)
from kamsync.core.paths import PathProblem, clean_relative, escape_problem, slugify, unique_dir
from kamsync.manifest.yamlread import fast_load, parse_yaml_text

__all__ = [
    "MANIFEST_NAME",
    "SCHEMA_COMMENT",
    "SCHEMA_URL",
    "DiskView",
    "Kind",
    "PathView",
    "code_too_large",
    "decode_code",
    "decode_manifest",
    "describe_mapped",
    "find_manifest",
    "load_manifest",
    "parse_manifest",
    "read_code",
    "slugify",
    "unique_dir",
]

MANIFEST_NAME = "kamsync.yaml"
MANIFEST_ENV = "KAMSYNC_MANIFEST"
SCHEMA_URL = "https://raw.githubusercontent.com/kamsync/kamsync/main/kamsync/kamsync.schema.json"
SCHEMA_COMMENT = f"# yaml-language-server: $schema={SCHEMA_URL}"
MANIFEST_VERSION = 1
MAX_CODE_BYTES = 1_048_576

TOP_KEYS = ("version", "rate_limit", "experiments")
EXPERIMENT_KEYS = ("id", "dir", *(f.manifest_key for f in EXPERIMENT_FIELDS), "variations")
VARIATION_KEYS = ("id", "name", "dir", *(f.manifest_key for f in VARIATION_FIELDS))

_CREATE_HINT = "create one with `kamsync pull --experiment ID`, or pass --manifest PATH"


# --- finding -----------------------------------------------------------------------------------------------


def find_manifest(option: str | None, environ: Mapping[str, str], cwd: Path, stop_at: Path | None) -> Path:
    """The manifest to use: ``--manifest PATH``, else ``$KAMSYNC_MANIFEST``, else the nearest ``kamsync.yaml``
    walking up from ``cwd`` to ``stop_at`` (the Git top level) inclusive."""
    for explicit, origin in ((option, "--manifest"), (environ.get(MANIFEST_ENV) or None, MANIFEST_ENV)):
        if explicit is None:
            continue
        path = Path(explicit).expanduser()
        path = Path(os.path.normpath(path if path.is_absolute() else cwd / path))
        if path.is_dir():
            path = path / MANIFEST_NAME
        if not path.is_file():
            raise UsageError(f"{origin} names {path}, which does not exist; fix the path, or {_CREATE_HINT}")
        return path
    looked: list[Path] = []
    folder = cwd.absolute()
    stop = stop_at.absolute() if stop_at is not None else None
    while True:
        candidate = folder / MANIFEST_NAME
        looked.append(folder)
        if candidate.is_file():
            return candidate
        if folder == stop or folder.parent == folder:
            break
        folder = folder.parent
    where = f"in {looked[0]}" if len(looked) == 1 else f"in {looked[0]} and its parents up to {looked[-1]}"
    raise UsageError(f"no {MANIFEST_NAME} found {where}; {_CREATE_HINT}")


# --- reading YAML ------------------------------------------------------------------------------------------


def display_path(path: Path, cwd: Path | None = None) -> str:
    """How error messages name a file: relative to the current folder when it is below it, else absolute."""
    here = (cwd or Path.cwd()).absolute()
    absolute = path.absolute()
    try:
        return absolute.relative_to(here).as_posix()
    except ValueError:
        return str(absolute)


def read_manifest_text(path: Path, shown: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ManifestError(shown, None, f"cannot read the manifest: {exc.strerror}") from None
    return decode_manifest(data, shown)


def decode_manifest(data: bytes, shown: str) -> str:
    """The manifest's bytes as text; anything but UTF-8 is refused at the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ManifestError(shown, line, "the manifest is not UTF-8 text; re-save it as UTF-8") from None


# --- validating --------------------------------------------------------------------------------------------


def _key_line(node: CommentedMap, key: object, default: int) -> int:
    try:
        return int(node.lc.key(key)[0]) + 1
    except (KeyError, AttributeError, TypeError):  # keys brought in by a `<<:` merge have no position
        return default


def _node_line(node: object, default: int) -> int:
    lc = getattr(node, "lc", None)
    return int(lc.line) + 1 if lc is not None and lc.line is not None else default


def _describe(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        return f"the string {str(value)!r}" if value else "an empty string"
    if isinstance(value, int):
        return f"the number {int(value)}"
    if isinstance(value, float):
        return f"the number {float(value)}"
    if isinstance(value, CommentedMap):
        return "a mapping"
    if isinstance(value, CommentedSeq):
        return "a list"
    return f"a {type(value).__name__}"


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

    def escape(self, base: Path, rel: str) -> str | None:
        return escape_problem(base, rel, self.repo_top, self.git_dirs)

    def kind(self, path: Path) -> Kind:
        return "folder" if path.is_dir() else "other" if path.exists() else "missing"


@dataclass
class _Validator:
    shown: str
    root: Path  # the manifest's folder, resolved
    repo_top: Path
    view: PathView
    experiment_ids: dict[int, int] = field(default_factory=dict)  # id -> line
    variation_ids: dict[int, tuple[int, int]] = field(default_factory=dict)  # id -> (line, experiment id)
    targets: dict[str, MappedFile] = field(default_factory=dict)  # normalised path -> first mapping

    def fail(self, line: int | None, problem: str) -> ManifestError:
        return ManifestError(self.shown, line, problem)

    def check_keys(self, node: CommentedMap, allowed: tuple[str, ...], where: str, line: int) -> None:
        for key in node:
            if key not in allowed:
                raise self.fail(
                    _key_line(node, key, line),
                    f"unknown key '{key}' {where}; {_suggest(str(key), allowed)} Allowed keys: {', '.join(allowed)}",
                )

    def require(self, node: CommentedMap, key: str, where: str, line: int, example: str) -> object:
        if key not in node:
            raise self.fail(line, f"{where} has no '{key}'; add `{key}: {example}`")
        return node[key]

    def entity_id(self, node: CommentedMap, what: str, label: str, line: int) -> int:
        value = node["id"]
        if not _is_int(value) or value <= 0:
            quoted = isinstance(value, str) and value.strip().isdigit()
            fix = "remove the quotes" if quoted else "write the id as a whole number, e.g. `id: 123456`"
            raise self.fail(
                line,
                f"'id' of {label} must be a positive integer (the Kameleoon {what} id), not {_describe(value)}; {fix}",
            )
        return int(value)

    def string(self, node: CommentedMap, key: str, where: str, line: int, *, optional: bool) -> str | None:
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
        full = Path(os.path.normpath(base / cleaned))
        escape = self.view.escape(base, cleaned)
        if escape is not None:
            raise self.fail(line, f"'{key}' of {where} ({raw!r}) {escape}")
        return Path(os.path.relpath(full, self.root)).as_posix()

    def map_file(self, ref: FieldRef, path: str, line: int, key: str, explicit: bool) -> MappedFile:
        mapped = MappedFile(ref=ref, path=path, line=line)
        first = self.targets.get(path)
        if first is not None:
            raise self.fail(
                line,
                f"{ref.describe()} and {first.ref.describe()} (line {first.line}) both map to '{path}'; "
                f"give each field its own file" + ("" if explicit else f" (set '{key}' or a distinct 'dir')"),
            )
        self.targets[path] = mapped
        return mapped

    def map_fields(
        self,
        node: CommentedMap,
        fields: tuple[CodeField, ...],
        ref: FieldRef,
        where: str,
        id_line: int,
        folder: str,
    ) -> tuple[MappedFile, ...]:
        out: list[MappedFile] = []
        for code_field in fields:
            field_ref = ref.with_field(code_field.api_name)
            key = code_field.manifest_key
            if key in node:
                line = _key_line(node, key, id_line)
                raw = self.string(node, key, where, line, optional=False)
                assert raw is not None
                path = self.rel_path(raw, key, where, line, self.root)
                out.append(self.map_file(field_ref, path, line, key, explicit=True))
            else:
                path = Path(os.path.normpath(Path(folder) / code_field.default_file)).as_posix()
                out.append(self.map_file(field_ref, path, id_line, key, explicit=False))
        return tuple(out)

    def experiment(self, node: object, index: int, seq: CommentedSeq) -> ExperimentSpec:
        item_line = int(seq.lc.item(index)[0]) + 1
        if not isinstance(node, CommentedMap):
            raise self.fail(
                item_line,
                f"experiment entry {index + 1} must be a mapping like `- id: 123456` + `  dir: exp/x`, "
                f"not {_describe(node)}",
            )
        line = _node_line(node, item_line)
        id_line = _key_line(node, "id", line)
        label = f"experiment {node['id']}" if _is_int(node.get("id")) else f"experiment entry {index + 1}"
        self.check_keys(node, EXPERIMENT_KEYS, f"in {label}", line)
        self.require(node, "id", label, line, "<Kameleoon experiment id>")
        exp_id = self.entity_id(node, "experiment", label, id_line)
        if exp_id in self.experiment_ids:
            raise self.fail(
                id_line,
                f"experiment {exp_id} is listed twice (also at line {self.experiment_ids[exp_id]}); "
                f"keep one entry per experiment",
            )
        self.experiment_ids[exp_id] = id_line
        self.require(node, "dir", label, line, "experiments/<folder>")
        dir_line = _key_line(node, "dir", line)
        raw_dir = self.string(node, "dir", label, dir_line, optional=False)
        assert raw_dir is not None
        exp_dir = self.rel_path(raw_dir, "dir", label, dir_line, self.root)
        kind = self.view.kind(self.root / exp_dir)
        if kind != "folder":
            what = "is not a folder" if kind == "other" else "does not exist"
            raise self.fail(
                dir_line,
                f"'dir' of {label} ({exp_dir}) {what}; create the folder or fix 'dir' "
                f"(it is relative to the manifest's folder)",
            )
        ref = FieldRef.of_experiment(exp_id, "")
        files = self.map_fields(node, EXPERIMENT_FIELDS, ref, label, id_line, exp_dir)
        variations = self.variations(node, exp_id, exp_dir, line)
        return ExperimentSpec(id=exp_id, dir=exp_dir, line=id_line, files=files, variations=variations)

    def variations(self, node: CommentedMap, exp_id: int, exp_dir: str, line: int) -> tuple[VariationSpec, ...]:
        seq = node.get("variations")
        if seq is None:
            return ()
        if not isinstance(seq, CommentedSeq):
            raise self.fail(
                _key_line(node, "variations", line),
                f"'variations' of experiment {exp_id} must be a list (items starting with `- id:`), "
                f"not {_describe(seq)}",
            )
        return tuple(self.variation(item, i, seq, exp_id, exp_dir) for i, item in enumerate(seq))

    def variation(self, node: object, index: int, seq: CommentedSeq, exp_id: int, exp_dir: str) -> VariationSpec:
        item_line = int(seq.lc.item(index)[0]) + 1
        if not isinstance(node, CommentedMap):
            raise self.fail(
                item_line,
                f"variation entry {index + 1} of experiment {exp_id} must be a mapping like `- id: 987654`, "
                f"not {_describe(node)}",
            )
        line = _node_line(node, item_line)
        id_line = _key_line(node, "id", line)
        label = (
            f"variation {node['id']}"
            if _is_int(node.get("id"))
            else f"variation entry {index + 1} of experiment {exp_id}"
        )
        self.check_keys(node, VARIATION_KEYS, f"in {label}", line)
        self.require(node, "id", label, line, "<Kameleoon variation id>")
        var_id = self.entity_id(node, "variation", label, id_line)
        if var_id in self.variation_ids:
            first_line, first_exp = self.variation_ids[var_id]
            raise self.fail(
                id_line,
                f"variation {var_id} is listed twice (also at line {first_line}, in experiment {first_exp}); "
                f"a variation belongs to one experiment, remove one entry",
            )
        self.variation_ids[var_id] = (id_line, exp_id)
        name = self.string(node, "name", label, _key_line(node, "name", line), optional=True)
        if "dir" in node:
            dir_line = _key_line(node, "dir", line)
            raw_dir = self.string(node, "dir", label, dir_line, optional=False)
            assert raw_dir is not None
        else:
            dir_line, raw_dir = id_line, slugify(name or "") or str(var_id)
        base = self.root / exp_dir / "variations"
        full = self.rel_path(raw_dir, "dir", label, dir_line, base)
        var_dir = Path(os.path.relpath(self.root / full, base)).as_posix()
        files = self.map_fields(node, VARIATION_FIELDS, FieldRef.of_variation(exp_id, var_id, ""), label, id_line, full)
        return VariationSpec(id=var_id, name=name, dir=var_dir, line=id_line, files=files)


def load_manifest(path: Path, repo_top: Path, git_dirs: tuple[Path, ...] = ()) -> Manifest:
    """Parse and validate the manifest at ``path``; every problem is a ``ManifestError`` at ``file:line``.
    ``git_dirs``: the work tree's git dirs (``GitRepo.git_dirs``), where no mapped path may lead."""
    shown = display_path(path)
    view = DiskView(repo_top.resolve(), git_dirs)
    return parse_manifest(read_manifest_text(path, shown), path, repo_top, shown=shown, view=view)


def parse_manifest(
    text: str,
    path: Path,
    repo_top: Path,
    *,
    shown: str | None = None,
    view: PathView | None = None,
    fast: bool = False,
) -> Manifest:
    """Validate ``text`` as the manifest living at ``path`` (its folder is the root of the paths it maps).

    ``view`` answers questions about the paths it names (default: the disk); ``shown`` is how errors name the
    file (default: ``path`` as ``display_path`` shows it). ``fast`` parses with libyaml first (ten times faster
    on a large manifest, for the pre-push hook); any problem is then reported from the full parse, with lines.
    Either parse refuses aliases beyond a budget, deep nesting and tags before it builds anything (``yamlread``).
    """
    if fast:
        data = fast_load(text, display_path(path) if shown is None else shown)
        if data is not None:
            try:
                return _validate(data, path, repo_top, display_path(path) if shown is None else shown, view)
            except (ManifestError, TypeError, ValueError, KeyError, AttributeError):
                pass  # the full parse says what is wrong, with line numbers
    shown = display_path(path) if shown is None else shown
    return _validate(parse_yaml_text(text, shown), path, repo_top, shown, view)


def _validate(data: Any, path: Path, repo_top: Path, shown: str, view: PathView | None) -> Manifest:
    if data is None:
        raise ManifestError(
            shown, 1, f"the manifest is empty; it needs `version: 1` and `experiments:` ({_CREATE_HINT})"
        )
    if not isinstance(data, CommentedMap):
        raise ManifestError(
            shown,
            _node_line(data, 1),
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
            _key_line(data, "version", 1),
            f"'version' must be {MANIFEST_VERSION}, not {_describe(version)}; {fix}",
        )
    rate_limit = check.string(data, "rate_limit", "the manifest", _key_line(data, "rate_limit", 1), optional=True)
    if rate_limit:
        try:
            parse_rate_limit(rate_limit)
        except UsageError as exc:
            raise ManifestError(shown, _key_line(data, "rate_limit", 1), f"'rate_limit': {exc}") from None
    check.require(data, "experiments", "the manifest", 1, "[]")
    seq = data["experiments"]
    if seq is None:
        seq = CommentedSeq()
    if not isinstance(seq, CommentedSeq):
        raise ManifestError(
            shown,
            _key_line(data, "experiments", 1),
            f"'experiments' must be a list (items starting with `- id:`), not {_describe(seq)}",
        )
    experiments = tuple(check.experiment(item, i, seq) for i, item in enumerate(seq))
    return Manifest(
        path=str(path.absolute()),
        root=str(root),
        version=MANIFEST_VERSION,
        rate_limit=rate_limit,
        experiments=experiments,
    )


# --- reading mapped code -----------------------------------------------------------------------------------


def read_code(manifest: Manifest, mapped: MappedFile, repo_top: Path, git_dirs: tuple[Path, ...] = ()) -> str | None:
    """The text of a mapped file exactly as on disk, or ``None`` when it does not exist; checked again as
    the manifest was (a symlink may have changed since), ``git_dirs`` being the work tree's git dirs."""
    shown = display_path(Path(manifest.path))
    where = describe_mapped(mapped)
    path = Path(manifest.root) / mapped.path
    escape = escape_problem(Path(manifest.root), mapped.path, repo_top, git_dirs)
    if escape is not None:
        raise ManifestError(shown, mapped.line, f"{where} {escape}")
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ManifestError(shown, mapped.line, f"cannot read {where}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ManifestError(shown, mapped.line, f"{where} is a folder; map a file instead")
    if not stat.S_ISREG(info.st_mode):
        raise ManifestError(shown, mapped.line, f"{where} is not a regular file; map a regular file")
    if info.st_size > MAX_CODE_BYTES:
        raise code_too_large(shown, mapped, info.st_size)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CODE_BYTES + 1)
    except OSError as exc:
        raise ManifestError(shown, mapped.line, f"cannot read {where}: {exc.strerror}") from None
    if len(data) > MAX_CODE_BYTES:  # it grew after stat()
        raise ManifestError(shown, mapped.line, f"{where} is larger than 1 MiB; shrink or minify it")
    return decode_code(data, shown, mapped)


def describe_mapped(mapped: MappedFile) -> str:
    """How errors about a mapped file name it."""
    return f"{mapped.ref.describe()} file '{mapped.path}'"


def code_too_large(shown: str, mapped: MappedFile, size: int) -> ManifestError:
    return ManifestError(
        shown,
        mapped.line,
        f"{describe_mapped(mapped)} is {size} bytes, more than the 1 MiB ({MAX_CODE_BYTES} bytes) kamsync accepts; "
        f"shrink or minify it",
    )


def decode_code(data: bytes, shown: str, mapped: MappedFile) -> str:
    """A mapped file's bytes as text; anything but UTF-8 is refused, naming the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ManifestError(
            shown,
            mapped.line,
            f"{describe_mapped(mapped)} is not UTF-8 text (bad byte on its line {line}); re-save it as UTF-8",
        ) from None
