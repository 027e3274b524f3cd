"""ADF run state: outcomes in order, InProgress until the duration passes, recovery runs."""

from __future__ import annotations

import pytest

from sandbox.adf import AdfState
from sandbox.clock import ManualClock, iso
from sandbox.endpoint import ApiError
from sandbox.scenario import parse_scenario

SCENARIO = parse_scenario({"adf": {"pipelines": {"p": {
    "activities": ["A", "B", "C"],
    "runs": [{"status": "Failed", "failed_activity": "B", "duration_seconds": 10, "message": "boom"},
             {"status": "Succeeded", "duration_seconds": 5}]}}}})


def create(state: AdfState, clock: ManualClock, **kwargs: object) -> str:
    args: dict[str, object] = {"pipeline": "p", "factory": "f", "resource_group": "rg", "parameters": {},
                               "reference_run_id": None, "is_recovery": False, "start_activity": None,
                               "start_from_failure": False, "now": clock.now(), **kwargs}
    return state.create_run(**args).run_id  # type: ignore[arg-type]


def test_runs_take_scripted_outcomes_in_order_and_the_last_repeats() -> None:
    clock = ManualClock()
    state = AdfState(SCENARIO, clock.now())
    first = state.runs[create(state, clock)]
    assert first.status(clock.now()) == "InProgress"
    assert [a["status"] for a in first.activity_runs(clock.now())] == ["InProgress"]
    clock.advance(10)
    assert first.status(clock.now()) == "Failed"
    assert first.message(clock.now()) == "Operation on target B failed: boom"
    assert [(a["activityName"], a["status"]) for a in first.activity_runs(clock.now())] == [
        ("A", "Succeeded"), ("B", "Failed")]
    second, third = state.runs[create(state, clock)], state.runs[create(state, clock)]
    clock.advance(5)
    assert second.status(clock.now()) == third.status(clock.now()) == "Succeeded"


def test_recovery_from_failure_starts_at_the_failed_activity() -> None:
    clock = ManualClock()
    state = AdfState(SCENARIO, clock.now())
    failed_id = create(state, clock)
    clock.advance(10)
    rerun = state.runs[create(state, clock, reference_run_id=failed_id, is_recovery=True, start_from_failure=True)]
    assert rerun.start_activity == "B"
    assert rerun.run_group_id == failed_id
    assert state.runs[failed_id].is_latest is False
    clock.advance(5)
    assert [a["activityName"] for a in rerun.activity_runs(clock.now())] == ["B", "C"]


def test_unknown_reference_and_activity_are_bad_requests() -> None:
    clock = ManualClock()
    state = AdfState(SCENARIO, clock.now())
    with pytest.raises(ApiError, match="reference"):
        create(state, clock, reference_run_id="nope")
    with pytest.raises(ApiError, match="Activity 'Z'"):
        create(state, clock, start_activity="Z")


def test_query_filters_and_time_window() -> None:
    clock = ManualClock()
    state = AdfState(SCENARIO, clock.now())
    create(state, clock)
    clock.advance(10)
    window = {"lastUpdatedAfter": iso(clock.now() - 60), "lastUpdatedBefore": iso(clock.now() + 1)}
    failed = {**window, "filters": [{"operand": "Status", "operator": "Equals", "values": ["Failed"]}]}
    assert len(state.query_runs("f", failed, clock.now())) == 1
    assert state.query_runs("other-factory", failed, clock.now()) == []
    with pytest.raises(ApiError, match="lastUpdatedAfter"):
        state.query_runs("f", {"lastUpdatedBefore": iso(clock.now())}, clock.now())


def test_cancel_stops_an_in_progress_run_only() -> None:
    clock = ManualClock()
    state = AdfState(SCENARIO, clock.now())
    run_id = create(state, clock)
    state.cancel(run_id, "f", clock.now())
    assert state.runs[run_id].status(clock.now()) == "Cancelled"
