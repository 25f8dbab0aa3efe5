"""Watching the working tree: the file watcher (``files``) that watches the folders of mapped files — never
single files, so an editor's rename-save keeps being seen — with events or by polling, drops editor temp files
and unmapped paths, and falls back to polling with advice when the kernel's inotify limits are reached. Deciding
what a burst of saves means is pure and lives in ``core``; the watch and preview use cases build on this.

May import ``core``, ``state``, ``budget``, ``manifest`` and ``git``.
"""

from kamsync.watch.files import FileWatcher, is_editor_temp

__all__ = ["FileWatcher", "is_editor_temp"]
