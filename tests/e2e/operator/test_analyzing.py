"""The Analyzing phase end to end: real API server, the operator as a subprocess, the sandbox as the cloud."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiops_operator.api import GROUP, VERSION, IncidentSource
from kubernetes import client

from sandbox.testing import RunningSandbox
from tests.e2e.conftest import Kubectl
from tests.e2e.operator.conftest import OperatorProcess, StartOperator, free_port, wait_for
from tests.support.builders import incident_body
from tests.support.kube_objects import as_object

ADF_RUN = "7d1b6f0a-3c2e-4d8b-9a51-2f6c8e4b1a90"
ADF_TIMEOUT = (
    "Failure happened on 'Source' side. ErrorCode=SqlFailedToConnect,Message=Cannot connect to SQL Database:"
    " 'sql-contoso-prod.database.windows.net', Database: 'sales'. Execution Timeout Expired. The timeout period"
    " elapsed prior to completion of the operation or the server is not responding."
)
DBX_JOB, DBX_RUN = 684537, 912873
DBX_ERROR = "FileNotFoundError: [Errno 2] No such file or directory: '/dbfs/mnt/raw/customers/2026-11-22.csv'"

SCENARIO = {
    "adf": {
        "pipelines": {"pl_copy_sales_daily": {"activities": ["Lookup_Watermark", "Copy_SalesOrders"]}},
        "seeded_runs": [{
            "run_id": ADF_RUN, "pipeline": "pl_copy_sales_daily", "status": "Failed",
            "failed_activity": "Copy_SalesOrders", "error_code": "2200", "failure_type": "UserError",
            "message": ADF_TIMEOUT,
        }],
    },
    "databricks": {
        "jobs": {DBX_JOB: {"name": "nightly-customer-features", "tasks": ["ingest", "validate", "publish"]}},
        "seeded_runs": [{
            "run_id": DBX_RUN, "job_id": DBX_JOB, "result": "FAILED", "failed_task": "validate",
            "error": DBX_ERROR,
            "error_trace": "Traceback (most recent call last):\n  File \"validate.py\", line 12, in <module>\n"
                           f"    df = spark.read.csv(path)\n{DBX_ERROR}",
        }],
    },
}


def fired(minutes_ago: float = 1) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def adf_incident(sandbox: RunningSandbox, *, with_details: bool = False) -> dict[str, Any]:
    error: dict[str, Any] = {}
    if with_details:
        error = {"code": "2200", "activity": "Copy_SalesOrders", "message": ADF_TIMEOUT}
    return incident_body(
        IncidentSource.AZURE_DATA_FACTORY,
        {"kind": "Pipeline", "name": "pl_copy_sales_daily", "factory": "adf-contoso-prod-weu",
         "resourceGroup": "rg-data-platform-prod",
         "subscriptionId": sandbox.endpoints.credentials.azure_subscription_id},
        ADF_RUN, received=fired(0.5),
        alert={"rule": "adf-pipeline-failed-runs", "severity": "Sev1", "firedTime": fired(), "signalType": "Log"},
        error=error,
    )


def databricks_incident() -> dict[str, Any]:
    return incident_body(
        IncidentSource.DATABRICKS_JOB, {"kind": "Job", "name": "nightly-customer-features", "id": str(DBX_JOB)},
        str(DBX_RUN), received=fired(0.2),
        alert={"rule": "jobs.on_failure", "signalType": "Webhook"},
        error={"code": "FAILED", "message": "Run failed with error message"},
    )


def create(custom_api: client.CustomObjectsApi, namespace: str, body: dict[str, Any]) -> str:
    as_object(custom_api.create_namespaced_custom_object(GROUP, VERSION, namespace, "incidents", body))
    return str(body["metadata"]["name"])


def get(custom_api: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    return as_object(custom_api.get_namespaced_custom_object(GROUP, VERSION, namespace, "incidents", name))


def condition(incident: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in incident.get("status", {}).get("conditions", []) if c["type"] == type_), {})


def settled(custom_api: client.CustomObjectsApi, namespace: str, name: str, op: OperatorProcess,
            timeout: float = 45) -> dict[str, Any]:
    """The incident once it left Analyzing and both notifications are recorded."""

    def done() -> dict[str, Any] | None:
        inc = get(custom_api, namespace, name)
        status = inc.get("status", {})
        notes = status.get("notifications", {})
        if status.get("phase") not in (None, "Analyzing") and notes.get("slack") and notes.get("jira"):
            return inc
        return None

    result: dict[str, Any] = wait_for(done, timeout, f"{name} analyzed and notified", op)
    return result


def top_level_posts(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return [c for c in sandbox.control.calls(service="slack", op="chat.postMessage")
            if c["status"] == 200 and not (c.get("body") or {}).get("thread_ts")]


def issues_created(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return [c for c in sandbox.control.calls(service="jira", op="createIssue") if c["status"] in (200, 201)]


def test_adf_incident_is_enriched_analyzed_routed_and_notified_once(
    sandbox: RunningSandbox, start_operator: StartOperator, apply_default_policy: Any,
    custom_api: client.CustomObjectsApi, namespace: str, kubectl: Kubectl,
) -> None:
    sandbox.control.load(SCENARIO)
    apply_default_policy()
    op = start_operator()
    name = create(custom_api, namespace, adf_incident(sandbox))
    inc = settled(custom_api, namespace, name, op)
    status = inc["status"]

    # Enrichment found the failing activity and its error through queryActivityruns.
    assert status["enrichment"]["activity"] == "Copy_SalesOrders"
    assert status["enrichment"]["errorCode"] == "2200"
    assert "Execution Timeout Expired" in status["enrichment"]["errorMessage"]
    assert sandbox.control.calls(service="adf", op="queryActivityruns")
    # Analysis, SLA (P3: 2 h from the alert's fired time), ownership from the policy's routing.
    assert status["analysis"]["errorType"] == "GatewayTimeout"
    assert status["analysis"]["provider"] == "Rules"
    priority = status["analysis"]["priority"]
    expected_sla = {"P1": 900, "P2": 1800, "P3": 7200, "P4": 86400}[priority]
    assert status["sla"]["seconds"] == expected_sla
    assert status["sla"]["state"] == "Pending"
    deadline = datetime.fromisoformat(status["sla"]["deadlineTime"].replace("Z", "+00:00"))
    fired_time = datetime.fromisoformat(inc["spec"]["alert"]["firedTime"].replace("Z", "+00:00"))
    assert deadline - fired_time == timedelta(seconds=expected_sla)
    assert status["ownership"] == {"team": "data-platform", "slackChannel": "#data-incidents",
                                   "jiraProject": "DATA", "origin": "Policy"}
    # Covered by the gateway-timeout rule and auto-healable: handed to remediation.
    assert status["phase"] == "Remediating"
    # Handed off, and picked up by the remediation stage: attempt 1 waits out the rule's 10 s backoff.
    assert condition(inc, "Remediated")["reason"] in ("AwaitingRemediation", "BackingOff")
    assert status["remediation"]["rule"] == "gateway-timeout"
    assert condition(inc, "Analyzed")["status"] == "True"
    assert condition(inc, "Notified")["reason"] == "NotificationsSent"
    assert status["observedGeneration"] == inc["metadata"]["generation"]

    # Exactly one Slack message and one Jira issue, cross-referenced.
    posts = top_level_posts(sandbox)
    assert len(posts) == 1
    assert status["notifications"]["slack"]["ts"] == posts[0]["target"]["ts"]
    assert status["notifications"]["slackUpdatedPhase"] == "Remediating"
    assert not sandbox.control.calls(service="slack", op="chat.update")  # posted showing its phase already
    created = issues_created(sandbox)
    assert len(created) == 1
    key = status["notifications"]["jira"]["key"]
    assert inc["metadata"]["labels"]["aiops-rca.io/jira-key"] == key
    issue = sandbox.control.jira_issue(key)
    assert "Root cause" in issue["description"]
    assert "data-platform" in issue["description"]
    channel = sandbox.control.slack_channel("data-incidents")
    message = channel["messages"][0]
    blocks_text = str(message["blocks"])
    assert "pl_copy_sales_daily" in blocks_text
    assert "GatewayTimeout" in blocks_text
    assert key in blocks_text
    assert "dashboard.example" in blocks_text

    # What a human sees.
    table = kubectl("get", "inc", "-n", namespace).stdout
    # Remediating until the rule's 10 s backoff is over, Monitoring once attempt 1 launched: on a loaded
    # machine the checks above can take longer than the backoff.
    assert re.search(r"\s(Remediating|Monitoring)\s", table), table
    assert "GatewayTimeout" in table
    reasons = ("AlertReceived", "Enriched", "IncidentAnalyzed", "RemediationRequested", "JiraIssueCreated",
               "SlackNotified")

    def described() -> str | None:
        text = kubectl("describe", "inc", name, "-n", namespace).stdout
        events = text.split("Events:")[-1]
        return text if all(r in events for r in reasons) else None

    assert "Rule gateway-timeout of RemediationPolicy default" in wait_for(described, 10, "Events in kubectl describe",
                                                                          op)


def test_databricks_incident_uncovered_rule_escalates_with_task_named_error(
    sandbox: RunningSandbox, start_operator: StartOperator, apply_default_policy: Any,
    custom_api: client.CustomObjectsApi, namespace: str,
) -> None:
    sandbox.control.load(SCENARIO)
    apply_default_policy()
    # A more specific, higher-priority policy owns nightly-* jobs but has no rule for missing inputs.
    as_object(custom_api.create_namespaced_custom_object(GROUP, VERSION, namespace, "remediationpolicies", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "RemediationPolicy",
        "metadata": {"name": "ml-nightly"},
        "spec": {
            "priority": 10,
            "selector": {"sources": ["DatabricksJob"], "namePatterns": ["nightly-*"]},
            "routing": {"team": "ml-platform", "owner": "ana", "costCenter": "CC-42",
                        "slackChannel": "#ml-alerts", "jiraProject": "ML"},
            "rules": [{"name": "oom", "errorType": "DatabricksResourceExhausted", "action": "ResizeCluster"}],
        },
    }))
    op = start_operator()
    name = create(custom_api, namespace, databricks_incident())
    inc = settled(custom_api, namespace, name, op)
    status = inc["status"]

    assert status["enrichment"]["activity"] == "validate"
    assert status["enrichment"]["errorMessage"].startswith(f"[Task: validate] {DBX_ERROR}")
    assert status["analysis"]["errorType"] == "UserErrorSourceBlobNotExists"
    assert status["sla"]["seconds"] == {"P1": 900, "P2": 1800, "P3": 7200, "P4": 86400}[
        status["analysis"]["priority"]]
    assert status["ownership"] == {"team": "ml-platform", "owner": "ana", "costCenter": "CC-42",
                                   "slackChannel": "#ml-alerts", "jiraProject": "ML", "origin": "Policy"}
    assert status["phase"] == "Escalated"
    escalated = condition(inc, "Escalated")
    assert escalated["status"] == "True"
    assert escalated["reason"] == "NoMatchingRule"
    assert "ml-nightly" in status["escalationReason"]
    assert condition(inc, "Ready")["status"] == "True"

    assert len(top_level_posts(sandbox)) == 1
    assert len(issues_created(sandbox)) == 1
    message = sandbox.control.slack_channel("ml-alerts")["messages"][0]
    assert "human is needed" in str(message["blocks"])
    issue = sandbox.control.jira_issue(status["notifications"]["jira"]["key"])
    assert "A human is needed" in issue["description"]
    assert issue["key"].startswith("ML-")


def test_slack_outage_does_not_block_and_message_arrives_once_slack_recovers(
    sandbox: RunningSandbox, start_operator: StartOperator, apply_default_policy: Any,
    custom_api: client.CustomObjectsApi, namespace: str,
) -> None:
    sandbox.control.load(SCENARIO)
    apply_default_policy()
    sandbox.control.add_fault(service="slack", op="chat.postMessage", kind="status", status=500,
                              error="internal_error")
    port = free_port()
    op = start_operator(port=port)
    name = create(custom_api, namespace, adf_incident(sandbox, with_details=True))

    def progressed_without_slack() -> dict[str, Any] | None:
        inc = get(custom_api, namespace, name)
        notified = condition(inc, "Notified")
        if inc.get("status", {}).get("phase") == "Remediating" and notified.get("reason") == "NotificationFailed":
            return inc
        return None

    inc = wait_for(progressed_without_slack, 45, "Remediating while Slack fails", op)
    assert "Slack" in condition(inc, "Notified")["message"]
    assert inc["status"]["notifications"].get("jira")  # Jira is not held up by Slack
    wait_for(lambda: len(sandbox.control.calls(service="slack", op="chat.postMessage")) >= 2, 30,
             "Slack retried", op)

    sandbox.control.clear_faults()
    inc = settled(custom_api, namespace, name, op)
    assert condition(inc, "Notified")["reason"] == "NotificationsSent"
    assert len(top_level_posts(sandbox)) == 1
    assert len(sandbox.control.slack_channel("data-incidents")["messages"]) == 1
    assert "NotificationFailed" in [h["action"] for h in inc["status"]["history"]]

    # The outage shows in the metrics.
    scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    failures = next(line for line in scraped.splitlines()
                    if line.startswith('aiops_rca_notification_failures_total{channel="Slack"}'))
    assert float(failures.split()[-1]) >= 1
    # The incident is counted in the phase it has reached by now (its re-run may have launched meanwhile).
    assert re.search(r'^aiops_rca_incidents\{error_type="GatewayTimeout",phase="(Remediating|Monitoring|Resolved)",'
                     r'source="AzureDataFactory"\} 1\.0$', scraped, re.MULTILINE), scraped
    assert "aiops_rca_analysis_duration_seconds_count" in scraped
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200


def test_llm_answering_garbage_falls_back_to_the_rules_and_says_so(
    sandbox: RunningSandbox, start_operator: StartOperator, apply_default_policy: Any,
    custom_api: client.CustomObjectsApi, namespace: str,
) -> None:
    sandbox.control.load(SCENARIO)
    apply_default_policy()
    sandbox.control.add_fault(service="llm", kind="malformed_json")
    e = sandbox.endpoints
    op = start_operator(
        AIOPS_LLM_PROVIDER="OpenAICompatible", AIOPS_LLM_BASE_URL=e.llm_base_url,
        AIOPS_LLM_API_KEY=e.credentials.llm_api_key, AIOPS_LLM_MODEL="sandbox-rca-1",
    )
    name = create(custom_api, namespace, adf_incident(sandbox, with_details=True))
    inc = settled(custom_api, namespace, name, op)
    analysis = inc["status"]["analysis"]
    assert analysis["errorType"] == "GatewayTimeout"  # the rules' answer
    assert analysis["fallbackReason"]
    assert condition(inc, "Analyzed")["reason"] == "AnalysisFellBack"
    assert "AnalysisFellBack" in [h["action"] for h in inc["status"]["history"]]
    assert len(sandbox.control.calls(service="llm")) >= 2  # asked, and asked again once
    assert inc["status"]["phase"] == "Remediating"


@pytest.mark.parametrize("crash_at", ["after-jira-create", "after-slack-post", "after-analysis"])
def test_operator_killed_after_a_side_effect_does_not_duplicate_it(
    crash_at: str, sandbox: RunningSandbox, start_operator: StartOperator, apply_default_policy: Any,
    custom_api: client.CustomObjectsApi, namespace: str, tmp_path: Any,
) -> None:
    sandbox.control.load(SCENARIO)
    apply_default_policy()
    marker = tmp_path / "crashed"
    op = start_operator(AIOPS_RCA_CRASH_AT=crash_at, AIOPS_RCA_CRASH_MARKER=str(marker))
    name = create(custom_api, namespace, adf_incident(sandbox))
    code = op.wait_exit(45)
    assert code == -9, f"the operator did not SIGKILL itself at {crash_at}: {code}\n{op.log_tail()}"
    assert marker.exists()
    op.start()  # the same settings; the marker keeps the hook from firing again
    inc = settled(custom_api, namespace, name, op)

    assert len(top_level_posts(sandbox)) == 1
    assert len(issues_created(sandbox)) == 1
    assert len(sandbox.control.slack_channel("data-incidents")["messages"]) == 1
    key = inc["status"]["notifications"]["jira"]["key"]
    assert inc["metadata"]["labels"]["aiops-rca.io/jira-key"] == key
    assert inc["status"]["analysis"]["errorType"] == "GatewayTimeout"
