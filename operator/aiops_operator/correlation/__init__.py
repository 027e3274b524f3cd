"""Correlation (pure): what one failure names of others, so one root cause makes one incident."""
