"""The use cases: status, diff, pull, push, apply, doctor, login and logout, and what they open (workspace, session:
client and budget). They decide with ``core``, read and write through the edges, and return report values; what
happens while they run goes to the ``Report`` port (``report``) as event values. They print nothing:
``kamsync.ui`` shows both.

May import every sub-package but ``ui``, ``hook`` and ``cli``: what it says goes through the port.
"""
