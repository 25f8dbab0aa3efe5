"""What a person or a program sees: the console (every human line, made visible, coloured on a terminal),
the progress line, and every human line and JSON document a command makes.

Use cases return report values (``kamsync.core.reports``) and hand events (``kamsync.core.events``) to their
``Report`` port; ``view.View`` is that port on the console. Each value type has one renderer, in the module of
its command family (``status``, ``push``, ``creation``, ``pull``, ``quota``, ``doctor``, ``hook``; ``session``
for the events every command shares), registered with ``show.renders``; ``render`` holds the pieces they share.
A new command family adds a module with its ``@renders`` functions and its name in ``show.FAMILIES``.

May import ``core``, ``state``, ``budget``, ``manifest``, ``git`` and ``api``.
"""
