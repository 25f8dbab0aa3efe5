"""Whether a process still runs, asked without disturbing it, on POSIX systems and Windows.

``os.kill(pid, 0)`` only asks on POSIX: on Windows it terminates the process. There the question goes to
``OpenProcess`` and ``GetExitCodeProcess`` instead.
"""

from __future__ import annotations

import os
import sys

__all__ = ["pid_alive"]

_STILL_ACTIVE = 259
_ERROR_ACCESS_DENIED = 5
_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (one of another user counts: it may be running kamsync too)."""
    if pid <= 0:  # kill(0, …) would address our own process group
        return False
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists but belongs to someone else
        return True
    return True


if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    def _windows_pid_alive(pid: int) -> bool:
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            return ctypes.get_last_error() == _ERROR_ACCESS_DENIED  # it exists but belongs to someone else
        try:
            code = wintypes.DWORD()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True  # cannot tell: the safe side is to count it as running
            return code.value == _STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
