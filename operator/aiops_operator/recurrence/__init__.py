"""Recurrence: how often one target failed with one error type, from the Incidents and the recurrence record."""
