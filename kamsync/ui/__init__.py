"""What a person or a program sees: the console (every human line, made visible, coloured on a terminal),
the progress line, and rendering results as text and JSON (``render``); for GitHub Actions, workflow
commands (``github``), inert Markdown within GitHub's size limits (``markdown``) and the console that keeps remote
text from being obeyed as a command (``actions_console``).

May import ``core``, ``state``, ``budget``, ``manifest``, ``git`` and ``api``.
"""
