from __future__ import annotations

import pytest
from aiops_operator.api import FailedResource, Incident, IncidentSource, Parameter, RemediationAction, ResourceKind
from aiops_operator.remediation.preflight import missing_identity

from tests.support.builders import remediable


def _with(resource: FailedResource, run_id: str = "run-1", source: IncidentSource | None = None) -> Incident:
    base = remediable(source=source or IncidentSource.AZURE_DATA_FACTORY)
    spec = base.spec.model_copy(update={"resource": resource, "run_id": run_id})
    return base.model_copy(update={"spec": spec})


PIPELINE = FailedResource(kind=ResourceKind.PIPELINE, name="pl", factory="f", resource_group="rg", subscription_id="s")
NO_FACTORY = FailedResource(kind=ResourceKind.PIPELINE, name="pl")
JOB = FailedResource(kind=ResourceKind.JOB, name="job", id="42")
JOB_NO_ID = FailedResource(kind=ResourceKind.JOB, name="job")
CLUSTER = FailedResource(kind=ResourceKind.CLUSTER, name="c", id="0101-abc")
CLUSTER_NO_ID = FailedResource(kind=ResourceKind.CLUSTER, name="c")


@pytest.mark.parametrize(("action", "resource", "run_id", "params", "missing"), [
    pytest.param(RemediationAction.RERUN_PIPELINE, PIPELINE, "r", [], None, id="adf-complete"),
    pytest.param(RemediationAction.RERUN_PIPELINE, NO_FACTORY, "r", [], "subscription, resource group, factory",
                 id="adf-no-identity"),
    pytest.param(RemediationAction.CHECK_UPSTREAM_THEN_RERUN,
                 PIPELINE.model_copy(update={"factory": None}), "r", [], "factory", id="adf-upstream-no-factory"),
    pytest.param(RemediationAction.RUN_JOB_NOW, JOB, "7", [], None, id="job-id-from-alert"),
    pytest.param(RemediationAction.RUN_JOB_NOW, JOB_NO_ID, "7", [Parameter(name="jobId", value="9")], None,
                 id="job-id-from-rule"),
    pytest.param(RemediationAction.RUN_JOB_NOW, JOB_NO_ID, "7", [], "job id", id="job-no-id"),
    pytest.param(RemediationAction.REPAIR_RUN, JOB, "123", [], None, id="repair-numeric-run"),
    pytest.param(RemediationAction.REPAIR_RUN, JOB, "fp-1a2b", [], "run id", id="repair-fingerprint-run"),
    pytest.param(RemediationAction.RESTART_CLUSTER, CLUSTER, "fp", [], None, id="cluster-from-alert"),
    pytest.param(RemediationAction.RESIZE_CLUSTER, JOB_NO_ID, "55", [], None, id="cluster-through-job-run"),
    pytest.param(RemediationAction.START_CLUSTER, CLUSTER_NO_ID, "fp",
                 [Parameter(name="clusterId", value="x")], None, id="cluster-from-rule"),
    pytest.param(RemediationAction.REINSTALL_LIBRARY, CLUSTER_NO_ID, "fp", [], "no cluster", id="cluster-none"),
    pytest.param(RemediationAction.CALL_PLAYBOOK, NO_FACTORY, "fp", [], None, id="playbook-needs-no-identity"),
])
def test_missing_identity(action: RemediationAction, resource: FailedResource, run_id: str,
                          params: list[Parameter], missing: str | None) -> None:
    found = missing_identity(action, _with(resource, run_id), params)
    if missing is None:
        assert found is None
    else:
        assert found is not None
        assert missing in found.what
        assert found.message.startswith("Cannot remediate: ")


def test_adf_message_says_which_column_to_project() -> None:
    found = missing_identity(RemediationAction.RERUN_PIPELINE, _with(NO_FACTORY), [])
    assert found is not None
    assert "_ResourceId" in found.remedy
