"""Chaos at (reduced) scale: random SIGKILLs of the operator and the receiver during a run with retries,
approvals and escalations; the sandbox's call log shows every side effect exactly once.

Unlike the crash-hook test (kills at named points), the kills here land at
random moments: the receiver is killed while alerts arrive (the sender retries
like Azure Monitor), the operator every few seconds while incidents are
analyzed, notified, re-run, approved and resolved. Issue 19 asks for >= 100
kills over 200 incidents: `bench/chaos.py` runs this test at that size; the
default is the `make test` size.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, cast

import httpx
from kubernetes import client

from sandbox.ratelimits import RateLimits
from sandbox.testing import RunningSandbox
from tests.e2e.operator.conftest import StartOperator
from tests.e2e.operator.remediation_world import DRIVER, GATEWAY_TIMEOUT, Api, cluster_incident, policy, rule
from tests.e2e.receiver.tcp_proxy import free_port

# `bench/chaos.py` runs this test at issue 19's full size (AIOPS_RCA_CHAOS_SCALE=full): 200 incidents,
# 100 operator kills and a receiver kill every 3 alerts (~56).
FULL = os.environ.get("AIOPS_RCA_CHAOS_SCALE") == "full"
RETRIED, ESCALATED, APPROVED = (120, 50, 30) if FULL else (8, 4, 3)
OPERATOR_KILLS, RECEIVER_KILL_EVERY = (100 if FULL else 25), 3
API_KEY = "chaos-e2e-key"
LOGIN_FAILED = "ErrorCode=SqlFailedToConnect,'Login failed for user ''etl_svc''.'"


class Receiver:
    """`aiops-rca receiver` that can be SIGKILLed and started again on the same port and spool."""

    def __init__(self, kubeconfig: Path, namespace: str, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (workdir / "keys").write_text(API_KEY + "\n")
        self.args = [sys.executable, "-m", "aiops_operator.cli", "receiver", "--host", "127.0.0.1", "--port",
                     str(self.port), "--kubeconfig", str(kubeconfig), "--namespace", namespace,
                     "--spool-dir", str(workdir / "spool"), "--api-keys-file", str(workdir / "keys")]
        self.log = workdir / "receiver.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        env = {**os.environ, "AIOPS_RCA_RECEIVER_SPOOL_REPLAY_INTERVAL_SECONDS": "0.5"}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, env=env)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def adf_alert(pipeline: str, run_id: str, message: str, subscription: str) -> dict[str, Any]:
    factory = (f"/subscriptions/{subscription}/resourceGroups/rg-data/providers/Microsoft.DataFactory/"
               "factories/adf-chaos")
    dims = {"PipelineName": pipeline, "PipelineRunId": run_id, "ActivityName": "Copy_Data", "ErrorCode": "2200",
            "FailureType": "UserError", "ErrorMessage": message, "_ResourceId": factory}
    return {"schemaId": "azureMonitorCommonAlertSchema", "data": {
        "essentials": {"alertId": f"/alerts/{run_id}", "alertRule": "adf-failed", "severity": "Sev2",
                       "signalType": "Log", "monitorCondition": "Fired", "alertTargetIDs": [factory.lower()],
                       "firedDateTime": "2026-12-06T06:58:24Z", "essentialsVersion": "1.0"},
        "alertContext": {"conditionType": "LogQueryCriteria", "condition": {"allOf": [{
            "searchQuery": "ADFPipelineRun", "dimensions": [{"name": k, "value": v} for k, v in dims.items()]}]}},
    }}


def deliver(url: str, body: dict[str, Any]) -> None:
    """Like Azure Monitor: retry on connection errors and 503 until the receiver takes it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            answer = httpx.post(f"{url}/azure-monitor", json=body, headers={"x-api-key": API_KEY}, timeout=10)
            if answer.status_code < 300:
                return
            assert answer.status_code == 503, answer.text
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("the receiver never took the alert")


def test_random_sigkills_of_operator_and_receiver_change_no_outcome_and_duplicate_nothing(
    sandbox: RunningSandbox, start_operator: StartOperator, custom_api: client.CustomObjectsApi, namespace: str,
    kubeconfig: Path, tmp_path: Path,
) -> None:
    rng = random.Random(19)  # noqa: S311 - when to kill, not a secret
    subscription = sandbox.endpoints.credentials.azure_subscription_id
    retried = [(f"pl_chaos_retry_{i}", str(uuid.UUID(int=i + (0xC4A05 << 100)))) for i in range(RETRIED)]
    escalated = [(f"pl_chaos_auth_{i}", str(uuid.UUID(int=i + (0xE5C << 100)))) for i in range(ESCALATED)]
    clusters = [(f"0101-120000-chaos{i:03d}", f"etl-chaos-{i}") for i in range(APPROVED)]
    sandbox.control.load({
        "defaults": {"run_duration_seconds": 1, "cluster_transition_seconds": 1},
        "adf": {"pipelines": {p: {"activities": ["Copy_Data"], "runs": [
            {"status": "Failed", "duration_seconds": 0, "message": "Execution Timeout Expired."},
            {"status": "Succeeded"}]} for p, _ in retried}},
        "databricks": {"clusters": {c: {"name": n, "state": "RUNNING", "num_workers": 2} for c, n in clusters}},
    })
    api = Api(custom_api, namespace)
    api.create("remediationpolicies", policy("chaos", [
        rule("gateway-timeout", "GatewayTimeout", "RerunPipeline", [1, 1], 2),
        rule("driver-not-responding", "DatabricksDriverNotResponding", "RestartCluster", [1], 1, risk="High"),
    ]))
    op = start_operator(REMEDIATION_POLL_SECONDS="1")
    receiver = Receiver(kubeconfig, namespace, tmp_path)
    receiver.start()
    try:
        alerts = [adf_alert(p, r, GATEWAY_TIMEOUT, subscription) for p, r in retried]
        alerts += [adf_alert(p, r, LOGIN_FAILED, subscription) for p, r in escalated]
        for i, body in enumerate(alerts, 1):
            deliver(receiver.url, body)
            if i % RECEIVER_KILL_EVERY == 0:
                time.sleep(rng.uniform(0, 0.3))
                receiver.kill()
                receiver.start()
        names = [api.create("incidents", cluster_incident(c, n, DRIVER)) for c, n in clusters]
        settled = _run_with_kills(api, op, rng, len(alerts) + len(names))
    finally:
        receiver.stop()

    kills = op.starts - 1
    assert kills >= OPERATOR_KILLS
    assert receiver.kills >= len(alerts) // RECEIVER_KILL_EVERY
    by_run = {inc["spec"]["runId"]: inc for inc in settled.values()}
    for pipeline, run_id in retried:  # failed once, re-run again, healed
        inc = by_run[run_id]
        runs = [(c["status"], c["target"].get("run_id")) for c in sandbox.control.calls(service="adf", op="createRun")
                if f"/pipelines/{pipeline}/" in c["path"]]
        external = [(a["metadata"]["name"], (a.get("status") or {}).get("externalRun"))
                    for a in api.attempts(inc["metadata"]["name"])]
        assert inc["status"]["phase"] == "Resolved", (  # a str: pytest would cut a tuple's repr to 240 characters
            f"{inc['metadata']['name']}: {inc['status'].get('escalationReason')}\nruns: {json.dumps(runs)}\n"
            f"attempts: {json.dumps(external, indent=1)}")
        assert [a["status"]["phase"] for a in api.attempts(inc["metadata"]["name"])] == ["Failed", "Succeeded"]
    for _, run_id in escalated:
        assert by_run[run_id]["status"]["phase"] == "Escalated"
        assert not api.attempts(by_run[run_id]["metadata"]["name"])
    for name in names:
        assert settled[name]["status"]["phase"] == "Resolved"
        assert [a["status"]["approval"]["decision"] for a in api.attempts(name)] == ["Approved"]
    _assert_every_side_effect_once(sandbox, retried, clusters, len(settled))
    print(json.dumps({"incidents": len(settled), "operator_kills": kills, "receiver_kills": receiver.kills}))


def _run_with_kills(api: Api, op: Any, rng: random.Random, count: int) -> dict[str, dict[str, Any]]:
    settled: dict[str, dict[str, Any]] = {}
    items: list[dict[str, Any]] = []
    next_kill = time.monotonic() + rng.uniform(2, 5)
    deadline = time.monotonic() + 120 + 8 * OPERATOR_KILLS + _slack_seconds(count)
    while time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_kill and op.starts - 1 < OPERATOR_KILLS:
            op.kill()
            op.start()
            next_kill = now + rng.uniform(2.5, 5)
        for attempt in cast(dict[str, Any], api.custom.list_namespaced_custom_object(
                "aiops-rca.io", "v1alpha1", api.namespace, "remediationattempts"))["items"]:
            if attempt.get("status", {}).get("phase") == "AwaitingApproval" and \
                    "aiops-rca.io/approval" not in (attempt["metadata"].get("annotations") or {}):
                api.custom.patch_namespaced_custom_object(
                    "aiops-rca.io", "v1alpha1", api.namespace, "remediationattempts", attempt["metadata"]["name"],
                    {"metadata": {"annotations": {"aiops-rca.io/approval": "approved",
                                                  "aiops-rca.io/approval-reason": "chaos test"}}})
        items = cast(dict[str, Any], api.custom.list_namespaced_custom_object("aiops-rca.io", "v1alpha1",
                                                                              api.namespace, "incidents"))["items"]
        settled = {i["metadata"]["name"]: i for i in items if _settled(i)}
        if len(settled) >= count and op.starts - 1 >= OPERATOR_KILLS:
            return settled
        time.sleep(0.3)
    waiting = Counter(_where(i) for i in items if not _settled(i))
    raise AssertionError(f"{len(settled)}/{count} settled after {op.starts - 1} kills; the others (phase, Slack"
                         f" and Jira updated for): {dict(waiting)}\n{op.log_tail(80)}")


def _where(inc: dict[str, Any]) -> str:
    status = inc.get("status", {})
    notes = status.get("notifications", {})
    return f"{status.get('phase')}/{notes.get('slackUpdatedPhase')}/{notes.get('jiraUpdatedPhase')}"


def _slack_seconds(incidents: int) -> float:
    """The time Slack's documented limits (on in the sandbox) need for the run's messages, at worst.

    Every incident's root message is edited (`chat.update`, Web API tier 3, per workspace) as its phase
    moves, up to 6 times; at full size that, not the kills, bounds how soon every incident is settled.
    """
    update = RateLimits().slack.tiers[3]
    return max(0.0, incidents * 6 - update.burst) * 60 / update.per_minute


def _settled(inc: dict[str, Any]) -> bool:
    status = inc.get("status", {})
    notes = status.get("notifications", {})
    phase = status.get("phase")
    return phase in ("Resolved", "Escalated") and notes.get("slackUpdatedPhase") == phase \
        and notes.get("jiraUpdatedPhase") == phase


def _assert_every_side_effect_once(sandbox: RunningSandbox, retried: list[tuple[str, str]],
                                   clusters: list[tuple[str, str]], incidents: int) -> None:
    calls = sandbox.control.calls
    reruns = Counter(next(p for p, _ in retried if f"/pipelines/{p}/" in c["path"])
                     for c in calls(service="adf", op="createRun") if c["status"] in (200, 201))
    assert reruns == {p: 2 for p, _ in retried}, reruns  # attempt 1 and attempt 2, never a third
    restarts = Counter(c["target"].get("cluster_id") or json.dumps(c.get("body"))
                       for c in calls(service="databricks", op="clusters/restart") if c["status"] == 200)
    assert sum(restarts.values()) == len(clusters), restarts
    assert all(n == 1 for n in restarts.values()), restarts
    posts = [c for c in calls(service="slack", op="chat.postMessage") if c["status"] == 200]
    top = [c for c in posts if not (c.get("body") or {}).get("thread_ts")]
    assert len(top) == incidents
    replies = Counter((c["body"]["thread_ts"], json.dumps(c["body"].get("metadata"), sort_keys=True))
                      for c in posts if c["body"].get("thread_ts"))
    assert all(n == 1 for n in replies.values()), replies
    created = [c for c in calls(service="jira", op="createIssue") if c["status"] in (200, 201)]
    assert len(created) == incidents
    moved = Counter(c["target"].get("key") for c in calls(service="jira", op="doTransition")
                    if c["status"] in (200, 204))
    assert all(n == 1 for n in moved.values()), moved
    assert len(moved) == incidents - ESCALATED  # the resolved ones went to Done, once each
