"""The action's install step: kamsync from the action's own folder, in a virtual environment of its own.

Run by the Python ``actions/setup-python`` provides (which leaves the job's PATH alone), with nothing but the
standard library. The environment lives in the runner's temporary folder, one per action folder, kamsync
version and Python, so a job using the action twice installs it once. pip's usual configuration
(``PIP_INDEX_URL``, ``PIP_FIND_LINKS``, ``PIP_NO_INDEX``…) is honoured. The step's output ``python`` names the
environment's interpreter, with forward slashes, so the next step's bash runs it on every OS.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

DONE = "kamsync-installed"


def interpreter(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def version_of(action: Path) -> str:
    text = (action / "kamsync" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return found[1] if found else "unknown"


def environment_for(action: Path, temp: Path) -> Path:
    key = f"{action}\0{version_of(action)}\0{sys.executable}\0{sys.version}"
    return temp / f"kamsync-venv-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def install(action: Path, folder: Path) -> Path:
    python = interpreter(folder)
    if (folder / DONE).exists() and python.exists():
        print(f"kamsync is already installed in {folder}")
        return python
    shutil.rmtree(folder, ignore_errors=True)
    venv.create(folder, with_pip=True, clear=True)  # no system site-packages: isolated from the caller's Python
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet"]
    subprocess.run([*pip, str(action)], check=True)
    (folder / DONE).write_text(version_of(action) + "\n", encoding="utf-8")
    return python


def main() -> int:
    action = Path(os.environ["GITHUB_ACTION_PATH"]).resolve()
    temp = Path(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir())
    python = install(action, environment_for(action, temp))
    output = os.environ.get("GITHUB_OUTPUT")
    line = f"python={python.as_posix()}\n"
    if output:
        with open(output, "a", encoding="utf-8") as file:
            file.write(line)
    else:
        print(line, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
