"""Correlation, exactly once under SIGKILL (issue 16's chaos acceptance).

Two groups at once: a storm of four pipelines behind one self-hosted integration runtime (the operator
creates its root) and a parent pipeline whose Execute Pipeline child failed (the child is the root). The
operator is killed while it groups (right after creating the storm's root; after filing the first root's
Jira issue or posting its Slack message, whichever comes first) and while members re-run (after creating an
attempt, after launching its run, before telling Slack and Jira it resolved), once per point and incident,
and restarted each time. The sandbox's call log then shows one root per cause, one Slack message and one
Jira issue per root, each thread reply and Jira comment once, and one re-run per pipeline.

The failures are older than the operator's first look at them (received 30 s before): a storm that came
while the operator was down or behind must still be grouped.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiops_operator.api import GROUP, VERSION
from aiops_operator.api.labels import STORM_ROOT_LABEL
from kubernetes import client

from sandbox.testing import RunningSandbox
from tests.e2e.operator.conftest import StartOperator
from tests.e2e.operator.remediation_world import (
    GATEWAY_TIMEOUT,
    Api,
    CrashRestarts,
    adf_incident,
    policy,
    reply_key,
    rule,
)
from tests.support.kube_objects import as_object

POINTS = (
    "after-group-root-create",  # a storm's root exists, the member that created it does not know it
    "after-jira-create",        # a root's issue exists, not yet recorded
    "after-slack-post",         # a root's message posted, not yet recorded
    "after-attempt-create",     # the member's attempt exists, its Incident does not say so yet
    "after-launch",             # the member's re-run started, not yet recorded
    "before-resolved-notify",   # Resolved, Slack and Jira not yet told
)
IR = "shir-chaos-01"
STORM = [f"pl_chaos_storm_{i}" for i in range(4)]
CHILD, PARENT = "pl_chaos_child", "pl_chaos_parent"
CHANNEL = "data-incidents"
DEADLINE_SECONDS = 300
GROUP_STATES = ("group-formed", "group-released", "group-settled")
"""A root's thread replies and Jira comments, one per change of its group's state."""


def _run_id(i: int) -> str:
    return f"c0e1a7e0-0000-4000-8000-0000000000{i:02}"


RUNS = {**{p: _run_id(i) for i, p in enumerate(STORM)}, CHILD: _run_id(10), PARENT: _run_id(11)}
STORM_TEXT = f"{GATEWAY_TIMEOUT} The self-hosted integration runtime '{IR}' did not answer in time."
PARENT_TEXT = f"Operation on target Run_Child failed: {GATEWAY_TIMEOUT}"


def _scenario() -> dict[str, Any]:
    ok = [{"status": "Succeeded", "duration_seconds": 2}]
    seeded: list[dict[str, Any]] = [
        {"run_id": RUNS[p], "pipeline": p, "status": "Failed", "failed_activity": "Copy_Data", "message": STORM_TEXT}
        for p in STORM]
    seeded.append({"run_id": RUNS[CHILD], "pipeline": CHILD, "status": "Failed", "failed_activity": "Copy_Data",
                   "message": GATEWAY_TIMEOUT})
    # What ADF reports of an Execute Pipeline activity: its output names the child's run.
    seeded.append({"run_id": RUNS[PARENT], "pipeline": PARENT, "status": "Failed", "failed_activity": "Run_Child",
                   "message": PARENT_TEXT,
                   "failed_activity_output": {"pipelineName": CHILD, "pipelineRunId": RUNS[CHILD]}})
    pipelines: dict[str, Any] = {p: {"activities": ["Copy_Data"], "runs": ok} for p in [*STORM, CHILD]}
    pipelines[PARENT] = {"activities": ["Run_Child"], "activity_type": "ExecutePipeline", "runs": ok}
    return {"defaults": {"run_duration_seconds": 2}, "adf": {"pipelines": pipelines, "seeded_runs": seeded}}


def _alerted(pipeline: str, subscription: str) -> dict[str, Any]:
    """The Incident the receiver makes of a pipeline-run alert: the run's error text, no activity (the
    operator asks ADF for the failed activity run, whose output names a child's run)."""
    body = adf_incident(pipeline, RUNS[pipeline], PARENT_TEXT if pipeline == PARENT else
                        STORM_TEXT if pipeline in STORM else GATEWAY_TIMEOUT, subscription)
    del body["spec"]["error"]["activity"]
    return body


@pytest.mark.timeout(DEADLINE_SECONDS + 60)
def test_operator_killed_while_grouping_and_while_members_rerun_never_duplicates(
    sandbox: RunningSandbox, start_operator: StartOperator, custom_api: client.CustomObjectsApi, namespace: str,
    tmp_path: Path,
) -> None:
    sandbox.control.load(_scenario())
    api = Api(custom_api, namespace)
    body = policy("chaos", [rule("gateway-timeout", "GatewayTimeout", "RerunPipeline", [1], 2)])
    body["spec"]["correlation"] = {"stormThreshold": 3, "stormHoldSeconds": 5, "waitForRootSeconds": 120,
                                   "memberConcurrency": 2}
    api.create("remediationpolicies", body)
    subscription = sandbox.endpoints.credentials.azure_subscription_id
    names = {p: api.create("incidents", _alerted(p, subscription)) for p in [*STORM, CHILD, PARENT]}
    marker = tmp_path / "crash"
    op = start_operator(AIOPS_RCA_CRASH_AT=",".join(POINTS), AIOPS_RCA_CRASH_MARKER=str(marker),
                        REMEDIATION_POLL_SECONDS="1")
    chaos = CrashRestarts(op, DEADLINE_SECONDS)

    def status(name: str) -> dict[str, Any]:
        return api.incident(name).get("status") or {}

    def storm_roots() -> list[str]:
        items = as_object(custom_api.list_namespaced_custom_object(
            GROUP, VERSION, namespace, "incidents", label_selector=f"{STORM_ROOT_LABEL}=true"))["items"]
        return sorted(i["metadata"]["name"] for i in items)

    def snapshot() -> str:
        return "\n".join(f"{n}: {s.get('phase')} {s.get('correlation')} "
                         f"{ {c['type']: c['reason'] for c in s.get('conditions', [])} }"
                         for n in [*names.values(), *storm_roots()] if (s := status(n)) is not None)

    def roots_settled() -> bool:
        roots = storm_roots()
        if len(roots) != 1 or any(status(n).get("phase") != "Resolved" for n in names.values()):
            return False
        for root in [*roots, names[CHILD]]:
            notes = status(root).get("notifications") or {}
            if notes.get("jiraUpdatedPhase") != "Resolved|group:Settled" or not str(
                    notes.get("slackUpdatedPhase", "")).startswith("Resolved|group:Settled"):
                return False
        return True

    assert chaos.until(roots_settled), f"{snapshot()}\n{op.log_tail(80)}"
    # Points with a key fire once per incident (marker `crash.<point>.<incident>`), the Slack and Jira ones
    # once in all (marker `crash`, holding the point): the first root to file or post is killed there.
    fired = Counter(p.name.split(".")[1] for p in tmp_path.glob("crash.*"))
    fired.update([marker.read_text()] if marker.exists() else [])
    print(f"SIGKILLs per point: {dict(fired)}; {chaos.restarts} restarts")
    # The kills landed where the grouping and the members' re-runs have side effects half done.
    assert {"after-group-root-create", "after-attempt-create", "after-launch"} <= set(fired), fired
    assert {"after-slack-post", "after-jira-create"} & set(fired), fired

    # One root per cause, every other incident its member.
    [storm_root] = storm_roots()
    assert storm_root.startswith(f"storm-{IR}-")
    def root_of(pipeline: str) -> tuple[str | None, str | None, str | None]:
        group = status(names[pipeline]).get("correlation") or {}
        return group.get("role"), (group.get("root") or {}).get("name"), (group.get("root") or {}).get("reason")

    assert {p: root_of(p) for p in STORM} == {p: ("Member", storm_root, "Storm") for p in STORM}, snapshot()
    assert root_of(PARENT) == ("Member", names[CHILD], "ChildPipeline"), snapshot()
    assert status(storm_root)["correlation"]["memberCount"] == len(STORM)
    assert status(names[CHILD])["correlation"]["memberCount"] == 1

    # One re-run per pipeline, by one attempt each: no kill made a second.
    calls = sandbox.control.calls
    reruns = Counter(next(p for p in names if f"/{p}/" in c["path"]) for c in calls(service="adf", op="createRun")
                     if c["status"] in (200, 201))
    assert reruns == {p: 1 for p in names}, reruns
    assert {p: len(api.attempts(n)) for p, n in names.items()} == {p: 1 for p in names}
    # One Slack message and one Jira issue per root, none for the five members; each reply and comment once.
    roots = [storm_root, names[CHILD]]
    posts = [c for c in calls(service="slack", op="chat.postMessage") if c["status"] == 200]
    top = [c for c in posts if not (c.get("body") or {}).get("thread_ts")]
    assert len(top) == len(roots), top
    assert len(sandbox.control.slack_channel(f"#{CHANNEL}")["messages"]) == len(roots)
    replies = Counter((c["body"]["thread_ts"], reply_key(c["body"])) for c in posts if c["body"].get("thread_ts"))
    assert all(n == 1 for n in replies.values()), replies
    for root in roots:
        thread = status(root)["notifications"]["slack"]["ts"]
        assert set(GROUP_STATES) <= {key for ts, key in replies if ts == thread}, (root, replies)
    issues = sandbox.control.jira_issues("DATA")
    assert sorted(i["key"] for i in issues) == sorted(status(r)["notifications"]["jira"]["key"] for r in roots)
    for issue in issues:
        markers = Counter(t.split("[aiops-rca:")[1].split("]")[0] for t in issue["comments"] if "[aiops-rca:" in t)
        assert all(n == 1 for n in markers.values()), (issue["key"], markers)
        assert set(GROUP_STATES) <= set(markers), (issue["key"], markers)
