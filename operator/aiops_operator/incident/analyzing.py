"""The Analyzing phase as pure decisions: what the status should say now, and the next I/O step.

`decide(incident, observed, config, now)` does no I/O. It settles everything
that follows from what is already known (SLA, ownership, the hand-off to
remediation or the escalation, conditions, phase) and names the one next step
that needs the outside world (enrich, analyze, create the Jira issue, post or
update the Slack message, comment in Jira). The reconcile performs that step,
folds its outcome into the status with the `fold_*` functions below, and asks
again, until nothing is left to do.

The notification steps are not specific to Analyzing: the Slack message and
the Jira issue follow the phase whatever moved it, so the remediation phase
only changes conditions and gets the message edited, the escalation note
posted and the Jira comment written by the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from aiops_operator.api import (
    Analysis,
    Condition,
    ConditionStatus,
    Enrichment,
    Incident,
    IncidentPhase,
    IncidentStatus,
    JiraRef,
    Notifications,
    Priority,
    RemediationPolicy,
    RemediationSummary,
    SlackRef,
    find_condition,
    set_condition,
)
from aiops_operator.api.conditions import (
    AnalyzedReason,
    IncidentCondition,
    NotifiedReason,
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
    JIRA_ISSUE_CREATED,
    JIRA_UPDATED,
    NOTIFICATION_FAILED,
    NOTIFICATIONS_SKIPPED,
    REMEDIATION_REQUESTED,
    SLA_BREACHED,
    SLACK_NOTIFIED,
    SLACK_UPDATED,
    record,
)
from aiops_operator.api.phase import TERMINAL_PHASES, derive_phase
from aiops_operator.api.sla import DEFAULT_SLA_SECONDS, compute_sla, sla_state
from aiops_operator.ownership import OwnershipDefaults, resolve_ownership
from aiops_operator.policy.matching import find_rule, select_policy
from aiops_operator.remediation.eligibility import ineligible


class Step(StrEnum):
    """I/O steps the reconcile performs on behalf of the decision."""

    ENRICH = "Enrich"
    ANALYZE = "Analyze"
    CREATE_JIRA = "CreateJira"
    POST_SLACK = "PostSlack"
    UPDATE_SLACK = "UpdateSlack"
    UPDATE_JIRA = "UpdateJira"


NOTIFICATION_STEPS = frozenset({Step.CREATE_JIRA, Step.POST_SLACK, Step.UPDATE_SLACK, Step.UPDATE_JIRA})
"""Steps with side effects humans see; their outcome is written to status before anything else."""


class Channel(StrEnum):
    SLACK = "Slack"
    JIRA = "Jira"


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


@dataclass(frozen=True)
class Observed:
    """What the reconcile saw of the world before deciding."""

    policies: tuple[RemediationPolicy, ...] = ()
    """RemediationPolicies in the incident's namespace."""
    enrichment_available: bool = False
    """Whether an enricher is configured for the incident's source."""
    slack_enabled: bool = False
    jira_enabled: bool = False
    slack_retry_time: datetime | None = None
    """After a Slack failure: no Slack call before this time (the reconcile's in-memory backoff)."""
    jira_retry_time: datetime | None = None
    """After a Jira failure: no Jira call before this time."""


@dataclass(frozen=True)
class Plan:
    status: IncidentStatus
    """The status as it should read now."""
    step: Step | None
    """The next I/O step, or None when nothing is left to do now."""
    requeue_after: float | None
    """Seconds until the incident should be looked at again even if nothing changes."""


# --- small pure helpers ----------------------------------------------------------------


def _set(status: IncidentStatus, cond: Condition) -> IncidentStatus:
    return status.model_copy(update={"conditions": set_condition(status.conditions, cond)})


def _notifications(status: IncidentStatus) -> Notifications:
    return status.notifications or Notifications()


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


def fold_slack_posted(status: IncidentStatus, ref: SlackRef, phase: IncidentPhase, now: datetime) -> IncidentStatus:
    notes = _notifications(status).model_copy(update={"slack": ref, "slack_updated_phase": phase.value})
    status = status.model_copy(update={"notifications": notes})
    return record(status, SLACK_NOTIFIED, f"Slack message posted to {ref.channel} (ts {ref.ts}).", now)


def fold_slack_updated(status: IncidentStatus, phase: IncidentPhase, now: datetime,
                       view: str | None = None) -> IncidentStatus:
    notes = _notifications(status).model_copy(update={"slack_updated_phase": view or phase.value})
    status = status.model_copy(update={"notifications": notes})
    return record(status, SLACK_UPDATED, f"Slack message updated to show {phase.value}.", now)


def fold_jira_created(status: IncidentStatus, ref: JiraRef, phase: IncidentPhase, now: datetime) -> IncidentStatus:
    notes = _notifications(status)
    # A message posted before the issue existed shows no Jira link: mark it out of date.
    slack_phase = None if notes.slack is not None else notes.slack_updated_phase
    notes = notes.model_copy(
        update={"jira": ref, "jira_updated_phase": phase.value, "slack_updated_phase": slack_phase}
    )
    status = status.model_copy(update={"notifications": notes})
    return record(status, JIRA_ISSUE_CREATED, f"Jira issue {ref.key} created.", now)


def fold_jira_updated(status: IncidentStatus, phase: IncidentPhase, now: datetime) -> IncidentStatus:
    notes = _notifications(status).model_copy(update={"jira_updated_phase": phase.value})
    status = status.model_copy(update={"notifications": notes})
    return record(status, JIRA_UPDATED, f"Jira issue commented: incident {phase.value}.", now)


def fold_notification_failure(
    status: IncidentStatus, channel: Channel, error: str, now: datetime, generation: int | None
) -> IncidentStatus:
    status = _set(
        status,
        condition(
            IncidentCondition.NOTIFIED, ConditionStatus.FALSE, NotifiedReason.NOTIFICATION_FAILED,
            f"{channel.value} failed, retrying with backoff: {error}", now, generation,
        ),
    )
    return record(status, NOTIFICATION_FAILED, f"{channel.value} notification failed: {error}", now)


# --- the decision ------------------------------------------------------------------------


def _routing_decision(
    incident: Incident, analysis: Analysis, policies: tuple[RemediationPolicy, ...], remediation_enabled: bool
) -> tuple[str, str, RemediationSummary | None]:
    """(reason, message, summary): AwaitingRemediation with the rule, or why a human must act."""
    policy = select_policy(policies, incident.spec)
    rule = find_rule(policy, analysis.error_type) if policy is not None else None
    blocked = ineligible(analysis, incident.spec.source, policy, rule, remediation_enabled)
    if blocked is not None:  # escalated before anything was tried: say so in the first words a human reads
        return blocked[0], blocked[1].rstrip(".") + ": a human is needed.", None
    assert policy is not None  # ineligible checked both
    assert rule is not None
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

    if status.ownership is None:
        policy = select_policy(observed.policies, incident.spec)
        status = status.model_copy(update={"ownership": resolve_ownership(incident.spec, policy, config.ownership)})

    # The hand-off: decided once. Afterwards the remediation phase owns Remediated/Escalated.
    if find_condition(status.conditions, IncidentCondition.REMEDIATED) is None:
        routed, message, summary = _routing_decision(incident, analysis, observed.policies,
                                                     config.auto_remediation_enabled)
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

    return _settle_notified(status, observed, now, gen)


def _wants_slack(status: IncidentStatus, observed: Observed) -> bool:
    return observed.slack_enabled and bool(status.ownership and status.ownership.slack_channel)


def _wants_jira(status: IncidentStatus, observed: Observed) -> bool:
    return observed.jira_enabled and bool(status.ownership and status.ownership.jira_project)


def _settle_notified(status: IncidentStatus, observed: Observed, now: datetime, gen: int | None) -> IncidentStatus:
    notes = _notifications(status)
    wants_slack, wants_jira = _wants_slack(status, observed), _wants_jira(status, observed)
    if (wants_slack and notes.slack is None) or (wants_jira and notes.jira is None):
        return status  # pending: the steps below post; a failure sets Notified=False
    parts: list[str] = []
    if notes.slack is not None:
        parts.append(f"Slack message in {notes.slack.channel}")
    else:
        parts.append("Slack skipped (" + ("no channel routed" if observed.slack_enabled else "not configured") + ")")
    if notes.jira is not None:
        parts.append(f"Jira issue {notes.jira.key}")
    else:
        parts.append("Jira skipped (" + ("no project routed" if observed.jira_enabled else "not configured") + ")")
    sent = notes.slack is not None or notes.jira is not None
    reason = NotifiedReason.NOTIFICATIONS_SENT if sent else NotifiedReason.NOTIFICATIONS_SKIPPED
    previous = find_condition(status.conditions, IncidentCondition.NOTIFIED)
    status = _set(status, condition(IncidentCondition.NOTIFIED, ConditionStatus.TRUE, reason,
                                    "; ".join(parts) + ".", now, gen))
    if not sent and (previous is None or previous.reason != reason):
        status = record(status, NOTIFICATIONS_SKIPPED, "; ".join(parts) + ".", now)
    return status


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


def phase_after_notifying(status: IncidentStatus, now: datetime) -> IncidentPhase:
    """The phase the incident will show once this notification is recorded (the message shows it).

    Jira goes first, so when Slack posts, Notified is about to be set either way."""
    placeholder = condition(IncidentCondition.NOTIFIED, ConditionStatus.UNKNOWN, NotifiedReason.NOTIFICATIONS_SENT,
                            "", now, None)
    conditions = status.conditions
    if find_condition(conditions, IncidentCondition.NOTIFIED) is None:
        conditions = set_condition(conditions, placeholder)
    return derive_phase(conditions)


def slack_view(status: IncidentStatus) -> str:
    """What the Slack message shows: the phase, qualified by the attempt while remediating, so the
    message is edited (and a retry announced) once per attempt."""
    phase = status.phase or IncidentPhase.ANALYZING
    rem = status.remediation
    if phase in (IncidentPhase.REMEDIATING, IncidentPhase.MONITORING) and rem is not None and rem.attempts_made:
        remediated = find_condition(status.conditions, IncidentCondition.REMEDIATED)
        # Waiting for approval is a view of its own: the message gains Approve/Deny buttons, and loses
        # them (showing the decision) with the next edit.
        asking = remediated is not None and remediated.reason == RemediatedReason.AWAITING_APPROVAL
        waiting = "/AwaitingApproval" if asking else ""
        return f"{phase.value}/{rem.attempts_made}{waiting}"
    return phase.value


def _before(retry_time: datetime | None, now: datetime) -> bool:
    return retry_time is not None and now < retry_time


def next_step(status: IncidentStatus, observed: Observed, now: datetime) -> Step | None:
    if status.analysis is None:
        return Step.ENRICH if status.enrichment is None and observed.enrichment_available else Step.ANALYZE
    notes = _notifications(status)
    phase = status.phase or IncidentPhase.ANALYZING
    jira_ok = _wants_jira(status, observed) and not _before(observed.jira_retry_time, now)
    slack_ok = _wants_slack(status, observed) and not _before(observed.slack_retry_time, now)
    # Jira first, so the Slack message can link the issue.
    if jira_ok and notes.jira is None:
        return Step.CREATE_JIRA
    if slack_ok and notes.slack is None:
        return Step.POST_SLACK
    if slack_ok and notes.slack is not None and notes.slack_updated_phase != slack_view(status):
        return Step.UPDATE_SLACK
    if jira_ok and notes.jira is not None and phase in TERMINAL_PHASES and notes.jira_updated_phase != phase.value:
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
    step = next_step(status, observed, now)
    return Plan(status=status, step=step, requeue_after=None if step else _requeue(status, observed, config, now))
