"""Table tests for how remediation shows on the Incident: conditions, phase, audit trail, resolution, replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiops_operator.api import (
    Approval,
    ApprovalChannel,
    ApprovalDecision,
    AttemptPhase,
    Condition,
    ConditionStatus,
    ExternalRun,
    ExternalSignals,
    ExternalSystem,
    IncidentPhase,
    RemediationAttempt,
    RemediationAttemptSpec,
    RemediationAttemptStatus,
    RemediationSummary,
    ResolvedBy,
    history,
)
from aiops_operator.api.conditions import RemediatedReason
from aiops_operator.incident.notifying import slack_view
from aiops_operator.remediation import incident_status as view
from aiops_operator.remediation.decision import PlanKind, RemediationPlan

from tests.support.builders import FIRED, NOW, analysis, incident

SUMMARY = RemediationSummary(policy="default", rule="gateway-timeout", action="RerunPipeline", max_attempts=3)


def _handed_off(**status: Any) -> Any:
    conditions = [
        Condition(type="Analyzed", status=ConditionStatus.TRUE, reason="AnalysisSucceeded", last_transition_time=NOW),
        Condition(type="Notified", status=ConditionStatus.TRUE, reason="NotificationsSkipped",
                  last_transition_time=NOW),
        Condition(type="Remediated", status=ConditionStatus.UNKNOWN, reason="AwaitingRemediation",
                  last_transition_time=NOW),
    ]
    return incident(analysis=analysis().model_dump(), conditions=[c.model_dump() for c in conditions],
                    remediation=SUMMARY.model_dump(), phase="Remediating", **status)


def _attempt(n: int = 1, phase: AttemptPhase | None = None, **status: Any) -> RemediationAttempt:
    spec = RemediationAttemptSpec(incident_ref="adf-x-1", attempt=n, action="RerunPipeline", policy="default",
                                  rule="gateway-timeout", not_before_time=NOW, idempotency_key="k")
    return RemediationAttempt(metadata={"name": f"adf-x-1-{n}", "namespace": "ns", "creationTimestamp": NOW},
                              spec=spec, status=RemediationAttemptStatus(phase=phase, **status))


RUN = ExternalRun(system=ExternalSystem.AZURE_DATA_FACTORY, run_id="run-2", detail="Re-ran pipeline.")


@pytest.mark.parametrize(("kind", "reason", "phase", "remediated"), [
    pytest.param(PlanKind.WAIT, RemediatedReason.BACKING_OFF, IncidentPhase.REMEDIATING, ("Unknown", "BackingOff"),
                 id="wait"),
    pytest.param(PlanKind.CREATE_ATTEMPT, RemediatedReason.ATTEMPT_PENDING, IncidentPhase.REMEDIATING,
                 ("Unknown", "AttemptPending"), id="create"),
    pytest.param(PlanKind.WAIT, RemediatedReason.AWAITING_APPROVAL, IncidentPhase.REMEDIATING,
                 ("Unknown", "AwaitingApproval"), id="approval"),
    pytest.param(PlanKind.MONITOR, RemediatedReason.ATTEMPT_RUNNING, IncidentPhase.MONITORING, ("Unknown",
                                                                                                "AttemptRunning"),
                 id="monitor"),
    pytest.param(PlanKind.UPDATE_ATTEMPT, RemediatedReason.DRY_RUN, IncidentPhase.REMEDIATING,
                 ("Unknown", "AwaitingRemediation"), id="update-keeps-progress-reason"),
    pytest.param(PlanKind.ESCALATE, RemediatedReason.ATTEMPTS_EXHAUSTED, IncidentPhase.ESCALATED,
                 ("False", "AttemptsExhausted"), id="exhausted"),
    pytest.param(PlanKind.ESCALATE, RemediatedReason.APPROVAL_DENIED, IncidentPhase.ESCALATED, ("False",
                                                                                                "ApprovalDenied"),
                 id="denied"),
    pytest.param(PlanKind.RESOLVE, RemediatedReason.AUTO_HEALED, IncidentPhase.RESOLVED, ("True", "AutoHealed"),
                 id="healed"),
])
def test_plan_sets_remediated_and_phase(kind: PlanKind, reason: RemediatedReason, phase: IncidentPhase,
                                        remediated: tuple[str, str]) -> None:
    inc = _handed_off()
    status = view.apply_plan(inc, inc.status, RemediationPlan(kind, reason, "msg"), None, NOW)
    cond = next(c for c in status.conditions if c.type == "Remediated")
    assert (cond.status.value, cond.reason) == remediated
    assert status.phase is phase


def test_resolve_records_mttr_from_the_alert_run_and_attempt() -> None:
    inc = _handed_off()
    attempt = _attempt(phase=AttemptPhase.SUCCEEDED, external_run=RUN, start_time=NOW, completion_time=NOW)
    at = FIRED + timedelta(minutes=7)
    summary = SUMMARY.model_copy(update={"attempts_made": 1, "current_attempt": "adf-x-1-1"})
    plan = RemediationPlan(PlanKind.RESOLVE, RemediatedReason.AUTO_HEALED, "healed", attempt_name="adf-x-1-1",
                           summary=summary)
    status = view.apply_plan(inc, inc.status, plan, attempt, at)
    assert status.resolution is not None
    assert status.resolution.mttr_seconds == 420
    assert status.resolution.resolved_by is ResolvedBy.AUTO_HEAL
    assert (status.resolution.run_id, status.resolution.attempt) == ("run-2", "adf-x-1-1")
    assert [h.action for h in status.history][-2:] == [history.ATTEMPT_LAUNCHED, history.REMEDIATION_SUCCEEDED]
    assert view.success_banner(status) == ":white_check_mark: Auto-healed on attempt 1/3, new run run-2. MTTR 7 min."


@pytest.mark.parametrize(("attempt", "actions"), [
    pytest.param(_attempt(phase=AttemptPhase.PENDING), [history.ATTEMPT_CREATED], id="created"),
    pytest.param(_attempt(phase=AttemptPhase.RUNNING, external_run=RUN),
                 [history.ATTEMPT_CREATED, history.ATTEMPT_LAUNCHED], id="launched"),
    pytest.param(_attempt(phase=AttemptPhase.FAILED, external_run=RUN, failure_reason="boom"),
                 [history.ATTEMPT_CREATED, history.ATTEMPT_LAUNCHED, history.ATTEMPT_FAILED], id="failed"),
    pytest.param(_attempt(phase=AttemptPhase.SKIPPED, would_have_done="Re-run X."),
                 [history.ATTEMPT_CREATED, history.ATTEMPT_SKIPPED], id="dry-run"),
])
def test_attempt_milestones_are_recorded_once(attempt: RemediationAttempt, actions: list[str]) -> None:
    inc = _handed_off()
    once = view.record_attempt(inc.status, attempt, 3, NOW)
    twice = view.record_attempt(once, attempt, 3, NOW + timedelta(seconds=5))
    assert [h.action for h in once.history] == actions
    assert twice.history == once.history


def test_approval_milestones_name_the_command_and_the_approver() -> None:
    spec_status: dict[str, Any] = {"approval": Approval(decision=ApprovalDecision.DENIED, by="ana (claimed)", time=NOW,
                                        via=ApprovalChannel.KUBECTL, reason="month-end")}
    attempt = _attempt(phase=AttemptPhase.AWAITING_APPROVAL, **spec_status)
    attempt.spec.approval_required = True
    entries = view.attempt_milestones(attempt, 2, NOW)
    assert [e[0] for e in entries] == [history.ATTEMPT_CREATED, history.APPROVAL_REQUIRED, history.ATTEMPT_DENIED]
    assert "kubectl annotate remediationattempt adf-x-1-1 -n ns aiops-rca.io/approval=approved" in entries[1][1]
    assert "denied by ana (claimed) via Kubectl" in entries[2][1]


@pytest.mark.parametrize(("signals", "annotations", "expected"), [
    pytest.param({"jira_status": "Done", "jira_actor": "maria"}, {}, (ResolvedBy.JIRA, "maria", "ResolvedInJira"),
                 id="jira-done"),
    pytest.param({"jira_status": "closed", "jira_actor": "maria"}, {}, (ResolvedBy.JIRA, "maria", "ResolvedInJira"),
                 id="jira-closed-any-case"),
    pytest.param({"jira_status": "In Progress"}, {}, None, id="jira-not-done"),
    pytest.param({}, {"aiops-rca.io/resolve": "fixed by hand"}, (ResolvedBy.KUBECTL, "field manager kubectl",
                                                                  "ResolvedByKubectl"), id="kubectl"),
    pytest.param({}, {"aiops-rca.io/resolve": "", "aiops-rca.io/resolved-by": "ana"},
                 (ResolvedBy.KUBECTL, "ana", "ResolvedByKubectl"), id="kubectl-claimed"),
    pytest.param({}, {}, None, id="nothing"),
])
def test_human_resolution(signals: dict[str, Any], annotations: dict[str, str],
                          expected: tuple[ResolvedBy, str, str] | None) -> None:
    inc = _handed_off()
    inc.status.signals = ExternalSignals(**signals) if signals else None
    inc.metadata.annotations = annotations
    status = view.human_resolution(inc, NOW, ["Done", "Closed"], "field manager kubectl")
    if expected is None:
        assert status is None
        return
    assert status is not None
    assert status.resolution is not None
    assert (status.resolution.resolved_by, status.resolution.actor) == expected[:2]
    assert status.phase is IncidentPhase.RESOLVED
    assert next(c for c in status.conditions if c.type == "Resolved").reason == expected[2]
    assert next(c for c in status.conditions if c.type == "Remediated").status is ConditionStatus.FALSE
    assert status.resolution.mttr_seconds == int((NOW - FIRED).total_seconds())


def test_an_escalated_incident_can_still_be_resolved_and_a_resolved_one_is_left_alone() -> None:
    inc = _handed_off()
    escalated = view.apply_plan(inc, inc.status, RemediationPlan(PlanKind.ESCALATE, RemediatedReason.DRY_RUN,
                                                                 "dry"), None, NOW)
    inc = inc.model_copy(update={"status": escalated})
    inc.metadata.annotations = {"aiops-rca.io/resolve": "done"}
    resolved = view.human_resolution(inc, NOW, ["Done"])
    assert resolved is not None
    assert resolved.phase is IncidentPhase.RESOLVED
    assert next(c for c in resolved.conditions if c.type == "Escalated").status is ConditionStatus.FALSE
    again = view.human_resolution(inc.model_copy(update={"status": resolved}), NOW, ["Done"])
    assert again is None


def test_retry_replies_and_slack_view() -> None:
    inc = _handed_off()
    failed = _attempt(phase=AttemptPhase.FAILED, failure_reason="boom", completion_time=NOW)
    summary = SUMMARY.model_copy(update={"attempts_made": 1, "next_attempt_time": NOW + timedelta(seconds=30)})
    plan = RemediationPlan(PlanKind.WAIT, RemediatedReason.BACKING_OFF, "wait", summary=summary)
    status = view.apply_plan(inc, inc.status, plan, failed, NOW)
    replies = view.retry_replies(status)
    assert [k for k, _ in replies] == ["retry-2"]
    assert replies[0][1].startswith(":repeat: Retry 2/3 at ")
    assert slack_view(status) == "Remediating/1"
    exhausted = view.apply_plan(inc, status, RemediationPlan(PlanKind.ESCALATE, RemediatedReason.ATTEMPTS_EXHAUSTED,
                                                             "x"),
                                None, NOW)
    # Once ended the retry is still listed (posted late if a 429 held it back), without a pending time.
    assert [(k, t.startswith(":repeat: Retry 2/3: ")) for k, t in view.retry_replies(exhausted)] == [("retry-2", True)]
    assert slack_view(exhausted) == "Escalated"


def test_mttr_counts_from_received_time_without_a_fired_time() -> None:
    inc = _handed_off()
    inc.spec.alert.fired_time = None
    assert view.mttr_seconds(inc, inc.spec.received_time + timedelta(seconds=90)) == 90
    assert view.mttr_seconds(inc, datetime(2000, 1, 1, tzinfo=UTC)) == 0
