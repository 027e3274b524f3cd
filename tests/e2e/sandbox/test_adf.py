"""azure-identity + azure-mgmt-datafactory against the sandbox, over HTTPS with the sandbox CA."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.datafactory import DataFactoryManagementClient
from azure.mgmt.datafactory.models import RunFilterParameters, RunQueryFilter

from sandbox.testing import RunningSandbox

RG, FACTORY = "rg-data", "adf-prod"
BLOB_MISSING = "ErrorCode=UserErrorSourceBlobNotExists,'The required Blob is missing.'"


def wait_terminal(adf: DataFactoryManagementClient, run_id: str, timeout: float = 10) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = str(adf.pipeline_runs.get(RG, FACTORY, run_id).status)
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("Succeeded", "Failed", "Cancelled"):
            return seen
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {seen}")


def window(hours: float = 24) -> tuple[dt.datetime, dt.datetime]:
    now = dt.datetime.now(dt.UTC)
    return now - dt.timedelta(hours=hours), now + dt.timedelta(minutes=1)


def test_runs_follow_the_scripted_outcomes(sandbox: RunningSandbox, adf: DataFactoryManagementClient) -> None:
    sandbox.control.load({"adf": {"pipelines": {"ingest_sales": {
        "activities": ["CopySales", "TransformSales"],
        "runs": [
            {"status": "Failed", "duration_seconds": 0.3, "failed_activity": "CopySales", "message": BLOB_MISSING},
            {"status": "Succeeded", "duration_seconds": 0.3},
        ]}}}})

    first = adf.pipelines.create_run(RG, FACTORY, "ingest_sales", parameters={"date": "2024-05-01"}).run_id
    assert wait_terminal(adf, first) == ["InProgress", "Failed"]
    failed = adf.pipeline_runs.get(RG, FACTORY, first)
    assert failed.message == f"Operation on target CopySales failed: {BLOB_MISSING}"
    assert failed.parameters == {"date": "2024-05-01"}
    assert failed.run_end is not None
    assert failed.duration_in_ms is not None

    after, before = window()
    activities = adf.activity_runs.query_by_pipeline_run(
        RG, FACTORY, first, RunFilterParameters(last_updated_after=after, last_updated_before=before)).value
    assert [(a.activity_name, a.status) for a in activities] == [("CopySales", "Failed")]
    error = activities[0].error
    assert error is not None
    assert error["errorCode"] == "2200"
    assert error["message"] == BLOB_MISSING
    assert error["failureType"] == "UserError"

    second = adf.pipelines.create_run(RG, FACTORY, "ingest_sales", reference_pipeline_run_id=first,
                                      is_recovery=True, start_from_failure=True).run_id
    assert wait_terminal(adf, second) == ["InProgress", "Succeeded"]
    recovered = adf.pipeline_runs.get(RG, FACTORY, second)
    assert recovered.run_group_id == first
    assert adf.pipeline_runs.get(RG, FACTORY, first).is_latest is False

    creates = sandbox.control.calls(service="adf", op="createRun")
    assert len(creates) == 2
    assert creates[1]["query"]["referencePipelineRunId"] == first
    assert creates[1]["target"]["start_activity"] == "CopySales"
    assert sandbox.control.calls(service="aad", op="token"), "the SDK authenticated through the sandbox"


def test_seeded_failure_is_readable_and_queryable(sandbox: RunningSandbox,
                                                  adf: DataFactoryManagementClient) -> None:
    seeded = "6f1c3a52-0000-4000-8000-000000000001"
    sandbox.control.load({"adf": {
        "pipelines": {"load_dw": {"activities": ["Lookup", "CopyToDw"]},
                      "upstream": {"runs": [{"status": "Succeeded", "duration_seconds": 0}]}},
        "seeded_runs": [{"run_id": seeded, "pipeline": "load_dw", "status": "Failed",
                         "failed_activity": "CopyToDw", "error_code": "2011", "failure_type": "SystemError",
                         "message": "Operation timed out.", "started_seconds_ago": 300}]}})
    adf.pipelines.create_run(RG, FACTORY, "upstream")

    activities = adf.activity_runs.query_by_pipeline_run(
        RG, FACTORY, seeded, RunFilterParameters(last_updated_after=window()[0], last_updated_before=window()[1],
                                                 filters=[RunQueryFilter(operand="Status", operator="Equals",
                                                                         values_property=["Failed"])])).value
    assert [(a.activity_name, (a.error or {})["errorCode"]) for a in activities] == [("CopyToDw", "2011")]

    after, before = window()
    succeeded_upstream = adf.pipeline_runs.query_by_factory(RG, FACTORY, RunFilterParameters(
        last_updated_after=after, last_updated_before=before,
        filters=[RunQueryFilter(operand="PipelineName", operator="Equals", values_property=["upstream"]),
                 RunQueryFilter(operand="Status", operator="In", values_property=["Succeeded"])])).value
    assert [r.pipeline_name for r in succeeded_upstream] == ["upstream"]
    failed = adf.pipeline_runs.query_by_factory(RG, FACTORY, RunFilterParameters(
        last_updated_after=after, last_updated_before=before,
        filters=[RunQueryFilter(operand="Status", operator="Equals", values_property=["Failed"])])).value
    assert [r.run_id for r in failed] == [seeded]
    old_window = adf.pipeline_runs.query_by_factory(RG, FACTORY, RunFilterParameters(
        last_updated_after=after - dt.timedelta(days=2), last_updated_before=after)).value
    assert old_window == []


def test_cancel_and_errors(sandbox: RunningSandbox, adf: DataFactoryManagementClient) -> None:
    sandbox.control.load({"adf": {"pipelines": {"slow": {"runs": [{"duration_seconds": 60}]}}}})
    run_id = adf.pipelines.create_run(RG, FACTORY, "slow").run_id
    assert adf.pipeline_runs.get(RG, FACTORY, run_id).status == "InProgress"
    adf.pipeline_runs.cancel(RG, FACTORY, run_id)
    assert adf.pipeline_runs.get(RG, FACTORY, run_id).status == "Cancelled"

    with pytest.raises(ResourceNotFoundError):
        adf.pipeline_runs.get(RG, FACTORY, "00000000-0000-0000-0000-000000000000")

    sandbox.control.add_fault(service="adf", op="createRun", kind="status", status=500, times=1)
    with pytest.raises(HttpResponseError) as failure:
        adf.pipelines.create_run(RG, FACTORY, "slow", retry_total=0)
    assert failure.value.status_code == 500
    assert adf.pipelines.create_run(RG, FACTORY, "slow").run_id
