"""Watching mapped files through the folders that hold them.

A folder is watched, never a single file: editors save by writing a new file and renaming it over the old one
(vim's ``backupcopy=no``, most IDEs), which ends a watch on the file itself but not one on its folder. Events are
narrowed to what changes content (created, modified, moved, deleted, closed after writing), so reading a file —
kamsync does, to compare it — wakes nobody. Editor temp files and anything the caller did not map are dropped
here; the callback gets the set of mapped paths an event touched, and decides on its own what changed (the
content, not the event, is the truth).

When the kernel refuses more inotify watches or instances (ENOSPC, EMFILE), the watcher says which sysctl to raise
and goes on by polling. ``poll=True`` polls from the start (network and some container file systems have no
events).
"""

from __future__ import annotations

import errno
import fnmatch
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

# Names editors and tools write beside the file they save, and kamsync's own atomic-write temp files.
EDITOR_TEMP_PATTERNS = (
    "*.tmp.*",  # many IDEs: name.tmp.1234
    "*.swp",  # vim swap files, and their siblings
    "*.swx",
    "*.swo",
    "*~",  # vim and emacs backups
    ".#*",  # emacs lock links
    "4913",  # vim probes whether it may create a file in the folder
    ".goutputstream-*",  # GNOME's atomic writes
    ".*.tmp",  # kamsync's atomic writes (.name.XXXX.tmp)
    "*___jb_tmp___",  # JetBrains
    "*___jb_old___",
)
# The events whose files may hold new content; opening or reading a file is not one of them.
CONTENT_EVENTS = [FileCreatedEvent, FileModifiedEvent, FileMovedEvent, FileDeletedEvent, FileClosedEvent]
DEFAULT_POLL_INTERVAL = 0.5
# The sysctl that governs each limit, by the errno inotify answers when it is reached.
INOTIFY_LIMITS = {
    errno.ENOSPC: "fs.inotify.max_user_watches",
    errno.EMFILE: "fs.inotify.max_user_instances",
}
_SUGGESTED = {"fs.inotify.max_user_watches": 524288, "fs.inotify.max_user_instances": 512}


def is_editor_temp(name: str) -> bool:
    """Whether a file name is one an editor or kamsync writes while saving, never content to send."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in EDITOR_TEMP_PATTERNS)


def inotify_limit_advice(error_number: int, current: int | None, folders: int) -> str | None:
    """What to tell the user when inotify refused a watch with ``error_number``; ``None`` when that is no limit."""
    sysctl = INOTIFY_LIMITS.get(error_number)
    if sysctl is None:
        return None
    now = f" (now {current})" if current is not None else ""
    return (
        f"cannot watch {folders} folder(s) with inotify: the limit {sysctl}{now} is reached; raise it with "
        f"`sudo sysctl {sysctl}={_SUGGESTED[sysctl]}` (and a file in /etc/sysctl.d/ to keep it); "
        "watching by polling instead"
    )


def _read_sysctl(name: str) -> int | None:
    try:
        return int(Path("/proc/sys", *name.split(".")).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


class ObserverLike(Protocol):
    """What the watcher needs of a watchdog observer (the seam tests use to play the kernel's limits)."""

    def schedule(
        self, event_handler: FileSystemEventHandler, path: str, *, recursive: bool, event_filter: list[type]
    ) -> object: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...


def native_observer() -> ObserverLike:
    """The platform's event observer: inotify, FSEvents, kqueue or ReadDirectoryChangesW."""
    return Observer()


class _Folder:
    """The mapped names of one watched folder, by name."""

    __slots__ = ("names",)

    def __init__(self) -> None:
        self.names: dict[str, Path] = {}


class FileWatcher:
    """Calls ``on_change`` with the mapped paths each content event touched, from a watchdog thread.

    ``paths`` are the mapped files (they need not exist yet; their folders must, to be watched). ``on_notice``
    receives what the user should know (a fallback to polling, with the advice that fixes it).
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        on_change: Callable[[frozenset[Path]], None],
        *,
        poll: bool = False,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        on_notice: Callable[[str], None] = lambda _text: None,
        observer_factory: Callable[[], ObserverLike] = native_observer,
        read_sysctl: Callable[[str], int | None] = _read_sysctl,
    ) -> None:
        self._on_change = on_change
        self._on_notice = on_notice
        self._poll_interval = poll_interval
        self._observer_factory = observer_factory
        self._read_sysctl = read_sysctl
        self._folders: dict[str, _Folder] = {}
        for raw in paths:
            path = Path(os.path.abspath(raw))
            self._folders.setdefault(_key(str(path.parent)), _Folder()).names[_name_key(path.name)] = path
        self._aliases: dict[str, str] = {}  # a folder's real path -> the key it was mapped under
        self._observer: ObserverLike | None = None
        self._lock = threading.Lock()
        self.polling = poll
        self.folders = frozenset(Path(folder) for folder in self._folders)
        self.missing = frozenset(folder for folder in self.folders if not folder.is_dir())

    def start(self) -> None:
        """Starts watching every existing folder; falls back to polling on an inotify limit."""
        if self.polling:
            self._observer = self._watch(PollingObserver(timeout=self._poll_interval))
            return
        try:
            self._observer = self._watch(self._observer_factory())
        except OSError as error:
            advice = inotify_limit_advice(error.errno or 0, self._current_limit(error), len(self.folders))
            if advice is None:
                raise
            self._on_notice(advice)
            self.polling = True
            self._observer = self._watch(PollingObserver(timeout=self._poll_interval))

    def stop(self) -> None:
        """Stops watching and waits for the watchdog threads to end (idempotent)."""
        with self._lock:
            observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)

    def __enter__(self) -> FileWatcher:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def mapped(self, event_path: str) -> Path | None:
        """The mapped path an event path names, or ``None`` for an editor temp file or an unmapped file."""
        folder, name = os.path.split(event_path)
        if is_editor_temp(name):
            return None
        entry = self._folders.get(_key(folder)) or self._folders.get(self._aliases.get(_key(folder), ""))
        if entry is None:  # FSEvents names folders by their real path (/private/var for /var on macOS)
            entry = self._folders.get(self._aliases.get(_key(os.path.realpath(folder)), ""))
        return entry.names.get(_name_key(name)) if entry is not None else None

    def _watch(self, observer: ObserverLike) -> ObserverLike:
        handler = _Handler(self)
        observer.start()
        try:
            for key in self._folders:
                if os.path.isdir(key):
                    self._aliases[_key(os.path.realpath(key))] = key
                    observer.schedule(handler, key, recursive=False, event_filter=list(CONTENT_EVENTS))
        except BaseException:
            observer.stop()
            observer.join(timeout=5)
            raise
        return observer

    def _current_limit(self, error: OSError) -> int | None:
        sysctl = INOTIFY_LIMITS.get(error.errno or 0)
        return self._read_sysctl(sysctl) if sysctl else None

    def _dispatch(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        touched = {self.mapped(os.fsdecode(p)) for p in (event.src_path, event.dest_path) if p}
        touched.discard(None)
        if touched:
            self._on_change(frozenset(p for p in touched if p is not None))


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: FileWatcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._watcher._dispatch(event)


def _key(folder: str) -> str:
    """A folder as the watcher compares it: absolute, normalised, in the file system's letter case rules."""
    return os.path.normcase(os.path.normpath(folder))


def _name_key(name: str) -> str:
    return os.path.normcase(name)
