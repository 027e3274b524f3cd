"""Recurrence and retention end to end, against a real API server with the operator as a subprocess and the
sandbox as ADF: a failure that keeps coming back is linked to its predecessor and escalated by the policy's
recurrence limit instead of re-run; retention deletes a resolved incident with its attempts and keeps its summary
in the recurrence record, which the next failure of the same pipeline still counts."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiops_operator.api import GROUP, VERSION
from kubernetes import client

from sandbox.testing import RunningSandbox
from tests.e2e.conftest import Kubectl
from tests.e2e.operator.conftest import StartOperator, wait_for
from tests.e2e.operator.remediation_world import GATEWAY_TIMEOUT, Api, adf_incident, condition, iso, policy, rule
from tests.e2e.operator.test_guardrails import reruns, scenario

RECORD_LABEL = "aiops-rca.io/recurrence-record"


def run_ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-0000-4000-8000-00000000000{i}" for i in range(1, n + 1)]


def rerun_policy(name: str, **rule_extra: Any) -> dict[str, Any]:
    """The policy of both tests: re-run a pipeline that failed with a gateway timeout, twice at most, 1 s apart."""
    return policy(name, [rule("gateway-timeout", "GatewayTimeout", "RerunPipeline", [1], 2, **rule_extra)])


def settle(api: Api, name: str, op: Any, phases: tuple[str, ...] = ("Resolved", "Escalated")) -> dict[str, Any]:
    return api.wait_settled(name, op, timeout=90, phases=phases)


def test_a_recurring_failure_links_to_its_predecessor_and_the_policy_escalates_instead_of_rerunning(
    sandbox: RunningSandbox, start_operator: StartOperator, custom_api: client.CustomObjectsApi, namespace: str,
    kubectl: Kubectl,
) -> None:
    pipeline, ids = "pl_recurring_orders", run_ids("7ec0aa01", 3)
    sandbox.control.load(scenario(pipeline, ids))
    api = Api(custom_api, namespace)
    api.create("remediationpolicies", rerun_policy(
        "recurring", recurrence={"escalateAfter": 2, "windowSeconds": 7 * 86400}))
    op = start_operator(REMEDIATION_POLL_SECONDS="1")
    subscription = sandbox.endpoints.credentials.azure_subscription_id
    names: list[str] = []
    for run_id in ids:  # one after the other: each one's history is the ones before it
        names.append(api.create("incidents", adf_incident(pipeline, run_id, GATEWAY_TIMEOUT, subscription)))
        settle(api, names[-1], op)
    first, second, third = (api.incident(n) for n in names)

    assert condition(first, "Resolved")["reason"] == "AutoHealed"
    assert first["status"]["recurrence"]["count"] == 0
    assert condition(second, "Resolved")["reason"] == "AutoHealed"
    assert (second["status"]["recurrence"]["count"], second["status"]["recurrence"]["previous"]) == (1, names[0])

    assert third["status"]["phase"] == "Escalated"
    escalated = condition(third, "Escalated")
    assert escalated["reason"] == "RecurringFailure"
    assert f"already failed with GatewayTimeout 2 times in the last 7 days (limit 2; latest {names[1]}" \
        in escalated["message"]
    recurrence = third["status"]["recurrence"]
    assert (recurrence["count"], recurrence["autoHealed"], recurrence["previous"]) == (2, 2, names[1])
    assert recurrence["healedBy"] == [{"action": "RerunPipeline", "count": 2}]
    assert [r["name"] for r in recurrence["recent"]] == [names[1], names[0]]
    assert api.attempts(names[2]) == []
    assert reruns(sandbox, pipeline) == 2  # the third was not re-run

    # What a user types to see the recurrences of one failure, and the column it shows.
    labels = third["metadata"]["labels"]
    selector = f"aiops-rca.io/target-hash={labels['aiops-rca.io/target-hash']},aiops-rca.io/error-type=GatewayTimeout"
    listed = kubectl("get", "incidents", "-n", namespace, "-l", selector, "-o", "name").stdout.split()
    assert sorted(listed) == sorted(f"incident.{GROUP}/{n}" for n in names)
    wide = kubectl("get", "inc", names[2], "-n", namespace, "-o", "wide").stdout.splitlines()
    assert "RECURRENCES" in wide[0]
    assert " 2 " in wide[1]


def test_retention_deletes_a_resolved_incident_with_its_attempts_and_keeps_its_summary(
    sandbox: RunningSandbox, start_operator: StartOperator, custom_api: client.CustomObjectsApi, namespace: str,
    kubectl: Kubectl,
) -> None:
    pipeline, ids = "pl_retained_sales", run_ids("4e7e0b01", 2)
    sandbox.control.load(scenario(pipeline, ids))
    api = Api(custom_api, namespace)
    api.create("remediationpolicies", rerun_policy("retained"))
    subscription = sandbox.endpoints.credentials.azure_subscription_id
    op = start_operator(REMEDIATION_POLL_SECONDS="1", INCIDENT_RETENTION_SECONDS="3600", RETENTION_SWEEP_SECONDS="1")
    old = api.create("incidents", adf_incident(pipeline, ids[0], GATEWAY_TIMEOUT, subscription))
    healed = settle(api, old, op, ("Resolved",))
    assert condition(healed, "Resolved")["reason"] == "AutoHealed"
    assert [a["metadata"]["name"] for a in api.attempts(old)] == [f"{old}-1"]
    time.sleep(3)
    assert api.incident(old)["status"]["phase"] == "Resolved"  # resolved just now: within its retention

    # Time injected through the record: the incident was resolved two hours ago, past the hour of retention.
    op.stop()
    two_hours_ago = iso(datetime.now(UTC) - timedelta(hours=2))
    custom_api.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, "incidents", old, {"status": {"resolution": {"resolvedTime": two_hours_ago}}})
    op.start()

    def gone(plural: str, name: str) -> bool | None:
        try:
            custom_api.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        except client.ApiException as exc:
            return True if exc.status == 404 else None
        return None

    wait_for(lambda: gone("incidents", old), 60, f"retention deleting {old}", op)
    wait_for(lambda: gone("remediationattempts", f"{old}-1"), 60, "the garbage collector deleting its attempt", op)

    records = json.loads(kubectl("get", "configmaps", "-n", namespace, "-l", RECORD_LABEL, "-o", "json").stdout)
    (record,) = records["items"]
    assert record["metadata"]["labels"]["aiops-rca.io/error-type"] == "GatewayTimeout"
    (entry,) = json.loads(record["data"]["entries"])
    assert entry[1:2] + entry[3:5] == [old, "AutoHealed", "RerunPipeline"]

    # The next failure of the pipeline still counts the deleted one, from the record.
    new = api.create("incidents", adf_incident(pipeline, ids[1], GATEWAY_TIMEOUT, subscription))
    settled = settle(api, new, op)
    recurrence = settled["status"]["recurrence"]
    assert (recurrence["count"], recurrence["autoHealed"], recurrence["previous"]) == (1, 1, old)
