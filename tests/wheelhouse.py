"""Wheels of what installing kamsync needs, made from the distributions this test environment already has,
so the action's install step can run with ``PIP_NO_INDEX=1`` and ``PIP_FIND_LINKS`` pointing here: nothing is
downloaded. kamsync's build backend and its dependencies are packed from their installed files (an installed
distribution's RECORD lists them all); pip builds kamsync's own wheel from the action folder, as on a runner.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement


def _needed(names: list[str]) -> dict[str, metadata.Distribution]:
    found: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in found:
            continue
        dist = metadata.distribution(name)
        found[name] = dist
        for text in dist.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def _tag(dist: metadata.Distribution) -> str:
    wheel = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    return tags[0] if tags else "py3-none-any"


def _repack(dist: metadata.Distribution, out: Path) -> Path:
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    target = out / f"{name}-{dist.version}-{_tag(dist)}.whl"
    info = Path(str(dist._path)).name  # type: ignore[attr-defined]  # the distribution's own .dist-info folder
    record_name = f"{info}/RECORD"
    record_lines = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as wheel:
        for file in dist.files or ():
            posix = file.as_posix()
            if posix.startswith("..") or "__pycache__" in posix or posix.endswith(".pyc"):
                continue
            if posix in (record_name, f"{info}/INSTALLER", f"{info}/REQUESTED", f"{info}/direct_url.json"):
                continue
            data = Path(str(dist.locate_file(file))).read_bytes()
            wheel.writestr(posix, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record_lines.append(f"{posix},sha256={digest},{len(data)}")
        record_lines.append(f"{record_name},,")  # a RECORD lists itself without a hash
        wheel.writestr(record_name, "\n".join(record_lines) + "\n")
    return target


def build_wheelhouse(out: Path) -> Path:
    """Every wheel ``pip install <action folder>`` needs but kamsync's own, in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    kamsync = metadata.distribution("kamsync")
    runtime = [Requirement(r).name for r in kamsync.requires or () if "extra ==" not in r]
    for dist in _needed([*runtime, "setuptools"]).values():
        _repack(dist, out)
    return out
