"""Which resolved incidents retention deletes: pure, time passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiops_operator.api import EndedAs
from aiops_operator.recurrence.index import Tracked
from aiops_operator.recurrence.summary import Entry
from aiops_operator.retention.decision import due, is_due

NOW = datetime(2026, 12, 7, tzinfo=UTC)
DAY = timedelta(days=1)


def tracked(name: str, resolved_days_ago: float | None, occurrence: int = 1) -> Tracked:
    resolved = NOW - timedelta(days=resolved_days_ago) if resolved_days_ago is not None else None
    return Tracked("ns", name, f"uid-{name}", "adf-x", occurrence, resolved, "t", "GatewayTimeout",
                   Entry(f"uid-{name}", name, NOW - 20 * DAY, EndedAs.RESOLVED))


@pytest.mark.parametrize(("item", "newest", "retention", "expected"), [
    pytest.param(tracked("a", 15), 1, 14 * DAY, True, id="past-retention"),
    pytest.param(tracked("a", 13), 1, 14 * DAY, False, id="within-retention"),
    pytest.param(tracked("a", 14), 1, 14 * DAY, True, id="exactly-at-retention"),
    pytest.param(tracked("a", None), 1, 14 * DAY, False, id="open-never"),
    pytest.param(tracked("a", 400), 1, timedelta(0), False, id="retention-off"),
    pytest.param(tracked("a", 15), 2, 14 * DAY, False, id="a-later-occurrence-is-still-there"),
    pytest.param(tracked("a-r2", 15, occurrence=2), 2, 14 * DAY, True, id="newest-of-its-run-first"),
])
def test_is_due(item: Tracked, newest: int, retention: timedelta, expected: bool) -> None:
    assert is_due(item, newest, retention, NOW) is expected


def test_longest_resolved_first_and_bounded_per_sweep() -> None:
    items = [tracked("b", 20), tracked("a", 30), tracked("c", 16), tracked("d", 1)]
    assert [t.name for t in due(items, lambda _: 1, 14 * DAY, NOW, limit=2)] == ["a", "b"]
