"""What kamsync keeps on disk: under ``.git/kamsync`` the record of each field's base, the write journal and
the repository lock; in the user's folders the token cache; and atomic file writes (``files``).

May import ``core``.
"""
