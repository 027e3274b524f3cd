"""The recurrence record's data: pruned to 30 days and MAX_ENTRIES, idempotent by uid, tolerant of bad data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from aiops_operator.api import EndedAs
from aiops_operator.recurrence.record import MAX_ENTRIES, decode, record_name, with_entry
from aiops_operator.recurrence.summary import Entry

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def entry(n: int, days_before: float) -> Entry:
    return Entry(f"uid-{n}", f"adf-pl-{n}", NOW - timedelta(days=days_before), EndedAs.AUTO_HEALED, "RerunPipeline")


def test_an_entry_round_trips_and_a_second_add_of_the_same_uid_changes_nothing() -> None:
    data = with_entry(None, entry(1, 2), NOW)
    assert data is not None
    assert decode(data).entries == (entry(1, 2),)
    assert with_entry(data, entry(1, 2), NOW) is None


def test_entries_older_than_30_days_are_pruned_on_the_next_write() -> None:
    data = with_entry(None, entry(1, 29), NOW)
    later = with_entry(data, entry(2, 0), NOW + timedelta(days=2))
    assert later is not None
    assert [e.name for e in decode(later).entries] == ["adf-pl-2"]
    assert not decode(later).incomplete  # aged out is not dropped


def test_over_the_bound_the_oldest_go_and_the_record_says_it_is_incomplete() -> None:
    data: dict[str, str] | None = None
    for n in range(MAX_ENTRIES + 3):
        data = with_entry(data, entry(n, 20 - n * 0.01), NOW) or data
    history = decode(data)
    assert len(history.entries) == MAX_ENTRIES
    assert "adf-pl-0" not in {e.name for e in history.entries}
    assert history.incomplete
    assert data is not None
    assert data["dropped"] == "3"
    assert len(json.dumps(data)) < 100_000  # far below a ConfigMap's 1 MiB


def test_unreadable_data_is_skipped_not_fatal() -> None:
    assert decode({"entries": "not json"}).entries == ()
    assert decode({"entries": json.dumps([["uid", "n", "yesterday", "AutoHealed", "", ""], [1, 2]])}).entries == ()


def test_one_record_per_target_and_error_type_with_a_valid_name() -> None:
    name = record_name("abc", "GatewayTimeout")
    assert name != record_name("abc", "ThrottlingError")
    assert len(name) <= 63
    assert name == name.lower()
