"""Exactly once, proven: SIGKILL the operator at every point of every incident's lifecycle, restart it, and
count the external side effects in the sandbox's call log.

The crash hook (`AIOPS_RCA_CRASH_AT`, a comma-separated list of points) kills
the operator once per point and incident, so each point is hit as many times
as there are incidents, each time at a different moment of the run. After
every kill the operator is started again with the same settings.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from kubernetes import client

from sandbox.testing import RunningSandbox
from tests.e2e.operator.conftest import StartOperator
from tests.e2e.operator.remediation_world import (
    DRIVER,
    GATEWAY_TIMEOUT,
    Api,
    CrashRestarts,
    adf_incident,
    cluster_incident,
    policy,
    reply_key,
    rule,
)

POINTS = (
    "before-attempt-create",   # decided, nothing created yet
    "after-attempt-create",    # attempt n exists, the Incident does not say so yet
    "after-launch",            # the external run started, not yet recorded in the attempt
    "after-launch-recorded",   # recorded in the attempt, the Incident status not yet written
    "while-monitoring",        # polled a running run
    "after-success",           # the attempt succeeded, the Incident not yet Resolved
    "before-resolved-notify",  # Resolved, Slack and Jira not yet told
    "after-jira-transition",   # Jira moved to Done, not yet recorded
)
PIPELINES = ("pl_chaos_sales", "pl_chaos_orders")
CLUSTER = ("0101-120000-chaos001", "etl-chaos-cluster")
CHANNEL = "data-incidents"


def _scenario() -> dict[str, Any]:
    return {
        "defaults": {"run_duration_seconds": 2, "cluster_transition_seconds": 2},
        "adf": {
            "pipelines": {p: {"activities": ["Copy_Data"], "runs": [{"status": "Succeeded"}]} for p in PIPELINES},
            "seeded_runs": [
                {"run_id": f"c4a05000-0000-4000-8000-00000000000{i}", "pipeline": p, "status": "Failed",
                 "failed_activity": "Copy_Data", "message": GATEWAY_TIMEOUT}
                for i, p in enumerate(PIPELINES)
            ],
        },
        "databricks": {"clusters": {CLUSTER[0]: {"name": CLUSTER[1], "state": "RUNNING", "num_workers": 2}}},
    }


def test_operator_killed_at_every_point_of_the_lifecycle_never_duplicates_a_side_effect(
    sandbox: RunningSandbox, start_operator: StartOperator, custom_api: client.CustomObjectsApi, namespace: str,
    tmp_path: Path,
) -> None:
    sandbox.control.load(_scenario())
    api = Api(custom_api, namespace)
    api.create("remediationpolicies", policy("chaos", [
        rule("gateway-timeout", "GatewayTimeout", "RerunPipeline", [1, 1, 1], 3),
        rule("driver-not-responding", "DatabricksDriverNotResponding", "RestartCluster", [1], 1),
    ]))
    marker = tmp_path / "crash"
    op = start_operator(AIOPS_RCA_CRASH_AT=",".join(POINTS), AIOPS_RCA_CRASH_MARKER=str(marker),
                        REMEDIATION_POLL_SECONDS="1")
    subscription = sandbox.endpoints.credentials.azure_subscription_id
    names = [api.create("incidents", adf_incident(p, f"c4a05000-0000-4000-8000-00000000000{i}", GATEWAY_TIMEOUT,
                                                  subscription))
             for i, p in enumerate(PIPELINES)]
    names.append(api.create("incidents", cluster_incident(CLUSTER[0], CLUSTER[1], DRIVER)))

    settled: dict[str, dict[str, Any]] = {}

    def all_settled() -> bool:
        for name in names:
            if name in settled:
                continue
            inc = api.incident(name)
            status = inc.get("status", {})
            notes = status.get("notifications", {})
            if status.get("phase") in ("Resolved", "Escalated") and notes.get("slackUpdatedPhase") == \
                    status["phase"] and notes.get("jiraUpdatedPhase") == status["phase"]:
                settled[name] = inc
        return len(settled) == len(names)

    chaos = CrashRestarts(op, 240)
    chaos.until(all_settled)
    kills = chaos.restarts
    assert len(settled) == len(names), f"not settled: {set(names) - set(settled)}\n{op.log_tail(100)}"

    # Every point was hit, most of them once per incident (each a SIGKILL and a restart). A point can be
    # pre-empted for one incident when another incident's kill lands between its side effect and its hook.
    fired = Counter(p.name.split(".")[1] for p in tmp_path.glob("crash.*"))
    assert set(fired) == set(POINTS), fired
    assert sum(fired.values()) >= 2 * len(POINTS), fired
    assert kills == sum(fired.values())
    print(f"SIGKILLs per point: {dict(fired)}; {kills} restarts")

    # Every incident healed, on its first attempt.
    for name, inc in settled.items():
        assert inc["status"]["phase"] == "Resolved", (name, inc["status"].get("escalationReason"))
        assert inc["status"]["resolution"]["resolvedBy"] == "AutoHeal"
        attempts = api.attempts(name)
        assert [a["status"]["phase"] for a in attempts] == ["Succeeded"], name

    calls = sandbox.control.calls
    # Zero duplicate re-runs: one createRun per pipeline.
    reruns = Counter(next(p for p in PIPELINES if p in c["path"]) for c in calls(service="adf", op="createRun")
                     if c["status"] in (200, 201))
    assert reruns == {p: 1 for p in PIPELINES}, reruns
    # Zero duplicate cluster restarts.
    restarts = [c for c in calls(service="databricks", op="clusters/restart") if c["status"] == 200]
    assert len(restarts) == 1, restarts
    # Zero duplicate Slack messages (one per incident) and thread replies (one per key).
    posts = [c for c in calls(service="slack", op="chat.postMessage") if c["status"] == 200]
    top = [c for c in posts if not (c.get("body") or {}).get("thread_ts")]
    assert len(top) == len(names), top
    messages = sandbox.control.slack_channel(CHANNEL)["messages"]
    assert len(messages) == len(names)
    replies = Counter((c["body"]["thread_ts"], reply_key(c["body"])) for c in posts if c["body"].get("thread_ts"))
    assert all(n == 1 for n in replies.values()), replies
    assert {ts for ts, key in replies if key == "resolved"} == {m["ts"] for m in messages}
    # Zero duplicate Jira issues and transitions.
    created = [c for c in calls(service="jira", op="createIssue") if c["status"] in (200, 201)]
    assert len(created) == len(names)
    transitions = [c for c in calls(service="jira", op="doTransition") if c["status"] in (200, 204)]
    assert len(transitions) == len(names), transitions
    for inc in settled.values():
        issue = sandbox.control.jira_issue(inc["status"]["notifications"]["jira"]["key"])
        assert issue["status"] == "Done"
        assert [t["to"] for t in issue["transitions"]] == ["Done"]
        markers = [c for c in issue["comments"] if "[aiops-rca:phase-Resolved]" in c]
        assert len(markers) == 1
