"""The command line: click commands only. Each parses its flags, builds the settings, calls one use case of
``kamsync.sync`` or ``kamsync.hook``, renders its result with ``kamsync.ui`` and returns the exit code. Errors
become messages and exit codes here and only here (``main``); an unexpected one leaves a crash file (``crash``).

``options`` holds the options every command shares (global ones are accepted before and after the command);
``sync_commands``, ``hook_commands``, ``login_commands`` and ``sandbox_command`` the commands; ``main`` the group
and the translator.

May import every other sub-package; nothing imports it.
"""

from kamsync.cli.main import main

__all__ = ["main"]
