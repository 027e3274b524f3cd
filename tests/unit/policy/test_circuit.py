"""The policy's circuit breaker (BudgetExhausted), recomputed from launch times with time injected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiops_operator.api import AttemptPhase, Budgets, ConditionStatus, LaunchBudget, ObjectMeta, RemediationPolicy
from aiops_operator.api.labels import BUDGET_RESET_ANNOTATION
from aiops_operator.policy.circuit import Launch, circuit, launch_of

from tests.support.builders import at, attempt, policy

HOUR = LaunchBudget(max_launches=2, window_seconds=3600)
NOW = at(3600)


def launches(policy_name: str | None, target: str, *seconds: float) -> list[Launch]:
    return [Launch(policy_name, target, at(s)) for s in seconds]


def reset(pol: RemediationPolicy, seconds: float) -> RemediationPolicy:
    meta = pol.metadata.model_copy(update={"annotations": {
        BUDGET_RESET_ANNOTATION: at(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")}})
    return pol.model_copy(update={"metadata": meta})


@pytest.mark.parametrize(("pol", "seen", "status", "recheck"), [
    pytest.param(policy(), launches("default", "t1", 100, 200, 300), None, None, id="no-budgets-no-condition"),
    pytest.param(policy(budgets=Budgets(per_target=HOUR)), launches("default", "t1", -100, 200),
                 ConditionStatus.FALSE, None, id="within-budget-after-the-oldest-left"),
    pytest.param(policy(budgets=Budgets(per_target=HOUR)), launches("default", "t1", 1000, 2000),
                 ConditionStatus.TRUE, at(1000 + 3600), id="target-used-up-reopens-when-the-oldest-leaves"),
    pytest.param(policy(budgets=Budgets(per_target=HOUR)),
                 launches("default", "t1", 1000) + launches("default", "t2", 2000), ConditionStatus.FALSE, None,
                 id="targets-are-counted-apart"),
    pytest.param(policy(budgets=Budgets(per_target=HOUR)),
                 launches("default", "t1", 1000) + launches("other", "t1", 2000), ConditionStatus.TRUE,
                 at(1000 + 3600), id="a-target-counts-launches-of-any-policy"),
    pytest.param(policy(budgets=Budgets(per_policy=HOUR)),
                 launches("default", "t1", 1000) + launches("default", "t2", 2000), ConditionStatus.TRUE,
                 at(1000 + 3600), id="policy-budget"),
    pytest.param(policy(budgets=Budgets(per_policy=HOUR)),
                 launches("default", "t1", 1000) + launches("other", "t2", 2000), ConditionStatus.FALSE, None,
                 id="other-policies-do-not-count"),
    pytest.param(reset(policy(budgets=Budgets(per_target=HOUR)), 1500), launches("default", "t1", 1000, 2000),
                 ConditionStatus.FALSE, None, id="a-human-reset-closes-the-breaker"),
])
def test_circuit(pol: RemediationPolicy, seen: list[Launch], status: ConditionStatus | None,
                 recheck: object) -> None:
    result = circuit(pol, seen, NOW)
    if status is None:
        assert result.condition is None
        return
    assert result.condition is not None
    assert result.condition.type == "BudgetExhausted"
    assert result.condition.status is status
    assert result.recheck_time == recheck
    if status is ConditionStatus.TRUE:
        assert "2 of 2 launches" in result.condition.message
        assert "kubectl annotate rp default -n ns aiops-rca.io/budget-reset=" in result.condition.message


def test_the_breaker_reopens_by_itself_when_the_window_passes() -> None:
    pol = policy(budgets=Budgets(per_target=HOUR))
    seen = launches("default", "t1", 1000, 2000)
    closed = circuit(pol, seen, NOW)
    assert closed.recheck_time is not None
    later = circuit(pol, seen, closed.recheck_time + timedelta(seconds=1))
    assert later.condition is not None
    assert later.condition.status is ConditionStatus.FALSE


def test_launch_of_reads_the_target_label() -> None:
    running = attempt(1, AttemptPhase.RUNNING, started=at(50))
    labelled = running.model_copy(update={"metadata": ObjectMeta(
        name=running.metadata.name, namespace="ns", labels={"aiops-rca.io/target-hash": "abc"})})
    assert launch_of(labelled) == Launch("default", "abc", at(50))
    assert launch_of(attempt(1, AttemptPhase.SKIPPED)) is None
