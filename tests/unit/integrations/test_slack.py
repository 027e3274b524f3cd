from __future__ import annotations

from typing import Any

import pytest
from aiops_operator.api import IncidentPhase, JiraRef, Notifications, RemediationSummary, history
from aiops_operator.incident import analyzing, notifying
from aiops_operator.integrations.slack import build_message, is_ours, message_metadata, status_line

from tests.support.builders import NOW, analysis, incident


def analyzed(**status: Any) -> Any:
    inc = incident()
    inc = inc.model_copy(update={"status": analyzing.fold_analysis(inc.status, analysis(), NOW)})
    return inc.model_copy(update={"status": inc.status.model_copy(update=status)})


def test_message_has_header_ids_root_cause_recommendations_status_and_button() -> None:
    inc = analyzed(phase=IncidentPhase.REMEDIATING,
                   notifications=Notifications(jira=JiraRef(key="OPS-7", url="https://jira/browse/OPS-7")),
                   remediation=RemediationSummary(policy="default", rule="gateway-timeout", action="RerunPipeline",
                                                  max_attempts=3))
    text, blocks = build_message(inc, "https://dash.example/")
    assert text.startswith("P3 Medium: pl_copy_sales_daily failed")
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == "P3 Medium: pl_copy_sales_daily failed"
    fields = " ".join(f["text"] for f in blocks[1]["fields"])
    assert "ns/adf-x-1" in fields
    assert "run-1" in fields
    assert "GatewayTimeout" in fields
    assert "<https://jira/browse/OPS-7|OPS-7>" in fields
    body = str(blocks)
    assert "*Root cause:* The SQL source did not answer in time." in body
    assert "1. Re-run the pipeline." in body
    assert "RerunPipeline under policy default" in body
    assert blocks[-1]["elements"][0]["url"] == "https://dash.example/#/incident/ns/adf-x-1"


def test_no_dashboard_no_button_and_bounded_texts() -> None:
    inc = analyzed()
    inc.status.analysis.root_cause = "x" * 4000
    _, blocks = build_message(inc, None)
    assert all(b["type"] != "actions" for b in blocks)
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)


@pytest.mark.parametrize(("status", "expected"), [
    pytest.param({"phase": IncidentPhase.ANALYZING}, "Analyzing", id="analyzing"),
    pytest.param({"phase": IncidentPhase.ESCALATED, "escalation_reason": "No rule."},
                 "Escalated: a human is needed. No rule.", id="escalated"),
])
def test_status_line(status: dict[str, Any], expected: str) -> None:
    assert expected in status_line(analyzed(**status))


def test_metadata_identifies_the_incident_and_reply_key() -> None:
    inc = analyzed()
    message = {"metadata": message_metadata(inc)}
    reply = {"metadata": message_metadata(inc, "escalated")}
    assert is_ours(message, "uid-1")
    assert not is_ours(message, "uid-2")
    assert not is_ours(reply, "uid-1")
    assert is_ours(reply, "uid-1", "escalated")
    assert not is_ours({"metadata": {"event_type": "other", "event_payload": {"incident_uid": "uid-1"}}}, "uid-1")
    assert not is_ours({}, "uid-1")


def awaiting(**status: Any) -> Any:
    from aiops_operator.api import ConditionStatus, set_condition
    from aiops_operator.api.conditions import IncidentCondition, RemediatedReason, condition

    inc = analyzed(phase=IncidentPhase.REMEDIATING,
                   remediation=RemediationSummary(policy="default", rule="oom", action="ResizeCluster",
                                                  attempts_made=1, max_attempts=2, current_attempt="adf-x-1-1"),
                   **status)
    cond = condition(IncidentCondition.REMEDIATED, ConditionStatus.UNKNOWN, RemediatedReason.AWAITING_APPROVAL,
                     "Waits.", NOW, 1)
    return inc.model_copy(update={"status": inc.status.model_copy(
        update={"conditions": set_condition(inc.status.conditions, cond)})})


def test_awaiting_approval_shows_approve_and_deny_buttons_and_who_may_decide() -> None:
    from aiops_operator.api.approval import SLACK_APPROVE_ACTION, SLACK_DENY_ACTION

    inc = awaiting()
    _, blocks = build_message(inc, None)
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions) == 1
    buttons = actions[0]["elements"]
    assert [(b["action_id"], b["value"], b["style"]) for b in buttons] == [
        (SLACK_APPROVE_ACTION, "ns/adf-x-1-1", "primary"), (SLACK_DENY_ACTION, "ns/adf-x-1-1", "danger")]
    text = str(blocks)
    assert "Approval needed" in text
    assert "Approvers may Approve or Deny here" in text
    assert "kubectl annotate remediationattempt adf-x-1-1 -n ns aiops-rca.io/approval=approved" in text
    assert notifying.slack_view(inc.status) == "Remediating/1/AwaitingApproval"


@pytest.mark.parametrize(("action", "word", "icon"), [
    pytest.param("AttemptApproved", "approved", ":ballot_box_with_check:", id="approved"),
    pytest.param("AttemptDenied", "denied", ":no_entry:", id="denied"),
])
def test_after_the_decision_the_buttons_are_gone_and_the_decider_is_shown(action: str, word: str,
                                                                           icon: str) -> None:

    inc = analyzed(phase=IncidentPhase.MONITORING,
                   remediation=RemediationSummary(policy="default", rule="oom", action="ResizeCluster",
                                                  attempts_made=1, max_attempts=2, current_attempt="adf-x-1-1"))
    message = f"Attempt 1/2 (adf-x-1-1) {word} by ana (Slack user U04ANA1234) via Slack at {NOW.isoformat()}."
    inc = inc.model_copy(update={"status": history.record(inc.status, action, message, NOW)})
    assert action in (history.ATTEMPT_APPROVED, history.ATTEMPT_DENIED)
    _, blocks = build_message(inc, None)
    assert all(b["type"] != "actions" for b in blocks)
    assert f"{icon} {message}" in str(blocks)
    assert notifying.slack_view(inc.status) == "Monitoring/1"


HOSTILE = "<!channel> <@U0ADMIN> <https://evil.example/login|Open the runbook> & @here"


@pytest.mark.parametrize("where", [
    pytest.param("root_cause", id="root-cause"),
    pytest.param("recommendation", id="recommendation"),
    pytest.param("activity", id="activity-name"),
    pytest.param("escalation", id="escalation-reason"),
])
def test_injected_text_reaches_slack_inert(where: str) -> None:
    inc = analyzed(phase=IncidentPhase.ESCALATED,
                   escalation_reason=HOSTILE if where == "escalation" else "No rule.")
    assert inc.status.analysis is not None
    if where == "root_cause":
        inc.status.analysis.root_cause = HOSTILE
    elif where == "recommendation":
        inc.status.analysis.recommendations = [HOSTILE]
    elif where == "activity":
        inc.spec.error.activity = HOSTILE
    text, blocks = build_message(inc, None)
    rendered = _mrkdwn_texts(blocks)
    assert any("&lt;!channel&gt; &lt;@U0ADMIN&gt; &lt;https://evil.example/login|Open the runbook&gt; &amp; @here"
               in t for t in rendered)
    for t in [*rendered, text]:
        assert "<!channel>" not in t
        assert "<@U0ADMIN>" not in t
        assert "<https://evil.example" not in t
    assert all(obj["verbatim"] is True for obj in _mrkdwn_objects(blocks))


def _mrkdwn_objects(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        own = [value] if value.get("type") == "mrkdwn" else []
        return own + [o for v in value.values() for o in _mrkdwn_objects(v)]
    if isinstance(value, list):
        return [o for v in value for o in _mrkdwn_objects(v)]
    return []


def _mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [str(o["text"]) for o in _mrkdwn_objects(blocks)]
