"""Reading the code a manifest maps from the work tree: checked again as the manifest was (a symlink may
have changed since), at most 1 MiB, UTF-8 only, every refusal at the mapping's ``file:line``."""

from __future__ import annotations

import stat
from collections.abc import Iterable
from pathlib import Path

from kamsync.core.errors import ManifestError
from kamsync.core.model import Manifest, MappedFile
from kamsync.core.paths import Resolver, escape_problem
from kamsync.manifest.find import display_path

__all__ = ["MAX_CODE_BYTES", "code_too_large", "decode_code", "describe_mapped", "read_code", "read_codes"]

MAX_CODE_BYTES = 1_048_576


def read_code(manifest: Manifest, mapped: MappedFile, repo_top: Path, git_dirs: tuple[Path, ...] = ()) -> str | None:
    """The text of a mapped file exactly as on disk, or ``None`` when it does not exist; checked again as
    the manifest was (a symlink may have changed since), ``git_dirs`` being the work tree's git dirs."""
    return _read(manifest, mapped, repo_top, git_dirs, display_path(Path(manifest.path)), Resolver())


def read_codes(
    manifest: Manifest, files: Iterable[MappedFile], repo_top: Path, git_dirs: tuple[Path, ...] = ()
) -> dict[MappedFile, str | None]:
    """``read_code`` for many files, the folders they share looked at once."""
    shown, resolver = display_path(Path(manifest.path)), Resolver()
    return {mf: _read(manifest, mf, repo_top, git_dirs, shown, resolver) for mf in files}


def _read(
    manifest: Manifest, mapped: MappedFile, repo_top: Path, git_dirs: tuple[Path, ...], shown: str, resolver: Resolver
) -> str | None:
    where = describe_mapped(mapped)
    root = Path(manifest.root)
    path = root / mapped.path
    escape = escape_problem(root, mapped.path, repo_top, git_dirs, resolver)
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
