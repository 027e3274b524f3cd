"""Executors built exactly as the operator builds them, pointed at the sandbox by settings only."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from aiops_operator.api import (
    Analysis,
    Confidence,
    ErrorType,
    Incident,
    IncidentSource,
    ObjectMeta,
    Parameter,
    PolicyRule,
    Priority,
    RemediationAction,
    RemediationAttempt,
    ResourceKind,
    Severity,
)
from aiops_operator.remediation import attempt_status
from aiops_operator.remediation.attempt_status import Progress, ProgressState
from aiops_operator.remediation.attempts import attempt_spec
from aiops_operator.remediation.executors.factory import Executors, build_executors
from aiops_operator.remediation.settings import RemediationSettings
from aiops_operator.settings import OperatorSettings
from pydantic import SecretStr

from sandbox.testing import RunningSandbox
from tests.support.builders import incident

RG, FACTORY = "rg-data", "adf-prod"


@pytest.fixture
def executors(sandbox: RunningSandbox) -> Iterator[Executors]:
    e, c = sandbox.endpoints, sandbox.endpoints.credentials
    op = OperatorSettings(
        azure_tenant_id=c.azure_tenant_id, azure_client_id=c.azure_client_id,
        azure_client_secret=SecretStr(c.azure_client_secret), azure_authority_host=e.azure_authority_host,
        azure_resource_manager_url=e.resource_manager_url, databricks_host=e.databricks_host,
        databricks_token=SecretStr(c.databricks_token),
    )
    settings = RemediationSettings(executor_ca_bundle=e.ca_file, executor_timeout_seconds=10,
                                   remediation_callback_url=SecretStr("http://receiver.invalid/api/remediation-callback"))
    built = build_executors(op, settings)
    yield built
    built.close()


def make_incident(source: IncidentSource, resource: str, run_id: str, *, resource_id: str | None = None,
                  message: str = "", activity: str | None = None, sub: str = "",
                  error_type: ErrorType = ErrorType.GATEWAY_TIMEOUT, uid: str = "uid-e2e") -> Incident:
    kind = {IncidentSource.AZURE_DATA_FACTORY: ResourceKind.PIPELINE, IncidentSource.DATABRICKS_JOB: ResourceKind.JOB,
            IncidentSource.DATABRICKS_CLUSTER: ResourceKind.CLUSTER}.get(source, ResourceKind.OTHER)
    where = {"kind": str(kind), "name": resource, "id": resource_id, "factory": FACTORY, "resourceGroup": RG,
             "subscriptionId": sub or None}
    return incident(
        str(source), resource=where, object_name=f"inc-{resource.lower().replace('_', '-')}", namespace="e2e",
        uid=uid, run_id=run_id, received=datetime.now(UTC), fired=None, message=message, activity=activity,
        analysis=Analysis(root_cause="x", error_type=error_type, severity=Severity.HIGH, priority=Priority.P2,
                          confidence=Confidence.HIGH, auto_heal_possible=True, provider="Rules"),
    )


def make_attempt(incident: Incident, action: RemediationAction, n: int = 1, **parameters: str) -> RemediationAttempt:
    """Attempt n as just created by the API server (creation time: now)."""
    rule = PolicyRule(name="r", error_type=ErrorType.GATEWAY_TIMEOUT, action=action,
                      parameters=[Parameter(name=k, value=v) for k, v in parameters.items()])
    now = datetime.now(UTC)
    return RemediationAttempt(
        metadata=ObjectMeta(name=f"{incident.metadata.name}-{n}", namespace="e2e", creation_timestamp=now),
        spec=attempt_spec(incident, "default", rule, n, now),
    )


def launched(executors: Executors, incident: Incident, attempt: RemediationAttempt) -> RemediationAttempt:
    run = executors.launch(incident, attempt)
    return attempt.model_copy(update={"status": attempt_status.launched(attempt, run, datetime.now(UTC))})


def poll_until_done(executors: Executors, incident: Incident, attempt: RemediationAttempt,
                    timeout: float = 15) -> Progress:
    deadline = time.monotonic() + timeout
    while True:
        progress = executors.poll(incident, attempt)
        if progress.state is not ProgressState.RUNNING and not progress.transient_error:
            return progress
        if time.monotonic() > deadline:
            raise AssertionError(f"still running: {progress}")
        time.sleep(0.1)


Later = Callable[[], None]


def later() -> None:
    """Let the wall clock move past an attempt's creation (attempt markers compare timestamps)."""
    time.sleep(0.05)
