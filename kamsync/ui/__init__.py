"""What a person or a program sees: the console (every human line, made visible, coloured on a terminal),
the progress line, and rendering results as text and JSON (``render``).

May import ``core``, ``state``, ``budget``, ``manifest``, ``git`` and ``api``.
"""
