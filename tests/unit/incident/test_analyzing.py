from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiops_operator.api import (
    ConditionStatus,
    EndedAs,
    Enrichment,
    ErrorType,
    Incident,
    IncidentPhase,
    JiraRef,
    SlackRef,
    conditions,
    find_condition,
    history,
)
from aiops_operator.incident import analyzing, notifying
from aiops_operator.incident.analyzing import AnalyzingConfig, decide
from aiops_operator.incident.notifying import Channel
from aiops_operator.incident.plan import Observed, Step
from aiops_operator.ownership import OwnershipDefaults
from aiops_operator.recurrence.summary import Entry, History

from tests.support.builders import NOW, analysis, incident, policy

CONFIG = AnalyzingConfig(ownership=OwnershipDefaults(team="fallback", slack_channel="#default",
                                                     jira_project="OPS"))
BOTH: dict[str, Any] = {"slack_enabled": True, "jira_enabled": True}


def with_status(inc: Incident, **update: Any) -> Incident:
    return inc.model_copy(update={"status": inc.status.model_copy(update=update)})


def put(inc: Incident, status: Any) -> Incident:
    return inc.model_copy(update={"status": status})


def reason(inc_status: Any, type_: str) -> tuple[str, str] | None:
    cond = find_condition(inc_status.conditions, type_)
    return (cond.status.value, cond.reason) if cond else None


def analyzed(error_type: ErrorType = ErrorType.GATEWAY_TIMEOUT, healable: bool = True) -> Incident:
    inc = incident()
    return inc.model_copy(update={"status": analyzing.fold_analysis(inc.status, analysis(error_type,
                                                                                          healable=healable), NOW)})


@pytest.mark.parametrize(("inc", "observed", "step"), [
    pytest.param(incident(), Observed(enrichment_available=True), Step.ENRICH, id="enrich-first"),
    pytest.param(incident(), Observed(enrichment_available=False), Step.ANALYZE, id="no-enricher-analyze"),
    pytest.param(with_status(incident(), enrichment=Enrichment(failed_reason="boom")),
                 Observed(enrichment_available=True), Step.ANALYZE, id="failed-enrichment-still-analyzes"),
    pytest.param(analyzed(), Observed(policies=(policy(),), **BOTH), Step.CREATE_JIRA, id="jira-before-slack"),
    pytest.param(analyzed(), Observed(policies=(policy(),), slack_enabled=True), Step.POST_SLACK,
                 id="slack-only"),
    pytest.param(analyzed(), Observed(policies=(policy(),)), None, id="nothing-configured"),
    pytest.param(analyzed(), Observed(policies=(policy(),), **BOTH, jira_retry_time=NOW + timedelta(seconds=5)),
                 Step.POST_SLACK, id="jira-backing-off-slack-goes-on"),
    pytest.param(analyzed(), Observed(policies=(policy(),), **BOTH, jira_retry_time=NOW + timedelta(seconds=5),
                                      slack_retry_time=NOW + timedelta(seconds=9)),
                 None, id="both-backing-off"),
])
def test_next_step(inc: Incident, observed: Observed, step: Step | None) -> None:
    assert decide(inc, observed, CONFIG, NOW).step == step


@pytest.mark.parametrize(("error_type", "healable", "policies", "remediated", "escalated"), [
    pytest.param(ErrorType.GATEWAY_TIMEOUT, True, (policy(),), ("Unknown", "AwaitingRemediation"), None,
                 id="covered-and-healable-hands-off"),
    pytest.param(ErrorType.AUTHENTICATION_ERROR, False, (policy(),), ("False", "NotAutoHealable"),
                 ("True", "NotAutoHealable"), id="not-healable"),
    pytest.param(ErrorType.GATEWAY_TIMEOUT, True, (), ("False", "NoMatchingPolicy"), ("True", "NoMatchingPolicy"),
                 id="no-policy"),
    pytest.param(ErrorType.GATEWAY_TIMEOUT, True, (policy(enabled=False),), ("False", "NoMatchingPolicy"),
                 ("True", "NoMatchingPolicy"), id="disabled-policy-covers-nothing"),
    pytest.param(ErrorType.THROTTLING_ERROR, True, (policy(),), ("False", "NoMatchingRule"),
                 ("True", "NoMatchingRule"), id="no-rule"),
    pytest.param(ErrorType.GATEWAY_TIMEOUT, True,
                 (policy(rule_bodies=[{"name": "gw", "errorType": "GatewayTimeout", "action": "RerunPipeline",
                                 "maxAttempts": 0}]),),
                 ("False", "RuleDisabled"), ("True", "RuleDisabled"), id="zero-attempts"),
])
def test_hand_off_or_escalate(error_type: ErrorType, healable: bool, policies: tuple[Any, ...],
                              remediated: tuple[str, str], escalated: tuple[str, str] | None) -> None:
    status = decide(analyzed(error_type, healable), Observed(policies=policies), CONFIG, NOW).status
    assert reason(status, "Remediated") == remediated
    assert reason(status, "Escalated") == escalated
    if escalated:
        assert status.phase is IncidentPhase.ESCALATED
        assert status.escalation_reason
        assert "human" in status.escalation_reason
        assert reason(status, "Ready") == ("True", "Escalated")
    else:
        assert status.phase is IncidentPhase.REMEDIATING
        assert status.remediation is not None
        assert status.remediation.rule == "gateway-timeout"
        assert status.remediation.max_attempts == 3
        assert reason(status, "Ready") == ("False", "Remediating")


def test_kill_switch_escalates_what_a_rule_would_heal_without_announcing_a_remediation() -> None:
    config = AnalyzingConfig(ownership=CONFIG.ownership, auto_remediation_enabled=False)
    status = decide(analyzed(), Observed(policies=(policy(),)), config, NOW).status
    assert reason(status, "Remediated") == ("False", "RemediationDisabled")
    assert reason(status, "Escalated") == ("True", "RemediationDisabled")
    assert status.phase is IncidentPhase.ESCALATED
    assert status.remediation is None
    assert status.escalation_reason is not None
    assert "AUTO_REMEDIATION_ENABLED=false" in status.escalation_reason
    assert "gateway-timeout" in status.escalation_reason  # which rule would have acted
    assert "RemediationRequested" not in [h.action for h in status.history]


def test_analyzing_until_notifications_attempted() -> None:
    plan = decide(analyzed(), Observed(policies=(policy(),), **BOTH), CONFIG, NOW)
    assert plan.status.phase is IncidentPhase.ANALYZING
    assert find_condition(plan.status.conditions, "Notified") is None
    failed = notifying.fold_notification_failure(plan.status, Channel.JIRA, "HTTP 500", NOW, 1)
    plan = decide(put(analyzed(), failed), Observed(policies=(policy(),), **BOTH,
                  jira_retry_time=NOW + timedelta(seconds=5)), CONFIG, NOW)
    assert plan.status.phase is IncidentPhase.REMEDIATING
    assert reason(plan.status, "Notified") == ("False", "NotificationFailed")
    assert plan.step is Step.POST_SLACK


def test_everything_sent_sets_notified_and_a_settled_status_is_a_fixed_point() -> None:
    observed = Observed(policies=(policy(routing={"team": "sales", "slackChannel": "#sales",
                                                  "jiraProject": "SAL"}),), **BOTH)
    inc = analyzed()
    status = decide(inc, observed, CONFIG, NOW).status
    assert status.ownership is not None
    assert status.ownership.team == "sales"
    status = notifying.fold_jira_created(status, JiraRef(key="SAL-1"), IncidentPhase.ANALYZING, NOW)
    status = notifying.fold_slack_posted(status, SlackRef(channel="C1", ts="1.0"), IncidentPhase.ANALYZING, NOW)
    plan = decide(put(inc, status), observed, CONFIG, NOW)
    assert reason(plan.status, "Notified") == ("True", "NotificationsSent")
    assert plan.status.phase is IncidentPhase.REMEDIATING
    # The message was posted while Analyzing: it is edited to show Remediating.
    assert plan.step is Step.UPDATE_SLACK
    status = notifying.fold_slack_updated(plan.status, IncidentPhase.REMEDIATING, NOW)
    settled = decide(put(inc, status), observed, CONFIG, NOW + timedelta(minutes=1))
    assert settled.step is None
    again = decide(put(inc, settled.status), observed, CONFIG, NOW + timedelta(minutes=2))
    assert again.status == settled.status
    assert settled.requeue_after is not None
    assert settled.requeue_after <= CONFIG.resync_seconds


def test_nothing_configured_is_recorded_as_skipped() -> None:
    status = decide(analyzed(), Observed(policies=(policy(),)), CONFIG, NOW).status
    assert reason(status, "Notified") == ("True", "NotificationsSkipped")
    notified = find_condition(status.conditions, "Notified")
    assert notified is not None
    assert "not configured" in notified.message
    assert [h.action for h in status.history].count("NotificationsSkipped") == 1


def test_escalation_later_comments_in_jira_once_per_phase() -> None:
    observed = Observed(policies=(policy(),), **BOTH)
    inc = analyzed()
    status = decide(inc, observed, CONFIG, NOW).status
    status = notifying.fold_jira_created(status, JiraRef(key="OPS-1"), IncidentPhase.ANALYZING, NOW)
    status = notifying.fold_slack_posted(status, SlackRef(channel="C1", ts="1.0"), IncidentPhase.REMEDIATING, NOW)
    # The remediation phase gives up: it sets Escalated=True.
    status = analyzing._set(status, conditions.condition("Escalated", ConditionStatus.TRUE, "AttemptsExhausted",
                                                        "3 attempts failed.", NOW, 1))
    plan = decide(put(inc, status), observed, CONFIG, NOW)
    assert plan.status.phase is IncidentPhase.ESCALATED
    assert plan.step is Step.UPDATE_SLACK
    status = notifying.fold_slack_updated(plan.status, IncidentPhase.ESCALATED, NOW)
    plan = decide(put(inc, status), observed, CONFIG, NOW)
    assert plan.step is Step.UPDATE_JIRA
    status = notifying.fold_jira_updated(plan.status, IncidentPhase.ESCALATED, NOW)
    assert decide(put(inc, status), observed, CONFIG, NOW).step is None


def test_history_is_bounded_and_starts_with_the_alert() -> None:
    inc = analyzed()
    status = inc.status
    for i in range(80):
        status = history.record(status, "SlackUpdated", f"update {i}", NOW)
    assert len(status.history) == 50
    assert status.history[-1].message == "update 79"
    fresh = decide(incident(), Observed(), CONFIG, NOW).status
    assert fresh.history[0].action == "AlertReceived"
    assert reason(fresh, "Analyzed") == ("Unknown", "Analyzing")


def test_sla_breach_is_recorded_once_and_requeue_targets_the_deadline() -> None:
    observed = Observed(policies=(policy(),))
    inc = analyzed()  # P3: 2 h from FIRED
    status = decide(inc, observed, CONFIG, NOW).status
    assert status.sla is not None
    assert status.sla.state.value == "Pending"
    later = status.sla.deadline_time + timedelta(seconds=1)
    breached = decide(put(inc, status), observed, CONFIG, later).status
    assert breached.sla is not None
    assert breached.sla.state.value == "Breached"
    assert [h.action for h in breached.history].count("SlaBreached") == 1
    again = decide(put(inc, breached), observed, CONFIG, later + timedelta(hours=1)).status
    assert [h.action for h in again.history].count("SlaBreached") == 1


def test_fallback_analysis_is_recorded_in_the_condition() -> None:
    inc = incident()
    inc = put(inc, analyzing.fold_analysis(inc.status, analysis(fallback="LLM answered garbage"), NOW))
    status = decide(inc, Observed(policies=(policy(),)), CONFIG, NOW).status
    assert reason(status, "Analyzed") == ("True", "AnalysisFellBack")
    assert "AnalysisFellBack" in [h.action for h in status.history]
    assert "WARNING" not in history.WARNING_ACTIONS
    assert "AnalysisFellBack" in history.WARNING_ACTIONS


def test_a_covered_failure_without_the_factory_escalates_at_the_hand_off_naming_what_is_missing() -> None:
    bare = incident(resource={"kind": "Pipeline", "name": "pl_copy_sales_daily"})
    inc = bare.model_copy(update={"status": analyzing.fold_analysis(bare.status, analysis(), NOW)})
    status = decide(inc, Observed(policies=(policy(),)), CONFIG, NOW).status
    assert reason(status, "Remediated") == ("False", "CannotRemediate")
    assert reason(status, "Escalated") == ("True", "CannotRemediate")
    assert status.phase is IncidentPhase.ESCALATED
    assert status.escalation_reason is not None
    assert "factory" in status.escalation_reason
    assert "_ResourceId" in status.escalation_reason


def _recurring_history(days_before: list[float]) -> History:
    fired = incident().spec.alert.fired_time
    assert fired is not None
    return History(tuple(Entry(f"u{i}", f"adf-x-{i}", fired - timedelta(days=d), EndedAs.AUTO_HEALED, "RerunPipeline")
                         for i, d in enumerate(days_before)))


LIMITED = policy(rules=[{"name": "gateway-timeout", "errorType": "GatewayTimeout", "action": "RerunPipeline",
                         "maxAttempts": 3, "recurrence": {"escalateAfter": 3, "windowSeconds": 7 * 86400}}])


@pytest.mark.parametrize(("days_before", "escalated"), [
    pytest.param([1, 2, 3], ("True", "RecurringFailure"), id="fourth-in-7-days-escalates"),
    pytest.param([1, 2, 10], None, id="third-in-7-days-remediates"),
    pytest.param([], None, id="first-failure"),
])
def test_a_recurring_failure_escalates_instead_of_rerunning(days_before: list[float],
                                                            escalated: tuple[str, str] | None) -> None:
    observed = Observed(policies=(LIMITED,), recurrence=_recurring_history(days_before))
    status = decide(analyzed(), observed, CONFIG, NOW).status
    assert reason(status, "Escalated") == escalated
    assert status.recurrence is not None
    assert status.recurrence.count == len(days_before)  # the 30-day record counts the 10-day-old one too
    if escalated:
        assert status.remediation is None
        assert status.escalation_reason is not None
        assert "3 times in the last 7 days" in status.escalation_reason
        assert status.recurrence.previous == "adf-x-0"
    else:
        assert reason(status, "Remediated") == ("Unknown", "AwaitingRemediation")


def test_the_recurrence_is_computed_once() -> None:
    first = decide(analyzed(), Observed(policies=(policy(),), recurrence=_recurring_history([1])), CONFIG, NOW).status
    again = decide(put(analyzed(), first), Observed(policies=(policy(),), recurrence=_recurring_history([1, 2])),
                   CONFIG, NOW + timedelta(minutes=5)).status
    assert again.recurrence == first.recurrence
