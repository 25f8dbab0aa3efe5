"""The use cases: status, diff, pull, push, apply, doctor, login and logout, and what they open (workspace, session:
client and budget). They decide with ``core``, read and write through the edges, and return report values.

May import every sub-package but ``hook`` and ``cli``.
"""
