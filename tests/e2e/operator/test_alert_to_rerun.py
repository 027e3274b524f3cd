"""A Log Alerts V2 alert whose factory is only in configurationItems is re-run end to end.

The receiver (a real process) turns the alert into an Incident; the operator (a
real process) analyzes it, matches the policy and re-runs the pipeline in the
sandbox's ADF, through azure-mgmt-datafactory, in the factory the alert named.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client

from sandbox.testing import RunningSandbox
from tests.e2e.operator.conftest import StartOperator
from tests.e2e.operator.remediation_world import FACTORY, GATEWAY_TIMEOUT, RG, Api, condition, policy, rule
from tests.e2e.receiver.conftest import API_KEY, receiver_process

VENDOR = Path(__file__).resolve().parents[2] / "data" / "webhooks" / "vendor" / "azure-monitor"
PIPELINE = "pl_ingest_orders_v2"


def v2_alert(subscription: str, run_id: str) -> dict[str, Any]:
    """The documented V2 fixture, pointed at the sandbox's factory and at this test's run."""
    alert: dict[str, Any] = json.loads(
        (VENDOR / "common-v2-workspace-target-factory-in-configuration-items.json").read_text())
    factory_id = (f"/subscriptions/{subscription}/resourcegroups/{RG.lower()}/providers/microsoft.datafactory"
                  f"/factories/{FACTORY.lower()}")
    essentials = alert["data"]["essentials"]
    essentials["configurationItems"] = [factory_id]
    assert "/factories/" not in " ".join(essentials["alertTargetIDs"])  # the workspace, as V2 sends it
    dims = alert["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"]
    values = {"PipelineName": PIPELINE, "RunId": run_id, "ErrorCode": "2200", "ErrorMessage": GATEWAY_TIMEOUT}
    for dim in dims:
        dim["value"] = values.get(dim["name"], dim["value"])
    return alert


def fire(kubeconfig: Path, namespace: str, sandbox: RunningSandbox, custom_api: client.CustomObjectsApi,
         tmp_path: Path, *, factory_in_items: bool) -> tuple[Api, str]:
    """Seed the failed run and the policy, post the alert through a receiver process; the Incident's name."""
    run_id = f"0c5e2f1a-{secrets.token_hex(2)}-4000-8000-{secrets.token_hex(6)}"
    sandbox.control.load({
        "defaults": {"run_duration_seconds": 1},
        "adf": {"pipelines": {PIPELINE: {"activities": ["Copy_Orders"], "runs": [{"status": "Succeeded",
                                                                              "duration_seconds": 1}]}},
                "seeded_runs": [{"run_id": run_id, "pipeline": PIPELINE, "status": "Failed",
                                 "failed_activity": "Copy_Orders", "error_code": "2200", "failure_type": "UserError",
                                 "message": GATEWAY_TIMEOUT}]},
    })
    api = Api(custom_api, namespace)
    api.create("remediationpolicies", policy("v2-alerts", [rule("gateway-timeout", "GatewayTimeout", "RerunPipeline",
                                                                [1], 2)]))
    alert = v2_alert(sandbox.endpoints.credentials.azure_subscription_id, run_id)
    if not factory_in_items:
        alert["data"]["essentials"]["configurationItems"] = []
    keys = tmp_path / "api-keys"
    keys.write_text(f"{API_KEY}\n")
    with receiver_process(kubeconfig, namespace, tmp_path, keys) as url:
        answer = httpx.post(f"{url}/azure-monitor", json=alert, params={"api_key": API_KEY}, timeout=10)
    assert answer.status_code in (201, 202), answer.text
    (created,) = answer.json()["incidents"]
    return api, str(created["name"])


@pytest.mark.timeout(240)
def test_v2_alert_with_factory_in_configuration_items_is_rerun(
    kubeconfig: Path, namespace: str, sandbox: RunningSandbox, start_operator: StartOperator,
    custom_api: client.CustomObjectsApi, tmp_path: Path,
) -> None:
    api, name = fire(kubeconfig, namespace, sandbox, custom_api, tmp_path, factory_in_items=True)
    spec = api.incident(name)["spec"]
    assert (spec["resource"]["factory"], spec["resource"]["resourceGroup"]) == (FACTORY.lower(), RG.lower())
    assert spec["resource"]["subscriptionId"] == sandbox.endpoints.credentials.azure_subscription_id

    op = start_operator(REMEDIATION_POLL_SECONDS="1")
    inc = api.wait_phase(name, {"Resolved", "Escalated"}, op, timeout=150)
    assert inc["status"]["phase"] == "Resolved", inc["status"].get("escalationReason")
    assert condition(inc, "Resolved")["reason"] == "AutoHealed"
    (attempt,) = api.attempts(name)
    assert attempt["status"]["phase"] == "Succeeded"
    creates = [c for c in sandbox.control.calls(service="adf", op="createRun") if PIPELINE in c["path"]]
    assert len(creates) == 1
    assert f"/factories/{FACTORY.lower()}/" in creates[0]["path"].lower()
    assert f"/resourcegroups/{RG.lower()}/" in creates[0]["path"].lower()


@pytest.mark.timeout(240)
def test_v2_alert_with_no_factory_anywhere_escalates_at_once(
    kubeconfig: Path, namespace: str, sandbox: RunningSandbox, start_operator: StartOperator,
    custom_api: client.CustomObjectsApi, tmp_path: Path,
) -> None:
    api, name = fire(kubeconfig, namespace, sandbox, custom_api, tmp_path, factory_in_items=False)
    assert api.incident(name)["spec"]["resource"].get("factory") is None
    op = start_operator(REMEDIATION_POLL_SECONDS="1")
    inc = api.wait_phase(name, {"Resolved", "Escalated"}, op, timeout=120)
    assert inc["status"]["phase"] == "Escalated"
    assert condition(inc, "Escalated")["reason"] == "CannotRemediate"
    assert api.attempts(name) == []
