"""Databricks state machines: idempotent run-now, repairs with latest_repair_id, cluster transitions."""

from __future__ import annotations

import pytest

from sandbox.clock import ManualClock
from sandbox.databricks import DatabricksState, library_coordinate
from sandbox.endpoint import ApiError
from sandbox.scenario import parse_scenario

SCENARIO = parse_scenario({"databricks": {
    "jobs": {7: {"tasks": ["a", "b", "c"], "runs": [
        {"result": "FAILED", "failed_task": "b", "error": "boom", "duration_seconds": 4},
        {"result": "SUCCESS", "duration_seconds": 2}]}},
    "clusters": {"c1": {"state": "TERMINATED", "start_seconds": 3, "start_outcomes": ["TERMINATED", "RUNNING"]}},
}})


def test_one_run_per_idempotency_token() -> None:
    clock = ManualClock()
    state = DatabricksState(SCENARIO, clock.now())
    first = state.run_now(7, "tok", {}, clock.now())
    assert state.run_now(7, "tok", {}, clock.now()) is first
    assert state.run_now(7, None, {}, clock.now()) is not first


def test_failed_task_then_repair_of_failed_tasks() -> None:
    clock = ManualClock()
    state = DatabricksState(SCENARIO, clock.now())
    run = state.run_now(7, None, {}, clock.now())
    assert run.state(clock.now())["life_cycle_state"] == "RUNNING"
    with pytest.raises(ApiError, match="still active"):
        state.repair(run.run_id, rerun_tasks=None, rerun_all_failed=True, latest_repair_id=None, now=clock.now())
    clock.advance(4)
    results = {t: s[1] for t, s in run.task_states(clock.now()).items()}
    assert results == {"a": "SUCCESS", "b": "FAILED", "c": "UPSTREAM_FAILED"}
    assert run.state(clock.now())["result_state"] == "FAILED"
    repair_id = state.repair(run.run_id, rerun_tasks=None, rerun_all_failed=True, latest_repair_id=None,
                             now=clock.now())
    assert list(run.executions[-1].task_run_ids) == ["b", "c"]
    clock.advance(2)
    assert run.state(clock.now())["result_state"] == "SUCCESS"
    with pytest.raises(ApiError, match="latest_repair_id"):
        state.repair(run.run_id, rerun_tasks=["a"], rerun_all_failed=False, latest_repair_id=None, now=clock.now())
    assert state.repair(run.run_id, rerun_tasks=["a"], rerun_all_failed=False, latest_repair_id=repair_id,
                        now=clock.now()) != repair_id


def test_cluster_start_fails_then_succeeds_and_resizes() -> None:
    clock = ManualClock()
    state = DatabricksState(SCENARIO, clock.now())
    cluster = state.cluster("c1")
    cluster.start(clock.now())
    assert cluster.state == "PENDING"
    clock.advance(3)
    cluster.settle(clock.now())
    assert cluster.state == "TERMINATED"
    assert cluster.termination is not None
    assert cluster.termination[0] == "CLOUD_PROVIDER_LAUNCH_FAILURE"
    cluster.start(clock.now())
    with pytest.raises(ApiError, match="unexpected state"):
        cluster.start(clock.now())
    clock.advance(3)
    cluster.resize(clock.now(), 5, None)
    assert cluster.state == "RESIZING"
    clock.advance(3)
    cluster.settle(clock.now())
    assert (cluster.state, cluster.num_workers) == ("RUNNING", 5)


def test_resize_needs_a_running_cluster() -> None:
    state = DatabricksState(SCENARIO, 0.0)
    with pytest.raises(ApiError, match="unexpected state"):
        state.cluster("c1").resize(0.0, 3, None)
    with pytest.raises(ApiError, match="does not exist"):
        state.cluster("nope")


@pytest.mark.parametrize(("spec", "coordinate"), [
    pytest.param({"pypi": {"package": "pandas==2.2.0"}}, "pypi:pandas==2.2.0", id="pypi"),
    pytest.param({"maven": {"coordinates": "g:a:1"}}, "maven:g:a:1", id="maven"),
    pytest.param({"jar": "dbfs:/x.jar"}, "jar:dbfs:/x.jar", id="jar"),
])
def test_library_coordinates(spec: dict[str, object], coordinate: str) -> None:
    assert library_coordinate(spec) == coordinate


def test_uninstall_forgets_only_the_named_libraries() -> None:
    clock = ManualClock()
    state = DatabricksState(parse_scenario({"databricks": {"clusters": {"c2": {"state": "RUNNING"}}}}), clock.now())
    state.install("c2", [{"pypi": {"package": "pandas==2.1.4"}}, {"pypi": {"package": "numpy==1.26.3"}}],
                  clock.now())
    state.uninstall("c2", ["pypi:pandas==2.1.4"])
    assert [lib.coordinate for lib in state.clusters["c2"].libraries] == ["pypi:numpy==1.26.3"]


def test_seeded_runs_with_consecutive_ids_keep_their_own_task_runs() -> None:
    # Run ids and task run ids share one id space in Databricks: a seeded run's task must not take the id of
    # the next seeded run (get-output of that task would answer with the other run's error).
    scenario = parse_scenario({"databricks": {
        "jobs": {1: {"tasks": ["t"]}, 2: {"tasks": ["t"]}},
        "seeded_runs": [{"run_id": 7000041, "job_id": 1, "result": "FAILED", "error": "first"},
                        {"run_id": 7000042, "job_id": 2, "result": "TIMEDOUT", "error": "second"}]}})
    state = DatabricksState(scenario, ManualClock().now())
    task_runs = {run_id: run.executions[0].task_run_ids["t"] for run_id, run in state.runs.items()}
    assert sorted(task_runs) == [7000041, 7000042]
    assert not set(task_runs.values()) & set(task_runs)
    assert {state.task_runs[task] for task in task_runs.values()} == {(7000041, "t"), (7000042, "t")}
