"""What stops remediation, end to end: nobody approves in time, and the global kill switch.

Real API server, the operator as a subprocess (restarted with other settings
where a test flips the switch), the sandbox as ADF, Databricks, Slack and
Jira. Each test asserts what a user sees (the objects, `kubectl describe`,
the Slack message, /metrics) and, from the sandbox's call log, that nothing
was re-run, resized or restarted.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from sandbox.testing import RunningSandbox
from tests.e2e.conftest import Kubectl
from tests.e2e.operator.conftest import OperatorProcess, StartOperator, free_port, wait_for
from tests.e2e.operator.remediation_world import (
    GATEWAY_TIMEOUT,
    OOM,
    Api,
    adf_incident,
    cluster_incident,
    condition,
    history,
    parse_time,
    policy,
    rule,
    wait_for_events,
)

CHANNEL = "data-incidents"
APPROVAL_TIMEOUT = 60
"""The shortest approval timeout a policy accepts (the CRD's minimum), so the timeout test takes a minute."""
PIPELINE = "pl_guarded_sales"
CLUSTER = ("0303-120000-guard001", "spark-bigmem-guarded")
RUN_IDS = ("9a1d0000-0000-4000-8000-000000000001", "9a1d0000-0000-4000-8000-000000000002")
LAUNCHES = (("adf", "createRun"), ("databricks", "clusters/resize"), ("databricks", "clusters/edit"),
            ("databricks", "clusters/restart"), ("databricks", "clusters/start"))


def scenario() -> dict[str, Any]:
    return {
        "defaults": {"run_duration_seconds": 1, "cluster_transition_seconds": 1},
        "adf": {
            "pipelines": {PIPELINE: {"activities": ["Copy_Data"], "runs": [{"status": "Succeeded"}]}},
            "seeded_runs": [{"run_id": run_id, "pipeline": PIPELINE, "status": "Failed",
                             "failed_activity": "Copy_Data", "error_code": "2200", "failure_type": "UserError",
                             "message": GATEWAY_TIMEOUT} for run_id in RUN_IDS],
        },
        "databricks": {"clusters": {CLUSTER[0]: {"name": CLUSTER[1], "state": "RUNNING", "num_workers": 4}}},
    }


def launches(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    """Every call in the sandbox's log that would have run or changed something in the cloud."""
    return [c for service, op in LAUNCHES for c in sandbox.control.calls(service=service, op=op)]


def slack_message(api: Api, sandbox: RunningSandbox, name: str) -> dict[str, Any] | None:
    notes = (api.incident(name).get("status") or {}).get("notifications") or {}
    ts = (notes.get("slack") or {}).get("ts")
    messages = sandbox.control.slack_channel(CHANNEL)["messages"] if ts else []
    return next((m for m in messages if m["ts"] == ts), None)


def approval_buttons(message: dict[str, Any] | None) -> list[str]:
    return [e["action_id"] for b in (message or {}).get("blocks") or [] if b.get("type") == "actions"
            for e in b.get("elements", []) if str(e.get("action_id", "")).startswith("aiops_")]


def wait_for_buttons(api: Api, sandbox: RunningSandbox, name: str, op: OperatorProcess) -> None:
    wait_for(lambda: approval_buttons(slack_message(api, sandbox, name)), 60,
             f"{name}'s Slack message with Approve/Deny buttons", op)


def metric(port: int, name: str, **labels: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    want = tuple(sorted(labels.items()))
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == name and tuple(sorted(s.labels.items())) == want)


# --- nobody approves in time ------------------------------------------------------------------------


def test_a_rule_refuses_an_approval_timeout_under_a_minute(custom_api: client.CustomObjectsApi,
                                                           namespace: str) -> None:
    api = Api(custom_api, namespace)
    with pytest.raises(client.ApiException) as refused:
        api.create("remediationpolicies", policy("impatient", [
            rule("resource-exhausted", "DatabricksResourceExhausted", "ResizeCluster", [1], 1, risk="High",
                 approvalTimeoutSeconds=APPROVAL_TIMEOUT - 1)]))
    assert refused.value.status == 422
    assert "approvalTimeoutSeconds" in str(refused.value.body)


def test_no_decision_within_the_approval_timeout_escalates_and_launches_nothing(
    sandbox: RunningSandbox, start_operator: StartOperator, custom_api: client.CustomObjectsApi, namespace: str,
    kubectl: Kubectl,
) -> None:
    """Both ways of needing approval: a High-risk resize, and a Low-risk re-run with approvalRequired."""
    sandbox.control.load(scenario())
    api = Api(custom_api, namespace)
    api.create("remediationpolicies", policy("needs-a-human", [
        rule("resource-exhausted", "DatabricksResourceExhausted", "ResizeCluster", [1], 2, risk="High",
             approvalTimeoutSeconds=APPROVAL_TIMEOUT),
        rule("gateway-timeout", "GatewayTimeout", "RerunPipeline", [1], 3, approvalRequired=True,
             approvalTimeoutSeconds=APPROVAL_TIMEOUT),
    ]))
    port = free_port()
    op = start_operator(port=port, REMEDIATION_POLL_SECONDS="1")
    subscription = sandbox.endpoints.credentials.azure_subscription_id
    names = {
        "resize": api.create("incidents", cluster_incident(*CLUSTER, OOM, "OUT_OF_MEMORY")),
        "rerun": api.create("incidents", adf_incident(PIPELINE, RUN_IDS[0], GATEWAY_TIMEOUT, subscription)),
    }

    for name in names.values():
        wait_for_buttons(api, sandbox, name, op)
        assert [a["status"]["phase"] for a in api.attempts(name)] == ["AwaitingApproval"]
        assert condition(api.incident(name), "Remediated")["reason"] == "AwaitingApproval"

    for key, name in names.items():
        inc = api.wait_settled(name, op, timeout=APPROVAL_TIMEOUT + 45)
        assert inc["status"]["phase"] == "Escalated", key
        escalated = condition(inc, "Escalated")
        assert (escalated["status"], escalated["reason"]) == ("True", "ApprovalTimedOut"), key
        assert escalated["message"] == f"No approval within {APPROVAL_TIMEOUT} s."
        assert inc["status"]["escalationReason"] == escalated["message"]

        [attempt] = api.attempts(name)
        status = attempt["status"]
        assert status["phase"] == "Skipped", key
        assert "approval" not in status
        assert "externalRun" not in status
        assert (condition(attempt, "Approved")["status"], condition(attempt, "Approved")["reason"]) == \
            ("False", "ApprovalTimedOut")
        assert condition(attempt, "Completed")["reason"] == "ApprovalTimedOut"
        # Not before the rule's timeout, and promptly after it (not at the next resync).
        waited = (parse_time(status["completionTime"]) - parse_time(attempt["metadata"]["creationTimestamp"]))
        assert APPROVAL_TIMEOUT <= waited.total_seconds() < APPROVAL_TIMEOUT + 15, (key, waited)
        assert {"ApprovalRequired", "ApprovalTimedOut", "Escalated"} <= set(history(inc)), history(inc)
        assert not {"AttemptApproved", "AttemptDenied", "AttemptLaunched"} & set(history(inc)), history(inc)

        wait_for_events(kubectl, namespace, name, [
            rf"Normal\s+ApprovalRequired\s.*kubectl annotate remediationattempt {name}-1",
            rf"Warning\s+ApprovalTimedOut\s.*No approval within {APPROVAL_TIMEOUT} s",
            r"Warning\s+Escalated\s.*ApprovalTimedOut",
        ], op)

        # Slack: the buttons are gone (a late click has nothing to act on); the thread says a human is needed.
        message = slack_message(api, sandbox, name)
        assert message is not None
        assert approval_buttons(message) == [], key
        replies = [r["text"] for r in message.get("replies", [])]
        assert any("A human is needed" in r and f"No approval within {APPROVAL_TIMEOUT} s" in r
                   for r in replies), replies

    assert launches(sandbox) == []
    cluster = next(c for c in sandbox.control.databricks_clusters() if c["cluster_id"] == CLUSTER[0])
    assert cluster["num_workers"] == 4
    assert metric(port, "aiops_rca_incidents_escalated_total", reason="ApprovalTimedOut") == 2


# --- the global kill switch ---------------------------------------------------------------------------


def test_kill_switch_escalates_a_healable_incident_without_an_attempt_until_switched_back_on(
    sandbox: RunningSandbox, start_operator: StartOperator, custom_api: client.CustomObjectsApi, namespace: str,
    kubectl: Kubectl,
) -> None:
    sandbox.control.load(scenario())
    api = Api(custom_api, namespace)
    api.create("remediationpolicies", policy("heal-gateway", [
        rule("gateway-timeout", "GatewayTimeout", "RerunPipeline", [1], 3)]))
    port = free_port()
    op = start_operator(port=port, AUTO_REMEDIATION_ENABLED="false", REMEDIATION_POLL_SECONDS="1")
    subscription = sandbox.endpoints.credentials.azure_subscription_id
    off = api.create("incidents", adf_incident(PIPELINE, RUN_IDS[0], GATEWAY_TIMEOUT, subscription))

    inc = api.wait_settled(off, op)
    assert inc["status"]["phase"] == "Escalated"
    assert inc["status"]["analysis"]["errorType"] == "GatewayTimeout"
    assert inc["status"]["analysis"]["autoHealPossible"] is True
    escalated = condition(inc, "Escalated")
    assert (escalated["status"], escalated["reason"]) == ("True", "RemediationDisabled")
    assert "AUTO_REMEDIATION_ENABLED=false" in escalated["message"]
    assert condition(inc, "Remediated")["reason"] == "RemediationDisabled"
    assert "AUTO_REMEDIATION_ENABLED=false" in inc["status"]["escalationReason"]
    assert api.attempts(off) == []
    assert launches(sandbox) == []
    events = wait_for_events(kubectl, namespace, off, [r"Warning\s+Escalated\s.*AUTO_REMEDIATION_ENABLED=false"],
                             op)
    # Escalated straight from the analysis: no remediation was announced first.
    assert "RemediationRequested" not in events
    assert "RemediationRequested" not in [h["action"] for h in inc["status"]["history"]]
    message = slack_message(api, sandbox, off)
    assert message is not None
    # Escalated before the first Slack message: the message itself says so, and why.
    posted = json.dumps(message)
    assert "a human is needed" in posted
    assert "AUTO_REMEDIATION_ENABLED=false" in posted
    assert metric(port, "aiops_rca_incidents_escalated_total", reason="RemediationDisabled") == 1
    assert metric(port, "aiops_rca_remediation_attempts_total", action="RerunPipeline") == 0

    # Switched back on: the same kind of failure is healed; the escalated one stays with the humans.
    op.stop()
    op.start(AUTO_REMEDIATION_ENABLED="true")
    on = api.create("incidents", adf_incident(PIPELINE, RUN_IDS[1], GATEWAY_TIMEOUT, subscription))
    inc = api.wait_settled(on, op)
    assert inc["status"]["phase"] == "Resolved", inc["status"].get("escalationReason")
    assert condition(inc, "Resolved")["reason"] == "AutoHealed"
    assert [a["status"]["phase"] for a in api.attempts(on)] == ["Succeeded"]
    [rerun] = launches(sandbox)
    assert RUN_IDS[1] in str(rerun)
    assert api.incident(off)["status"]["phase"] == "Escalated"
    assert api.attempts(off) == []


def test_kill_switch_skips_an_attempt_still_waiting_for_approval(
    sandbox: RunningSandbox, start_operator: StartOperator, custom_api: client.CustomObjectsApi, namespace: str,
    kubectl: Kubectl,
) -> None:
    """Nothing was launched yet, so switching remediation off applies to it: skipped and escalated."""
    sandbox.control.load(scenario())
    api = Api(custom_api, namespace)
    api.create("remediationpolicies", policy("needs-a-human", [
        rule("resource-exhausted", "DatabricksResourceExhausted", "ResizeCluster", [1], 2, risk="High")]))
    op = start_operator(REMEDIATION_POLL_SECONDS="1")
    name = api.create("incidents", cluster_incident(*CLUSTER, OOM, "OUT_OF_MEMORY"))
    wait_for_buttons(api, sandbox, name, op)
    assert [a["status"]["phase"] for a in api.attempts(name)] == ["AwaitingApproval"]

    op.stop()
    op.start(AUTO_REMEDIATION_ENABLED="false")
    inc = api.wait_settled(name, op)
    assert inc["status"]["phase"] == "Escalated"
    escalated = condition(inc, "Escalated")
    assert escalated["reason"] == "RemediationDisabled"
    assert escalated["message"] == "Attempt 1 was not launched: automatic remediation is switched off."
    [attempt] = api.attempts(name)
    assert attempt["status"]["phase"] == "Skipped"
    assert condition(attempt, "Completed")["reason"] == "RemediationDisabled"
    assert "externalRun" not in attempt["status"]
    assert "AttemptSkipped" in history(inc)
    wait_for_events(kubectl, namespace, name, [r"AttemptSkipped\s.*not launched",
                                               r"Warning\s+Escalated\s.*RemediationDisabled"], op)
    assert approval_buttons(slack_message(api, sandbox, name)) == []
    assert launches(sandbox) == []
