"""The use cases: status, diff, pull, push, apply and doctor, and what they open (workspace, session: client and
budget). They decide with ``core``, read and write through the edges, and return report values. For GitHub
Actions (``--format github``): plan, push and status as one report (``github``), published to the log, summary,
outputs and comment (``github_publish``, run by ``actions``), and the drift check with its pull request (``drift``).

May import every sub-package but ``hook`` and ``cli``.
"""
