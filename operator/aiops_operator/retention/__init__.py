"""Retention: resolved incidents are deleted after a while, their summary kept in the recurrence record."""
