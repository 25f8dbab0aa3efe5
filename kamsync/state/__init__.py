"""What kamsync keeps on disk: under ``.git/kamsync`` the record of each field's base, the write journal and the
repository lock; in the user's folders the token cache and a partner app's login (``logins``); atomic file writes
(``files``); and the OS edges these stand on, on every OS: the exclusive file lock (``oslock``) and whether a
process runs (``process``).

May import ``core``.
"""
