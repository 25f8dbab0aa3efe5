"""Finding ``kamsync.yaml`` and reading its text: ``--manifest``, ``$KAMSYNC_MANIFEST`` or the nearest one;
UTF-8 only; how messages name a file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from kamsync.core.errors import ManifestError, UsageError

__all__ = [
    "CREATE_HINT",
    "MANIFEST_ENV",
    "MANIFEST_NAME",
    "decode_manifest",
    "display_path",
    "find_manifest",
    "read_manifest_text",
]

MANIFEST_NAME = "kamsync.yaml"
MANIFEST_ENV = "KAMSYNC_MANIFEST"
CREATE_HINT = "create one with `kamsync pull --experiment ID`, or pass --manifest PATH"


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
            raise UsageError(f"{origin} names {path}, which does not exist; fix the path, or {CREATE_HINT}")
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
    raise UsageError(f"no {MANIFEST_NAME} found {where}; {CREATE_HINT}")


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
