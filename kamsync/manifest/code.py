"""Reading the code a manifest maps from the work tree: checked again as the manifest was (a symlink may
have changed since), at most 1 MiB, UTF-8 only, every refusal at the mapping's ``file:line``."""

from __future__ import annotations

import os
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
    return _Reader(manifest, repo_top, git_dirs).read(mapped)


def read_codes(
    manifest: Manifest, files: Iterable[MappedFile], repo_top: Path, git_dirs: tuple[Path, ...] = ()
) -> dict[MappedFile, str | None]:
    """``read_code`` for many files, the folders they share looked at once."""
    reader = _Reader(manifest, repo_top, git_dirs)
    return {mf: reader.read(mf) for mf in files}


class _Reader:
    """Reads the mapped files of one manifest, sharing what they have in common (the root, the folders)."""

    def __init__(self, manifest: Manifest, repo_top: Path, git_dirs: tuple[Path, ...]) -> None:
        self.root = Path(manifest.root)
        self.repo_top = repo_top
        self.git_dirs = git_dirs
        self.shown = display_path(Path(manifest.path))
        self.resolver = Resolver()

    def fail(self, mapped: MappedFile, before: str, after: str) -> ManifestError:
        """The refusal ``<before><the mapped file><after>``, naming the file only when there is one to make."""
        return ManifestError(self.shown, mapped.line, f"{before}{describe_mapped(mapped)}{after}")

    def read(self, mapped: MappedFile) -> str | None:
        escape = escape_problem(self.root, mapped.path, self.repo_top, self.git_dirs, self.resolver)
        if escape is not None:
            raise self.fail(mapped, "", f" {escape}")
        path = os.path.join(self.root, mapped.path)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self.fail(mapped, "cannot read ", f": {exc.strerror}") from None
        if stat.S_ISDIR(info.st_mode):
            raise self.fail(mapped, "", " is a folder; map a file instead")
        if not stat.S_ISREG(info.st_mode):
            raise self.fail(mapped, "", " is not a regular file; map a regular file")
        if info.st_size > MAX_CODE_BYTES:
            raise code_too_large(self.shown, mapped, info.st_size)
        try:
            with open(path, "rb") as handle:
                # As much as stat() saw and one byte more: asking for 1 MiB at once allocates 1 MiB per file
                # (most are a few hundred bytes), which made reading cost twice the disk's time.
                data = handle.read(info.st_size + 1)
                if len(data) > info.st_size:  # it grew after stat(): read on, as far as the limit shows
                    data += handle.read(MAX_CODE_BYTES + 1 - len(data))
        except OSError as exc:
            raise self.fail(mapped, "cannot read ", f": {exc.strerror}") from None
        if len(data) > MAX_CODE_BYTES:  # it grew after stat()
            raise self.fail(mapped, "", " is larger than 1 MiB; shrink or minify it")
        return decode_code(data, self.shown, mapped)


def describe_mapped(mapped: MappedFile) -> str:
    """How errors about a mapped file name it."""
    return f"{mapped.label or mapped.ref.describe()} file '{mapped.path}'"


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
