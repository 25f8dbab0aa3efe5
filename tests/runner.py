"""How the tests run the real `kamsync` command: ``kamsync.cli.main`` itself, as `python -m kamsync` calls it.

A new interpreter per command costs about 0.3 s of CPU before kamsync reads a byte, 0.4 s under coverage, and
the suite runs about 700 commands. So the ``kamsync`` fixture runs ``main`` inside the test's process with
exactly what a new process would get: the command's environment as ``os.environ`` (and nothing else), its
working directory, an empty standard input that is not a terminal, and standard output and error as files
opened with the encoding and error handlers a child interpreter gets here. Output is read back as
``subprocess`` in text mode reads a pipe (universal newlines), and ``SystemExit`` becomes the exit code.
Everything is put back afterwards, and a command that leaves one of its threads running fails the test.

A new process is still started when the command needs one:
- the environment sets anything only a new interpreter reads (``PYTHON*``, ``LANG``, ``LC_*``, coverage's own);
- the test asks for it (``process=True``): signals, start-up imports, a kill;
  (``process=False`` keeps a command here whatever the run: a test that makes one of this process's OS calls fail)
- the run was started with ``--processes`` (``ALWAYS_NEW_PROCESS``): every command a new process, the way to
  check the two ways agree.
"""

from __future__ import annotations

import faulthandler
import functools
import io
import json
import locale
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ALWAYS_NEW_PROCESS = False  # set by ``pytest --processes``
TIMEOUT = 120.0  # a command that never ends fails the run instead of hanging it
# What only a new interpreter reads: when a command's environment sets one of these, it runs as a process.
_INTERPRETER_VARIABLES = ("PYTHON", "LANG", "LC_", "COVERAGE_", "COV_CORE_")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.stdout)  # type: ignore[no-any-return]


def run_kamsync(
    args: Sequence[str],
    *,
    cwd: Path,
    environ: Mapping[str, str],
    process: bool | None = None,
    timeout: float = TIMEOUT,
) -> Result:
    """Run `kamsync ARGS` in ``cwd`` with exactly ``environ``: in this process unless it needs its own.

    ``process=True`` always starts a new process; ``process=False`` always runs here, for a test that makes an
    OS call of this process fail (even under ``--processes``)."""
    if process is None:
        process = needs_process(environ)
    if process:
        return _in_new_process(args, cwd, environ, timeout)
    return _in_this_process(args, cwd, environ, timeout)


def needs_process(environ: Mapping[str, str]) -> bool:
    """Whether ``environ`` sets what only a new interpreter reads differently from this one, or every command runs
    as a process in this run."""
    return ALWAYS_NEW_PROCESS or _interpreter_settings(environ) != _interpreter_settings(os.environ)


def _interpreter_settings(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k.startswith(_INTERPRETER_VARIABLES)}


def _in_new_process(args: Sequence[str], cwd: Path, environ: Mapping[str, str], timeout: float) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "kamsync", *args],
        cwd=cwd,
        env=dict(environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _in_this_process(args: Sequence[str], cwd: Path, environ: Mapping[str, str], timeout: float) -> Result:
    from kamsync.cli import main

    before = {thread for thread in threading.enumerate() if thread.is_alive()}
    with ExitStack() as stack:
        stack.enter_context(_environment(environ))
        stack.enter_context(_working_directory(cwd))
        out, err = stack.enter_context(_standard_streams())
        stack.enter_context(_deadline(timeout))
        try:
            main(list(args))
            code = 0
        except SystemExit as done:
            code = _exit_code(done.code)
        sys.stdout.flush()
        sys.stderr.flush()
        result = Result(code, _read_back(out), _read_back(err))
    _no_thread_left(before, args)
    return result


def _exit_code(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    return 1  # sys.exit("message"): Python prints it and exits 1


@contextmanager
def _environment(environ: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` is exactly ``environ`` (changed in place: modules holding ``os.environ`` see it too)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _working_directory(cwd: Path) -> Iterator[None]:
    saved = os.getcwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved)


@contextmanager
def _standard_streams() -> Iterator[tuple[IO[bytes], IO[bytes]]]:
    """Empty stdin (not a terminal), and stdout and stderr on files with a child interpreter's settings."""
    saved = sys.stdin, sys.stdout, sys.stderr
    (out_encoding, out_errors), (err_encoding, err_errors) = _child_stream_settings()
    with (
        open(os.devnull, encoding="utf-8") as stdin,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        sys.stdin = stdin
        sys.stdout = io.TextIOWrapper(out, encoding=out_encoding, errors=out_errors, newline="\n", line_buffering=False)
        sys.stderr = io.TextIOWrapper(err, encoding=err_encoding, errors=err_errors, newline="\n", line_buffering=True)
        try:
            yield out, err
        finally:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
                stream.detach()
            sys.stdin, sys.stdout, sys.stderr = saved


def _read_back(handle: IO[bytes]) -> str:
    """What ``subprocess`` in text mode would read from a pipe carrying these bytes: the locale's encoding,
    universal newlines."""
    handle.seek(0)
    text = handle.read().decode(locale.getpreferredencoding(False))
    return text.replace("\r\n", "\n").replace("\r", "\n")


@functools.lru_cache(maxsize=1)
def _child_stream_settings() -> tuple[tuple[str, str], tuple[str, str]]:
    """The encoding and error handler of a child interpreter's stdout and stderr on pipes, asked once."""
    probe = "import json, sys; print(json.dumps([[s.encoding, s.errors] for s in (sys.stdout, sys.stderr)]))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    (out, err) = json.loads(proc.stdout)
    return (out[0], out[1]), (err[0], err[1])


@contextmanager
def _deadline(timeout: float) -> Iterator[None]:
    """A command still running after ``timeout`` ends the test run with every thread's traceback."""
    faulthandler.dump_traceback_later(timeout, exit=True, file=sys.__stderr__ or sys.stderr)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def _no_thread_left(before: set[threading.Thread], args: Sequence[str]) -> None:
    for thread in threading.enumerate():
        if thread not in before and thread.is_alive() and thread.name.startswith("kamsync-"):
            thread.join(timeout=5)
            assert not thread.is_alive(), f"`kamsync {' '.join(args)}` left its thread {thread.name!r} running"
