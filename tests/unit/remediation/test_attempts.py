from __future__ import annotations

import pytest
from aiops_operator.api import (
    API_VERSION,
    ExternalRun,
    ExternalSystem,
    RemediationAttempt,
    Risk,
    idempotency_key,
)
from aiops_operator.api.conditions import Outcome
from aiops_operator.api.labels import target_hash
from aiops_operator.remediation import attempt_status
from aiops_operator.remediation.attempt_status import Progress, ProgressState
from aiops_operator.remediation.attempts import approval_required, attempt_body, attempt_spec

from tests.support.builders import at, attempt, params, remediable, rule


@pytest.mark.parametrize(
    ("risk", "explicit", "required"),
    [
        pytest.param(Risk.LOW, None, False, id="low"),
        pytest.param(Risk.MEDIUM, None, False, id="medium"),
        pytest.param(Risk.HIGH, None, True, id="high-by-risk"),
        pytest.param(Risk.HIGH, False, False, id="high-explicitly-not"),
        pytest.param(Risk.LOW, True, True, id="low-explicitly-required"),
    ],
)
def test_approval_required(risk: Risk, explicit: bool | None, required: bool) -> None:
    assert approval_required(rule(risk=risk, approval_required=explicit)) is required


def test_attempt_body() -> None:
    inc = remediable()
    r = rule(parameters=params(startActivity="Copy"), dry_run=True, timeout_seconds=600)
    body = attempt_body(inc, attempt_spec(inc, "default", r, 2, at(30)))
    meta = body["metadata"]
    assert meta["name"] == "adf-ingest-sales-0123456789-2"
    assert meta["namespace"] == "ns"
    assert meta["labels"] == {"aiops-rca.io/incident": "adf-ingest-sales-0123456789", "aiops-rca.io/attempt": "2",
                              "aiops-rca.io/policy": "default", "aiops-rca.io/rule": "gateway-timeout",
                              "aiops-rca.io/target-hash": target_hash(str(inc.spec.source), inc.spec.resource.name)}
    assert meta["ownerReferences"] == [{"apiVersion": API_VERSION, "kind": "Incident",
                                        "name": "adf-ingest-sales-0123456789", "uid": "uid-1",
                                        "controller": True, "blockOwnerDeletion": True}]
    spec = body["spec"]
    assert spec["incidentRef"] == "adf-ingest-sales-0123456789"
    assert spec["attempt"] == 2
    assert spec["action"] == "RerunPipeline"
    assert spec["parameters"] == [{"name": "startActivity", "value": "Copy"}]
    assert spec["notBeforeTime"] == "2024-05-01T12:00:30Z"
    assert spec["dryRun"] is True
    assert spec["approvalRequired"] is False
    assert spec["timeoutSeconds"] == 600
    assert spec["idempotencyKey"] == idempotency_key("uid-1", 2)
    RemediationAttempt.model_validate(body)


def test_attempt_body_needs_the_incident_uid() -> None:
    inc = remediable()
    inc.metadata.uid = None
    with pytest.raises(ValueError, match="uid"):
        attempt_body(inc, attempt_spec(inc, "default", rule(), 1, at(0)))


RUN = ExternalRun(system=ExternalSystem.AZURE_DATA_FACTORY, run_id="r-1", state="Queued")


def _running() -> RemediationAttempt:
    a = attempt(1)
    return a.model_copy(update={"status": attempt_status.launched(a, RUN, at(10))})


@pytest.mark.parametrize(
    ("progress", "phase", "outcome"),
    [
        pytest.param(Progress(ProgressState.RUNNING, "InProgress", external_state="InProgress"), "Running", None,
                     id="running-state-change"),
        pytest.param(Progress(ProgressState.RUNNING, transient_error=True), None, None, id="transient-no-write"),
        pytest.param(Progress(ProgressState.FAILED, "boom", transient_error=True), None, None,
                     id="transient-never-fails"),
        pytest.param(Progress(ProgressState.SUCCEEDED, "done", external_state="Succeeded"), "Succeeded",
                     Outcome.SUCCEEDED, id="succeeded"),
        pytest.param(Progress(ProgressState.FAILED, "boom", external_state="Failed"), "Failed", Outcome.RUN_FAILED,
                     id="failed"),
    ],
)
def test_after_progress(progress: Progress, phase: str | None, outcome: Outcome | None) -> None:
    a = _running()
    new = attempt_status.after_progress(a, progress, at(70))
    if phase is None:
        assert new is None
        return
    assert new is not None
    assert new.phase == phase
    done = a.model_copy(update={"status": new})
    assert attempt_status.outcome_of(done) is outcome
    if outcome is not None:
        assert new.completion_time == at(70)
        assert new.duration_seconds == 60
        assert (new.failure_reason is None) is (outcome is Outcome.SUCCEEDED)
        assert new.external_run is not None
        assert new.external_run.state == progress.external_state


def test_unchanged_running_progress_needs_no_write() -> None:
    a = _running()
    same = Progress(ProgressState.RUNNING, "", external_state="Queued")
    assert attempt_status.after_progress(a, same, at(40)) is None


def test_launched_keeps_the_first_start_time() -> None:
    a = _running()
    again = attempt_status.launched(a, RUN, at(99))
    assert again.start_time == at(10)
    assert again.phase == "Running"
