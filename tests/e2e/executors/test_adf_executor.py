"""ADF executors through azure-identity + azure-mgmt-datafactory against the sandbox."""

from __future__ import annotations

import pytest
from aiops_operator.api import IncidentSource, RemediationAction
from aiops_operator.remediation.attempt_status import ProgressState
from aiops_operator.remediation.executors.base import NotReady
from aiops_operator.remediation.executors.factory import Executors

from sandbox.testing import RunningSandbox
from tests.e2e.executors.conftest import FACTORY, later, launched, make_attempt, make_incident, poll_until_done

FAILED_RUN = "6f1c3a52-0000-4000-8000-00000000e2e1"


def _scenario(sandbox: RunningSandbox, *outcomes: dict[str, object], upstream: bool = True) -> str:
    sub = sandbox.endpoints.credentials.azure_subscription_id
    sandbox.control.load({"adf": {
        "pipelines": {"ingest_sales": {"activities": ["Lookup", "CopySales", "Transform"], "runs": list(outcomes)}},
        "seeded_runs": [{"run_id": FAILED_RUN, "pipeline": "ingest_sales", "status": "Failed",
                         "failed_activity": "CopySales", "message": "gateway timeout", "started_seconds_ago": 300}],
    }})
    return sub


def test_rerun_is_launched_once_in_recovery_mode_even_when_launch_is_called_twice(
        sandbox: RunningSandbox, executors: Executors) -> None:
    sub = _scenario(sandbox, {"status": "Succeeded", "duration_seconds": 0.3})
    incident = make_incident(IncidentSource.AZURE_DATA_FACTORY, "ingest_sales", FAILED_RUN, activity="CopySales",
                             sub=sub)
    attempt = make_attempt(incident, RemediationAction.RERUN_PIPELINE)
    later()
    first = executors.launch(incident, attempt)
    # A restarted operator that never recorded the launch calls launch() again for the same attempt.
    second = executors.launch(incident, attempt)
    assert second.run_id == first.run_id

    creates = sandbox.control.calls(service="adf", op="createRun")
    assert len(creates) == 1
    assert creates[0]["query"]["referencePipelineRunId"] == FAILED_RUN
    assert creates[0]["query"]["isRecovery"].lower() == "true"
    assert creates[0]["query"]["startActivityName"] == "CopySales"
    assert first.url is not None
    assert FACTORY in first.url

    progress = poll_until_done(executors, incident, launched(executors, incident, attempt))
    assert progress.state is ProgressState.SUCCEEDED


def test_next_attempt_launches_its_own_run_and_failures_are_reported(
        sandbox: RunningSandbox, executors: Executors) -> None:
    sub = _scenario(sandbox, {"status": "Failed", "duration_seconds": 0.2, "failed_activity": "CopySales",
                              "message": "still down"}, {"status": "Succeeded", "duration_seconds": 0.2})
    incident = make_incident(IncidentSource.AZURE_DATA_FACTORY, "ingest_sales", FAILED_RUN, sub=sub)
    one = launched(executors, incident, make_attempt(incident, RemediationAction.RERUN_PIPELINE, 1))
    done = poll_until_done(executors, incident, one)
    assert done.state is ProgressState.FAILED
    assert "still down" in done.detail
    later()
    two = make_attempt(incident, RemediationAction.RERUN_PIPELINE, 2)
    run = executors.launch(incident, two)
    assert one.status.external_run is not None
    assert run.run_id != one.status.external_run.run_id
    assert len(sandbox.control.calls(service="adf", op="createRun")) == 2
    assert poll_until_done(executors, incident, launched(executors, incident, two)).state is ProgressState.SUCCEEDED


def test_check_upstream_waits_then_reruns(sandbox: RunningSandbox, executors: Executors) -> None:
    sub = _scenario(sandbox, {"status": "Succeeded", "duration_seconds": 0})
    incident = make_incident(IncidentSource.AZURE_DATA_FACTORY, "ingest_sales", FAILED_RUN, sub=sub)
    attempt = make_attempt(incident, RemediationAction.CHECK_UPSTREAM_THEN_RERUN, upstreamPipeline="land_sales")
    later()
    with pytest.raises(NotReady, match="land_sales"):
        executors.launch(incident, attempt)
    assert sandbox.control.calls(service="adf", op="createRun") == []

    sandbox.control.apply({"adf": {"seeded_runs": [{"run_id": "upstream-ok-1", "pipeline": "land_sales",
                                                    "status": "Succeeded", "started_seconds_ago": 60}]}})
    run = executors.launch(incident, attempt)
    assert len(sandbox.control.calls(service="adf", op="createRun")) == 1
    assert executors.launch(incident, attempt).run_id == run.run_id
    assert len(sandbox.control.calls(service="adf", op="createRun")) == 1


HOSTILE_NAME = "pl_026 <https://evil.example/approve|Click here to approve> <http://x|y> & 50% off"


def test_a_pipeline_named_with_link_syntax_is_rerun_under_its_raw_name(
        sandbox: RunningSandbox, executors: Executors) -> None:
    # The name reaches ADF as the alert gave it; the SDK percent-encodes it as one path segment
    # (%3C, %7C, %2F, ...) and it must arrive whole, so the pipeline really runs.
    sub = sandbox.endpoints.credentials.azure_subscription_id
    sandbox.control.load({"adf": {
        "pipelines": {HOSTILE_NAME: {"activities": ["Copy"], "runs": [{"status": "Succeeded", "duration_seconds": 0}]}},
        "seeded_runs": [{"run_id": FAILED_RUN, "pipeline": HOSTILE_NAME, "status": "Failed",
                         "failed_activity": "Copy", "message": "gateway timeout", "started_seconds_ago": 60}],
    }})
    incident = make_incident(IncidentSource.AZURE_DATA_FACTORY, HOSTILE_NAME, FAILED_RUN, activity="Copy", sub=sub)
    attempt = make_attempt(incident, RemediationAction.RERUN_PIPELINE)
    later()
    done = poll_until_done(executors, incident, launched(executors, incident, attempt))

    creates = sandbox.control.calls(service="adf", op="createRun")
    assert [c["target"]["pipeline"] for c in creates] == [HOSTILE_NAME]
    assert creates[0]["query"]["referencePipelineRunId"] == FAILED_RUN
    assert done.state is ProgressState.SUCCEEDED
