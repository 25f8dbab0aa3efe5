"""Pure values and decisions, no I/O: the model of what the manifest maps and what Kameleoon holds, normalising
code, the error root, field states and their rules, the push plan, the saved-plan format, merge markers, and
the reports use cases return (``reports``).

Imports nothing of kamsync outside ``core``.
"""
