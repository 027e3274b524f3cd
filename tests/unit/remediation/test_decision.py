from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from aiops_operator.api import (
    ApprovalChannel,
    ApprovalDecision,
    AttemptPhase,
    Confidence,
    ErrorType,
    IncidentPhase,
    IncidentSource,
    RemediationAction,
    RemediationAttempt,
    Risk,
    find_condition,
)
from aiops_operator.api.conditions import Outcome, RemediatedReason
from aiops_operator.remediation import attempt_status
from aiops_operator.remediation.attempt_status import Progress, ProgressState
from aiops_operator.remediation.decision import PlanKind, decide
from aiops_operator.remediation.eligibility import confidence_at_least

from tests.support.builders import (
    Settings,
    approval,
    at,
    attempt,
    params,
    policy,
    remediable,
    rule,
)

ON = Settings()
OFF = Settings(auto_remediation_enabled=False)
HIGH_RISK = rule(risk=Risk.HIGH)
DRY = rule(dry_run=True)
RUNNING: dict[str, Any] = {"started": at(10)}

SLACK_APPROVED = approval(by="ana (Slack user U04ANA1234)", via=ApprovalChannel.SLACK)
SLACK_DENIED = approval(ApprovalDecision.DENIED, by="bob (Slack user U0BOB56789)", via=ApprovalChannel.SLACK)

CASES = [
    # --- before any attempt ---------------------------------------------------------------
    pytest.param(remediable(phase=IncidentPhase.RESOLVED), policy(), rule(), [], ON, at(60), None,
                 PlanKind.NOTHING, RemediatedReason.FINISHED, id="resolved-nothing"),
    pytest.param(remediable(phase=IncidentPhase.ESCALATED), policy(), rule(), [], ON, at(60), None,
                 PlanKind.NOTHING, RemediatedReason.FINISHED, id="escalated-nothing"),
    pytest.param(remediable(analyzed=False), policy(), rule(), [], ON, at(60), None,
                 PlanKind.NOTHING, RemediatedReason.AWAITING_ANALYSIS, id="no-analysis-yet"),
    pytest.param(remediable(), policy(), rule(), [], OFF, at(60), None,
                 PlanKind.ESCALATE, RemediatedReason.REMEDIATION_DISABLED, id="global-kill-switch"),
    pytest.param(remediable(), None, None, [], ON, at(60), None,
                 PlanKind.ESCALATE, RemediatedReason.NO_MATCHING_POLICY, id="no-policy"),
    pytest.param(remediable(), policy(enabled=False), rule(), [], ON, at(60), None,
                 PlanKind.ESCALATE, RemediatedReason.POLICY_DISABLED, id="policy-disabled"),
    pytest.param(remediable(), policy(), None, [], ON, at(60), None,
                 PlanKind.ESCALATE, RemediatedReason.NO_MATCHING_RULE, id="no-rule"),
    pytest.param(remediable(), policy(), rule(max_attempts=0), [], ON, at(60), None,
                 PlanKind.ESCALATE, RemediatedReason.RULE_DISABLED, id="max-attempts-zero"),
    pytest.param(remediable(source=IncidentSource.DATABRICKS_JOB), policy(), rule(), [], ON, at(60), None,
                 PlanKind.ESCALATE, RemediatedReason.ACTION_NOT_APPLICABLE, id="adf-action-on-databricks-incident"),
    pytest.param(remediable(auto_heal=False), policy(), rule(), [], ON, at(60), None,
                 PlanKind.ESCALATE, RemediatedReason.NOT_AUTO_HEALABLE, id="analysis-says-not-healable"),
    pytest.param(remediable(confidence=Confidence.LOW), policy(), rule(), [], ON, at(60), None,
                 PlanKind.ESCALATE, RemediatedReason.CONFIDENCE_TOO_LOW, id="low-below-default-medium"),
    pytest.param(remediable(confidence=Confidence.MEDIUM), policy(), rule(min_confidence=Confidence.HIGH), [], ON,
                 at(60), None, PlanKind.ESCALATE, RemediatedReason.CONFIDENCE_TOO_LOW, id="medium-below-high"),
    pytest.param(remediable(confidence=Confidence.MEDIUM), policy(), rule(), [], ON, at(60), None,
                 PlanKind.CREATE_ATTEMPT, RemediatedReason.ATTEMPT_PENDING, id="medium-meets-medium"),
    pytest.param(remediable(confidence=Confidence.LOW), policy(), rule(min_confidence=Confidence.LOW), [], ON,
                 at(60), None, PlanKind.CREATE_ATTEMPT, RemediatedReason.ATTEMPT_PENDING, id="low-meets-low"),
    pytest.param(remediable(), policy(), rule(), [], ON, at(5), None,
                 PlanKind.WAIT, RemediatedReason.BACKING_OFF, id="backoff-before-attempt-1"),
    pytest.param(remediable(), policy(), rule(), [], ON, at(10), None,
                 PlanKind.CREATE_ATTEMPT, RemediatedReason.ATTEMPT_PENDING, id="attempt-1-when-due"),
    # --- the newest attempt has not finished ------------------------------------------------
    pytest.param(remediable(), policy(), rule(), [attempt(1)], ON, at(11), None,
                 PlanKind.LAUNCH, RemediatedReason.ATTEMPT_PENDING, id="pending-due-launch"),
    pytest.param(remediable(), policy(), rule(), [attempt(1, AttemptPhase.PENDING, not_before=at(50))], ON, at(11),
                 None, PlanKind.WAIT, RemediatedReason.BACKING_OFF, id="pending-not-due-wait"),
    pytest.param(remediable(), policy(), rule(), [attempt(1)], OFF, at(11), None,
                 PlanKind.UPDATE_ATTEMPT, RemediatedReason.REMEDIATION_DISABLED, id="pending-kill-switch-skips"),
    pytest.param(remediable(), None, None, [attempt(1)], ON, at(11), None,
                 PlanKind.UPDATE_ATTEMPT, RemediatedReason.REMEDIATION_DISABLED, id="pending-policy-gone-skips"),
    pytest.param(remediable(), policy(enabled=False), rule(), [attempt(1)], ON, at(11), None,
                 PlanKind.UPDATE_ATTEMPT, RemediatedReason.REMEDIATION_DISABLED, id="pending-policy-disabled-skips"),
    pytest.param(remediable(), policy(DRY), DRY, [attempt(1, the_rule=DRY)], ON, at(11), None,
                 PlanKind.UPDATE_ATTEMPT, RemediatedReason.DRY_RUN, id="dry-run-skipped"),
    pytest.param(remediable(), policy(HIGH_RISK), HIGH_RISK, [attempt(1, the_rule=HIGH_RISK)], ON, at(11), None,
                 PlanKind.UPDATE_ATTEMPT, RemediatedReason.AWAITING_APPROVAL, id="high-risk-awaits-approval"),
    pytest.param(remediable(), policy(HIGH_RISK), HIGH_RISK,
                 [attempt(1, AttemptPhase.AWAITING_APPROVAL, the_rule=HIGH_RISK)], ON, at(600), None,
                 PlanKind.WAIT, RemediatedReason.AWAITING_APPROVAL, id="still-awaiting-approval"),
    pytest.param(remediable(), policy(HIGH_RISK), HIGH_RISK,
                 [attempt(1, AttemptPhase.AWAITING_APPROVAL, the_rule=HIGH_RISK)], ON, at(10 + 3600), None,
                 PlanKind.UPDATE_ATTEMPT, RemediatedReason.APPROVAL_TIMED_OUT, id="approval-timeout"),
    pytest.param(remediable(), policy(HIGH_RISK), HIGH_RISK,
                 [attempt(1, AttemptPhase.AWAITING_APPROVAL, the_rule=HIGH_RISK)], ON, at(600), approval(),
                 PlanKind.UPDATE_ATTEMPT, RemediatedReason.AWAITING_APPROVAL, id="observed-approval-recorded"),
    pytest.param(remediable(), policy(HIGH_RISK), HIGH_RISK,
                 [attempt(1, AttemptPhase.AWAITING_APPROVAL, the_rule=HIGH_RISK, approval=approval())], ON,
                 at(600), None, PlanKind.LAUNCH, RemediatedReason.ATTEMPT_PENDING, id="approved-launch"),
    pytest.param(remediable(), policy(HIGH_RISK), HIGH_RISK,
                 [attempt(1, AttemptPhase.AWAITING_APPROVAL, the_rule=HIGH_RISK, approval=approval())], ON,
                 at(10 + 4000), None, PlanKind.LAUNCH, RemediatedReason.ATTEMPT_PENDING,
                 id="approved-before-timeout-launches-after-it"),
    pytest.param(remediable(), policy(HIGH_RISK), HIGH_RISK,
                 [attempt(1, AttemptPhase.AWAITING_APPROVAL, the_rule=HIGH_RISK,
                          approval=approval(ApprovalDecision.DENIED))], ON, at(600), None,
                 PlanKind.UPDATE_ATTEMPT, RemediatedReason.APPROVAL_DENIED, id="denied-skipped"),
    pytest.param(remediable(), policy(HIGH_RISK), HIGH_RISK,
                 [attempt(1, AttemptPhase.AWAITING_APPROVAL, the_rule=HIGH_RISK, approval=SLACK_APPROVED)], ON,
                 at(600), None, PlanKind.UPDATE_ATTEMPT,
                 RemediatedReason.AWAITING_APPROVAL, id="slack-approval-recorded"),
    pytest.param(remediable(), policy(HIGH_RISK), HIGH_RISK,
                 [attempt(1, AttemptPhase.AWAITING_APPROVAL, the_rule=HIGH_RISK, approval=SLACK_DENIED)], ON,
                 at(600), None, PlanKind.UPDATE_ATTEMPT,
                 RemediatedReason.AWAITING_APPROVAL, id="slack-denial-recorded"),
    pytest.param(remediable(), policy(HIGH_RISK), HIGH_RISK,
                 [attempt(1, AttemptPhase.AWAITING_APPROVAL, the_rule=HIGH_RISK, approval=SLACK_APPROVED)], ON,
                 at(600), approval(ApprovalDecision.DENIED), PlanKind.UPDATE_ATTEMPT,
                 RemediatedReason.AWAITING_APPROVAL, id="slack-click-wins-over-a-later-annotation"),
    pytest.param(remediable(), policy(), rule(), [attempt(1, AttemptPhase.PENDING)], ON, at(10 + 7200), None,
                 PlanKind.UPDATE_ATTEMPT, RemediatedReason.ATTEMPT_PENDING, id="never-launched-times-out"),
    pytest.param(remediable(), policy(), rule(), [attempt(1, AttemptPhase.RUNNING, **RUNNING)], ON, at(60), None,
                 PlanKind.MONITOR, RemediatedReason.ATTEMPT_RUNNING, id="running-monitor"),
    pytest.param(remediable(), policy(), rule(), [attempt(1, AttemptPhase.RUNNING, **RUNNING)], OFF, at(60), None,
                 PlanKind.MONITOR, RemediatedReason.ATTEMPT_RUNNING, id="running-finishes-despite-kill-switch"),
    pytest.param(remediable(), policy(), rule(), [attempt(1, AttemptPhase.RUNNING, **RUNNING)], ON, at(10 + 7200),
                 None, PlanKind.UPDATE_ATTEMPT, RemediatedReason.ATTEMPT_RUNNING, id="running-times-out"),
    # --- the newest attempt finished ------------------------------------------------------
    pytest.param(remediable(), policy(), rule(), [attempt(1, outcome=Outcome.SUCCEEDED)], ON, at(200), None,
                 PlanKind.RESOLVE, RemediatedReason.AUTO_HEALED, id="succeeded-resolve"),
    pytest.param(remediable(), policy(), rule(), [attempt(1, outcome=Outcome.RUN_FAILED)], ON, at(110), None,
                 PlanKind.WAIT, RemediatedReason.BACKING_OFF, id="failed-backoff-before-attempt-2"),
    pytest.param(remediable(), policy(), rule(), [attempt(1, outcome=Outcome.RUN_FAILED)], ON, at(130), None,
                 PlanKind.CREATE_ATTEMPT, RemediatedReason.ATTEMPT_PENDING, id="failed-attempt-2-when-due"),
    pytest.param(remediable(), policy(), rule(),
                 [attempt(1, outcome=Outcome.RUN_FAILED), attempt(2, outcome=Outcome.TIMED_OUT)], ON, at(160), None,
                 PlanKind.CREATE_ATTEMPT, RemediatedReason.ATTEMPT_PENDING, id="timed-out-counts-as-failed"),
    pytest.param(remediable(), policy(), rule(),
                 [attempt(3, outcome=Outcome.RUN_FAILED), attempt(1, outcome=Outcome.RUN_FAILED),
                  attempt(2, outcome=Outcome.RUN_FAILED)], ON, at(500), None,
                 PlanKind.ESCALATE, RemediatedReason.ATTEMPTS_EXHAUSTED, id="exhausted-any-order"),
    pytest.param(remediable(), policy(), rule(max_attempts=1), [attempt(1, outcome=Outcome.LAUNCH_FAILED)], ON,
                 at(500), None, PlanKind.ESCALATE, RemediatedReason.ATTEMPTS_EXHAUSTED, id="single-attempt-exhausted"),
    pytest.param(remediable(), policy(), rule(), [attempt(1, outcome=Outcome.RUN_FAILED)], OFF, at(500), None,
                 PlanKind.ESCALATE, RemediatedReason.REMEDIATION_DISABLED, id="kill-switch-stops-retries"),
    pytest.param(remediable(), policy(DRY), DRY, [attempt(1, the_rule=DRY, outcome=Outcome.DRY_RUN)], ON, at(200),
                 None, PlanKind.ESCALATE, RemediatedReason.DRY_RUN, id="dry-run-escalates"),
    pytest.param(remediable(), policy(HIGH_RISK), HIGH_RISK,
                 [attempt(1, the_rule=HIGH_RISK, outcome=Outcome.APPROVAL_DENIED)], ON, at(200), None,
                 PlanKind.ESCALATE, RemediatedReason.APPROVAL_DENIED, id="denied-escalates"),
    pytest.param(remediable(), policy(HIGH_RISK), HIGH_RISK,
                 [attempt(1, the_rule=HIGH_RISK, outcome=Outcome.APPROVAL_TIMED_OUT)], ON, at(200), None,
                 PlanKind.ESCALATE, RemediatedReason.APPROVAL_TIMED_OUT, id="approval-timeout-escalates"),
    pytest.param(remediable(), policy(), rule(), [attempt(1, outcome=Outcome.REMEDIATION_DISABLED)], ON, at(200),
                 None, PlanKind.ESCALATE, RemediatedReason.REMEDIATION_DISABLED, id="skipped-disabled-escalates"),
]


@pytest.mark.parametrize(
    ("inc", "pol", "the_rule", "attempts", "settings", "now", "observed", "kind", "reason"), CASES,
)
def test_decide(inc: Any, pol: Any, the_rule: Any, attempts: list[RemediationAttempt], settings: Settings,
                now: datetime, observed: Any, kind: PlanKind, reason: RemediatedReason) -> None:
    plan = decide(inc, pol, the_rule, attempts, settings, now, observed_approval=observed)
    assert (plan.kind, plan.reason) == (kind, reason), plan.message
    assert plan.message
    if kind in (PlanKind.WAIT, PlanKind.MONITOR):
        assert plan.requeue_time is not None
        assert plan.requeue_time > now
    if kind is PlanKind.CREATE_ATTEMPT:
        assert plan.attempt_spec is not None
        assert plan.attempt_spec.not_before_time <= now
    if kind is PlanKind.UPDATE_ATTEMPT:
        assert plan.attempt_status is not None
        assert plan.attempt_name


@pytest.mark.parametrize(
    ("actual", "minimum", "ok"),
    [
        pytest.param(Confidence.HIGH, Confidence.HIGH, True, id="high-high"),
        pytest.param(Confidence.HIGH, Confidence.LOW, True, id="high-low"),
        pytest.param(Confidence.MEDIUM, Confidence.HIGH, False, id="medium-high"),
        pytest.param(Confidence.LOW, Confidence.MEDIUM, False, id="low-medium"),
    ],
)
def test_confidence_order(actual: Confidence, minimum: Confidence, ok: bool) -> None:
    assert confidence_at_least(actual, minimum) is ok


def test_create_attempt_spec_comes_from_the_rule() -> None:
    r = rule(action=RemediationAction.CHECK_UPSTREAM_THEN_RERUN, parameters=params(upstreamPipeline="up"),
             error_type=ErrorType.USER_ERROR_SOURCE_BLOB_NOT_EXISTS, risk=Risk.HIGH, approval_timeout_seconds=600,
             timeout_seconds=900)
    plan = decide(remediable(error_type=ErrorType.USER_ERROR_SOURCE_BLOB_NOT_EXISTS), policy(r), r,
                  [attempt(1, the_rule=r, outcome=Outcome.RUN_FAILED)], ON, at(1000))
    spec = plan.attempt_spec
    assert spec is not None
    assert plan.attempt_name == "adf-ingest-sales-0123456789-2"
    assert (spec.attempt, spec.action, spec.policy, spec.rule) == (2, r.action, "default", r.name)
    assert spec.parameters == r.parameters
    assert spec.not_before_time == at(100 + 30)
    assert (spec.approval_required, spec.approval_timeout_seconds, spec.timeout_seconds) == (True, 600, 900)
    assert plan.attempt_spec is not None
    assert spec.idempotency_key == plan.attempt_spec.idempotency_key
    assert plan.summary is not None
    assert (plan.summary.attempts_made, plan.summary.max_attempts, plan.summary.current_attempt) == (
        2, 3, "adf-ingest-sales-0123456789-2")


def test_same_inputs_same_plan() -> None:
    args = (remediable(), policy(), rule(), [attempt(1, outcome=Outcome.RUN_FAILED)], ON, at(500))
    assert decide(*args) == decide(*args)


def test_waiting_shows_the_next_attempt_time() -> None:
    plan = decide(remediable(), policy(), rule(), [attempt(1, outcome=Outcome.RUN_FAILED)], ON, at(110))
    assert plan.requeue_time == at(130)
    assert plan.summary is not None
    assert plan.summary.next_attempt_time == at(130)


def test_monitor_requeues_at_the_poll_interval_but_never_past_the_deadline() -> None:
    running = attempt(1, AttemptPhase.RUNNING, started=at(10))
    assert decide(remediable(), policy(), rule(), [running], ON, at(60)).requeue_time == at(90)
    assert decide(remediable(), policy(), rule(), [running], ON, at(7200)).requeue_time == at(7210)


def test_dry_run_records_what_would_have_been_done() -> None:
    plan = decide(remediable(), policy(DRY), DRY, [attempt(1, the_rule=DRY)], ON, at(11))
    status = plan.attempt_status
    assert status is not None
    assert status.phase is AttemptPhase.SKIPPED
    assert status.would_have_done is not None
    assert "ingest_sales" in status.would_have_done
    done = attempt(1, the_rule=DRY).model_copy(update={"status": status})
    escalation = decide(remediable(), policy(DRY), DRY, [done], ON, at(12))
    assert escalation.kind is PlanKind.ESCALATE
    assert "Would have" not in escalation.message  # the message quotes it once, cleanly
    assert status.would_have_done in escalation.message


@pytest.mark.parametrize(("decision", "then"), [
    pytest.param(ApprovalDecision.APPROVED, PlanKind.LAUNCH, id="approved-then-launch"),
    pytest.param(ApprovalDecision.DENIED, PlanKind.UPDATE_ATTEMPT, id="denied-then-skipped"),
])
def test_slack_decision_from_status_is_recorded_then_acted_on(decision: ApprovalDecision, then: PlanKind) -> None:
    r = HIGH_RISK
    clicked = approval(decision, by="ana (Slack user U04ANA1234)", via=ApprovalChannel.SLACK)
    a = attempt(1, AttemptPhase.AWAITING_APPROVAL, the_rule=r, approval=clicked)
    first = decide(remediable(), policy(r), r, [a], ON, at(600))
    assert first.attempt_status is not None
    assert first.attempt_status.approval == clicked
    approved = find_condition(first.attempt_status.conditions, "Approved")
    assert approved is not None
    assert approved.reason == decision.value
    assert "via Slack" in approved.message
    a = a.model_copy(update={"status": first.attempt_status})
    second = decide(remediable(), policy(r), r, [a], ON, at(601))
    assert second.kind is then
    if then is PlanKind.UPDATE_ATTEMPT:
        assert second.reason is RemediatedReason.APPROVAL_DENIED
        assert "ana (Slack user U04ANA1234)" in second.message


def test_exhausted_message_names_the_last_failure() -> None:
    attempts = [attempt(n, outcome=Outcome.RUN_FAILED, failure=f"boom {n}") for n in (1, 2, 3)]
    plan = decide(remediable(), policy(), rule(), attempts, ON, at(500))
    assert "boom 3" in plan.message
    assert "3 attempts" in plan.message


def test_awaiting_approval_then_approved_then_launch() -> None:
    r = HIGH_RISK
    a = attempt(1, the_rule=r)
    step1 = decide(remediable(), policy(r), r, [a], ON, at(11))
    assert step1.attempt_status is not None
    assert step1.attempt_status.phase is AttemptPhase.AWAITING_APPROVAL
    assert step1.requeue_time == at(10 + 3600)
    a = a.model_copy(update={"status": step1.attempt_status})
    step2 = decide(remediable(), policy(r), r, [a], ON, at(20), observed_approval=approval())
    assert step2.attempt_status is not None
    assert step2.attempt_status.approval == approval()
    a = a.model_copy(update={"status": step2.attempt_status})
    assert decide(remediable(), policy(r), r, [a], ON, at(21)).kind is PlanKind.LAUNCH


# --- a whole story: apply plans the way the reconcile loop does ---------------------------------


def _run(outcomes: list[bool], the_rule: Any, until: float = 5000) -> tuple[list[tuple[float, str]], Any]:
    """Step the clock through decide(); each launched attempt ends 5 s later with the next outcome."""
    attempts: dict[str, RemediationAttempt] = {}
    log: list[tuple[float, str]] = []
    now = 0.0
    results = list(outcomes)
    while now < until:
        plan = decide(remediable(), policy(the_rule), the_rule, list(attempts.values()), ON, at(now))
        if plan.kind in (PlanKind.RESOLVE, PlanKind.ESCALATE):
            log.append((now, str(plan.reason)))
            return log, plan
        if plan.kind is PlanKind.CREATE_ATTEMPT:
            assert plan.attempt_spec is not None
            assert plan.attempt_name is not None
            from aiops_operator.api import ObjectMeta, RemediationAttemptStatus

            attempts[plan.attempt_name] = RemediationAttempt(
                metadata=ObjectMeta(name=plan.attempt_name, creation_timestamp=at(now)), spec=plan.attempt_spec,
                status=RemediationAttemptStatus())
            log.append((now, f"create {plan.attempt_spec.attempt}"))
            continue
        assert plan.attempt_name is not None or plan.kind is PlanKind.WAIT
        if plan.kind is PlanKind.LAUNCH:
            from aiops_operator.api import ExternalRun, ExternalSystem

            a = attempts[str(plan.attempt_name)]
            run = ExternalRun(system=ExternalSystem.AZURE_DATA_FACTORY, run_id=f"r{a.spec.attempt}")
            attempts[a.metadata.name] = a.model_copy(update={"status": attempt_status.launched(a, run, at(now))})
            continue
        if plan.kind is PlanKind.MONITOR:
            a = attempts[str(plan.attempt_name)]
            assert a.status.start_time is not None
            if at(now) >= a.status.start_time + timedelta(seconds=5):
                state = ProgressState.SUCCEEDED if results.pop(0) else ProgressState.FAILED
                new = attempt_status.after_progress(a, Progress(state, "done"), at(now))
                assert new is not None
                attempts[a.metadata.name] = a.model_copy(update={"status": new})
                continue
        if plan.kind is PlanKind.UPDATE_ATTEMPT:
            a = attempts[str(plan.attempt_name)]
            attempts[a.metadata.name] = a.model_copy(update={"status": plan.attempt_status})
            continue
        now = (plan.requeue_time - at(0)).total_seconds() if plan.requeue_time else now + 1
    raise AssertionError(f"no end by {until}: {log}")


def test_story_throttling_healed_on_attempt_3_with_the_configured_backoffs() -> None:
    throttling = rule(name="throttling", error_type=ErrorType.THROTTLING_ERROR, max_attempts=5,
                      backoff={"seconds": [30, 60, 120, 300, 600]})
    log, plan = _run([False, False, True], throttling)
    assert plan.kind is PlanKind.RESOLVE
    creates = [t for t, what in log if what.startswith("create")]
    # attempt 1 after 30 s; each run takes 5 s (polled every 30 s: seen at +30); then 60 s, then 120 s.
    assert creates[0] == 30
    assert creates[1] - creates[0] == pytest.approx(30 + 60)
    assert creates[2] - creates[1] == pytest.approx(30 + 120)
    assert len(creates) == 3


def test_story_exhausted() -> None:
    log, plan = _run([False, False], rule(max_attempts=2))
    assert plan.reason is RemediatedReason.ATTEMPTS_EXHAUSTED
    assert [w for _, w in log if w.startswith("create")] == ["create 1", "create 2"]


def _without_factory() -> Any:
    inc = remediable()
    resource = inc.spec.resource.model_copy(update={"factory": None, "resource_group": None, "subscription_id": None})
    return inc.model_copy(update={"spec": inc.spec.model_copy(update={"resource": resource})})


def test_no_factory_escalates_at_once_without_an_attempt() -> None:
    plan = decide(_without_factory(), policy(), rule(), [], ON, at(60))
    assert plan.kind is PlanKind.ESCALATE
    assert plan.reason is RemediatedReason.CANNOT_REMEDIATE
    assert plan.attempt_spec is None
    assert "factory" in plan.message


def test_an_attempt_the_executor_could_not_launch_escalates_and_is_not_retried() -> None:
    # The executor found a setting missing (CannotRemediate): no second attempt, no backoff.
    skipped = attempt(1, outcome=Outcome.CANNOT_REMEDIATE, failure="Cannot remediate: No Databricks workspace")
    assert skipped.status.phase is AttemptPhase.SKIPPED
    plan = decide(remediable(), policy(), rule(max_attempts=3), [skipped], ON, at(500))
    assert plan.kind is PlanKind.ESCALATE
    assert plan.reason is RemediatedReason.CANNOT_REMEDIATE
    assert "No Databricks workspace" in plan.message
