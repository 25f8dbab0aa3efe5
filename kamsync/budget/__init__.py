"""The rate budget: the rate windows (``windows``), pricing a command's requests against them (``pricing``), the
ledger every kamsync process of a credential shares (``ledger``), and the quota report (``quota``).

May import ``core`` and ``state``.
"""
