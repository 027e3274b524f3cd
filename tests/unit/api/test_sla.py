from __future__ import annotations

from datetime import timedelta

import pytest
from aiops_operator.api import Priority, SlaState
from aiops_operator.api.sla import compute_sla, sla_state

from tests.support.builders import FIRED, incident


@pytest.mark.parametrize(("priority", "seconds"), [
    pytest.param(Priority.P1, 900, id="P1-15min"),
    pytest.param(Priority.P2, 1800, id="P2-30min"),
    pytest.param(Priority.P3, 7200, id="P3-2h"),
    pytest.param(Priority.P4, 86400, id="P4-24h"),
])
def test_defaults_from_the_fired_time(priority: Priority, seconds: int) -> None:
    sla = compute_sla(incident().spec, priority)
    assert sla.seconds == seconds
    assert sla.deadline_time == FIRED + timedelta(seconds=seconds)
    assert sla.state is SlaState.PENDING


def test_received_time_when_the_alert_has_no_fired_time_and_targets_are_configurable() -> None:
    spec = incident().spec
    spec = spec.model_copy(update={"alert": spec.alert.model_copy(update={"fired_time": None}),
                                   "received_time": FIRED + timedelta(minutes=3)})
    sla = compute_sla(spec, Priority.P1, targets={Priority.P1: 60, Priority.P2: 1, Priority.P3: 1, Priority.P4: 1})
    assert sla.deadline_time == FIRED + timedelta(minutes=4)


DEADLINE = FIRED + timedelta(seconds=900)


@pytest.mark.parametrize(("now", "resolved", "previous", "state"), [
    pytest.param(DEADLINE - timedelta(seconds=1), None, SlaState.PENDING, SlaState.PENDING, id="pending"),
    pytest.param(DEADLINE + timedelta(seconds=1), None, SlaState.PENDING, SlaState.BREACHED, id="deadline-passed"),
    pytest.param(DEADLINE, None, SlaState.PENDING, SlaState.PENDING, id="at-the-deadline-still-in-time"),
    pytest.param(DEADLINE + timedelta(hours=1), DEADLINE, SlaState.PENDING, SlaState.MET,
                 id="resolved-at-the-deadline"),
    pytest.param(DEADLINE + timedelta(hours=1), DEADLINE - timedelta(seconds=1), SlaState.PENDING, SlaState.MET,
                 id="resolved-in-time"),
    pytest.param(DEADLINE + timedelta(hours=1), DEADLINE + timedelta(seconds=1), SlaState.PENDING,
                 SlaState.BREACHED, id="resolved-late"),
    pytest.param(DEADLINE - timedelta(hours=1), DEADLINE - timedelta(hours=1), SlaState.BREACHED,
                 SlaState.BREACHED, id="breached-stays-breached"),
    pytest.param(DEADLINE + timedelta(hours=9), None, SlaState.MET, SlaState.MET, id="met-stays-met"),
])
def test_state(now: object, resolved: object, previous: SlaState, state: SlaState) -> None:
    sla = compute_sla(incident().spec, Priority.P1).model_copy(update={"state": previous})
    assert sla_state(sla, now, resolved) is state  # type: ignore[arg-type]
