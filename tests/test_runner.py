"""The tests' way of running kamsync in their own process gives what a new process gives (``tests/runner.py``):
the same exit code, stdout and stderr, and it leaves this process as it found it."""

from __future__ import annotations

import os
import sys

import pytest

from tests import runner


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("status", "--json"), id="a result"),
        pytest.param(("push", "--no-such-flag"), id="a usage error"),
        pytest.param(("pull", "--experiment", "999999"), id="an error from the use case"),
        pytest.param(("--version",), id="click's own exit"),
    ],
)
def test_a_command_run_here_answers_as_a_new_process_does(kamsync, args):
    here = kamsync(*args, process=False)
    there = kamsync(*args, process=True)

    assert (here.code, here.stdout, here.stderr) == (there.code, there.stdout, there.stderr)


def test_a_command_run_here_leaves_the_environment_folder_and_streams_as_they_were(kamsync, repo, tmp_path):
    before = dict(os.environ), os.getcwd(), (sys.stdin, sys.stdout, sys.stderr)

    result = kamsync("status", cwd=repo, process=False)

    assert result.code == 0, result.output
    assert (dict(os.environ), os.getcwd(), (sys.stdin, sys.stdout, sys.stderr)) == before


@pytest.mark.parametrize("name", ["PYTHONPATH", "PYTHONIOENCODING", "LANG", "LC_ALL", "COVERAGE_PROCESS_START"])
def test_an_interpreter_setting_of_its_own_makes_it_a_new_process(name, monkeypatch):
    monkeypatch.setattr(runner, "ALWAYS_NEW_PROCESS", False)
    assert not runner.needs_process(dict(os.environ))
    assert runner.needs_process({**os.environ, name: "set by the test"})
