"""A Resolved alert resolves its open incident end to end: the receiver (a real process) records the signal,
the operator resolves the escalated incident with reason AlertResolved and brings Slack and Jira up to date."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from kubernetes import client

from sandbox.testing import RunningSandbox
from tests.e2e.operator.conftest import StartOperator
from tests.e2e.operator.remediation_world import condition, history, iso
from tests.e2e.operator.test_alert_to_rerun import fire, v2_alert
from tests.e2e.receiver.conftest import API_KEY, receiver_process


@pytest.mark.timeout(240)
def test_a_resolved_alert_resolves_the_escalated_incident(
    kubeconfig: Path, namespace: str, sandbox: RunningSandbox, start_operator: StartOperator,
    custom_api: client.CustomObjectsApi, tmp_path: Path,
) -> None:
    api, name = fire(kubeconfig, namespace, sandbox, custom_api, tmp_path, factory_in_items=False)
    op = start_operator(REMEDIATION_POLL_SECONDS="1")
    escalated = api.wait_settled(name, op, timeout=120, phases=("Escalated",))
    assert condition(escalated, "Escalated")["reason"] == "CannotRemediate"

    run_id = escalated["spec"]["runId"]
    alert = v2_alert(sandbox.endpoints.credentials.azure_subscription_id, run_id)
    alert["data"]["essentials"]["configurationItems"] = []
    alert["data"]["essentials"]["monitorCondition"] = "Resolved"
    cleared = datetime.now(UTC).replace(microsecond=0)
    alert["data"]["essentials"]["resolvedDateTime"] = iso(cleared)
    with receiver_process(kubeconfig, namespace, tmp_path, tmp_path / "api-keys") as url:
        answer = httpx.post(f"{url}/azure-monitor", json=alert, params={"api_key": API_KEY}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert [r["name"] for r in answer.json()["resolved"]] == [name]

    resolved = api.wait_settled(name, op, timeout=60, phases=("Resolved",))
    assert condition(resolved, "Resolved")["reason"] == "AlertResolved"
    assert resolved["status"]["resolution"]["resolvedBy"] == "Alert"
    assert "AlertResolved" in history(resolved)
    issue = sandbox.control.jira_issue(resolved["status"]["notifications"]["jira"]["key"])
    assert issue["status"] == "Done"
