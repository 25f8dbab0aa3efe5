"""The file watcher on real file-system events: folders watched, editor temp files and unmapped files dropped,
rename-saves still seen, polling, and the fallback to polling when inotify's limits are reached."""

from __future__ import annotations

import errno
import os
import queue
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from watchdog.observers import Observer

from kamsync.watch.files import FileWatcher, ObserverLike, inotify_limit_advice, is_editor_temp

TIMEOUT = 10.0


class Seen:
    """Every set of mapped paths the watcher called back with, in order."""

    def __init__(self) -> None:
        self.calls: queue.Queue[frozenset[Path]] = queue.Queue()
        self.all: list[frozenset[Path]] = []

    def __call__(self, paths: frozenset[Path]) -> None:
        self.calls.put(paths)

    def until(self, path: Path) -> list[frozenset[Path]]:
        """Every call up to and including the first naming ``path`` (an ordering barrier, not a sleep)."""
        got: list[frozenset[Path]] = []
        while True:
            paths = self.calls.get(timeout=TIMEOUT)
            got.append(paths)
            self.all.append(paths)
            if path in paths:
                return got


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "variations" / "red").mkdir(parents=True)
    return tmp_path


def watching(paths: list[Path], seen: Seen, **kwargs: object) -> FileWatcher:
    return FileWatcher(paths, seen, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def mapped(folder: Path) -> Iterator[tuple[Path, Path, Seen]]:
    js, css = folder / "variations" / "red" / "variation.js", folder / "common.css"
    js.write_text("a\n")
    seen = Seen()
    with watching([js, css], seen):
        yield js, css, seen


@pytest.mark.parametrize(
    ("name", "temp"),
    [
        ("variation.js", False),
        ("common.css", False),
        ("4913x", False),
        ("variation.js.tmp.1234", True),
        (".variation.js.swp", True),
        (".variation.js.swx", True),
        ("variation.js~", True),
        (".#variation.js", True),
        ("4913", True),
        (".goutputstream-X1Y2Z3", True),
        (".variation.js.k2j3h4.tmp", True),
        ("variation.js___jb_tmp___", True),
    ],
)
def test_editor_temp_names(name: str, temp: bool) -> None:
    assert is_editor_temp(name) is temp


def test_a_save_calls_back_with_the_mapped_path(mapped: tuple[Path, Path, Seen]) -> None:
    js, _css, seen = mapped
    js.write_text("b\n")
    assert all(call == {js} for call in seen.until(js))


def test_a_file_created_in_a_watched_folder_is_seen(mapped: tuple[Path, Path, Seen]) -> None:
    _js, css, seen = mapped
    css.write_text("body{}\n")  # did not exist at start: its folder is what is watched
    assert all(call == {css} for call in seen.until(css))


def test_editor_temp_files_and_unmapped_files_call_nothing(mapped: tuple[Path, Path, Seen]) -> None:
    js, _css, seen = mapped
    red = js.parent
    for name in ("variation.js.tmp.77", ".variation.js.swp", "variation.js~", ".#variation.js", "4913"):
        (red / name).write_text("x")
        (red / name).unlink()
    (red / ".goutputstream-AB12").write_text("x")
    (red / "notes.md").write_text("unmapped")
    (red.parent.parent / "other.js").write_text("unmapped too")
    js.write_text("after\n")  # events of one folder arrive in order: this one comes after all of the above
    assert all(call == {js} for call in seen.until(js))


def test_a_vim_rename_save_is_still_watched(mapped: tuple[Path, Path, Seen]) -> None:
    js, _css, seen = mapped
    for text in ("first\n", "second\n"):  # vim with backupcopy=no: probe, back up by renaming, write anew
        (js.parent / "4913").write_text("")
        (js.parent / "4913").unlink()
        backup = js.with_name(js.name + "~")
        os.replace(js, backup)
        js.write_text(text)
        backup.unlink()
        seen.until(js)
    assert js.read_text() == "second\n"
    assert all(call == {js} for call in seen.all)


def test_an_atomic_replace_onto_the_mapped_name_is_seen(mapped: tuple[Path, Path, Seen]) -> None:
    js, _css, seen = mapped
    tmp = js.with_name("variation.js.tmp.991")
    tmp.write_text("replaced\n")
    os.replace(tmp, js)
    assert all(call == {js} for call in seen.until(js))


def test_polling_sees_saves_and_rename_saves(folder: Path) -> None:
    js = folder / "variations" / "red" / "variation.js"
    js.write_text("a\n")
    seen = Seen()
    with watching([js], seen, poll=True, poll_interval=0.05) as watcher:
        assert watcher.polling
        js.write_text("longer content\n")
        seen.until(js)
        tmp = js.with_name("variation.js.tmp.5")
        tmp.write_text("renamed over\n")
        os.replace(tmp, js)
        seen.until(js)
    assert all(call == {js} for call in seen.all)


def test_missing_folders_are_named_and_not_watched(folder: Path) -> None:
    absent = folder / "variations" / "gone" / "variation.js"
    watcher = watching([absent], Seen())
    assert watcher.missing == {absent.parent}
    with watcher:
        pass


def refusing(error_number: int) -> Callable[[], ObserverLike]:
    """An event observer whose kernel refuses a watch as inotify does at its limits (the OS seam)."""

    class Refusing(Observer):  # type: ignore[misc,valid-type]
        def schedule(self, *args: object, **kwargs: object) -> object:
            raise OSError(error_number, os.strerror(error_number))

    return Refusing


@pytest.mark.parametrize(
    ("error_number", "sysctl"),
    [(errno.ENOSPC, "fs.inotify.max_user_watches"), (errno.EMFILE, "fs.inotify.max_user_instances")],
)
def test_an_inotify_limit_names_its_sysctl_and_falls_back_to_polling(
    folder: Path, error_number: int, sysctl: str
) -> None:
    js = folder / "variations" / "red" / "variation.js"
    js.write_text("a\n")
    seen, notices = Seen(), []
    watcher = watching(
        [js],
        seen,
        poll_interval=0.05,
        on_notice=notices.append,
        observer_factory=refusing(error_number),
        read_sysctl=lambda name: 8192 if name == sysctl else None,
    )
    with watcher:
        assert watcher.polling
        js.write_text("seen by polling\n")
        seen.until(js)
    assert notices == [
        f"cannot watch 1 folder(s) with inotify: the limit {sysctl} (now 8192) is reached; raise it with "
        f"`sudo sysctl {sysctl}={524288 if 'watches' in sysctl else 512}` (and a file in /etc/sysctl.d/ to keep "
        "it); watching by polling instead"
    ]


def test_other_errors_are_not_taken_for_a_limit(folder: Path) -> None:
    watcher = watching([folder / "common.js"], Seen(), observer_factory=refusing(errno.EACCES))
    with pytest.raises(PermissionError):
        watcher.start()
    assert inotify_limit_advice(errno.EACCES, None, 1) is None
    assert "(now" not in (inotify_limit_advice(errno.ENOSPC, None, 3) or "")
