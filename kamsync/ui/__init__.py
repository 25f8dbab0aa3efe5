"""What a person or a program sees: the console (every human line, made visible, coloured on a terminal),
the progress line, and every human line and JSON document a command makes.

Use cases return report values (``kamsync.core.reports``) and hand events (``kamsync.core.events``) to their
``Report`` port; ``view.View`` is that port on the console. Each value type has one renderer, in the module of
its command family (``status``, ``push``, ``creation``, ``pull``, ``quota``, ``doctor``, ``hook``, ``watch``;
``session`` for the events every command shares), registered with ``show.renders``; ``render`` holds the pieces
they share. A new command family adds a module with its ``@renders`` functions and its name in ``show.FAMILIES``.

For GitHub Actions (``--format github``): workflow commands (``github``), inert Markdown within GitHub's size
limits (``markdown``), the console that keeps remote text from being obeyed as a command (``actions_console``),
and publishing a run's report to the log, the job summary, the step outputs, the sticky comment and the drift
pull request (``publish``); ``runs`` renders its values on the console.

May import ``core``, ``state``, ``budget``, ``manifest``, ``git``, ``watch`` and ``api``.
"""
