"""A Resolved alert resolves its open incident end to end: the receiver (a real process) records the signal,
the operator resolves the escalated incident with reason AlertResolved and brings Slack and Jira up to date.
The same alert firing again afterwards opens a new incident linked to the resolved one."""

from __future__ import annotations

import time
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
def test_a_resolved_alert_resolves_the_escalated_incident_and_a_refire_opens_a_linked_one(
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

    # The run fails again after it was resolved: a new incident, linked to the earlier one.
    time.sleep(1.1)  # fired strictly after the resolution (times on the wire have whole seconds)
    again = v2_alert(sandbox.endpoints.credentials.azure_subscription_id, run_id)
    again["data"]["essentials"]["configurationItems"] = []
    again["data"]["essentials"]["firedDateTime"] = iso(datetime.now(UTC).replace(microsecond=0))
    with receiver_process(kubeconfig, namespace, tmp_path, tmp_path / "api-keys") as url:
        created = httpx.post(f"{url}/azure-monitor", json=again, params={"api_key": API_KEY}, timeout=10)
        assert created.status_code == 201, created.text
        (refire,) = created.json()["incidents"]
        assert refire["name"] == f"{name}-r2"
        # A retried delivery of the same alert is a duplicate of the re-fire, not a third incident.
        retried = httpx.post(f"{url}/azure-monitor", json=again, params={"api_key": API_KEY}, timeout=10)
        assert retried.status_code == 200, retried.text
        assert [i["name"] for i in retried.json()["incidents"]] == [f"{name}-r2"]
    linked = api.incident(f"{name}-r2")
    assert linked["spec"]["previousIncidentRef"] == name
    assert linked["spec"]["occurrence"] == 2
    assert linked["metadata"]["labels"]["aiops-rca.io/previous-incident"] == name
    settled = api.wait_settled(f"{name}-r2", op, timeout=90, phases=("Escalated",))
    recurrence = settled["status"]["recurrence"]
    assert (recurrence["count"], recurrence["escalated"], recurrence["previous"]) == (1, 1, name)
    assert recurrence["recent"][0]["reason"] == "CannotRemediate"
    assert condition(api.incident(name), "Resolved")["reason"] == "AlertResolved"  # the first stays as it was
    notes = settled["status"]["notifications"]
    messages = sandbox.control.slack_channel(notes["slack"]["channel"])["messages"]
    shown = next(str(m["blocks"]) for m in messages if m["ts"] == notes["slack"]["ts"])
    assert f"Re-fired after {name} was resolved (occurrence 2 of this run)" in shown
    assert "Recurring: 2nd GatewayTimeout failure in 30 days (1 escalated)" in shown
    assert f"Re-fired after {name} was resolved" in sandbox.control.jira_issue(notes["jira"]["key"])["description"]
