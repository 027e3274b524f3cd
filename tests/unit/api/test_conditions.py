from __future__ import annotations

from datetime import UTC, datetime

from aiops_operator.api import Condition, ConditionStatus, find_condition, is_true, set_condition

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 2, tzinfo=UTC)


def cond(status: ConditionStatus, when: datetime, reason: str = "Because") -> Condition:
    return Condition(type="Ready", status=status, reason=reason, last_transition_time=when)


def test_same_status_keeps_transition_time_but_takes_new_reason() -> None:
    out = set_condition([cond(ConditionStatus.TRUE, T0)], cond(ConditionStatus.TRUE, T1, "Other"))
    assert len(out) == 1
    assert out[0].last_transition_time == T0
    assert out[0].reason == "Other"


def test_status_change_moves_transition_time() -> None:
    out = set_condition([cond(ConditionStatus.TRUE, T0)], cond(ConditionStatus.FALSE, T1))
    assert out[0].last_transition_time == T1
    assert not is_true(out, "Ready")
    assert find_condition(out, "Missing") is None


def test_condition_wire_format_is_camel_case() -> None:
    wire = cond(ConditionStatus.TRUE, T0).to_wire()
    assert wire == {"type": "Ready", "status": "True", "reason": "Because", "message": "",
                    "lastTransitionTime": "2026-01-01T00:00:00Z"}
