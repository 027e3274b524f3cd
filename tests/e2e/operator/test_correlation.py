"""Correlation end to end: one root cause, one incident (issue 16).

Real API server, the operator as a subprocess, the sandbox as ADF, Databricks, Slack and Jira.
Each rule is tried in both arrival orders: the root's alert first, or the member's first (it
waits for the root). What a user notices is asserted: `kubectl get inc` shows the group, one
Slack message and one Jira issue per root, the member re-run once and only after its root healed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiops_operator.api import GROUP, VERSION, IncidentSource, incident_name
from aiops_operator.api.labels import ROOT_LABEL
from aiops_operator.correlation.references import Dependency, DependencyKind
from aiops_operator.correlation.rules import storm_root_name
from kubernetes import client

from sandbox.testing import RunningSandbox
from tests.e2e.conftest import Kubectl
from tests.e2e.operator.conftest import OperatorProcess, StartOperator, wait_for
from tests.e2e.operator.remediation_world import FACTORY, GATEWAY_TIMEOUT, RG, Api, condition, iso, policy, rule
from tests.support.kube_objects import as_object

CHANNEL = "#data-incidents"
WORKSPACE = "adb-1234567890123456.7.azuredatabricks.net"
JOB_ID = 4242
JOB = "nb_transform_orders"
PARENT = "pl_orders_with_notebook"
CHILD = "pl_child_load_orders"
PARENT_OF_CHILD = "pl_master_orders"
IR = "shir-onprem-01"
STORM_PIPELINES = [f"pl_storm_{i}" for i in range(4)]
OK = {"status": "Succeeded", "duration_seconds": 1}
SLOW_OK = {"status": "Succeeded", "duration_seconds": 15}


def adf_run_id() -> str:
    return f"0c5e2f1a-{secrets.token_hex(2)}-4000-8000-{secrets.token_hex(6)}"


def received(seconds_ago: float = 0) -> str:
    return iso(datetime.now(UTC) - timedelta(seconds=seconds_ago))


def adf_incident(pipeline: str, run_id: str, message: str, subscription: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Incident",
        "metadata": {"name": incident_name(IncidentSource.AZURE_DATA_FACTORY, run_id, pipeline)},
        "spec": {
            "source": "AzureDataFactory",
            "resource": {"kind": "Pipeline", "name": pipeline, "factory": FACTORY, "resourceGroup": RG,
                         "subscriptionId": subscription},
            "runId": run_id,
            "alert": {"rule": "adf-pipeline-failed-runs", "severity": "Sev2", "signalType": "Log"},
            "error": {"code": "2200", "message": message},
            "receivedTime": received(),
        },
    }


def job_incident(run_id: int) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Incident",
        "metadata": {"name": incident_name(IncidentSource.DATABRICKS_JOB, str(run_id), JOB)},
        "spec": {
            "source": "DatabricksJob",
            "resource": {"kind": "Job", "name": JOB, "id": str(JOB_ID)},
            "runId": str(run_id),
            "alert": {"rule": "jobs.on_failure", "signalType": "Webhook"},
            "error": {"code": "FAILED", "message": GATEWAY_TIMEOUT},
            "receivedTime": received(),
        },
    }


def policies(**correlation: int) -> list[dict[str, Any]]:
    adf = policy("adf", [rule("gateway-timeout", "GatewayTimeout", "RerunPipeline", [1], 2)],
                 sources=["AzureDataFactory"])
    dbx = policy("databricks", [rule("gateway-timeout", "GatewayTimeout", "RunJobNow", [1], 2)],
                 sources=["DatabricksJob"])
    for body in (adf, dbx):
        body["spec"]["correlation"] = {"waitForRootSeconds": 60, "stormHoldSeconds": 0, **correlation}
    return [adf, dbx]


class Group:
    """The test's namespace as a user sees it: incidents, attempts, the sandbox's Slack and Jira."""

    def __init__(self, api: Api, sandbox: RunningSandbox, custom: client.CustomObjectsApi) -> None:
        self.api = api
        self.sandbox = sandbox
        self.custom = custom

    def labelled_members(self, root: str) -> list[str]:
        items = as_object(self.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.api.namespace, "incidents", label_selector=f"{ROOT_LABEL}={root}"))["items"]
        return sorted(i["metadata"]["name"] for i in items)

    def posts(self) -> list[dict[str, Any]]:
        return [m for m in self.sandbox.control.slack_channel(CHANNEL)["messages"]]

    def issues(self) -> list[dict[str, Any]]:
        return self.sandbox.control.jira_issues("DATA")

    def replies(self, name: str) -> list[str]:
        ts = self.api.incident(name)["status"]["notifications"]["slack"]["ts"]
        message = next(m for m in self.posts() if m["ts"] == ts)
        return [r["text"] for r in message.get("replies", [])]

    def wait(self, predicate: Callable[[], Any], what: str, op: OperatorProcess, timeout: float = 120) -> Any:
        try:
            return wait_for(predicate, timeout, what, op)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- incidents ---\n{self.snapshot()}") from None

    def snapshot(self) -> str:
        """Each incident's group, phase and conditions: what a failed wait needs to be understood."""
        items = as_object(self.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.api.namespace, "incidents"))["items"]
        lines = []
        for i in items:
            status = i.get("status") or {}
            conds = {c["type"]: f"{c['status']}/{c['reason']}" for c in status.get("conditions", [])}
            lines.append(f"{i['metadata']['name']} labels={i['metadata'].get('labels')} phase={status.get('phase')}"
                         f" correlation={status.get('correlation')} conditions={conds}")
        return "\n".join(lines)

    def resolved(self, name: str, op: OperatorProcess, timeout: float = 150) -> dict[str, Any]:
        try:
            inc = self.api.wait_phase(name, {"Resolved", "Escalated"}, op, timeout=timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- incidents ---\n{self.snapshot()}") from None
        assert inc["status"]["phase"] == "Resolved", inc["status"].get("escalationReason")
        return inc


@pytest.fixture
def group(sandbox: RunningSandbox, custom_api: client.CustomObjectsApi, namespace: str) -> Group:
    return Group(Api(custom_api, namespace), sandbox, custom_api)


def call_time(call: dict[str, Any]) -> float:
    value = call.get("time") or call.get("at") or 0
    return float(value) if not isinstance(value, str) else datetime.fromisoformat(
        value.replace("Z", "+00:00")).timestamp()


# --- rule 1: an ADF activity ran a Databricks run ------------------------------------------------


def _databricks_run_world(group: Group, parent_runs: list[dict[str, Any]] | None = None,
                          ) -> tuple[str, dict[str, Any], dict[str, Any]]:
    run = 700000 + secrets.randbelow(99999)
    adf_run = adf_run_id()
    text = (f"Operation on target Notebook_Transform failed: {GATEWAY_TIMEOUT} Check the run page:"
            f" https://{WORKSPACE}/?o=1234567890123456#job/{JOB_ID}/run/{run}")
    group.sandbox.control.load({
        "defaults": {"run_duration_seconds": 1},
        "adf": {"pipelines": {PARENT: {"activities": ["Notebook_Transform"], "activity_type": "DatabricksNotebook",
                                       "runs": parent_runs or [OK]}},
                "seeded_runs": [{"run_id": adf_run, "pipeline": PARENT, "status": "Failed",
                                 "failed_activity": "Notebook_Transform", "error_code": "3204",
                                 "failure_type": "UserError", "message": text}]},
        "databricks": {"jobs": {JOB_ID: {"name": JOB, "tasks": ["transform"], "runs": [{"result": "SUCCESS"}]}},
                       "seeded_runs": [{"run_id": run, "job_id": JOB_ID, "result": "FAILED",
                                        "error": GATEWAY_TIMEOUT}]},
    })
    for body in policies():
        group.api.create("remediationpolicies", body)
    subscription = group.sandbox.endpoints.credentials.azure_subscription_id
    return str(run), job_incident(run), adf_incident(PARENT, adf_run, text, subscription)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("first", ["root", "member", "together"])
def test_adf_and_databricks_alerts_of_one_run_are_one_incident(
    group: Group, start_operator: StartOperator, kubectl: Kubectl, namespace: str, first: str,
) -> None:
    _, job, adf = _databricks_run_world(group)
    op = start_operator(REMEDIATION_POLL_SECONDS="1")
    root, member = job["metadata"]["name"], adf["metadata"]["name"]
    arrive(group, job, adf, first, op)

    inc = group.wait(lambda: (i := group.api.incident(member)).get("status", {}).get("correlation") and i,
                     "the member grouped", op)
    assert inc["status"]["correlation"]["role"] == "Member"
    assert inc["status"]["correlation"]["root"]["name"] == root
    assert inc["status"]["correlation"]["root"]["reason"] == "DatabricksRun"
    assert condition(inc, "Correlated")["reason"] == "DatabricksRun"
    group.wait(lambda: group.labelled_members(root) == [member], "the member labelled with its root", op)

    healed_member = group.resolved(member, op)
    healed_root = group.resolved(root, op)
    # The root heals first; the member is re-run once, after it.
    run_now = group.sandbox.control.calls(service="databricks", op="jobs/run-now")
    reruns = [c for c in group.sandbox.control.calls(service="adf", op="createRun") if PARENT in c["path"]]
    assert len(run_now) == 1
    assert len(reruns) == 1
    assert len(group.api.attempts(member)) == 1
    assert len(group.api.attempts(root)) == 1
    assert healed_member["status"]["history"]
    member_resolved = healed_member["status"]["resolution"]["resolvedTime"]
    assert healed_root["status"]["resolution"]["resolvedTime"] <= member_resolved

    # One Slack message and one Jira issue, the root's; the member says why it posted none.
    assert not healed_member["status"].get("notifications", {}).get("slack")
    assert condition(healed_member, "Notified")["reason"] == "NotifiedViaRoot"
    posts = group.posts()
    assert len(posts) == 1, [p.get("text") for p in posts]
    assert len(group.issues()) == 1
    root_now = group.wait(lambda: (i := group.api.incident(root)).get("status", {}).get("correlation", {}).get(
        "membersResolved") == 1 and i, "the root counting its healed member", op)
    assert root_now["status"]["correlation"]["role"] == "Root"
    assert root_now["status"]["correlation"]["memberCount"] == 1
    assert [m["name"] for m in root_now["status"]["correlation"]["members"]] == [member]
    replies = group.wait(lambda: (r := group.replies(root)) and any("settled" in t for t in r) and r,
                         "the root's thread telling the group settled", op)
    assert sum("grouped under this incident" in t for t in replies) == 1
    assert sum("Group settled" in t for t in replies) == 1
    # The root's Jira issue: one comment per change of group state, naming the affected run.
    comments = group.wait(lambda: (c := group.issues()[0]["comments"]) and any("[aiops-rca:group-settled]" in t
                          for t in c) and c, "the root's Jira issue told the group settled", op)
    for key in ("group-formed", "group-released", "group-settled"):
        assert sum(f"[aiops-rca:{key}]" in t for t in comments) == 1, (key, comments)
    assert PARENT in next(t for t in comments if "[aiops-rca:group-formed]" in t)
    # kubectl shows the group.
    out = kubectl("get", "inc", member, "-n", namespace).stdout
    assert root in out.splitlines()[1]


@pytest.mark.timeout(300)
def test_a_member_whose_own_rerun_fails_after_its_root_healed_is_an_incident_of_its_own(
    group: Group, start_operator: StartOperator,
) -> None:
    still_failing = {"status": "Failed", "duration_seconds": 1, "failed_activity": "Notebook_Transform",
                     "message": "Operation on target Notebook_Transform failed: Execution Timeout Expired."}
    _, job, adf = _databricks_run_world(group, parent_runs=[still_failing])
    op = start_operator(REMEDIATION_POLL_SECONDS="1")
    root, member = job["metadata"]["name"], adf["metadata"]["name"]
    arrive(group, job, adf, "member", op)
    healed_root = group.resolved(root, op)
    escalated = group.api.wait_phase(member, {"Escalated"}, op, timeout=150)
    assert escalated["status"]["correlation"]["root"]["name"] == root  # still counted in its group
    attempts = group.api.attempts(member)
    assert len(attempts) == 2  # its policy's maxAttempts, all after the root healed
    assert min(a["metadata"]["creationTimestamp"] for a in attempts) >= \
        healed_root["status"]["resolution"]["resolvedTime"]
    # Now it is an incident of its own: its own Slack message and Jira issue, beside the root's.
    told = group.wait(lambda: (i := group.api.incident(member)).get("status", {}).get("notifications", {}).get("slack")
                      and i, "the member's own Slack message", op)
    assert condition(told, "Notified")["reason"] == "NotificationsSent"
    assert len(group.posts()) == 2
    assert len(group.issues()) == 2
    settled = group.wait(lambda: (i := group.api.incident(root)).get("status", {})["correlation"].get(
        "membersEscalated") == 1 and i, "the root counting its member that needs a human", op)
    assert settled["status"]["correlation"]["membersResolved"] == 0


# --- rule 4: a storm behind one integration runtime ----------------------------------------------


@pytest.mark.timeout(360)
def test_a_storm_behind_one_integration_runtime_is_one_root_and_each_member_reruns_once(
    group: Group, start_operator: StartOperator, namespace: str,
) -> None:
    runs = {p: adf_run_id() for p in STORM_PIPELINES}
    text = f"{GATEWAY_TIMEOUT} The self-hosted integration runtime '{IR}' did not answer in time."
    group.sandbox.control.load({
        "defaults": {"run_duration_seconds": 1},
        # The canary (the first by arrival) probes the runtime slowly, so the late failure finds the storm open.
        "adf": {"pipelines": {p: {"activities": ["Copy_Data"], "runs": [OK if i else SLOW_OK]}
                              for i, p in enumerate(STORM_PIPELINES)},
                "seeded_runs": [{"run_id": r, "pipeline": p, "status": "Failed", "failed_activity": "Copy_Data",
                                 "error_code": "2200", "failure_type": "UserError", "message": text}
                                for p, r in runs.items()]},
    })
    for body in policies(stormThreshold=3, stormHoldSeconds=20):
        group.api.create("remediationpolicies", body)
    subscription = group.sandbox.endpoints.credentials.azure_subscription_id
    op = start_operator(REMEDIATION_POLL_SECONDS="1")
    names = [group.api.create("incidents", adf_incident(p, r, text, subscription))
             for p, r in list(runs.items())[:3]]

    def storm_root() -> str | None:
        roots = {(group.api.incident(n).get("status", {}).get("correlation") or {}).get("root", {}).get("name")
                 for n in names}
        return roots.pop() if len(roots) == 1 and None not in roots else None

    root = group.wait(storm_root, "the three failures grouped under one storm root", op)
    assert root.startswith(f"storm-{IR}-")
    # A late failure of the same cause joins the storm that exists.
    late_pipeline, late_run = list(runs.items())[3]
    names.append(group.api.create("incidents", adf_incident(late_pipeline, late_run, text, subscription)))
    group.wait(lambda: group.labelled_members(root) == sorted(names), "all four members labelled", op)

    for name in names:
        group.resolved(name, op, timeout=200)
    storm = group.resolved(root, op)
    assert condition(storm, "Resolved")["reason"] == "DependencyRecovered"
    assert storm["spec"]["resource"] == {"kind": "Other", "name": IR, "id": "IntegrationRuntime"}
    assert storm["status"]["correlation"]["dependency"] == {"kind": "IntegrationRuntime", "name": IR}
    canary = storm["status"]["correlation"]["canary"]
    assert canary in names
    for pipeline in STORM_PIPELINES:
        reruns = [c for c in group.sandbox.control.calls(service="adf", op="createRun") if pipeline in c["path"]]
        assert len(reruns) == 1, pipeline
    for name in names:
        assert len(group.api.attempts(name)) == 1
        assert group.api.incident(name)["status"]["correlation"]["root"]["reason"] == "Storm"
    # The canary probed the runtime first: the others were re-run only after it healed.
    canary_healed = group.api.incident(canary)["status"]["resolution"]["resolvedTime"]
    for name in set(names) - {canary}:
        first_attempt = group.api.attempts(name)[0]
        assert first_attempt["metadata"]["creationTimestamp"] >= canary_healed[:19], name
    # One message and one issue for the storm; its thread tells each change of the group once.
    posts = group.posts()
    assert len(posts) == 1, [p.get("text") for p in posts]
    assert len(group.issues()) == 1
    done = group.wait(lambda: (i := group.api.incident(root))["status"]["correlation"].get("membersResolved")
                      == 4 and i, "the storm root counting four healed members", op)
    assert done["status"]["correlation"]["memberCount"] == 4
    replies = group.wait(lambda: (r := group.replies(root)) and any("settled" in t for t in r) and r,
                         "the storm's thread telling the group settled", op)
    assert sum("Group settled" in t for t in replies) == 1


# --- rule 2: a parent pipeline failed because its Execute Pipeline child failed -------------------


def _child_pipeline_world(group: Group) -> tuple[dict[str, Any], dict[str, Any]]:
    child_run, parent_run = adf_run_id(), adf_run_id()
    parent_text = f"Operation on target Execute_Child failed: Operation on target Copy_Data failed: {GATEWAY_TIMEOUT}"
    group.sandbox.control.load({
        "defaults": {"run_duration_seconds": 1},
        "adf": {"pipelines": {CHILD: {"activities": ["Copy_Data"], "runs": [OK]},
                              PARENT_OF_CHILD: {"activities": ["Execute_Child"], "activity_type": "ExecutePipeline",
                                                "runs": [OK]}},
                "seeded_runs": [
                    {"run_id": child_run, "pipeline": CHILD, "status": "Failed", "failed_activity": "Copy_Data",
                     "message": GATEWAY_TIMEOUT},
                    # What ADF reports of an Execute Pipeline activity: its output names the child's run.
                    {"run_id": parent_run, "pipeline": PARENT_OF_CHILD, "status": "Failed",
                     "failed_activity": "Execute_Child", "message": parent_text,
                     "failed_activity_output": {"pipelineName": CHILD, "pipelineRunId": child_run}}]},
    })
    for body in policies():
        group.api.create("remediationpolicies", body)
    subscription = group.sandbox.endpoints.credentials.azure_subscription_id
    return adf_incident(CHILD, child_run, GATEWAY_TIMEOUT, subscription), adf_incident(
        PARENT_OF_CHILD, parent_run, parent_text, subscription)


def arrive(group: Group, root: dict[str, Any], member: dict[str, Any], first: str, op: OperatorProcess) -> None:
    """Create the root's and the member's incidents in the order the test asks (`together`: at once, as two
    receiver replicas would)."""
    if first == "together":
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda body: group.api.create("incidents", body), [root, member]))
        return
    if first == "root":
        group.api.create("incidents", root)
        name = root["metadata"]["name"]
        group.wait(lambda: condition(group.api.incident(name), "Notified").get("status") == "True",
                   "the root notified", op)
        group.api.create("incidents", member)
        return
    group.api.create("incidents", member)
    name = member["metadata"]["name"]
    waiting = group.wait(lambda: condition(group.api.incident(name), "Correlated").get("status") == "Unknown"
                         and group.api.incident(name), "the member waiting for its root", op)
    assert condition(waiting, "Correlated")["reason"] == "WaitingForRoot"
    assert not waiting["status"].get("notifications")  # nothing posted while it waits
    group.api.create("incidents", root)


def kubectl_table(out: str) -> dict[str, dict[str, str]]:
    """`kubectl get` output by row name and column, cut at the header's column starts (cells may be empty)."""
    header, *rows = out.splitlines()
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    names = header.split()
    table = {}
    for row in rows:
        cells = [row[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        table[cells[0]] = dict(zip(names, cells, strict=True))
    return table


def reruns_of(group: Group, pipeline: str) -> list[dict[str, Any]]:
    return [c for c in group.sandbox.control.calls(service="adf", op="createRun") if f"/{pipeline}/" in c["path"]]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("first", ["root", "member"])
def test_a_parent_pipeline_waits_for_its_failed_child_and_reruns_after_it(
    group: Group, start_operator: StartOperator, kubectl: Kubectl, namespace: str, first: str,
) -> None:
    child, parent = _child_pipeline_world(group)
    op = start_operator(REMEDIATION_POLL_SECONDS="1")
    root, member = child["metadata"]["name"], parent["metadata"]["name"]
    arrive(group, child, parent, first, op)

    grouped = group.wait(lambda: (i := group.api.incident(member)).get("status", {}).get("correlation") and i,
                         "the parent grouped under its child", op)
    assert grouped["status"]["correlation"]["root"] == {
        "name": root, "reason": "ChildPipeline", "message": grouped["status"]["correlation"]["root"]["message"]}
    healed_root = group.resolved(root, op)
    healed_member = group.resolved(member, op)
    # The child re-ran first; the parent re-ran once, after the child had healed.
    assert len(reruns_of(group, CHILD)) == 1
    assert len(reruns_of(group, PARENT_OF_CHILD)) == 1
    assert [a["spec"]["attempt"] for a in group.api.attempts(member)] == [1]
    parent_attempt = group.api.attempts(member)[0]
    assert parent_attempt["metadata"]["creationTimestamp"] >= healed_root["status"]["resolution"]["resolvedTime"]
    assert condition(healed_member, "Notified")["reason"] == "NotifiedViaRoot"
    assert len(group.posts()) == 1
    assert len(group.issues()) == 1
    table = kubectl_table(kubectl("get", "inc", "-n", namespace).stdout)
    assert table[root]["MEMBERS"] == "1"
    assert table[member]["ROOT"] == root
    assert table[member]["MEMBERS"] == "0"


# --- rule 3: a cluster terminated and the job runs on it failed ----------------------------------

CLUSTER_ID = "0923-164208-meows279"
CLUSTER_NAME = "shared-etl"
TERMINATED = ("Cluster 0923-164208-meows279 was terminated unexpectedly. Reason: CLOUD_PROVIDER_SHUTDOWN. The cloud"
              " provider shut down the instance.")


def cluster_incident() -> dict[str, Any]:
    run_id = f"{CLUSTER_ID}-CLOUD_PROVIDER_SHUTDOWN"
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Incident",
        "metadata": {"name": incident_name(IncidentSource.DATABRICKS_CLUSTER, run_id, CLUSTER_NAME)},
        "spec": {
            "source": "DatabricksCluster",
            "resource": {"kind": "Cluster", "name": CLUSTER_NAME, "id": CLUSTER_ID},
            "runId": run_id, "runIdOrigin": "Fingerprint",
            "alert": {"rule": "databricks-cluster-log-alert", "signalType": "Log"},
            "error": {"code": "CLOUD_PROVIDER_SHUTDOWN", "message": TERMINATED},
            "receivedTime": received(),
        },
    }


@pytest.mark.timeout(300)
@pytest.mark.parametrize("first", ["root", "member"])
def test_job_runs_on_a_terminated_cluster_wait_for_it_and_are_repaired_never_restarting_it(
    group: Group, start_operator: StartOperator, first: str,
) -> None:
    run = 800000 + secrets.randbelow(99999)
    group.sandbox.control.load({
        "defaults": {"run_duration_seconds": 1, "cluster_transition_seconds": 1},
        "databricks": {
            "clusters": {CLUSTER_ID: {"name": CLUSTER_NAME, "state": "TERMINATED",
                                      "termination_code": "CLOUD_PROVIDER_SHUTDOWN"}},
            "jobs": {JOB_ID: {"name": JOB, "cluster_id": CLUSTER_ID, "tasks": ["transform"],
                              "runs": [{"result": "SUCCESS"}]}},
            "seeded_runs": [{"run_id": run, "job_id": JOB_ID, "result": "FAILED", "error": TERMINATED}]},
    })
    # One rule for both: the cluster's incident starts the cluster; its job runs must not.
    body = policy("databricks", [rule("terminated", "ClusterUnexpectedTermination", "StartCluster", [1], 1)],
                  sources=["DatabricksCluster", "DatabricksJob"])
    body["spec"]["correlation"] = {"waitForRootSeconds": 60, "stormHoldSeconds": 0}
    group.api.create("remediationpolicies", body)
    op = start_operator(REMEDIATION_POLL_SECONDS="1")
    cluster, job = cluster_incident(), job_incident(run)
    job["spec"]["error"]["message"] = TERMINATED
    root, member = cluster["metadata"]["name"], job["metadata"]["name"]
    arrive(group, cluster, job, first, op)

    grouped = group.wait(lambda: (i := group.api.incident(member)).get("status", {}).get("correlation") and i,
                         "the job run grouped under its cluster", op)
    assert grouped["status"]["correlation"]["root"]["reason"] == "ClusterTerminated"
    assert grouped["status"]["correlation"]["root"]["name"] == root
    healed_root = group.resolved(root, op)
    group.resolved(member, op)
    starts = group.sandbox.control.calls(service="databricks", op="clusters/start")
    assert len(starts) == 1  # the root's; the member never touched the cluster
    repairs = group.sandbox.control.calls(service="databricks", op="jobs/runs/repair")
    assert len(repairs) == 1
    assert not group.sandbox.control.calls(service="databricks", op="clusters/restart")
    attempts = group.api.attempts(member)
    assert [a["spec"]["action"] for a in attempts] == ["RepairRun"]
    assert attempts[0]["metadata"]["creationTimestamp"] >= healed_root["status"]["resolution"]["resolvedTime"]
    assert len(group.posts()) == 1
    assert len(group.issues()) == 1


# --- races: alerts of one root at once -----------------------------------------------------------


@pytest.mark.timeout(300)
@pytest.mark.parametrize("replica_won", [False, True], ids=["concurrent-alerts", "root-made-by-another-replica"])
def test_a_storm_arriving_all_at_once_makes_one_root(
    group: Group, start_operator: StartOperator, replica_won: bool,
) -> None:
    pipelines = [f"pl_burst_{i}" for i in range(6)]
    runs = {p: adf_run_id() for p in pipelines}
    text = f"{GATEWAY_TIMEOUT} The self-hosted integration runtime '{IR}' did not answer in time."
    group.sandbox.control.load({
        "defaults": {"run_duration_seconds": 1},
        "adf": {"pipelines": {p: {"activities": ["Copy_Data"], "runs": [OK]} for p in pipelines},
                "seeded_runs": [{"run_id": r, "pipeline": p, "status": "Failed", "failed_activity": "Copy_Data",
                                 "message": text} for p, r in runs.items()]},
    })
    for body in policies(stormThreshold=3, stormHoldSeconds=5, memberConcurrency=2):
        group.api.create("remediationpolicies", body)
    subscription = group.sandbox.endpoints.credentials.azure_subscription_id
    when = datetime.now(UTC).replace(microsecond=0)
    bodies = [adf_incident(p, r, text, subscription) for p, r in runs.items()]
    for body in bodies:
        body["spec"]["receivedTime"] = iso(when)
    expected_root = storm_root_name("GatewayTimeout", Dependency(DependencyKind.INTEGRATION_RUNTIME, IR),
                                    when.replace(second=0))
    if replica_won:
        # Another operator replica created the storm's root an instant earlier: ours answers 409 and joins it.
        group.api.create("incidents", {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "Incident",
            "metadata": {"name": expected_root, "labels": {"aiops-rca.io/storm-root": "true"}},
            "spec": {"source": "Generic", "resource": {"kind": "Other", "name": IR, "id": "IntegrationRuntime"},
                     "runId": expected_root, "error": {"code": "GatewayTimeout", "message": "Storm."},
                     "alert": {"rule": "aiops-rca correlation (storm)"}, "receivedTime": iso(when)},
        })
    op = start_operator(REMEDIATION_POLL_SECONDS="1")
    # Two "receivers" create the six incidents at once.
    with ThreadPoolExecutor(2) as pool:
        names = sorted(pool.map(lambda body: group.api.create("incidents", body), bodies))

    group.wait(lambda: group.labelled_members(expected_root) == names, "all six under one storm root", op)
    roots = as_object(group.custom.list_namespaced_custom_object(
        GROUP, VERSION, group.api.namespace, "incidents", label_selector="aiops-rca.io/storm-root=true"))["items"]
    assert [r["metadata"]["name"] for r in roots] == [expected_root]
    for name in names:
        group.resolved(name, op, timeout=200)
    for pipeline in pipelines:
        assert len(reruns_of(group, pipeline)) == 1, pipeline
    assert len(group.posts()) == 1
    assert len(group.issues()) == 1
    # memberConcurrency 2: never more than two members' re-runs in flight at once.
    spans = [(a["status"]["startTime"], a["status"]["completionTime"]) for n in names for a in group.api.attempts(n)]
    assert len(spans) == len(names)
    assert max(sum(s <= t < e for s, e in spans) for t, _ in spans) <= 2, sorted(spans)
