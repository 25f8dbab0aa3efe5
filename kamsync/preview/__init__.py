"""``kamsync preview``: one variation's local code on a real page, with no request to Kameleoon. The server on
127.0.0.1 (``server``: a random token in every URL, the Host checked against DNS rebinding), the JavaScript it
hands out (``scripts``: loader, bookmarklet, console snippet, userscript), the use case (``run``: it follows saves
through ``kamsync.watch``'s file watcher), and ``--remote``, which pushes to a draft through push's planning and
prints Kameleoon's simulation URL (``remote``).

May import every sub-package but ``hook`` and ``cli``.
"""
