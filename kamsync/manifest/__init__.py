"""The manifest, ``kamsync.yaml``: finding it, one validated parse for every command (hostile YAML refused
first, in ``yamlread``), and editing it while keeping comments (``edit``).

May import ``core``, ``state`` and ``budget`` (to check a ``rate_limit``).
"""
