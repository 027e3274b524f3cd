from __future__ import annotations

from typing import Any

import pytest
from aiops_operator.api import IncidentPhase, JiraRef, Notifications, RemediationSummary
from aiops_operator.incident import analyzing
from aiops_operator.integrations.slack import build_message, is_ours, message_metadata, status_line

from tests.unit.incident.fixtures import NOW, analysis, incident


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
    inc.status.analysis.root_cause = "x" * 4000  # type: ignore[union-attr]
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
