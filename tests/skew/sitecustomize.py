"""Loaded by a kamsync process the tests start with this folder on PYTHONPATH: its wall clock runs
``KAMSYNC_TEST_CLOCK_SKEW`` seconds ahead (or behind), as a machine whose clock is wrong. The OS clock is the
seam; nothing of kamsync is replaced."""

import os
import time

_SKEW = float(os.environ.get("KAMSYNC_TEST_CLOCK_SKEW", "0") or 0)
if _SKEW:
    _time, _time_ns = time.time, time.time_ns
    time.time = lambda: _time() + _SKEW
    time.time_ns = lambda: _time_ns() + int(_SKEW * 1e9)
