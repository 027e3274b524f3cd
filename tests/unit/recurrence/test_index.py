"""The operator's index of watched Incidents: keyed by target and error type, a run's chain, deletes forget."""

from __future__ import annotations

from typing import Any

from aiops_operator.api import EndedAs
from aiops_operator.recurrence.index import RecurrenceIndex

from tests.support.builders import NOW, analysis, incident


def body(name: str, uid: str, occurrence: int = 1, resolved: bool = False, analyzed: bool = True) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if analyzed:
        status["analysis"] = analysis().to_wire()
    if resolved:
        status["phase"] = "Resolved"
        status["resolution"] = {"resolvedTime": NOW.isoformat(), "resolvedBy": "Alert", "mttrSeconds": 5}
    obj = incident(**status).to_wire()
    obj["metadata"].update(name=name, uid=uid)
    obj["spec"]["occurrence"] = occurrence
    return obj


def test_incidents_of_one_target_and_error_type_and_a_runs_newest_occurrence() -> None:
    index = RecurrenceIndex()
    index.observe("ADDED", body("adf-x-1", "u1", resolved=True))
    index.observe("ADDED", body("adf-x-1-r2", "u2", occurrence=2))
    index.observe("ADDED", body("adf-y-1", "u3", analyzed=False))  # not analyzed: no error type yet
    first = index.history("ns", next(iter(index.resolved())).target, "GatewayTimeout")
    assert sorted((e.name, e.ended_as) for e in first.entries) == [
        ("adf-x-1", EndedAs.RESOLVED), ("adf-x-1-r2", EndedAs.OPEN)]
    assert index.newest_occurrence("ns", "adf-x-1") == 2
    assert [t.name for t in index.resolved()] == ["adf-x-1"]
    index.observe("DELETED", body("adf-x-1-r2", "u2", occurrence=2))
    assert index.newest_occurrence("ns", "adf-x-1") == 1
    assert len(index) == 2


def test_bounded_the_oldest_failure_goes_first() -> None:
    index = RecurrenceIndex(max_incidents=2)
    for n in range(3):
        index.observe("ADDED", body(f"adf-x-{n}", f"u{n}"))
    assert len(index) == 2
