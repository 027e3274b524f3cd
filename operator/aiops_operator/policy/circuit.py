"""The policy's circuit breaker: the BudgetExhausted condition, from the attempts' launch times (pure).

The remediation stage refuses a launch over budget at the moment it would create the attempt
(`remediation.decision.guard`); this shows the same verdict on the policy, so `kubectl get rp` tells
a platform team that automation has stopped and when it starts again. Level-based: recomputed from
the RemediationAttempts on every recount, never incremented; it turns False by itself once the
oldest counted launch leaves the window, or at once after a human's reset
(`api.labels.budget_reset_command`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from aiops_operator.api import Condition, ConditionStatus, RemediationAttempt, RemediationPolicy
from aiops_operator.api.base import MAX_CONDITION_MESSAGE_CHARS
from aiops_operator.api.conditions import BudgetReason, PolicyCondition
from aiops_operator.api.labels import TARGET_LABEL, budget_reset_command
from aiops_operator.api.sanitize import truncate
from aiops_operator.policy.guardrails import BudgetVerdict, budget, budget_verdict, launch_time, reset_time

MAX_TARGETS_NAMED = 5
"""Exhausted targets named in the condition's message (the count says how many more)."""


@dataclass(frozen=True)
class Launch:
    """One attempt's launch as the budgets count it."""

    policy: str | None
    target: str | None
    """The attempt's TARGET_LABEL value."""
    time: datetime


def launch_of(attempt: RemediationAttempt) -> Launch | None:
    when = launch_time(attempt)
    if when is None:
        return None
    return Launch(attempt.spec.policy, attempt.metadata.labels.get(TARGET_LABEL), when)


@dataclass(frozen=True)
class Circuit:
    condition: Condition | None
    """BudgetExhausted True / False; None when the policy has no budgets."""
    recheck_time: datetime | None
    """When the condition changes by itself (the earliest reopening)."""


def circuit(policy: RemediationPolicy, launches: Iterable[Launch], now: datetime) -> Circuit:
    """The circuit-breaker condition of `policy` at `now`, from every launch in its namespace."""
    budgets = policy.spec.budgets
    if budgets.per_target is None and budgets.per_policy is None:
        return Circuit(None, None)
    name = policy.metadata.name
    reset = reset_time(policy.metadata.annotations)
    mine = [launch for launch in launches if launch.policy == name or budgets.per_target is not None]
    closed: list[tuple[str, BudgetVerdict]] = []
    if budgets.per_policy is not None:
        verdict = budget_verdict("policy", [x.time for x in mine if x.policy == name], budget(budgets.per_policy),
                                 now, reset)
        if verdict.exhausted:
            closed.append(("the policy", verdict))
    if budgets.per_target is not None:
        targets = {x.target for x in mine if x.policy == name and x.target}
        for target in sorted(targets):
            verdict = budget_verdict("target", [x.time for x in mine if x.target == target],
                                     budget(budgets.per_target), now, reset)
            if verdict.exhausted:
                closed.append((f"target {target}", verdict))
    generation = policy.metadata.generation
    if not closed:
        return Circuit(Condition(type=PolicyCondition.BUDGET_EXHAUSTED, status=ConditionStatus.FALSE,
                                 reason=BudgetReason.WITHIN_BUDGET, message="Launches are within every budget.",
                                 last_transition_time=now, observed_generation=generation), None)
    named = "; ".join(f"{who}: {v.message}" for who, v in closed[:MAX_TARGETS_NAMED])
    more = f" (and {len(closed) - MAX_TARGETS_NAMED} more)" if len(closed) > MAX_TARGETS_NAMED else ""
    namespace = policy.metadata.namespace or "default"
    message = (f"Launch budget used up, {named}{more}. Reset by hand: "
               f"{budget_reset_command(name, namespace)}")
    reopens = [v.reopens_time for _, v in closed if v.reopens_time is not None]
    return Circuit(
        Condition(type=PolicyCondition.BUDGET_EXHAUSTED, status=ConditionStatus.TRUE, reason=BudgetReason.USED_UP,
                  message=truncate(message, MAX_CONDITION_MESSAGE_CHARS), last_transition_time=now,
                  observed_generation=generation),
        min(reopens) if reopens else None,
    )
