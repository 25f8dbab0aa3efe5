"""Pure values and decisions, no I/O: the model of what the manifest maps and what Kameleoon holds, normalising
code, the error root, field states and their rules, the push plan, the saved-plan format, merge markers, the
reports use cases return (``reports``), the events they report while they run (``events``), and how a length of
time reads (``durations``).

Imports nothing of kamsync outside ``core``.
"""
