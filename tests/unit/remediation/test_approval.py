from __future__ import annotations

from typing import Any

import pytest
from aiops_operator.api import ApprovalChannel, ApprovalDecision
from aiops_operator.api.approval import slack_approval
from aiops_operator.remediation.approval import (
    decision_problem,
    observe_approval,
    parse_decision,
)

from tests.support.builders import at


def _managed(manager: str, time: str, annotation: bool = True) -> dict[str, Any]:
    fields: dict[str, Any] = {"f:metadata": {"f:annotations": {".": {}}}}
    if annotation:
        fields["f:metadata"]["f:annotations"]["f:aiops-rca.io/approval"] = {}
    return {"manager": manager, "operation": "Update", "apiVersion": "aiops-rca.io/v1alpha1", "time": time,
            "fieldsType": "FieldsV1", "fieldsV1": fields}


def _body(annotations: dict[str, str], managed: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "x-1", "annotations": annotations, "managedFields": managed or []}}


@pytest.mark.parametrize(
    ("value", "decision"),
    [
        pytest.param("approved", ApprovalDecision.APPROVED, id="approved"),
        pytest.param(" Approve ", ApprovalDecision.APPROVED, id="approve-spaces-case"),
        pytest.param("denied", ApprovalDecision.DENIED, id="denied"),
        pytest.param("REJECTED", ApprovalDecision.DENIED, id="rejected"),
        pytest.param("maybe", None, id="unknown"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_parse_decision(value: str | None, decision: ApprovalDecision | None) -> None:
    assert parse_decision(value) is decision


@pytest.mark.parametrize(
    ("body", "decision", "by", "time", "reason"),
    [
        pytest.param(_body({}), None, None, None, None, id="no-annotation"),
        pytest.param(_body({"aiops-rca.io/approval": "approved"},
                           [_managed("kopf", "2024-05-01T11:00:00Z", annotation=False),
                            _managed("kubectl-annotate", "2024-05-01T12:00:20Z")]),
                     ApprovalDecision.APPROVED, "field manager kubectl-annotate", at(20), None,
                     id="manager-and-server-time"),
        pytest.param(_body({"aiops-rca.io/approval": "denied", "aiops-rca.io/approval-reason": "month-end close",
                            "aiops-rca.io/approved-by": "bob@example.com"},
                           [_managed("kubectl", "2024-05-01T12:00:30Z")]),
                     ApprovalDecision.DENIED, "bob@example.com (claimed; field manager kubectl)", at(30),
                     "month-end close", id="claimed-approver-and-reason"),
        pytest.param(_body({"aiops-rca.io/approval": "approved"},
                           [_managed("old-tool", "2024-05-01T12:00:05Z"), _managed("kubectl", "2024-05-01T12:00:40Z")]),
                     ApprovalDecision.APPROVED, "field manager kubectl", at(40), None, id="latest-writer-wins"),
        pytest.param(_body({"aiops-rca.io/approval": "approved"}), ApprovalDecision.APPROVED, "unknown (kubectl)",
                     at(99), None, id="no-managed-fields-uses-now"),
        pytest.param(_body({"aiops-rca.io/approval": "perhaps"}), None, None, None, None, id="unreadable-ignored"),
    ],
)
def test_observe_approval(body: dict[str, Any], decision: ApprovalDecision | None, by: str | None, time: Any,
                          reason: str | None) -> None:
    approval = observe_approval(body, at(99))
    if decision is None:
        assert approval is None
        return
    assert approval is not None
    assert (approval.decision, approval.by, approval.time, approval.reason, approval.via) == (
        decision, by, time, reason, ApprovalChannel.KUBECTL)


def test_claimed_approver_is_cleaned_and_bounded() -> None:
    approval = observe_approval(_body({"aiops-rca.io/approval": "approved",
                                       "aiops-rca.io/approved-by": "eve\x00" + "x" * 500 + " token=abc"}), at(0))
    assert approval is not None
    assert len(approval.by) <= 256
    assert "\x00" not in approval.by


def test_decision_problem_for_an_unreadable_value() -> None:
    assert decision_problem({"aiops-rca.io/approval": "ok"}) is not None
    assert decision_problem({"aiops-rca.io/approval": "approved"}) is None
    assert decision_problem({}) is None


def test_slack_approval_records_user_and_time() -> None:
    approval = slack_approval(ApprovalDecision.APPROVED, "U123 (alice)", at(5), "go")
    assert (approval.by, approval.time, approval.via, approval.reason) == ("U123 (alice)", at(5),
                                                                            ApprovalChannel.SLACK, "go")
