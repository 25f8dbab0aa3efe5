"""The git pre-push hook: installing it (``install``), running it on the pushed ref lines (``run``), and its
work once a range touches mapped files (``work``).

May import everything but ``ui`` and ``cli``: like the use cases, it reports values through the port.
"""
