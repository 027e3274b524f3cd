"""SLA from priority: how long the incident may take, its deadline, and whether it was met."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from aiops_operator.api import IncidentSpec, Priority, Sla, SlaState

DEFAULT_SLA_SECONDS: Mapping[Priority, int] = {
    Priority.P1: 15 * 60,
    Priority.P2: 30 * 60,
    Priority.P3: 2 * 3600,
    Priority.P4: 24 * 3600,
}


def sla_start(spec: IncidentSpec) -> datetime:
    """The clock starts when the alert fired, or when it was received if the alert gave no time."""
    return spec.alert.fired_time or spec.received_time


def compute_sla(
    spec: IncidentSpec,
    priority: Priority,
    *,
    targets: Mapping[Priority, int] = DEFAULT_SLA_SECONDS,
    previous: Sla | None = None,
) -> Sla:
    """The SLA for `priority`; the state of `previous` carries over (it only moves forward)."""
    seconds = targets[priority]
    state = previous.state if previous is not None else SlaState.PENDING
    return Sla(seconds=seconds, deadline_time=sla_start(spec) + timedelta(seconds=seconds), state=state)


def sla_state(sla: Sla, now: datetime, resolved_time: datetime | None = None) -> SlaState:
    """Pending until the deadline passes or the incident is resolved; then Met or Breached, for good.

    A resolution after the deadline is Breached; once Breached, always Breached.
    """
    if sla.state is not SlaState.PENDING:
        return sla.state
    if resolved_time is not None:
        return SlaState.MET if resolved_time <= sla.deadline_time else SlaState.BREACHED
    return SlaState.BREACHED if now > sla.deadline_time else SlaState.PENDING
