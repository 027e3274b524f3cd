"""Approve or deny a high-risk remediation with Slack buttons, end to end.

Real API server, the operator as a subprocess, the sandbox as Slack and
Databricks, the receiver as a subprocess with a Slack signing secret and an
approver list (ana and bob). A click is what Slack would send: a form-encoded
`block_actions` payload signed with the app's signing secret.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from kubernetes import client

from sandbox.testing import RunningSandbox
from tests.e2e.operator.conftest import CLI, OperatorProcess, wait_for
from tests.e2e.operator.remediation_world import OOM, Api, cluster_incident, condition, history, policy, rule
from tests.e2e.receiver.conftest import receiver_process

CHANNEL = "data-incidents"
SIGNING_SECRET = secrets.token_hex(16)
APPROVERS = "U04ANA1234,U0BOB56789"
CLUSTERS = {
    "approve": ("0202-120000-slackap1", "spark-bigmem-slack-approve"),
    "deny": ("0202-120000-slackdn1", "spark-bigmem-slack-deny"),
}


@dataclass
class World:
    api: Api
    namespace: str
    op: OperatorProcess
    sandbox: RunningSandbox
    receiver: str
    names: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(kubeconfig: Path, api_client: client.ApiClient, custom_api: client.CustomObjectsApi,
          sandbox_session: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    sandbox = sandbox_session
    sandbox.control.load({
        "defaults": {"run_duration_seconds": 1, "cluster_transition_seconds": 1},
        "databricks": {"clusters": {cid: {"name": name, "state": "RUNNING", "num_workers": 4}
                                    for cid, name in CLUSTERS.values()}},
    })
    namespace = f"e2e-slack-approval-{secrets.token_hex(3)}"
    core = client.CoreV1Api(api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    api = Api(custom_api, namespace)
    workdir = tmp_path_factory.mktemp("slack-approval")
    api.create("remediationpolicies", policy("high-risk", [
        rule("resource-exhausted", "DatabricksResourceExhausted", "ResizeCluster", [1, 1], 2, risk="High")]))
    skipped = ("SLACK_", "JIRA_", "LLM_", "AZURE_", "DATABRICKS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skipped)}
    env.update(sandbox.endpoints.env())
    env.update({"KUBECONFIG": str(kubeconfig), "LOG_LEVEL": "INFO", "RESYNC_SECONDS": "30",
                "NOTIFY_RETRY_INITIAL_SECONDS": "1", "NOTIFY_RETRY_MAX_SECONDS": "2",
                "SSL_CERT_FILE": str(sandbox.endpoints.ca_file), "REMEDIATION_POLL_SECONDS": "1"})
    op = OperatorProcess(args=[str(CLI), "operator", "--namespace", namespace, "--port", "0"], env=env,
                         log_path=workdir / "operator.log")
    secret_file = workdir / "slack-signing-secret"
    secret_file.write_text(SIGNING_SECRET + "\n")
    keys = workdir / "api-keys"
    keys.write_text("unused-key\n")
    os.environ["AIOPS_RCA_RECEIVER_SLACK_SIGNING_SECRET_FILE"] = str(secret_file)
    os.environ["AIOPS_RCA_RECEIVER_SLACK_APPROVERS"] = APPROVERS
    try:
        with receiver_process(kubeconfig, namespace, workdir, keys) as url:
            op.start()
            w = World(api=api, namespace=namespace, op=op, sandbox=sandbox, receiver=url)
            for key, (cid, name) in CLUSTERS.items():
                w.names[key] = api.create("incidents", cluster_incident(cid, name, OOM, "OUT_OF_MEMORY"))
            try:
                yield w
            finally:
                op.stop()
                print(f"--- operator log ---\n{op.log_tail(60)}")
    finally:
        os.environ.pop("AIOPS_RCA_RECEIVER_SLACK_SIGNING_SECRET_FILE", None)
        os.environ.pop("AIOPS_RCA_RECEIVER_SLACK_APPROVERS", None)
        with contextlib.suppress(client.ApiException):
            core.delete_namespace(namespace)


def message_of(world: World, name: str) -> dict[str, Any] | None:
    notes = (world.api.incident(name).get("status") or {}).get("notifications") or {}
    ts = (notes.get("slack") or {}).get("ts")
    if not ts:
        return None
    messages = world.sandbox.control.slack_channel(CHANNEL)["messages"]
    return next((m for m in messages if m["ts"] == ts), None)


def buttons(message: dict[str, Any] | None) -> list[dict[str, Any]]:
    blocks = (message or {}).get("blocks") or []
    return [e for b in blocks if b.get("type") == "actions" for e in b.get("elements", [])
            if str(e.get("action_id", "")).startswith("aiops_")]


def wait_for_buttons(world: World, key: str) -> list[dict[str, Any]]:
    name = world.names[key]
    found: list[dict[str, Any]] = wait_for(lambda: buttons(message_of(world, name)), 60,
                                           "Approve/Deny buttons on the Slack message", world.op)
    attempt = world.api.attempts(name)[0]
    assert attempt["status"]["phase"] == "AwaitingApproval"
    return found


def click(world: World, button: dict[str, Any], user: tuple[str, str], *, secret: str = SIGNING_SECRET,
          timestamp: int | None = None) -> httpx.Response:
    """What Slack sends when `user` (id, name) clicks `button`."""
    payload = {
        "type": "block_actions", "user": {"id": user[0], "username": user[1], "name": user[1], "team_id": "T0E2E"},
        "team": {"id": "T0E2E", "domain": "e2e"}, "channel": {"id": "C0E2E", "name": CHANNEL},
        "container": {"type": "message", "message_ts": "1.0", "channel_id": "C0E2E"},
        "response_url": "https://hooks.slack.com/actions/T0E2E/1/x", "trigger_id": "1.2.3",
        "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "aiops_approval",
                     "value": button["value"], "action_ts": str(time.time())}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return httpx.post(f"{world.receiver}/webhook/slack/interactions", content=body, timeout=10, headers={
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": stamp, "x-slack-signature": signature})


def resizes(world: World, cluster_id: str) -> list[Any]:
    return [c for c in world.sandbox.control.calls(service="databricks", op="clusters/resize") if cluster_id in str(c)]


def test_forged_or_unlisted_click_is_refused_then_a_signed_approve_heals_once(world: World) -> None:
    name = world.names["approve"]
    found = wait_for_buttons(world, "approve")
    approve = next(b for b in found if b["action_id"] == "aiops_approve")
    assert approve["value"] == f"{world.namespace}/{name}-1"

    for forged in (click(world, approve, ("U0MALLORY1", "mallory"), secret="not-the-secret"),
                   click(world, approve, ("U0MALLORY1", "mallory"), timestamp=int(time.time()) - 600)):
        assert forged.status_code == 401
    unlisted = click(world, approve, ("U0MALLORY1", "mallory"))  # signed by Slack, but not an approver
    assert unlisted.status_code == 200, unlisted.text
    assert "not on the approver list" in unlisted.json()["text"]
    attempt = world.api.attempts(name)[0]
    assert attempt["status"]["phase"] == "AwaitingApproval"
    assert "approval" not in attempt["status"]

    answer = click(world, approve, ("U04ANA1234", "ana.silva"))
    assert answer.status_code == 200, answer.text
    assert "You approved" in answer.json()["text"]
    inc = world.api.wait_settled(name, world.op)
    assert inc["status"]["phase"] == "Resolved", inc["status"].get("escalationReason")
    attempt = world.api.attempts(name)[0]
    approval = attempt["status"]["approval"]
    assert (approval["decision"], approval["via"]) == ("Approved", "Slack")
    assert approval["by"] == "ana.silva (Slack user U04ANA1234)"
    assert condition(attempt, "Approved")["status"] == "True"
    assert len(resizes(world, CLUSTERS["approve"][0])) == 1
    assert "AttemptApproved" in history(inc)

    late = click(world, approve, ("U0BOB56789", "bob"))
    assert late.status_code == 200
    assert "changed nothing" in late.json()["text"]
    assert world.api.attempts(name)[0]["status"]["approval"] == approval

    def shows_decision() -> dict[str, Any] | None:
        message = message_of(world, name)
        text = str((message or {}).get("blocks"))
        return message if "approved by ana.silva (Slack user U04ANA1234) via Slack" in text else None

    message = wait_for(shows_decision, 30, "the Slack message showing who approved", world.op)
    assert not buttons(message)


def test_deny_click_escalates(world: World) -> None:
    name = world.names["deny"]
    found = wait_for_buttons(world, "deny")
    deny = next(b for b in found if b["action_id"] == "aiops_deny")
    answer = click(world, deny, ("U0BOB56789", "bob"))
    assert answer.status_code == 200, answer.text
    assert "You denied" in answer.json()["text"]
    inc = world.api.wait_settled(name, world.op)
    assert inc["status"]["phase"] == "Escalated"
    assert condition(inc, "Escalated")["reason"] == "ApprovalDenied"
    attempt = world.api.attempts(name)[0]
    assert attempt["status"]["phase"] == "Skipped"
    assert attempt["status"]["approval"]["via"] == "Slack"
    assert "U0BOB56789" in attempt["status"]["approval"]["by"]
    assert not resizes(world, CLUSTERS["deny"][0])
