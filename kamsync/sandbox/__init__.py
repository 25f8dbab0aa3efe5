"""A faithful local imitation of the part of the Kameleoon Automation API that kamsync uses, on loopback.

``Sandbox`` serves it from a thread (tests, demos); ``serve`` is the blocking ``kamsync sandbox`` command.
``Sandbox.store`` gives direct access to the state, to act as someone editing in the Kameleoon UI;
``Sandbox.faults`` arms deterministic faults (``kamsync.sandbox.faults`` describes the spec strings);
``Sandbox.clock`` moves the sandbox's time forward (``Sandbox(clock=Clock.stopped())`` for exact tests);
``Sandbox.oauth`` is the partner apps' authorization-code flow (``kamsync.sandbox.oauth``).
"""

from __future__ import annotations

from kamsync.sandbox.clock import Clock
from kamsync.sandbox.faults import DROPPED, FaultEvent, Faults, parse_fault
from kamsync.sandbox.server import DEFAULT_TOKEN_TTL, Sandbox, serve
from kamsync.sandbox.state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from kamsync.sandbox.store import Store
from kamsync.sandbox.wire import Fault, RequestRecord

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_TOKEN_TTL",
    "DROPPED",
    "Clock",
    "Fault",
    "FaultEvent",
    "Faults",
    "RequestRecord",
    "Sandbox",
    "Store",
    "parse_fault",
    "serve",
]
