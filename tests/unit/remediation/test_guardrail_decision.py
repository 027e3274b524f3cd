"""decision.guard() and decision.throttle(): run modes, freeze windows and budgets, with time injected."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from aiops_operator.api import (
    AttemptPhase,
    Budgets,
    FreezeWindowSpec,
    LaunchBudget,
    RemediationAttempt,
    RemediationPolicy,
    RunMode,
)
from aiops_operator.api.conditions import Outcome, RemediatedReason
from aiops_operator.policy.guardrails import effective_mode, launch_time, reset_time
from aiops_operator.remediation.decision import Launches, PlanKind, RemediationPlan, decide, guard, throttle

from tests.support.builders import Settings, at, attempt, policy, remediable, rule

NOW = at(10)  # attempt 1's backoff (10 s) has passed: decide() plans CreateAttempt
ALWAYS_OPEN = FreezeWindowSpec(name="month-end", rrule="FREQ=DAILY;BYHOUR=0;BYMINUTE=0;BYSECOND=0",
                               duration_seconds=86400, time_zone="UTC", mode=RunMode.REVIEW)
"""Opens every midnight for 24 h: open at any time, by construction."""
OBSERVE_WINDOW = ALWAYS_OPEN.model_copy(update={"name": "deploy-freeze", "mode": RunMode.OBSERVE})
NEVER_NOW = FreezeWindowSpec(name="new-year", rrule="FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1", duration_seconds=3600,
                             time_zone="Europe/Berlin", mode=RunMode.OBSERVE)
TWO_PER_HOUR = LaunchBudget(max_launches=2, window_seconds=3600)


def create_plan(pol: RemediationPolicy, launches: Launches | None = None, now: datetime = NOW) -> RemediationPlan:
    inc = remediable()
    r = pol.spec.rules[0]
    plan = decide(inc, pol, r, [], Settings(), now)
    assert plan.kind is PlanKind.CREATE_ATTEMPT
    return guard(plan, inc, pol, r, launches or Launches(), now)


@pytest.mark.parametrize(("pol", "dry_run", "approval", "guardrail"), [
    pytest.param(policy(), False, False, None, id="auto-launches-as-the-rule-says"),
    pytest.param(policy(mode=RunMode.OBSERVE), True, False, "the policy runs in mode Observe", id="policy-observe"),
    pytest.param(policy(mode=RunMode.REVIEW), False, True, "the policy runs in mode Review", id="policy-review"),
    pytest.param(policy(rule(mode=RunMode.OBSERVE)), True, False, "rule gateway-timeout runs in mode Observe",
                 id="rule-observe-overrides-auto-policy"),
    pytest.param(policy(rule(mode=RunMode.AUTO), mode=RunMode.REVIEW), False, True,
                 "the policy runs in mode Review", id="rule-auto-cannot-loosen-a-review-policy"),
    pytest.param(policy(freeze_windows=[ALWAYS_OPEN]), False, True,
                 "freeze window month-end is open until 2024-05-02T00:00:00Z (mode Review)",
                 id="review-window-turns-a-launch-into-an-approval-request"),
    pytest.param(policy(freeze_windows=[ALWAYS_OPEN, OBSERVE_WINDOW]), True, False,
                 "freeze window deploy-freeze is open until 2024-05-02T00:00:00Z (mode Observe)",
                 id="the-strictest-open-window-wins"),
    pytest.param(policy(freeze_windows=[NEVER_NOW]), False, False, None, id="a-closed-window-changes-nothing"),
    pytest.param(policy(rule(approval_required=True), mode=RunMode.REVIEW), False, True, None,
                 id="the-rule-already-asks-for-approval"),
    pytest.param(policy(rule(dry_run=True), mode=RunMode.OBSERVE), True, False, None, id="already-a-dry-run"),
])
def test_modes_and_windows_shape_the_attempt(pol: RemediationPolicy, dry_run: bool, approval: bool,
                                             guardrail: str | None) -> None:
    plan = create_plan(pol)
    assert plan.kind is PlanKind.CREATE_ATTEMPT
    spec = plan.attempt_spec
    assert spec is not None
    assert (spec.dry_run, spec.approval_required, spec.guardrail) == (dry_run, approval, guardrail)
    if guardrail:
        assert guardrail in plan.message


def hours_ago(*hours: float) -> tuple[datetime, ...]:
    return tuple(NOW - timedelta(hours=h) for h in hours)


@pytest.mark.parametrize(("budgets", "launches", "exhausted"), [
    pytest.param(Budgets(), Launches(target=hours_ago(0.1, 0.2, 0.3)), None, id="no-budget-no-limit"),
    pytest.param(Budgets(per_target=TWO_PER_HOUR), Launches(target=hours_ago(0.5)), None, id="one-of-two-used"),
    pytest.param(Budgets(per_target=TWO_PER_HOUR), Launches(target=hours_ago(0.5, 0.25)),
                 "2 of 2 launches per target used in the budget window; the next launch is allowed after "
                 "2024-05-01T12:30:10Z", id="the-third-launch-escalates"),
    pytest.param(Budgets(per_target=TWO_PER_HOUR), Launches(target=hours_ago(1.5, 0.25)), None,
                 id="launches-older-than-the-window-drop-out"),
    pytest.param(Budgets(per_policy=TWO_PER_HOUR), Launches(target=hours_ago(0.5, 0.25)), None,
                 id="target-launches-do-not-count-for-the-policy-budget"),
    pytest.param(Budgets(per_policy=TWO_PER_HOUR), Launches(policy=hours_ago(0.5, 0.25)),
                 "2 of 2 launches per policy", id="policy-budget"),
    pytest.param(Budgets(per_target=TWO_PER_HOUR),
                 Launches(target=hours_ago(0.5, 0.25), reset_time=NOW - timedelta(minutes=20)), None,
                 id="a-reset-forgets-earlier-launches"),
    pytest.param(Budgets(per_target=LaunchBudget(max_launches=0, window_seconds=60)), Launches(),
                 "0 of 0 launches", id="zero-allows-none"),
])
def test_budgets(budgets: Budgets, launches: Launches, exhausted: str | None) -> None:
    plan = create_plan(policy(budgets=budgets), launches)
    if exhausted is None:
        assert plan.kind is PlanKind.CREATE_ATTEMPT
        return
    assert plan.kind is PlanKind.ESCALATE
    assert plan.reason is RemediatedReason.BUDGET_EXHAUSTED
    assert exhausted in plan.message
    assert "kubectl annotate rp default -n ns aiops-rca.io/budget-reset=" in plan.message
    assert plan.summary is not None
    assert plan.summary.attempts_made == 0


def test_observe_spends_no_budget() -> None:
    pol = policy(budgets=Budgets(per_target=TWO_PER_HOUR), mode=RunMode.OBSERVE)
    plan = create_plan(pol, Launches(target=hours_ago(0.5, 0.25)))
    assert plan.kind is PlanKind.CREATE_ATTEMPT
    assert plan.attempt_spec is not None
    assert plan.attempt_spec.dry_run


def test_an_observed_attempt_is_skipped_with_what_would_have_run_and_escalates_as_observed() -> None:
    pol = policy(mode=RunMode.OBSERVE)
    inc = remediable()
    created = guard(decide(inc, pol, pol.spec.rules[0], [], Settings(), NOW), inc, pol, pol.spec.rules[0],
                    Launches(), NOW)
    assert created.attempt_spec is not None
    pending = attempt(1).model_copy(update={"spec": created.attempt_spec})
    recorded = decide(inc, pol, pol.spec.rules[0], [pending], Settings(), NOW)
    assert recorded.kind is PlanKind.UPDATE_ATTEMPT
    assert recorded.attempt_status is not None
    assert recorded.attempt_status.phase is AttemptPhase.SKIPPED
    assert recorded.attempt_status.would_have_done
    assert recorded.reason is RemediatedReason.OBSERVED
    done = pending.model_copy(update={"status": recorded.attempt_status})
    final = decide(inc, pol, pol.spec.rules[0], [done], Settings(), NOW)
    assert (final.kind, final.reason) == (PlanKind.ESCALATE, RemediatedReason.OBSERVED)
    assert "the policy runs in mode Observe" in final.message
    assert "Would have:" in final.message


def test_a_review_window_is_named_in_the_approval_request() -> None:
    pol = policy(freeze_windows=[ALWAYS_OPEN])
    inc = remediable()
    created = guard(decide(inc, pol, pol.spec.rules[0], [], Settings(), NOW), inc, pol, pol.spec.rules[0],
                    Launches(), NOW)
    assert created.attempt_spec is not None
    pending = attempt(1).model_copy(update={"spec": created.attempt_spec})
    waiting = decide(inc, pol, pol.spec.rules[0], [pending], Settings(), NOW)
    assert waiting.reason is RemediatedReason.AWAITING_APPROVAL
    assert "Approval is needed because freeze window month-end is open until" in waiting.message


@pytest.mark.parametrize(("running", "cap", "kind"), [
    pytest.param(0, 20, PlanKind.LAUNCH, id="under-the-cap-launches"),
    pytest.param(19, 20, PlanKind.LAUNCH, id="the-last-slot"),
    pytest.param(20, 20, PlanKind.WAIT, id="at-the-cap-waits"),
    pytest.param(30, 20, PlanKind.WAIT, id="over-the-cap-waits"),
])
def test_throttle(running: int, cap: int, kind: PlanKind) -> None:
    pol = policy()
    pending = attempt(1, AttemptPhase.PENDING)
    launch = decide(remediable(), pol, pol.spec.rules[0], [pending], Settings(), NOW)
    assert launch.kind is PlanKind.LAUNCH
    plan = throttle(launch, running, cap, NOW)
    assert plan.kind is kind
    if kind is PlanKind.WAIT:
        assert plan.reason is RemediatedReason.BACKING_OFF
        assert plan.requeue_time == NOW + timedelta(seconds=15)
        assert f"cap is {cap}" in plan.message


@pytest.mark.parametrize(("the_attempt", "counted"), [
    pytest.param(attempt(1, AttemptPhase.RUNNING, started=at(50)), at(50), id="launched-counts-its-start"),
    pytest.param(attempt(1, AttemptPhase.PENDING, created=at(40)), at(40), id="pending-holds-its-launch"),
    pytest.param(attempt(1, AttemptPhase.AWAITING_APPROVAL, created=at(40)), at(40), id="awaiting-approval-holds"),
    pytest.param(attempt(1, started=at(50), outcome=Outcome.RUN_FAILED), at(50), id="failed-run-counts"),
    pytest.param(attempt(1, outcome=Outcome.APPROVAL_DENIED), None, id="denied-never-launched"),
    pytest.param(attempt(1, AttemptPhase.PENDING, the_rule=rule(dry_run=True)), None, id="a-record-spends-nothing"),
])
def test_launch_time(the_attempt: RemediationAttempt, counted: datetime | None) -> None:
    assert launch_time(the_attempt) == counted


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("2024-05-01T12:00:00Z", at(0), id="rfc3339-z"),
    pytest.param("2024-05-01T14:00:00+02:00", at(0), id="offset"),
    pytest.param("2024-05-01T12:00:00", at(0), id="naive-is-utc"),
    pytest.param("yesterday", None, id="not-a-time-is-ignored"),
])
def test_reset_time(value: str, expected: datetime | None) -> None:
    assert reset_time({"aiops-rca.io/budget-reset": value}) == expected


def test_effective_mode_without_anything_is_auto() -> None:
    assert effective_mode(policy().spec, rule(), NOW).mode is RunMode.AUTO
