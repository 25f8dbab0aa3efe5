"""The rate budget: the rate windows and the one grant decision (``windows``), pricing a command's requests against
them (``pricing``), the ledger every kamsync process of a credential shares — an interface (``backend``) with two
backends, this machine's file (``ledger``) and a Redis server every machine reaches (``redisledger``, its script in
``redisscript``, its URL in ``ledgerurl``) — and the quota report (``quota``).

May import ``core`` and ``state``.
"""
