"""The use cases: status, diff, pull, push, apply, doctor and watch (``watch``: the loop; ``watch_batch``: one
batch), and what they open (workspace, session: client and budget). They decide with ``core``, read and write
through the edges, and return report values.

May import every sub-package but ``hook`` and ``cli``.
"""
