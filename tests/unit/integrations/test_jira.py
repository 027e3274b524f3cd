from __future__ import annotations

import json

from aiops_operator.api import Ownership
from aiops_operator.incident import analyzing
from aiops_operator.integrations.jira import (
    build_description,
    build_fields,
    comment_document,
    comment_marker,
    identity_label,
)

from tests.support.builders import NOW, analysis, incident


def analyzed() -> object:
    inc = incident()
    status = analyzing.fold_analysis(inc.status, analysis(), NOW)
    status = status.model_copy(update={
        "ownership": Ownership(team="data", owner="ana", cost_center="CC-9", slack_channel="#d"),
        "escalation_reason": "No rule covers it.",
    })
    return inc.model_copy(update={"status": status})


def text_of(node: object) -> str:
    return json.dumps(node)


def test_fields_carry_project_type_summary_and_identity_label() -> None:
    inc = analyzed()
    fields = build_fields(inc, "OPS", "Task")  # type: ignore[arg-type]
    assert fields["project"] == {"key": "OPS"}
    assert fields["issuetype"] == {"name": "Task"}
    assert fields["summary"] == "[P3] pl_copy_sales_daily: GatewayTimeout"
    assert identity_label(inc) in fields["labels"]  # type: ignore[arg-type]
    assert identity_label(inc) == "aiops-rca-uid-1"  # type: ignore[arg-type]


def test_description_is_an_adf_document_with_every_section() -> None:
    doc = build_description(analyzed(), "https://dash")  # type: ignore[arg-type]
    assert doc["type"] == "doc"
    assert doc["version"] == 1
    headings = [n["content"][0]["text"] for n in doc["content"] if n["type"] == "heading"]
    assert headings == ["Root cause", "Recommendations", "Details", "Ownership"]
    body = text_of(doc)
    for expected in ("A human is needed", "No rule covers it.", "The SQL source did not answer in time.",
                     "Re-run the pipeline.", "GatewayTimeout", "CC-9", "https://dash/#/incident/ns/adf-x-1",
                     "Execution Timeout Expired"):
        assert expected in body
    # ADF text nodes are never empty (Jira rejects them).
    assert '"text": ""' not in body


def test_comment_carries_its_marker() -> None:
    assert comment_marker("phase-Escalated") in text_of(comment_document("phase-Escalated", "Escalated."))
