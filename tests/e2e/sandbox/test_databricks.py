"""databricks-sdk against the sandbox: jobs, repairs, clusters and libraries."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue, ResourceDoesNotExist, Unauthenticated
from databricks.sdk.service.compute import Library, PythonPyPiLibrary, State
from databricks.sdk.service.jobs import RunLifeCycleState, RunResultState

from sandbox.testing import RunningSandbox

OOM = "java.lang.OutOfMemoryError: Java heap space"


def eventually(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_run_now_is_idempotent_per_token(sandbox: RunningSandbox, databricks: WorkspaceClient) -> None:
    sandbox.control.load({"databricks": {"jobs": {"42": {"runs": [{"result": "SUCCESS", "duration_seconds": 0}]}}}})
    # The SDK's Wait[...] leaves its attributes untyped: name the type the API documents.
    first: int = databricks.jobs.run_now(42, idempotency_token="incident-abc-1").run_id
    again: int = databricks.jobs.run_now(42, idempotency_token="incident-abc-1").run_id
    other: int = databricks.jobs.run_now(42, idempotency_token="incident-abc-2").run_id
    assert first == again != other
    assert len(sandbox.control.databricks_runs()) == 2
    assert len(sandbox.control.calls(service="databricks", op="jobs/run-now")) == 3
    run = databricks.jobs.get_run(first)
    assert run.state is not None
    assert run.state.life_cycle_state == RunLifeCycleState.TERMINATED
    assert run.state.result_state == RunResultState.SUCCESS
    listed = list(databricks.jobs.list_runs(job_id=42))
    assert sorted(r.run_id for r in listed if r.run_id) == sorted([first, other])


def test_seeded_failure_output_and_repair(sandbox: RunningSandbox, databricks: WorkspaceClient) -> None:
    sandbox.control.load({"databricks": {
        "jobs": {"123": {"name": "nightly_etl", "tasks": ["ingest", "transform"],
                         "runs": [{"result": "FAILED", "failed_task": "transform", "error": OOM,
                                   "duration_seconds": 0},
                                  {"result": "SUCCESS", "duration_seconds": 0.2}]}},
        "seeded_runs": [{"run_id": 555, "job_id": 123, "result": "FAILED", "failed_task": "transform",
                         "error": OOM, "error_trace": "at org.apache.spark.Executor..."}]}})

    run = databricks.jobs.get_run(555)
    assert run.state is not None
    assert run.state.result_state == RunResultState.FAILED
    assert run.run_page_url
    assert "/run/555" in run.run_page_url
    tasks = {t.task_key: t for t in run.tasks or []}
    assert tasks["ingest"].state
    assert tasks["ingest"].state.result_state == RunResultState.SUCCESS
    failed = tasks["transform"]
    assert failed.state
    assert failed.state.result_state == RunResultState.FAILED
    assert failed.state.state_message == OOM
    with pytest.raises(InvalidParameterValue, match="multiple tasks"):
        databricks.jobs.get_run_output(555)
    assert failed.run_id is not None
    output = databricks.jobs.get_run_output(failed.run_id)
    assert output.error == OOM
    assert output.error_trace == "at org.apache.spark.Executor..."

    repaired_wait = databricks.jobs.repair_run(555, rerun_all_failed_tasks=True)
    repair_1: int = repaired_wait.response.repair_id  # type: ignore[attr-defined]
    repaired = databricks.jobs.get_run(555, include_history=True)
    assert repaired.state is not None
    assert repaired.state.result_state == RunResultState.FAILED
    with pytest.raises(InvalidParameterValue, match="latest_repair_id"):
        databricks.jobs.repair_run(555, rerun_tasks=["transform"])
    repair_2 = databricks.jobs.repair_run(555, rerun_tasks=["transform"], latest_repair_id=repair_1)
    assert repair_2.response.repair_id != repair_1  # type: ignore[attr-defined]

    def succeeded() -> bool:
        state = databricks.jobs.get_run(555).state
        return state is not None and state.result_state == RunResultState.SUCCESS

    eventually(succeeded)
    history = databricks.jobs.get_run(555, include_history=True).repair_history or []
    assert [h.type.value if h.type else None for h in history] == ["ORIGINAL", "REPAIR", "REPAIR"]


def test_cluster_start_resize_and_libraries(sandbox: RunningSandbox, databricks: WorkspaceClient) -> None:
    sandbox.control.load({"databricks": {"clusters": {"0101-abc": {
        "name": "etl", "state": "TERMINATED", "num_workers": 2, "start_seconds": 0.3,
        "termination_code": "CLOUD_PROVIDER_SHUTDOWN",
        "libraries": {"pypi:pandas==9.9.9": {"status": "FAILED", "message": "No matching distribution"}}}}}})
    cluster = databricks.clusters.get("0101-abc")
    assert cluster.state == State.TERMINATED
    assert cluster.termination_reason
    assert cluster.termination_reason.code
    databricks.clusters.start("0101-abc")
    assert databricks.clusters.get("0101-abc").state == State.PENDING
    eventually(lambda: databricks.clusters.get("0101-abc").state == State.RUNNING)

    databricks.clusters.resize("0101-abc", num_workers=3)
    assert databricks.clusters.get("0101-abc").state == State.RESIZING
    eventually(lambda: databricks.clusters.get("0101-abc").state == State.RUNNING)
    assert databricks.clusters.get("0101-abc").num_workers == 3

    databricks.libraries.install("0101-abc", [Library(pypi=PythonPyPiLibrary(package="pandas==9.9.9")),
                                              Library(pypi=PythonPyPiLibrary(package="pandas==2.2.0"))])

    def settled() -> bool:
        statuses = list(databricks.libraries.cluster_status("0101-abc"))
        return all(s.status and s.status.value in ("INSTALLED", "FAILED") for s in statuses)

    eventually(settled)
    by_package = {s.library.pypi.package: s for s in databricks.libraries.cluster_status("0101-abc")
                  if s.library and s.library.pypi}
    assert by_package["pandas==9.9.9"].status
    assert by_package["pandas==9.9.9"].status.value == "FAILED"
    assert by_package["pandas==9.9.9"].messages == ["No matching distribution"]
    assert by_package["pandas==2.2.0"].status
    assert by_package["pandas==2.2.0"].status.value == "INSTALLED"

    with pytest.raises(ResourceDoesNotExist):
        databricks.clusters.get("no-such-cluster")


def test_failed_start_then_restart(sandbox: RunningSandbox, databricks: WorkspaceClient) -> None:
    sandbox.control.load({"databricks": {"clusters": {"c1": {
        "state": "TERMINATED", "start_seconds": 0, "start_outcomes": ["TERMINATED", "RUNNING"]}}}})
    databricks.clusters.start("c1")
    failed = databricks.clusters.get("c1")
    assert failed.state == State.TERMINATED
    assert failed.termination_reason
    assert str(failed.termination_reason.code).endswith("CLOUD_PROVIDER_LAUNCH_FAILURE")
    databricks.clusters.start("c1").result()
    databricks.clusters.restart("c1")
    assert databricks.clusters.get("c1").state in (State.RESTARTING, State.RUNNING)
    assert len(sandbox.control.calls(service="databricks", op="clusters/start")) == 2


def test_wrong_token_is_rejected(sandbox: RunningSandbox) -> None:
    client = WorkspaceClient(host=sandbox.endpoints.databricks_host, token="dapi-wrong")
    with pytest.raises(Unauthenticated):
        client.clusters.get("any")


def test_runs_report_the_cluster_they_ran_on(sandbox: RunningSandbox, databricks: WorkspaceClient) -> None:
    sandbox.control.load({"databricks": {
        "jobs": {"7": {"name": "features", "cluster_id": "0923-164208-abcd", "tasks": ["build"]}},
        "seeded_runs": [{"run_id": 70, "job_id": 7, "result": "FAILED", "error": "driver lost"}],
    }})
    run = databricks.jobs.get_run(70)
    assert run.cluster_instance is not None
    assert run.cluster_instance.cluster_id == "0923-164208-abcd"
    assert [t.existing_cluster_id for t in run.tasks or []] == ["0923-164208-abcd"]
