"""The phase column, derived from the conditions by one pure function."""

from __future__ import annotations

from aiops_operator.api import Condition, ConditionStatus, IncidentPhase, find_condition, is_true
from aiops_operator.incident import conditions as c


def derive_phase(conditions: list[Condition]) -> IncidentPhase:
    """Resolved and Escalated win; then Analyzing until the analysis is done and the
    first notification was attempted; then Monitoring while an attempt's run is in
    flight; otherwise Remediating."""
    if is_true(conditions, c.RESOLVED):
        return IncidentPhase.RESOLVED
    if is_true(conditions, c.ESCALATED):
        return IncidentPhase.ESCALATED
    if not is_true(conditions, c.ANALYZED) or find_condition(conditions, c.NOTIFIED) is None:
        return IncidentPhase.ANALYZING
    remediated = find_condition(conditions, c.REMEDIATED)
    if (
        remediated is not None
        and remediated.status is ConditionStatus.UNKNOWN
        and remediated.reason in c.MONITORING_REASONS
    ):
        return IncidentPhase.MONITORING
    return IncidentPhase.REMEDIATING


TERMINAL_PHASES = frozenset({IncidentPhase.RESOLVED, IncidentPhase.ESCALATED})
