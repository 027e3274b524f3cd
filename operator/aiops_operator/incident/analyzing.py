"""The Analyzing phase as pure decisions: what the status should say now, and the next I/O step.

`decide(incident, observed, config, now)` does no I/O. It settles everything
that follows from what is already known (SLA, ownership, the hand-off to
remediation or the escalation, conditions, phase) and names the one next step
that needs the outside world (enrich, analyze, create the Jira issue, post or
update the Slack message, comment in Jira). The reconcile performs that step,
folds its outcome into the status with the `fold_*` functions below, and asks
again, until nothing is left to do.

What Slack and Jira are due and what their outcomes record is in
`incident.notifying`; the vocabulary (Observed, Step, Plan) in `incident.plan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from aiops_operator.api import (
    Analysis,
    Condition,
    ConditionStatus,
    Enrichment,
    Incident,
    IncidentPhase,
    IncidentStatus,
    Priority,
    RemediationPolicy,
    RemediationSummary,
    find_condition,
    set_condition,
)
from aiops_operator.api.conditions import (
    AnalyzedReason,
    IncidentCondition,
    RemediatedReason,
    condition,
)
from aiops_operator.api.history import (
    ALERT_RECEIVED,
    ANALYSIS_FELL_BACK,
    ENRICHED,
    ENRICHMENT_FAILED,
    ESCALATED,
    INCIDENT_ANALYZED,
    REMEDIATION_REQUESTED,
    SLA_BREACHED,
    record,
)
from aiops_operator.api.phase import TERMINAL_PHASES, derive_phase
from aiops_operator.api.sla import DEFAULT_SLA_SECONDS, compute_sla, sla_state
from aiops_operator.correlation import membership
from aiops_operator.incident.notifying import (
    before,
    notifications,
    settle_notified,
    slack_view,
    wants_jira,
    wants_slack,
)
from aiops_operator.incident.plan import Observed, Plan, Step
from aiops_operator.ownership import OwnershipDefaults, resolve_ownership
from aiops_operator.policy.matching import find_rule, select_policy
from aiops_operator.recurrence.summary import History, failed_time, limit_reached, recurrence_limit, summarize
from aiops_operator.remediation.eligibility import ineligible


@dataclass(frozen=True)
class AnalyzingConfig:
    """Settings the decision reads (from OperatorSettings in production)."""

    sla_targets: Mapping[Priority, int] = field(default_factory=lambda: dict(DEFAULT_SLA_SECONDS))
    ownership: OwnershipDefaults = field(default_factory=OwnershipDefaults)
    resync_seconds: float = 300.0
    dashboard_url: str | None = None
    """Base URL of the dashboard, for links in escalation notes."""
    auto_remediation_enabled: bool = True
    """The global kill switch: off, an incident a rule would heal is escalated at once, no remediation
    announced."""






# --- small pure helpers ----------------------------------------------------------------


def _set(status: IncidentStatus, cond: Condition) -> IncidentStatus:
    return status.model_copy(update={"conditions": set_condition(status.conditions, cond)})




# --- folds: an I/O step's outcome into the status ----------------------------------------


def fold_enrichment(status: IncidentStatus, enrichment: Enrichment, now: datetime) -> IncidentStatus:
    status = status.model_copy(update={"enrichment": enrichment})
    if enrichment.failed_reason:
        return record(status, ENRICHMENT_FAILED, f"Enrichment failed, analyzing the alert's text: "
                      f"{enrichment.failed_reason}", now)
    found = enrichment.error_message or "no further error text"
    return record(status, ENRICHED, f"Enriched from the source system: {found}", now)


def fold_analysis(status: IncidentStatus, analysis: Analysis, now: datetime) -> IncidentStatus:
    status = status.model_copy(update={"analysis": analysis})
    if analysis.fallback_reason:
        status = record(status, ANALYSIS_FELL_BACK, f"Rule-based analysis used: {analysis.fallback_reason}", now)
    return record(
        status,
        INCIDENT_ANALYZED,
        f"{analysis.error_type.value} ({analysis.severity.value}, {analysis.priority.value},"
        f" confidence {analysis.confidence.value}, by {analysis.provider}): {analysis.root_cause}",
        now,
    )












# --- the decision ------------------------------------------------------------------------


def _routing_decision(
    incident: Incident, analysis: Analysis, policies: tuple[RemediationPolicy, ...], remediation_enabled: bool,
    history: History | None = None,
) -> tuple[str, str, RemediationSummary | None]:
    """(reason, message, summary): AwaitingRemediation with the rule, or why a human must act."""
    policy = select_policy(policies, incident.spec)
    rule = find_rule(policy, analysis.error_type) if policy is not None else None
    blocked = ineligible(analysis, incident, policy, rule, remediation_enabled)
    if blocked is not None:  # escalated before anything was tried: say so in the first words a human reads
        return blocked[0], blocked[1].rstrip(".") + ": a human is needed.", None
    assert policy is not None  # ineligible checked both
    assert rule is not None
    recurring = limit_reached(recurrence_limit(policy, rule), history or History(),
                              incident.metadata.uid or incident.metadata.name, failed_time(incident),
                              analysis.error_type.value)
    if recurring is not None:
        return RemediatedReason.RECURRING_FAILURE, recurring + ".", None
    summary = RemediationSummary(
        policy=policy.metadata.name, rule=rule.name, action=rule.action.value, max_attempts=rule.max_attempts
    )
    return (
        RemediatedReason.AWAITING_REMEDIATION,
        f"Rule {rule.name} of RemediationPolicy {policy.metadata.name} covers {analysis.error_type.value}:"
        f" {rule.action.value}, up to {rule.max_attempts} attempts.",
        summary,
    )


def _settle_analyzed(
    incident: Incident, status: IncidentStatus, analysis: Analysis, observed: Observed,
    config: AnalyzingConfig, now: datetime,
) -> IncidentStatus:
    gen = incident.metadata.generation
    reason = AnalyzedReason.ANALYSIS_FELL_BACK if analysis.fallback_reason else AnalyzedReason.ANALYSIS_SUCCEEDED
    message = f"{analysis.error_type.value} ({analysis.confidence.value} confidence, {analysis.provider})"
    if analysis.fallback_reason:
        message += f"; LLM not used: {analysis.fallback_reason}"
    status = _set(status, condition(IncidentCondition.ANALYZED, ConditionStatus.TRUE, reason, message, now, gen))

    # SLA: from the priority; its state only moves forward.
    resolved = status.resolution.resolved_time if status.resolution else None
    sla = compute_sla(incident.spec, analysis.priority, targets=config.sla_targets, previous=status.sla)
    sla = sla.model_copy(update={"state": sla_state(sla, now, resolved)})
    if status.sla is not None and status.sla.state != sla.state and sla.state.value == "Breached" and not resolved:
        status = record(status, SLA_BREACHED, f"SLA of {sla.seconds}s breached at {sla.deadline_time.isoformat()}.",
                        now)
    status = status.model_copy(update={"sla": sla})

    # Correlation first: a member neither hands off on its own nor notifies; an undecided incident holds both.
    status = membership.settle_group(incident, status, observed.group, now, gen)
    if membership.holding(incident, status, observed.group):
        return status

    if status.ownership is None:
        policy = select_policy(observed.policies, incident.spec)
        owner = membership.storm_ownership(observed.group) if membership.is_storm_root(incident) else None
        status = status.model_copy(update={"ownership": owner or resolve_ownership(incident.spec, policy,
                                                                                     config.ownership)})

    if status.recurrence is None and observed.recurrence is not None:
        recurrence = summarize(observed.recurrence, incident.metadata.uid or incident.metadata.name,
                               failed_time(incident), now)
        status = status.model_copy(update={"recurrence": recurrence})

    # The hand-off: decided once (a member's once released by its root). Afterwards the remediation phase
    # owns Remediated/Escalated.
    remediated = find_condition(status.conditions, IncidentCondition.REMEDIATED)
    if remediated is None or (membership.awaiting_root(status)
                              and membership.released(status, incident.metadata.name, observed.group)):
        routed, message, summary = _routing_decision(incident, analysis, observed.policies,
                                                     config.auto_remediation_enabled, observed.recurrence)
        if summary is not None:
            status = _set(status, condition(IncidentCondition.REMEDIATED, ConditionStatus.UNKNOWN, routed, message,
                                            now, gen))
            status = status.model_copy(update={"remediation": summary})
            status = record(status, REMEDIATION_REQUESTED, message, now)
        else:
            status = _set(status, condition(IncidentCondition.REMEDIATED, ConditionStatus.FALSE, routed, message,
                                            now, gen))
            status = _set(status, condition(IncidentCondition.ESCALATED, ConditionStatus.TRUE, routed, message, now,
                                            gen))
            status = status.model_copy(update={"escalation_reason": message})
            status = record(status, ESCALATED, message, now)

    if membership.quiet(status):
        return membership.notified_via_root(status, now, gen)
    return settle_notified(status, observed, now, gen)








def _ready(status: IncidentStatus, phase: IncidentPhase, now: datetime, gen: int | None) -> IncidentStatus:
    if phase in TERMINAL_PHASES:
        message = status.escalation_reason or "" if phase is IncidentPhase.ESCALATED else "The incident is resolved."
        cond = condition(IncidentCondition.READY, ConditionStatus.TRUE, phase.value, message or phase.value, now, gen)
    else:
        cond = condition(IncidentCondition.READY, ConditionStatus.FALSE, phase.value,
                         f"The incident is {phase.value}.", now, gen)
    return _set(status, cond)


def settle(incident: Incident, observed: Observed, config: AnalyzingConfig, now: datetime) -> IncidentStatus:
    """Everything that follows from what is known, without I/O."""
    gen = incident.metadata.generation
    status = incident.status.model_copy(update={"observed_generation": gen})
    if not status.history:
        status = record(
            status, ALERT_RECEIVED,
            f"{incident.spec.source.value} failure of {incident.spec.resource.name} (run {incident.spec.run_id}).",
            incident.spec.received_time,
        )
    if status.analysis is None:
        enriching = status.enrichment is None and observed.enrichment_available
        message = "Fetching the error from the source system." if enriching else "Analyzing the error."
        status = _set(status, condition(IncidentCondition.ANALYZED, ConditionStatus.UNKNOWN,
                                        AnalyzedReason.ANALYZING, message, now, gen))
    else:
        status = _settle_analyzed(incident, status, status.analysis, observed, config, now)
    phase = derive_phase(status.conditions)
    status = _ready(status, phase, now, gen)
    return status.model_copy(update={"phase": phase})








def next_step(status: IncidentStatus, observed: Observed, now: datetime, *, hold: bool = False) -> Step | None:
    """`hold`: the incident's place in a group is not decided yet (no notification before it is)."""
    if status.analysis is None:
        return Step.ENRICH if status.enrichment is None and observed.enrichment_available else Step.ANALYZE
    if membership.wants_storm_root(status, observed.group):
        return Step.CREATE_GROUP_ROOT
    if hold:
        return None
    notes = notifications(status)
    jira_ok = wants_jira(status, observed) and not before(observed.jira_retry_time, now)
    slack_ok = wants_slack(status, observed) and not before(observed.slack_retry_time, now)
    # Jira first, so the Slack message can link the issue.
    if jira_ok and notes.jira is None:
        return Step.CREATE_JIRA
    if slack_ok and notes.slack is None:
        return Step.POST_SLACK
    if slack_ok and notes.slack is not None and notes.slack_updated_phase != slack_view(status):
        return Step.UPDATE_SLACK
    jira_view = membership.jira_view(status)  # a terminal phase, or a root's change of group state
    if jira_ok and notes.jira is not None and jira_view is not None and notes.jira_updated_phase != jira_view:
        return Step.UPDATE_JIRA
    return None


def _requeue(status: IncidentStatus, observed: Observed, config: AnalyzingConfig, now: datetime) -> float | None:
    waits: list[float] = []
    for retry in (observed.slack_retry_time, observed.jira_retry_time):
        if retry is not None and retry > now:
            waits.append((retry - now).total_seconds())
    if status.phase not in TERMINAL_PHASES:
        waits.append(config.resync_seconds)
        if status.sla is not None and status.sla.state.value == "Pending" and status.sla.deadline_time > now:
            waits.append((status.sla.deadline_time - now).total_seconds() + 1)
    return min(waits) if waits else None


def decide(incident: Incident, observed: Observed, config: AnalyzingConfig, now: datetime) -> Plan:
    """The settled status, the next I/O step and when to look again."""
    status = settle(incident, observed, config, now)
    hold = status.analysis is not None and membership.holding(incident, status, observed.group)
    step = next_step(status, observed, now, hold=hold)
    requeue = None if step else _requeue(status, observed, config, now)
    if step is None and hold:
        waits = [w for w in (requeue, membership.wait_requeue(status, observed.group.found, now)) if w is not None]
        requeue = min(waits or [membership.WAIT_POLL_SECONDS])
    return Plan(status=status, step=step, requeue_after=requeue)
