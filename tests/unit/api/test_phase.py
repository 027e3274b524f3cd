from __future__ import annotations

import pytest
from aiops_operator.api import Condition, ConditionStatus, IncidentPhase
from aiops_operator.api.phase import derive_phase

from tests.support.builders import NOW

T, F, U = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN


def conds(*items: tuple[str, ConditionStatus, str]) -> list[Condition]:
    return [Condition(type=t, status=s, reason=r, last_transition_time=NOW) for t, s, r in items]


@pytest.mark.parametrize(("conditions", "phase"), [
    pytest.param([], IncidentPhase.ANALYZING, id="nothing-yet"),
    pytest.param(conds(("Analyzed", U, "Analyzing")), IncidentPhase.ANALYZING, id="analyzing"),
    pytest.param(conds(("Analyzed", T, "AnalysisSucceeded"), ("Remediated", U, "AwaitingRemediation")),
                 IncidentPhase.ANALYZING, id="analyzed-but-not-yet-notified"),
    pytest.param(conds(("Analyzed", T, "AnalysisSucceeded"), ("Notified", F, "NotificationFailed"),
                       ("Remediated", U, "AwaitingRemediation")),
                 IncidentPhase.REMEDIATING, id="failed-notification-does-not-block"),
    pytest.param(conds(("Analyzed", T, "AnalysisSucceeded"), ("Notified", T, "NotificationsSent"),
                       ("Remediated", U, "AttemptRunning")),
                 IncidentPhase.MONITORING, id="attempt-running-is-monitoring"),
    pytest.param(conds(("Analyzed", T, "AnalysisSucceeded"), ("Notified", T, "NotificationsSent"),
                       ("Remediated", U, "BackingOff")),
                 IncidentPhase.REMEDIATING, id="backing-off-is-remediating"),
    pytest.param(conds(("Analyzed", T, "AnalysisSucceeded"), ("Escalated", T, "NotAutoHealable")),
                 IncidentPhase.ESCALATED, id="escalated-even-before-notified"),
    pytest.param(conds(("Escalated", T, "AttemptsExhausted"), ("Resolved", T, "ResolvedInJira")),
                 IncidentPhase.RESOLVED, id="resolved-wins-over-escalated"),
    pytest.param(conds(("Analyzed", T, "AnalysisSucceeded"), ("Notified", T, "NotificationsSent"),
                       ("Escalated", F, "NotEscalated")),
                 IncidentPhase.REMEDIATING, id="escalated-false-ignored"),
])
def test_derive_phase(conditions: list[Condition], phase: IncidentPhase) -> None:
    assert derive_phase(conditions) is phase
