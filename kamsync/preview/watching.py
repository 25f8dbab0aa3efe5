"""Knowing when a mapped file was saved: watchdog watches the folders holding the files (never the files
themselves, so an editor's rename-save is still seen), or polls them with ``poll``. Only events naming one of the
files count; editors' temp files and every other file in those folders are ignored. A burst of events (an
editor writing a file in several steps) becomes one call, ``settle`` seconds after the last event.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

__all__ = ["FileWatch", "watch_files"]

SETTLE_SECONDS = 0.05


def _key(path: str | bytes | os.PathLike[str]) -> str:
    return os.path.normcase(os.path.abspath(os.fsdecode(path)))


class FileWatch(FileSystemEventHandler):
    """A running watch; ``close`` stops it."""

    def __init__(self, files: Iterable[Path], on_change: Callable[[], object], *, poll: bool, settle: float) -> None:
        self._files = {_key(f) for f in files}
        self._on_change = on_change
        self._settle = settle
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._observer: BaseObserver = PollingObserver(timeout=0.2) if poll else Observer()
        for folder in sorted({_existing_folder(Path(f)) for f in self._files}):
            self._observer.schedule(self, folder, recursive=False)
        self._observer.start()

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = {_key(event.src_path), *([_key(event.dest_path)] if event.dest_path else [])}
        if paths & self._files:
            with self._lock:
                if self._timer is not None:
                    self._timer.cancel()
                self._timer = threading.Timer(self._settle, self._on_change)
                self._timer.daemon = True
                self._timer.start()

    def close(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        self._observer.stop()
        self._observer.join(timeout=5)


def _existing_folder(path: Path) -> str:
    """The folder of ``path``, or its nearest ancestor that exists (a variation folder may not exist yet)."""
    folder = path.parent
    while not folder.is_dir() and folder.parent != folder:
        folder = folder.parent
    return str(folder)


def watch_files(
    files: Iterable[Path], on_change: Callable[[], object], *, poll: bool = False, settle: float = SETTLE_SECONDS
) -> FileWatch:
    """Call ``on_change`` after each save of one of ``files`` (from another thread) until ``close``."""
    return FileWatch(files, on_change, poll=poll, settle=settle)
