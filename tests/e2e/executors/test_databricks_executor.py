"""Databricks executors through databricks-sdk against the sandbox."""

from __future__ import annotations

from aiops_operator.api import IncidentSource, RemediationAction
from aiops_operator.remediation.attempt_status import ProgressState
from aiops_operator.remediation.executors.factory import Executors

from sandbox.testing import RunningSandbox
from tests.e2e.executors.conftest import later, launched, make_attempt, make_incident, poll_until_done

FAST = {"duration_seconds": 0.2}


def test_run_now_twice_with_the_same_key_starts_one_run(sandbox: RunningSandbox, executors: Executors) -> None:
    job = {"name": "nightly_etl", "runs": [{"result": "SUCCESS", **FAST}]}
    sandbox.control.load({"databricks": {"jobs": {123: job},
                                         "seeded_runs": [{"run_id": 555, "job_id": 123, "result": "TIMEDOUT"}]}})
    incident = make_incident(IncidentSource.DATABRICKS_JOB, "nightly_etl", "555", resource_id="123")
    attempt = make_attempt(incident, RemediationAction.RUN_JOB_NOW)
    first = executors.launch(incident, attempt)
    second = executors.launch(incident, attempt)
    assert first.run_id == second.run_id
    calls = sandbox.control.calls(service="databricks", op="jobs/run-now")
    assert [c["body"]["idempotency_token"] for c in calls] == [attempt.spec.idempotency_key] * 2
    assert len([r for r in sandbox.control.databricks_runs() if r["job_id"] == 123]) == 2  # seeded + one
    assert poll_until_done(executors, incident, launched(executors, incident, attempt)).state is ProgressState.SUCCEEDED


def test_repair_chains_latest_repair_id(sandbox: RunningSandbox, executors: Executors) -> None:
    sandbox.control.load({"databricks": {
        "jobs": {7: {"name": "etl", "tasks": ["ingest", "transform"],
                     "runs": [{"result": "FAILED", "failed_task": "transform", "error": "boom", **FAST},
                              {"result": "SUCCESS", **FAST}]}},
        "seeded_runs": [{"run_id": 900, "job_id": 7, "result": "FAILED", "failed_task": "transform"}]}})
    incident = make_incident(IncidentSource.DATABRICKS_JOB, "etl", "900", resource_id="7")
    one = make_attempt(incident, RemediationAction.REPAIR_RUN, 1)
    later()
    first = executors.launch(incident, one)
    assert executors.launch(incident, one).run_id == first.run_id, "relaunch adopts the repair"
    assert poll_until_done(executors, incident, launched(executors, incident, one)).state is ProgressState.FAILED
    later()
    two = make_attempt(incident, RemediationAction.REPAIR_RUN, 2)
    second = executors.launch(incident, two)
    assert second.run_id != first.run_id
    repairs = sandbox.control.calls(service="databricks", op="jobs/runs/repair")
    assert len(repairs) == 2
    assert repairs[0]["body"].get("latest_repair_id") is None
    assert repairs[1]["body"]["latest_repair_id"] == int(first.run_id)
    assert poll_until_done(executors, incident, launched(executors, incident, two)).state is ProgressState.SUCCEEDED


def test_cluster_restart_reaches_running_once(sandbox: RunningSandbox, executors: Executors) -> None:
    sandbox.control.load({"databricks": {"clusters": {"0101-abc": {"name": "etl", "state": "RUNNING",
                                                                   "start_seconds": 0.3}}}})
    incident = make_incident(IncidentSource.DATABRICKS_CLUSTER, "etl", "0101-abc-term", resource_id="0101-abc")
    attempt = make_attempt(incident, RemediationAction.RESTART_CLUSTER)
    later()
    executors.launch(incident, attempt)
    executors.launch(incident, attempt)
    assert len(sandbox.control.calls(service="databricks", op="clusters/restart")) == 1
    done = poll_until_done(executors, incident, launched(executors, incident, attempt))
    assert done.state is ProgressState.SUCCEEDED
    assert done.external_state == "RUNNING"
    executors.launch(incident, attempt)  # after it is RUNNING again: still the same restart
    assert len(sandbox.control.calls(service="databricks", op="clusters/restart")) == 1


def test_cluster_start_that_fails_is_reported(sandbox: RunningSandbox, executors: Executors) -> None:
    sandbox.control.load({"databricks": {"clusters": {"c-x": {"state": "TERMINATED", "start_seconds": 0.2,
                                                              "start_outcomes": ["TERMINATED"]}}}})
    incident = make_incident(IncidentSource.DATABRICKS_CLUSTER, "c-x", "c-x-1", resource_id="c-x")
    attempt = make_attempt(incident, RemediationAction.START_CLUSTER)
    later()
    done = poll_until_done(executors, incident, launched(executors, incident, attempt))
    assert done.state is ProgressState.FAILED
    assert "CLOUD_PROVIDER_LAUNCH_FAILURE" in done.detail


def test_resize_adds_half_within_limits_and_keeps_the_config(sandbox: RunningSandbox, executors: Executors) -> None:
    sandbox.control.load({"databricks": {"clusters": {
        "run-1": {"name": "big", "state": "RUNNING", "num_workers": 4, "start_seconds": 0.2},
        "off-1": {"name": "off", "state": "TERMINATED", "num_workers": 8, "spark_version": "14.3.x-scala2.12"}}}})
    incident = make_incident(IncidentSource.DATABRICKS_CLUSTER, "big", "run-1-oom", resource_id="run-1")
    attempt = make_attempt(incident, RemediationAction.RESIZE_CLUSTER, scalePercent="50")
    later()
    run = executors.launch(incident, attempt)
    assert executors.launch(incident, attempt).run_id == run.run_id
    resizes = sandbox.control.calls(service="databricks", op="clusters/resize")
    assert [c["body"]["num_workers"] for c in resizes] == [6]
    done = poll_until_done(executors, incident, launched(executors, incident, attempt))
    assert done.state is ProgressState.SUCCEEDED

    off = make_incident(IncidentSource.DATABRICKS_CLUSTER, "off", "off-1-oom", resource_id="off-1")
    capped = make_attempt(off, RemediationAction.RESIZE_CLUSTER, maxWorkers="10")
    later()
    executors.launch(off, capped)
    edits = sandbox.control.calls(service="databricks", op="clusters/edit")
    assert len(edits) == 1
    assert edits[0]["body"]["num_workers"] == 10
    assert edits[0]["body"]["spark_version"] == "14.3.x-scala2.12"
    assert edits[0]["body"]["cluster_name"] == "off"
    cluster = next(c for c in sandbox.control.databricks_clusters() if c["cluster_id"] == "off-1")
    assert cluster["num_workers"] == 10
    assert cluster["spark_version"] == "14.3.x-scala2.12"


def test_library_reinstall_falls_back_to_an_older_version(sandbox: RunningSandbox, executors: Executors) -> None:
    sandbox.control.load({"databricks": {"clusters": {"lib-1": {
        "state": "RUNNING", "start_seconds": 0.2,
        "libraries": {"pypi:pandas==2.1.4": {"status": "FAILED", "message": "No matching distribution"},
                      "pypi:pandas==2.1.0": {"status": "FAILED", "message": "Conflicts with numpy"}}}}}})
    sandbox.control.apply({})
    incident = make_incident(IncidentSource.DATABRICKS_CLUSTER, "lib-1", "lib-1-x", resource_id="lib-1",
                             message="Library installation failed for library due to user error for pypi:pandas==2.1.4")
    one = make_attempt(incident, RemediationAction.REINSTALL_LIBRARY, 1)
    first = executors.launch(incident, one)
    assert "pandas==2.1.0" in (first.detail or "")
    executors.launch(incident, one)
    assert len(sandbox.control.calls(service="databricks", op="libraries/install")) == 1
    failed = poll_until_done(executors, incident, launched(executors, incident, one))
    assert failed.state is ProgressState.FAILED
    assert "Conflicts with numpy" in failed.detail

    two = make_attempt(incident, RemediationAction.REINSTALL_LIBRARY, 2)
    second = executors.launch(incident, two)
    assert "pandas==2.0.3" in (second.detail or "")
    installs = sandbox.control.calls(service="databricks", op="libraries/install")
    assert [c["target"]["libraries"] for c in installs] == [["pypi:pandas==2.1.0"], ["pypi:pandas==2.0.3"]]
    uninstalls = sandbox.control.calls(service="databricks", op="libraries/uninstall")
    assert uninstalls[-1]["target"]["libraries"] == ["pypi:pandas==2.1.0"]
    assert poll_until_done(executors, incident, launched(executors, incident, two)).state is ProgressState.SUCCEEDED
