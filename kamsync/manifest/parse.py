"""The manifest ``kamsync.yaml``: find it, parse it into a validated ``Manifest``, read the code it maps.

Raw YAML never leaves this package: ``load_manifest`` (or ``parse_manifest``, for text read elsewhere, such as
from a commit) turns it into frozen models, and every refusal is a ``ManifestError`` located as ``file:line``
that says how to fix it. Finding and reading the file is ``find``, validating ``validate``, reading mapped
code ``code``; editing lives in ``edit``.

One parse serves every command: libyaml's (``yamlread``), with lines. The round-trip parse (ruamel), slower
by an order of magnitude, only runs for a manifest that parse will not vouch for or that does not validate,
so that every refusal keeps its message and line whichever parser would have found it first.
"""

from __future__ import annotations

from pathlib import Path

from kamsync.core.errors import ManifestError
from kamsync.core.model import Manifest
from kamsync.core.paths import slugify, unique_dir
from kamsync.manifest.code import (
    MAX_CODE_BYTES,
    code_too_large,
    decode_code,
    describe_mapped,
    read_code,
    read_codes,
)
from kamsync.manifest.find import (
    MANIFEST_ENV,
    MANIFEST_NAME,
    decode_manifest,
    display_path,
    find_manifest,
    read_manifest_text,
)
from kamsync.manifest.validate import MANIFEST_VERSION, DiskView, Kind, PathView, validate
from kamsync.manifest.yamlread import Undecided, load_nodes

__all__ = [
    "MANIFEST_ENV",
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "MAX_CODE_BYTES",
    "SCHEMA_COMMENT",
    "SCHEMA_URL",
    "DiskView",
    "Kind",
    "PathView",
    "code_too_large",
    "decode_code",
    "decode_manifest",
    "describe_mapped",
    "display_path",
    "find_manifest",
    "load_manifest",
    "parse_manifest",
    "read_code",
    "read_codes",
    "read_manifest_text",
    "slugify",
    "unique_dir",
]

SCHEMA_URL = "https://raw.githubusercontent.com/kamsync/kamsync/main/kamsync/kamsync.schema.json"
SCHEMA_COMMENT = f"# yaml-language-server: $schema={SCHEMA_URL}"


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
    fast: bool = True,
) -> Manifest:
    """Validate ``text`` as the manifest living at ``path`` (its folder is the root of the paths it maps).

    ``view`` answers questions about the paths it names (default: the disk); ``shown`` is how errors name the
    file (default: ``path`` as ``display_path`` shows it). Either parse refuses aliases beyond a budget, deep
    nesting and tags before it builds anything (``yamlread``). ``fast=False`` skips the libyaml parse (the
    round-trip one alone, as a reference to compare it with).
    """
    shown = display_path(path) if shown is None else shown
    if fast:
        try:
            return validate(load_nodes(text, shown), path, repo_top, shown, view)
        except (Undecided, ManifestError):
            pass  # the round-trip parse decides, and says what is wrong with ruamel's lines and words
    from kamsync.manifest.roundtrip import parse_nodes  # ruamel costs its import only where it is needed

    return validate(parse_nodes(text, shown), path, repo_top, shown, view)
