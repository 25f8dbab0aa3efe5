"""``kamsync preview``: serve one variation's local code on 127.0.0.1 and follow every save. Reads files only:
no lock (git and other kamsync commands go on while it runs), no credentials, no request to Kameleoon. Saves
are seen by the shared file watcher (``kamsync.watch.files``)."""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from kamsync.core.errors import KamsyncError, UsageError
from kamsync.core.events import Warned
from kamsync.core.model import ExperimentSpec, MappedFile, VariationSpec
from kamsync.core.preview import (
    PARTS,
    Bundle,
    PreviewSaved,
    PreviewStarted,
    PreviewStopped,
    choose_variation,
    part_files,
)
from kamsync.git.workspace import Workspace
from kamsync.manifest.code import read_codes
from kamsync.preview.scripts import console_snippet
from kamsync.preview.server import PreviewServer
from kamsync.sync.options import Options
from kamsync.sync.report import Report
from kamsync.watch.files import FileWatcher

__all__ = ["Preview", "check_matches", "run_preview"]

# A userscript @match pattern: one token of printable characters, so it cannot end the userscript's header.
_MATCH = re.compile(r"[!-~]+")
SETTLE_SECONDS = 0.05  # a save is read once its events have paused this long


def check_matches(matches: Sequence[str]) -> None:
    for pattern in matches:
        if not _MATCH.fullmatch(pattern) or "==" in pattern:
            raise UsageError(f"--match {pattern!r}: give a userscript @match pattern such as 'https://shop.example/*'")


class Preview:
    """A running preview of one variation: the server, and the watch that re-reads its files on each save."""

    def __init__(
        self,
        ws: Workspace,
        experiment: ExperimentSpec,
        variation: VariationSpec,
        *,
        port: int = 0,
        matches: Sequence[str] = (),
        poll: bool = False,
        on_save: Callable[[Bundle, list[str]], None] = lambda _bundle, _changed: None,
        on_error: Callable[[str], None] = lambda _message: None,
    ) -> None:
        self.ws = ws
        self.files: tuple[MappedFile | None, ...] = part_files(experiment, variation)
        self.on_save = on_save
        self.on_error = on_error
        self.server = PreviewServer(Bundle(experiment.id, variation.id, self.read()), port=port, matches=matches)
        files = [ws.absolute(f.path) for f in self.files if f is not None]
        # Whichever of them a save touched, all are read again once the events pause (an editor writing in place
        # truncates first): the content decides what changed, not the event.
        self.watcher = FileWatcher(files, lambda _touched: self._settle(), poll=poll, on_notice=on_error)
        self._reading = threading.Lock()
        self._timer: threading.Timer | None = None

    @property
    def paths(self) -> list[str]:
        """The mapped files served, relative to the manifest's folder."""
        return [f.path for f in self.files if f is not None]

    def read(self) -> tuple[str, ...]:
        """Each part's code as on disk ("" for a part with no mapped file, or whose file does not exist)."""
        present = [f for f in self.files if f is not None]
        codes = read_codes(self.ws.manifest, present, self.ws.repo.top, self.ws.repo.git_dirs)
        return tuple((codes.get(f) or "") if f is not None else "" for f in self.files)

    def reread(self) -> None:
        """Read the files again; publish and report them when they changed (an unchanged save sends nothing)."""
        with self._reading:
            try:
                codes = self.read()
            except KamsyncError as error:  # a file made unreadable mid-edit: say so, keep serving the last code
                self.on_error(str(error))
                return
            before = self.server.bundle
            after = self.server.publish(codes)
        if after is not None:
            self.on_save(
                after, [p.name for p, old, new in zip(PARTS, before.codes, after.codes, strict=True) if old != new]
            )

    def _settle(self) -> None:
        with self._reading:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(SETTLE_SECONDS, self.reread)
            self._timer.daemon = True
            self._timer.start()

    def start(self) -> Preview:
        self.server.start()
        self.watcher.start()
        return self

    def close(self) -> None:
        self.watcher.stop()
        with self._reading:
            if self._timer is not None:
                self._timer.cancel()
        self.server.close()

    def __enter__(self) -> Preview:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    """Make SIGTERM (and Windows' Ctrl-Break) end the preview as Ctrl-C does; returns what puts the old handlers
    back. Only the main thread may set handlers: elsewhere (an embedding program) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    chosen = [getattr(signal, name) for name in ("SIGTERM", "SIGBREAK") if hasattr(signal, name)]
    previous = {sig: signal.signal(sig, lambda _sig, _frame: stop.set()) for sig in chosen}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def run_preview(
    opts: Options,
    report: Report,
    *,
    experiment_id: int | None,
    variation_id: int | None,
    port: int,
    matches: Sequence[str],
    poll: bool,
    stop: threading.Event | None = None,
) -> PreviewStopped:
    check_matches(matches)
    ws = Workspace.open(opts.manifest, opts.environ, Path.cwd())
    experiment, variation = choose_variation(ws.manifest, experiment_id, variation_id)
    preview = Preview(
        ws,
        experiment,
        variation,
        port=port,
        matches=matches,
        poll=poll,
        on_save=lambda bundle, changed: report(PreviewSaved(bundle.version, tuple(changed))),
        on_error=lambda text: report(Warned(text)),
    )
    stop = stop or threading.Event()
    with preview:
        server = preview.server
        report(
            PreviewStarted(
                server.urls(),
                f"variation {variation.id} ({variation.name or variation.dir}) of experiment {experiment.id}",
                console_snippet(server.base, server.origin),
                tuple(preview.paths),
                matched=bool(matches),
            )
        )
        restore = _stop_on_signals(stop)
        try:
            while not stop.wait(0.5):  # a timeout, so Ctrl-C is seen on every platform
                pass
        except KeyboardInterrupt:
            pass
        finally:
            restore()
    return PreviewStopped()
