"""Policy-driven remediation end to end: real API server, the operator as a subprocess, the sandbox as the cloud.

Every showcase scenario runs at once in one namespace under one operator (as
they would in production), with short backoffs and a 1 s poll interval from
settings; each test then checks its own incident from what a user sees: the
objects, `kubectl get/describe`, the Slack channel and the Jira issue.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiops_operator.api import GROUP, VERSION
from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from sandbox.testing import RunningSandbox
from tests.e2e.conftest import Kubectl
from tests.e2e.operator.conftest import CLI, OperatorProcess, free_port, wait_for
from tests.e2e.operator.remediation_world import (
    DRIVER,
    GATEWAY_TIMEOUT,
    INTERNAL,
    LIBRARY,
    OOM,
    SCHEMA,
    THROTTLED,
    Api,
    adf_incident,
    cluster_incident,
    condition,
    history,
    logic_app,
    parse_time,
    policy,
    rule,
    wait_for_events,
)
from tests.support.logic_app import LogicApp

THROTTLE_BACKOFF = [1, 3, 5, 5, 5]
CHANNEL = "data-incidents"

RUNS = {
    "gateway": "0b7c1f6e-1111-4000-8000-000000000001",
    "throttle": "0b7c1f6e-2222-4000-8000-000000000002",
    "exhaust": "0b7c1f6e-3333-4000-8000-000000000003",
    "dryrun": "0b7c1f6e-4444-4000-8000-000000000004",
    "playbook": "0b7c1f6e-5555-4000-8000-000000000005",
    "schema": "0b7c1f6e-6666-4000-8000-000000000006",
}
PIPELINES = {
    "gateway": ("pl_copy_sales_daily", GATEWAY_TIMEOUT),
    "throttle": ("pl_ingest_orders_api", THROTTLED),
    "exhaust": ("pl_load_finance", INTERNAL),
    "dryrun": ("pl_dryrun_marketing", GATEWAY_TIMEOUT),
    "playbook": ("pl_playbook_crm", GATEWAY_TIMEOUT),
    "schema": ("pl_curate_customers", SCHEMA),
}
CLUSTERS = {
    "driver": ("0101-120000-driver01", "etl-driver-cluster", DRIVER, "DRIVER_NOT_RESPONDING"),
    "library": ("0101-120000-libs0001", "ml-libs-cluster", LIBRARY, "LIBRARY_INSTALL_FAILED"),
    "approve": ("0101-120000-bigmem01", "spark-bigmem-approve", OOM, "OUT_OF_MEMORY"),
    "deny": ("0101-120000-bigmem02", "spark-bigmem-deny", OOM, "OUT_OF_MEMORY"),
}


def scenario() -> dict[str, Any]:
    seeded = []
    for key, run_id in RUNS.items():
        pipeline, message = PIPELINES[key]
        seeded.append({"run_id": run_id, "pipeline": pipeline, "status": "Failed", "failed_activity": "Copy_Data",
                       "error_code": "2200", "failure_type": "UserError", "message": message})
    ok = {"status": "Succeeded", "duration_seconds": 1}
    failed = {"status": "Failed", "duration_seconds": 0.5, "failed_activity": "Copy_Data", "message": THROTTLED}
    return {
        "defaults": {"run_duration_seconds": 1, "cluster_transition_seconds": 1},
        "adf": {
            "pipelines": {
                "pl_copy_sales_daily": {"activities": ["Copy_Data"], "runs": [ok]},
                "pl_ingest_orders_api": {"activities": ["Copy_Data"], "runs": [failed, failed, ok]},
                "pl_load_finance": {"activities": ["Copy_Data"], "runs": [{**failed, "message": INTERNAL}]},
                "pl_dryrun_marketing": {"activities": ["Copy_Data"], "runs": [ok]},
                "pl_playbook_crm": {"activities": ["Copy_Data"], "runs": [ok]},
                "pl_curate_customers": {"activities": ["Copy_Data"], "runs": [ok]},
            },
            "seeded_runs": seeded,
        },
        "databricks": {"clusters": {
            CLUSTERS["driver"][0]: {"name": CLUSTERS["driver"][1], "state": "RUNNING", "num_workers": 2},
            CLUSTERS["library"][0]: {"name": CLUSTERS["library"][1], "state": "RUNNING", "num_workers": 2,
                                     "libraries": {"pypi:pandas==2.1.4": {"status": "FAILED",
                                                                          "message": "No matching distribution"}}},
            CLUSTERS["approve"][0]: {"name": CLUSTERS["approve"][1], "state": "RUNNING", "num_workers": 4},
            CLUSTERS["deny"][0]: {"name": CLUSTERS["deny"][1], "state": "RUNNING", "num_workers": 4},
        }},
    }


def policies(playbook_url: str) -> list[dict[str, Any]]:
    fast = [1, 1, 1]
    return [
        policy("showcase", [
            rule("gateway-timeout", "GatewayTimeout", "RerunPipeline", fast, 3),
            rule("throttling", "ThrottlingError", "RerunPipeline", THROTTLE_BACKOFF, 5),
            rule("internal-server-error", "InternalServerError", "RerunPipeline", [1, 1], 2),
            rule("driver-not-responding", "DatabricksDriverNotResponding", "RestartCluster", [1], 1, risk="Medium"),
            rule("library-install", "DatabricksLibraryInstallationError", "ReinstallLibrary", [1, 1], 2),
            rule("resource-exhausted", "DatabricksResourceExhausted", "ResizeCluster", [1, 1], 2, risk="High"),
        ]),
        policy("dry-run-marketing", [rule("gateway-timeout", "GatewayTimeout", "RerunPipeline", fast, 3,
                                          dryRun=True)], priority=10, patterns=["pl_dryrun_*"]),
        policy("playbook-crm", [rule("gateway-timeout", "GatewayTimeout", "CallPlaybook", fast, 2,
                                     parameters=[{"name": "url", "value": playbook_url}])],
               priority=10, patterns=["pl_playbook_*"]),
    ]


@dataclass
class World:
    api: Api
    namespace: str
    op: OperatorProcess
    sandbox: RunningSandbox
    playbook: LogicApp
    metrics_port: int
    names: dict[str, str] = field(default_factory=dict)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))


@pytest.fixture(scope="module")
def world(kubeconfig: Path, api_client: client.ApiClient, custom_api: client.CustomObjectsApi,
          sandbox_session: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    sandbox = sandbox_session
    sandbox.control.load(scenario())
    namespace = f"e2e-remediation-{secrets.token_hex(3)}"
    core = client.CoreV1Api(api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    api = Api(custom_api, namespace)
    logs = tmp_path_factory.mktemp("remediation")
    with logic_app() as playbook:
        for body in policies(playbook.url):
            api.create("remediationpolicies", body)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLACK_", "JIRA_", "LLM_", "AZURE_", "DATABRICKS_"))}
        env.update(sandbox.endpoints.env())
        env.update({
            "KUBECONFIG": str(kubeconfig), "LOG_LEVEL": "INFO", "RESYNC_SECONDS": "30",
            "NOTIFY_RETRY_INITIAL_SECONDS": "1", "NOTIFY_RETRY_MAX_SECONDS": "2",
            "DASHBOARD_URL": "http://dashboard.example", "SSL_CERT_FILE": str(sandbox.endpoints.ca_file),
            "REMEDIATION_POLL_SECONDS": "1", "POLICY_STATS_SECONDS": "2",
            "REMEDIATION_CALLBACK_URL": "http://receiver.example/api/remediation-callback?api_key=k3y",
        })
        metrics_port = free_port()
        op = OperatorProcess(args=[str(CLI), "operator", "--namespace", namespace, "--port", str(metrics_port)],
                             env=env, log_path=logs / "operator.log")
        op.start()
        w = World(api=api, namespace=namespace, op=op, sandbox=sandbox, playbook=playbook,
                  metrics_port=metrics_port)
        subscription = sandbox.endpoints.credentials.azure_subscription_id
        for key, run_id in RUNS.items():
            pipeline, message = PIPELINES[key]
            w.names[key] = api.create("incidents", adf_incident(pipeline, run_id, message, subscription))
        for key, (cluster_id, cluster_name, message, code) in CLUSTERS.items():
            w.names[key] = api.create("incidents", cluster_incident(cluster_id, cluster_name, message, code))
        try:
            yield w
        finally:
            op.stop()
            print(f"--- operator log {op.log_path} ---\n{op.log_tail(80)}")
            with contextlib.suppress(client.ApiException):
                core.delete_namespace(namespace)


def slack_thread(world: World, name: str) -> tuple[dict[str, Any], list[str]]:
    inc = world.api.incident(name)
    ts = inc["status"]["notifications"]["slack"]["ts"]
    channel = world.sandbox.control.slack_channel(CHANNEL)
    message = next(m for m in channel["messages"] if m["ts"] == ts)
    return message, [r["text"] for r in message.get("replies", [])]


def assert_one_message_and_issue(world: World, name: str) -> None:
    inc = world.api.incident(name)
    uid = inc["metadata"]["uid"]
    ours = [m for m in world.sandbox.control.slack_channel(CHANNEL)["messages"]
            if ((m.get("metadata") or {}).get("event_payload") or {}).get("incident_uid") == uid]
    assert len(ours) <= 1
    key = inc["status"]["notifications"]["jira"]["key"]
    assert world.sandbox.control.jira_issue(key)["key"] == key


# --- healed on attempt 1 --------------------------------------------------------------------------


def test_gateway_timeout_is_healed_on_attempt_1(world: World, kubectl: Kubectl) -> None:
    name = world.names["gateway"]
    inc = world.api.wait_settled(name, world.op)
    status = inc["status"]
    assert status["phase"] == "Resolved", status.get("escalationReason")
    assert condition(inc, "Resolved")["reason"] == "AutoHealed"
    assert condition(inc, "Remediated")["status"] == "True"
    resolution = status["resolution"]
    assert resolution["resolvedBy"] == "AutoHeal"
    fired = parse_time(inc["spec"]["alert"]["firedTime"])
    assert resolution["mttrSeconds"] == int((parse_time(resolution["resolvedTime"]) - fired).total_seconds())
    assert status["sla"]["state"] == "Met"
    assert status["remediation"] == {**status["remediation"], "policy": "showcase", "rule": "gateway-timeout",
                                     "attemptsMade": 1, "maxAttempts": 3, "currentAttempt": f"{name}-1"}
    attempts = world.api.attempts(name)
    assert [a["metadata"]["name"] for a in attempts] == [f"{name}-1"]
    attempt = attempts[0]
    assert attempt["status"]["phase"] == "Succeeded"
    assert attempt["metadata"]["ownerReferences"][0]["uid"] == inc["metadata"]["uid"]
    run_id = attempt["status"]["externalRun"]["runId"]
    assert resolution["runId"] == run_id
    # The re-run referenced the failed run, in recovery mode from the failed activity: exactly one createRun.
    creates = [c for c in world.sandbox.control.calls(service="adf", op="createRun")
               if "pl_copy_sales_daily" in c["path"]]
    assert len(creates) == 1
    assert RUNS["gateway"] in str(creates[0].get("query") or creates[0]["path"])
    run = next(r for r in world.sandbox.control.adf_runs() if r["runId"] == run_id)
    assert run["status"] == "Succeeded"

    # Slack: the original message edited in place with the success banner, plus a thread reply.
    message, replies = slack_thread(world, name)
    text = str(message["blocks"])
    assert "Auto-healed on attempt 1/3" in text
    assert run_id in text
    assert "MTTR" in text
    assert "SLA Met" in text
    assert any("Auto-healed on attempt 1/3" in r for r in replies)
    # Jira: a comment with the details and the transition to Done.
    issue = world.sandbox.control.jira_issue(status["notifications"]["jira"]["key"])
    assert issue["status"] == "Done"
    assert any("Auto-healed on attempt 1/3" in c for c in issue["comments"])
    assert [t["to"] for t in issue["transitions"]] == ["Done"]
    assert_one_message_and_issue(world, name)

    # What a human sees.
    table = kubectl("get", "inc,ra", "-n", world.namespace).stdout
    assert re.search(rf"{name}\s+Resolved\s+AzureDataFactory\s+pl_copy_sales_daily\s+GatewayTimeout\s+\w+\s+1",
                     table), table
    assert re.search(rf"{name}-1\s+{name}\s+RerunPipeline\s+Succeeded", table), table
    wait_for_events(kubectl, world.namespace, name, ["RemediationRequested", "AttemptCreated", "AttemptLaunched",
                                                     "RemediationSucceeded", "SlackUpdated", "JiraUpdated"], world.op)


# --- healed on attempt 3 after two failures, with the configured backoffs ---------------------------


def test_throttling_is_healed_on_attempt_3_after_the_configured_backoffs(world: World) -> None:
    name = world.names["throttle"]
    inc = world.api.wait_settled(name, world.op, timeout=120)
    assert inc["status"]["phase"] == "Resolved", inc["status"].get("escalationReason")
    attempts = world.api.attempts(name)
    assert [a["status"]["phase"] for a in attempts] == ["Failed", "Failed", "Succeeded"]
    assert inc["status"]["remediation"]["attemptsMade"] == 3
    analyzed = parse_time(inc["status"]["analysis"]["analyzedTime"])
    assert parse_time(attempts[0]["spec"]["notBeforeTime"]) - analyzed == timedelta(seconds=THROTTLE_BACKOFF[0])
    for n in (1, 2):
        previous_end = parse_time(attempts[n - 1]["status"]["completionTime"])
        not_before = parse_time(attempts[n]["spec"]["notBeforeTime"])
        assert abs((not_before - previous_end).total_seconds() - THROTTLE_BACKOFF[n]) < 1.0, (n, attempts[n])
        started = parse_time(attempts[n]["status"]["startTime"])
        assert started >= not_before - timedelta(seconds=1)
    assert len([c for c in world.sandbox.control.calls(service="adf", op="createRun")
                if "pl_ingest_orders_api" in c["path"]]) == 3
    _, replies = slack_thread(world, name)
    assert any("Retry 2/5" in r for r in replies), replies
    assert any("Retry 3/5" in r for r in replies), replies
    assert any("Auto-healed on attempt 3/5" in r for r in replies), replies
    assert history(inc).count("RemediationAttemptFailed") == 2


# --- Databricks: restart, library fallback, resize with approval ------------------------------------


def test_driver_not_responding_restarts_the_cluster(world: World) -> None:
    name = world.names["driver"]
    inc = world.api.wait_settled(name, world.op)
    assert inc["status"]["phase"] == "Resolved", inc["status"].get("escalationReason")
    cluster_id = CLUSTERS["driver"][0]
    restarts = [c for c in world.sandbox.control.calls(service="databricks", op="clusters/restart")
                if cluster_id in str(c)]
    assert len(restarts) == 1
    cluster = next(c for c in world.sandbox.control.databricks_clusters() if c["cluster_id"] == cluster_id)
    assert cluster["state"] == "RUNNING"
    assert world.api.attempts(name)[0]["spec"]["action"] == "RestartCluster"


def test_library_install_failure_reinstalls_an_older_version(world: World) -> None:
    name = world.names["library"]
    inc = world.api.wait_settled(name, world.op)
    assert inc["status"]["phase"] == "Resolved", inc["status"].get("escalationReason")
    attempt = world.api.attempts(name)[0]
    assert "pandas==2.1.0" in attempt["status"]["externalRun"]["detail"]
    installs = [c for c in world.sandbox.control.calls(service="databricks", op="libraries/install")
                if CLUSTERS["library"][0] in str(c)]
    assert len(installs) == 1
    assert "pandas==2.1.0" in str(installs[0])


def test_high_risk_resize_waits_for_approval_then_is_approved_with_kubectl(world: World, kubectl: Kubectl) -> None:
    name = world.names["approve"]
    attempt_name = f"{name}-1"

    def awaiting() -> dict[str, Any] | None:
        attempts = world.api.attempts(name)
        return attempts[0] if attempts and attempts[0].get("status", {}).get("phase") == "AwaitingApproval" \
            else None

    wait_for(awaiting, 60, "the resize awaiting approval", world.op)
    inc = world.api.incident(name)
    assert inc["status"]["phase"] == "Remediating"
    assert condition(inc, "Remediated")["reason"] == "AwaitingApproval"
    assert not world.sandbox.control.calls(service="databricks", op="clusters/resize")
    described = kubectl("describe", "inc", name, "-n", world.namespace).stdout
    assert "ApprovalRequired" in described
    assert f"kubectl annotate remediationattempt {attempt_name}" in described

    kubectl("annotate", "remediationattempt", attempt_name, "-n", world.namespace,
            "aiops-rca.io/approval=approved", "aiops-rca.io/approval-reason=month-end capacity")
    inc = world.api.wait_settled(name, world.op)
    assert inc["status"]["phase"] == "Resolved", inc["status"].get("escalationReason")
    attempt = world.api.get("remediationattempts", attempt_name)
    approval = attempt["status"]["approval"]
    assert approval["decision"] == "Approved"
    assert approval["via"] == "Kubectl"
    assert "kubectl" in approval["by"]
    assert approval["reason"] == "month-end capacity"
    assert condition(attempt, "Approved")["status"] == "True"
    cluster = next(c for c in world.sandbox.control.databricks_clusters() if c["cluster_id"] == CLUSTERS["approve"][0])
    assert cluster["num_workers"] == 6  # +50 %
    assert "AttemptApproved" in history(inc)


def test_denied_resize_is_escalated(world: World, kubectl: Kubectl) -> None:
    name = world.names["deny"]
    attempt_name = f"{name}-1"
    wait_for(lambda: (world.api.attempts(name) or [{}])[0].get("status", {}).get("phase") == "AwaitingApproval",
             60, "the resize awaiting approval", world.op)
    kubectl("annotate", "remediationattempt", attempt_name, "-n", world.namespace, "aiops-rca.io/approval=denied",
            "aiops-rca.io/approved-by=ana@contoso.com")
    inc = world.api.wait_settled(name, world.op)
    assert inc["status"]["phase"] == "Escalated"
    assert condition(inc, "Escalated")["reason"] == "ApprovalDenied"
    attempt = world.api.get("remediationattempts", attempt_name)
    assert attempt["status"]["phase"] == "Skipped"
    assert attempt["status"]["approval"]["decision"] == "Denied"
    assert "ana@contoso.com" in attempt["status"]["approval"]["by"]
    assert "AttemptDenied" in history(inc)
    resizes = [c for c in world.sandbox.control.calls(service="databricks", op="clusters/resize")
               if CLUSTERS["deny"][0] in str(c)]
    assert not resizes
    _, replies = slack_thread(world, name)
    assert any("A human is needed" in r and "dashboard.example" in r for r in replies)


# --- escalations --------------------------------------------------------------------------------------


def test_exhausted_attempts_escalate_then_a_kubectl_user_resolves(world: World, kubectl: Kubectl) -> None:
    name = world.names["exhaust"]
    inc = world.api.wait_settled(name, world.op, timeout=120)
    assert inc["status"]["phase"] == "Escalated"
    assert condition(inc, "Escalated")["reason"] == "AttemptsExhausted"
    assert [a["status"]["phase"] for a in world.api.attempts(name)] == ["Failed", "Failed"]
    assert "AttemptsExhausted" in history(inc)
    _, replies = slack_thread(world, name)
    assert any("Retry 2/2" in r for r in replies), replies
    assert any("A human is needed" in r and "Dashboard: http://dashboard.example/" in r for r in replies), replies
    issue = world.sandbox.control.jira_issue(inc["status"]["notifications"]["jira"]["key"])
    assert any("A human is needed" in c for c in issue["comments"])
    wait_for_events(kubectl, world.namespace, name, [r"Warning\s+AttemptsExhausted"], world.op)

    kubectl("annotate", "inc", name, "-n", world.namespace,
            "aiops-rca.io/resolve=restarted the SQL gateway by hand")
    inc = world.api.wait_settled(name, world.op, phases=("Resolved",))
    assert inc["status"]["phase"] == "Resolved"
    resolution = inc["status"]["resolution"]
    assert resolution["resolvedBy"] == "Kubectl"
    assert "kubectl" in resolution["actor"]
    assert resolution["note"] == "restarted the SQL gateway by hand"
    assert resolution["mttrSeconds"] > 0
    assert inc["status"]["sla"]["state"] in ("Met", "Breached")
    issue = world.sandbox.control.jira_issue(inc["status"]["notifications"]["jira"]["key"])
    assert issue["status"] == "Done"


def test_dry_run_policy_records_what_it_would_do_and_escalates(world: World) -> None:
    name = world.names["dryrun"]
    inc = world.api.wait_settled(name, world.op)
    assert inc["status"]["phase"] == "Escalated"
    assert condition(inc, "Escalated")["reason"] == "DryRun"
    attempt = world.api.attempts(name)[0]
    assert attempt["spec"]["dryRun"] is True
    assert attempt["status"]["phase"] == "Skipped"
    assert "Re-run ADF pipeline pl_dryrun_marketing" in attempt["status"]["wouldHaveDone"]
    assert not [c for c in world.sandbox.control.calls(service="adf", op="createRun")
                if "pl_dryrun_marketing" in c["path"]]


def test_schema_mismatch_escalates_then_jira_done_resolves_it_by_a_human(world: World) -> None:
    name = world.names["schema"]
    inc = world.api.wait_settled(name, world.op)
    assert inc["status"]["phase"] == "Escalated"
    assert condition(inc, "Escalated")["reason"] == "NotAutoHealable"
    assert not world.api.attempts(name)
    # What the receiver writes when Jira's webhook says the issue moved to Done.
    world.api.custom.patch_namespaced_custom_object_status(GROUP, VERSION, world.namespace, "incidents", name, {
        "status": {"signals": {"jiraStatus": "Done", "jiraActor": "maria.lopez@contoso.com",
                               "jiraStatusTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}}})
    inc = world.api.wait_settled(name, world.op, phases=("Resolved",))
    assert inc["status"]["phase"] == "Resolved"
    assert condition(inc, "Resolved")["reason"] == "ResolvedInJira"
    resolution = inc["status"]["resolution"]
    assert resolution["resolvedBy"] == "Jira"
    assert resolution["actor"] == "maria.lopez@contoso.com"
    assert inc["status"]["sla"]["state"] in ("Met", "Breached")
    message, replies = slack_thread(world, name)
    assert "maria.lopez@contoso.com" in str(message["blocks"])
    assert any("maria.lopez@contoso.com" in r for r in replies)


# --- Logic App playbook with its callback -------------------------------------------------------------


def test_logic_app_playbook_heals_through_its_callback(world: World) -> None:
    name = world.names["playbook"]
    attempt_name = f"{name}-1"
    wait_for(lambda: world.playbook.requests, 60, "the playbook called", world.op)
    headers, body = world.playbook.requests[0]
    assert body["ticket_id"] == name
    assert body["attempt_number"] == 1
    assert body["callback_url"].endswith("/api/remediation-callback?api_key=k3y")
    attempt = wait_for(lambda: world.api.get("remediationattempts", attempt_name).get("status", {}).get(
        "externalRun") and world.api.get("remediationattempts", attempt_name), 30, "the launch recorded", world.op)
    assert attempt["status"]["phase"] == "Running"
    assert headers.get("Idempotency-Key") == attempt["spec"]["idempotencyKey"]
    assert world.api.incident(name)["status"]["phase"] == "Monitoring"
    # What the receiver writes when the Logic App POSTs to /api/remediation-callback.
    world.api.custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, world.namespace, "remediationattempts", attempt_name,
        {"status": {"callback": {"status": "Succeeded", "success": True, "remediationRunId": "adf-rerun-77",
                                 "receivedTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}}})
    inc = world.api.wait_settled(name, world.op)
    assert inc["status"]["phase"] == "Resolved"
    assert len(world.playbook.requests) == 1
    assert world.api.get("remediationattempts", attempt_name)["status"]["phase"] == "Succeeded"


# --- the policies' own status -----------------------------------------------------------------------


def test_policies_report_ready_and_rule_counts_and_an_invalid_policy_is_stalled(world: World) -> None:
    # Wait for the other scenarios' outcomes to be counted (coalesced every POLICY_STATS_SECONDS).
    world.api.wait_settled(world.names["gateway"], world.op)

    def counted() -> dict[str, Any] | None:
        pol = world.api.get("remediationpolicies", "showcase")
        stats = {r["name"]: r for r in pol.get("status", {}).get("rules", [])}
        gateway = stats.get("gateway-timeout", {})
        return pol if gateway.get("succeeded") == 1 and gateway.get("matched") == 1 else None

    pol = wait_for(counted, 30, "rule counts", world.op)
    assert condition(pol, "Ready")["status"] == "True"
    assert pol["status"]["observedGeneration"] == pol["metadata"]["generation"]
    assert {r["name"]: r["attempted"] for r in pol["status"]["rules"]}["gateway-timeout"] == 1

    bad = policy("broken", [rule("throttling", "ThrottlingError", "CheckUpstreamThenRerun", [1], 2)],
                 priority=100)
    world.api.create("remediationpolicies", bad)

    def stalled() -> dict[str, Any] | None:
        got = world.api.get("remediationpolicies", "broken")
        return got if condition(got, "Stalled").get("status") == "True" else None

    got = wait_for(stalled, 30, "the invalid policy stalled", world.op)
    assert condition(got, "Stalled")["reason"] == "InvalidSpec"
    assert condition(got, "Ready")["status"] == "False"
    assert "spec.rules[0].parameters" in condition(got, "Ready")["message"]
    assert "upstreamPipeline" in condition(got, "Ready")["message"]


# --- metrics --------------------------------------------------------------------------------------


def test_metrics_count_what_the_scenarios_did(world: World) -> None:
    """Runs last in this module: every scenario above has left its mark on /metrics."""
    text = httpx.get(f"http://127.0.0.1:{world.metrics_port}/metrics", timeout=5).text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text) for sample in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("aiops_rca_remediation_attempts_total", action="RerunPipeline") >= 1
    assert value("aiops_rca_remediation_outcomes_total", action="RerunPipeline", error_type="GatewayTimeout",
                 outcome="succeeded") >= 1
    assert value("aiops_rca_remediation_outcomes_total", action="RerunPipeline", error_type="ThrottlingError",
                 outcome="failed") >= 2
    assert value("aiops_rca_approvals_total", decision="Approved", channel="Kubectl") >= 1
    assert value("aiops_rca_approvals_total", decision="Denied", channel="Kubectl") >= 1
    assert value("aiops_rca_time_to_resolve_seconds_count", resolved_by="AutoHeal") >= 1
    assert value("aiops_rca_time_to_resolve_seconds_count", resolved_by="Jira") >= 1
    assert value("aiops_rca_incidents_escalated_total", reason="AttemptsExhausted") >= 1
    assert value("aiops_rca_incidents_escalated_total", reason="ApprovalDenied") >= 1
