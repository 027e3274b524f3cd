"""The phase column, derived from the conditions by one pure function."""

from __future__ import annotations

from aiops_operator.api.base import Condition, ConditionStatus, find_condition, is_true
from aiops_operator.api.conditions import MONITORING_REASONS, IncidentCondition
from aiops_operator.api.incident import IncidentPhase

TERMINAL_PHASES = frozenset({IncidentPhase.RESOLVED, IncidentPhase.ESCALATED})


def derive_phase(conditions: list[Condition]) -> IncidentPhase:
    """Resolved and Escalated win; then Analyzing until the analysis is done and the
    first notification was attempted; then Monitoring while an attempt's run is in
    flight; otherwise Remediating."""
    if is_true(conditions, IncidentCondition.RESOLVED):
        return IncidentPhase.RESOLVED
    if is_true(conditions, IncidentCondition.ESCALATED):
        return IncidentPhase.ESCALATED
    if not is_true(conditions, IncidentCondition.ANALYZED) or find_condition(
            conditions, IncidentCondition.NOTIFIED) is None:
        return IncidentPhase.ANALYZING
    remediated = find_condition(conditions, IncidentCondition.REMEDIATED)
    if (
        remediated is not None
        and remediated.status is ConditionStatus.UNKNOWN
        and remediated.reason in MONITORING_REASONS
    ):
        return IncidentPhase.MONITORING
    return IncidentPhase.REMEDIATING
