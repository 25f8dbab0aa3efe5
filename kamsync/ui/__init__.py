"""What a person or a program sees: the console (every human line, made visible, coloured on a terminal),
the progress line, rendering results as text and JSON (``render``), and the watch view (``watch``).

May import ``core``, ``state``, ``budget``, ``manifest``, ``git``, ``watch`` and ``api``.
"""
