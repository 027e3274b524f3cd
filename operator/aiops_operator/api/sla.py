"""SLA from priority: how long the incident may take, its deadline, and whether it was met.

The one place the SLA boundary is decided (the operator records the state; the
dashboard's counts and export ask `state_at`; its front end shows what the
server sends). The deadline itself still counts as in time: Breached only once
it has passed, Met when resolved at or before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from aiops_operator.api.incident import IncidentSpec, Priority, Sla, SlaState

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
    return state_at(sla.state, sla.deadline_time, now, resolved_time)


def state_at(recorded: SlaState, deadline: datetime, now: datetime, resolved_time: datetime | None = None) -> SlaState:
    """The SLA state now, from the state recorded so far (see `sla_state`)."""
    if recorded is not SlaState.PENDING:
        return recorded
    if resolved_time is not None:
        return SlaState.MET if resolved_time <= deadline else SlaState.BREACHED
    return SlaState.BREACHED if now > deadline else SlaState.PENDING
