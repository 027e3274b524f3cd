"""A Resolved alert for an open incident, per the policy's alertResolution (time injected)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiops_operator.api import (
    AlertResolution,
    Condition,
    ConditionStatus,
    ExternalSignals,
    IncidentPhase,
    ResolvedBy,
    history,
)
from aiops_operator.api.conditions import RemediatedReason
from aiops_operator.remediation import incident_status as view
from aiops_operator.remediation.decision import PlanKind, RemediationPlan

from tests.support.builders import FIRED, NOW
from tests.unit.remediation.test_incident_status import _handed_off

CLEARED = NOW - timedelta(seconds=10)


def _with_alert_resolved(phase: IncidentPhase, **status: Any) -> Any:
    inc = _handed_off(**status)
    if phase is IncidentPhase.MONITORING:
        running = Condition(type="Remediated", status=ConditionStatus.UNKNOWN, reason="AttemptRunning",
                            last_transition_time=NOW)
        inc.status.conditions = [c for c in inc.status.conditions if c.type != "Remediated"] + [running]
    elif phase is IncidentPhase.ESCALATED:
        inc.status = view.apply_plan(inc, inc.status, RemediationPlan(PlanKind.ESCALATE, RemediatedReason.DRY_RUN,
                                                                      "dry"), None, NOW)
    inc.status.phase = phase
    inc.status.signals = ExternalSignals(alert_resolved_time=CLEARED)
    return inc


@pytest.mark.parametrize(("phase", "mode", "resolves", "records"), [
    pytest.param(IncidentPhase.REMEDIATING, AlertResolution.RESOLVE, True, False, id="resolve-while-backing-off"),
    pytest.param(IncidentPhase.ESCALATED, AlertResolution.RESOLVE, True, False, id="resolve-an-escalated-one"),
    pytest.param(IncidentPhase.MONITORING, AlertResolution.RESOLVE, False, True,
                 id="run-in-flight-is-confirmation-only"),
    pytest.param(IncidentPhase.REMEDIATING, AlertResolution.RECORD, False, True, id="record"),
    pytest.param(IncidentPhase.REMEDIATING, AlertResolution.IGNORE, False, False, id="ignore"),
])
def test_alert_resolution(phase: IncidentPhase, mode: AlertResolution, resolves: bool, records: bool) -> None:
    inc = _with_alert_resolved(phase)
    resolved = view.human_resolution(inc, NOW, ["Done"], alert=mode)
    recorded = view.alert_resolution(inc, mode, NOW)
    assert (resolved is not None, recorded is not None) == (resolves, records)
    if resolved is not None:
        assert resolved.phase is IncidentPhase.RESOLVED
        assert resolved.resolution is not None
        assert resolved.resolution.resolved_by is ResolvedBy.ALERT
        assert resolved.resolution.resolved_time == CLEARED
        assert resolved.resolution.mttr_seconds == int((CLEARED - FIRED).total_seconds())
        assert next(c for c in resolved.conditions if c.type == "Resolved").reason == "AlertResolved"
        assert resolved.history[-1].action == history.ALERT_RESOLVED
    if recorded is not None:
        assert recorded.phase is phase
        assert recorded.history[-1].action == history.ALERT_RESOLUTION_RECORDED
        # Once: the next call records nothing more.
        assert view.alert_resolution(inc.model_copy(update={"status": recorded}), mode, NOW) is None


def test_without_a_resolved_alert_nothing_happens() -> None:
    inc = _handed_off()
    assert view.human_resolution(inc, NOW, ["Done"], alert=AlertResolution.RESOLVE) is None
    assert view.alert_resolution(inc, AlertResolution.RESOLVE, NOW) is None


def test_jira_and_kubectl_still_come_first() -> None:
    inc = _with_alert_resolved(IncidentPhase.REMEDIATING)
    inc.metadata.annotations = {"aiops-rca.io/resolve": "fixed"}
    resolved = view.human_resolution(inc, NOW, ["Done"], alert=AlertResolution.RESOLVE)
    assert resolved is not None
    assert resolved.resolution is not None
    assert resolved.resolution.resolved_by is ResolvedBy.KUBECTL
