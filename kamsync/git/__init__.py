"""The one git seam (``repo``: every git process kamsync starts), history (which commits hold a value), ranges
(which mapped files a range touched), the fork point and deployed commit (``lineage``), reading a commit's files
(``tree``), the workspace a command works on (``workspace``: the checkout, its manifest, the commit files are
read from), pre-push lines (``prepush``), recording values pulled from Kameleoon as history (``pulled``), and
the HEAD and staged entries a watch compares (``checkout``).

May import ``core``, ``state``, ``budget`` and ``manifest``.
"""
