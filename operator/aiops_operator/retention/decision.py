"""Which resolved incidents retention deletes now (pure; time passed in).

An incident is due when it has been Resolved for the retention time and no
later occurrence of its run is still there: a run's chain of re-fires is
deleted newest first, so the receiver's walk of the chain (`<first>`,
`<first>-r2`, ...) never meets a gap and never re-creates an old name while a
later occurrence is open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from aiops_operator.recurrence.index import Tracked


def is_due(item: Tracked, newest_occurrence: int, retention: timedelta, now: datetime) -> bool:
    """Whether `item` may be deleted now (`newest_occurrence`: the highest occurrence of its run still there)."""
    if item.resolved_time is None or retention <= timedelta(0):
        return False
    return item.resolved_time + retention <= now and item.occurrence >= newest_occurrence


def due(items: Iterable[Tracked], newest_occurrence: Callable[[Tracked], int], retention: timedelta,
        now: datetime, limit: int) -> list[Tracked]:
    """Up to `limit` incidents to delete now, longest resolved first."""
    ready = [i for i in items if is_due(i, newest_occurrence(i), retention, now)]
    ready.sort(key=lambda i: (i.resolved_time or now, i.namespace, i.name))
    return ready[:limit]
