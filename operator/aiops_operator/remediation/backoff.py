"""How long to wait before attempt n of a rule (pure)."""

from __future__ import annotations

from datetime import timedelta

from aiops_operator.api import Backoff

MAX_WAIT_SECONDS = 7 * 24 * 3600
"""Bound on any computed wait, so a large factor cannot overflow or schedule beyond a week."""


def wait_before(backoff: Backoff, attempt: int) -> timedelta:
    """Wait before attempt `attempt` (1-based).

    An explicit `seconds` list gives the wait before attempts 1, 2, ... and its
    last value repeats; otherwise `initialSeconds * factor**(n-1)` (factor 2
    when unset). `maxSeconds` caps either. No schedule at all means no wait.
    """
    if attempt < 1:
        raise ValueError(f"attempts are numbered from 1, got {attempt}")
    if backoff.seconds:
        seconds = float(backoff.seconds[min(attempt, len(backoff.seconds)) - 1])
    elif backoff.initial_seconds is not None:
        factor = backoff.factor if backoff.factor is not None else 2.0
        exponent = min(attempt - 1, 64)
        seconds = min(backoff.initial_seconds * factor**exponent, float(MAX_WAIT_SECONDS))
    else:
        seconds = 0.0
    if backoff.max_seconds is not None:
        seconds = min(seconds, float(backoff.max_seconds))
    return timedelta(seconds=max(0.0, min(seconds, float(MAX_WAIT_SECONDS))))
