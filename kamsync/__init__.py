"""kamsync: keep Kameleoon A/B-test code in Git, and Kameleoon in step with it."""

__version__ = "0.1.0"
