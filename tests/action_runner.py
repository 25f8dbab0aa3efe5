"""Runs ``action.yml`` as the Actions runner would: each step in order, its ``env:`` and ``working-directory``
evaluated from the inputs and earlier steps' outputs, ``shell: bash`` as ``bash --noprofile --norc -eo pipefail``,
with ``GITHUB_OUTPUT``, ``GITHUB_ENV``, ``GITHUB_STEP_SUMMARY``, ``GITHUB_ACTION_PATH`` and ``GITHUB_EVENT_PATH``
files of its own. ``actions/setup-python`` is the one step it does not run: its output ``python-path`` is this
test's Python. Only the expressions the action may use are understood; any other fails the test.

``obeyed`` reads a log as the runner does: the workflow commands it would act on, outside stop-commands blocks.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
_EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


@dataclass
class ActionRun:
    code: int
    log: str
    outputs: dict[str, str]
    summary: str
    github_env: str
    steps: dict[str, dict[str, str]] = field(default_factory=dict)


def _evaluate(text: str, inputs: Mapping[str, str], steps: Mapping[str, Mapping[str, str]], token: str) -> str:
    def value(match: re.Match[str]) -> str:
        expr = match[1]
        if expr.startswith("inputs."):
            name = expr.removeprefix("inputs.")
            declared = ACTION["inputs"][name]  # an undeclared input fails here
            if name in inputs:
                return inputs[name]
            default = str(declared.get("default", ""))
            return _evaluate(default, inputs, steps, token)
        if found := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr):
            return steps.get(found[1], {}).get(found[2], "")
        if expr == "github.token":
            return token
        raise AssertionError(f"action.yml uses an expression the runner imitation does not know: {expr}")

    return _EXPRESSION.sub(value, text)


def read_outputs(path: Path) -> dict[str, str]:
    """A ``GITHUB_OUTPUT`` file: ``name=value`` lines and ``name<<DELIMITER`` heredocs."""
    outputs: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            outputs[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        name, _, value = line.partition("=")
        outputs[name] = value
        i += 1
    return outputs


def run_action(
    inputs: Mapping[str, str],
    *,
    workspace: Path,
    runner: Path,
    runner_temp: Path,
    action_path: Path,
    env: Mapping[str, str],
    event_name: str,
    event: Mapping[str, object],
    token: str = "",
    repository: str = "acme/site",
    api_url: str = "",
    ref_name: str = "main",
) -> ActionRun:
    runner.mkdir(parents=True, exist_ok=True)
    event_path = runner / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    summary, github_env = runner / "summary.md", runner / "github_env"
    for file in (summary, github_env):
        file.write_text("", encoding="utf-8")
    base = {
        **env,
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_ACTION_PATH": str(action_path),
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_ENV": str(github_env),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_REPOSITORY": repository,
        "GITHUB_REF_NAME": ref_name,
        "GITHUB_API_URL": api_url,
        "RUNNER_TEMP": str(runner_temp),
    }
    steps: dict[str, dict[str, str]] = {}
    log: list[str] = []
    code = 0
    for index, step in enumerate(ACTION["runs"]["steps"]):
        step_id = step.get("id", f"step{index}")
        if "uses" in step:
            assert re.fullmatch(r"actions/setup-python@[0-9a-f]{40}", step["uses"]), step["uses"]
            steps[step_id] = {"python-path": sys.executable}
            continue
        assert "${{" not in step["run"], "inputs reach scripts only through env:"
        output = runner / f"output-{step_id}"
        output.write_text("", encoding="utf-8")
        step_env = {k: _evaluate(str(v), inputs, steps, token) for k, v in step.get("env", {}).items()}
        cwd = workspace / _evaluate(str(step.get("working-directory", ".")), inputs, steps, token)
        script = runner / f"{step_id}.sh"
        script.write_text(step["run"], encoding="utf-8")
        assert step["shell"] == "bash"
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env={**base, "GITHUB_OUTPUT": str(output), **step_env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        log.append(proc.stdout + proc.stderr)
        steps[step_id] = read_outputs(output)
        if proc.returncode != 0:
            code = proc.returncode
            break
    outputs = {name: _evaluate(spec["value"], inputs, steps, token) for name, spec in ACTION["outputs"].items()}
    return ActionRun(
        code, "".join(log), outputs, summary.read_text(encoding="utf-8"), github_env.read_text(encoding="utf-8"), steps
    )


def obeyed(log: str) -> list[str]:
    """The workflow commands the runner would act on in ``log``: lines starting with ``::`` (or holding the
    older ``##[``) outside ``::stop-commands::TOKEN`` … ``::TOKEN::``."""
    stopped: str | None = None
    commands = []
    for raw in log.splitlines():
        line = raw.strip()
        if stopped is not None:
            if line == f"::{stopped}::":
                stopped = None
            continue
        if line.startswith("::stop-commands::"):
            stopped = line.removeprefix("::stop-commands::")
            continue
        if line.startswith("::") or "##[" in line:
            commands.append(line)
    return commands
