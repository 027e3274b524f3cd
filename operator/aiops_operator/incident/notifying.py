"""Slack and Jira as the Incident's status sees them (pure): whether each is due, and what its outcome records.

The notification steps are not specific to Analyzing: the Slack message and
the Jira issue follow the phase whatever moved it, so the remediation phase
only changes conditions and gets the message edited, the escalation note
posted and the Jira comment written by the same code.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from aiops_operator.api import (
    Condition,
    ConditionStatus,
    IncidentPhase,
    IncidentStatus,
    JiraRef,
    Notifications,
    SlackRef,
    find_condition,
    set_condition,
)
from aiops_operator.api.conditions import (
    IncidentCondition,
    NotifiedReason,
    RemediatedReason,
    condition,
)
from aiops_operator.api.history import (
    JIRA_ISSUE_CREATED,
    JIRA_UPDATED,
    NOTIFICATION_FAILED,
    NOTIFICATIONS_SKIPPED,
    SLACK_NOTIFIED,
    SLACK_UPDATED,
    record,
)
from aiops_operator.api.phase import derive_phase
from aiops_operator.correlation.membership import group_view, quiet
from aiops_operator.incident.plan import Observed


class Channel(StrEnum):
    SLACK = "Slack"
    JIRA = "Jira"


def _set(status: IncidentStatus, cond: Condition) -> IncidentStatus:
    return status.model_copy(update={"conditions": set_condition(status.conditions, cond)})


def notifications(status: IncidentStatus) -> Notifications:
    return status.notifications or Notifications()

def fold_slack_posted(status: IncidentStatus, ref: SlackRef, phase: IncidentPhase, now: datetime) -> IncidentStatus:
    notes = notifications(status).model_copy(update={"slack": ref, "slack_updated_phase": phase.value})
    status = status.model_copy(update={"notifications": notes})
    return record(status, SLACK_NOTIFIED, f"Slack message posted to {ref.channel} (ts {ref.ts}).", now)

def fold_slack_updated(status: IncidentStatus, phase: IncidentPhase, now: datetime,
                       view: str | None = None) -> IncidentStatus:
    notes = notifications(status).model_copy(update={"slack_updated_phase": view or phase.value})
    status = status.model_copy(update={"notifications": notes})
    return record(status, SLACK_UPDATED, f"Slack message updated to show {phase.value}.", now)

def fold_jira_created(status: IncidentStatus, ref: JiraRef, phase: IncidentPhase, now: datetime) -> IncidentStatus:
    notes = notifications(status)
    # A message posted before the issue existed shows no Jira link: mark it out of date.
    slack_phase = None if notes.slack is not None else notes.slack_updated_phase
    notes = notes.model_copy(
        update={"jira": ref, "jira_updated_phase": phase.value, "slack_updated_phase": slack_phase}
    )
    status = status.model_copy(update={"notifications": notes})
    return record(status, JIRA_ISSUE_CREATED, f"Jira issue {ref.key} created.", now)

def fold_jira_updated(status: IncidentStatus, phase: IncidentPhase, now: datetime,
                      view: str | None = None) -> IncidentStatus:
    """`view`: what the issue now shows (`membership.jira_view`: the phase, qualified by a root's group state)."""
    notes = notifications(status).model_copy(update={"jira_updated_phase": view or phase.value})
    status = status.model_copy(update={"notifications": notes})
    return record(status, JIRA_UPDATED, f"Jira issue commented: incident {view or phase.value}.", now)

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

def wants_slack(status: IncidentStatus, observed: Observed) -> bool:
    """Slack is due: configured, routed, and not a member told through its root."""
    return observed.slack_enabled and bool(status.ownership and status.ownership.slack_channel) and not quiet(status)

def wants_jira(status: IncidentStatus, observed: Observed) -> bool:
    return observed.jira_enabled and bool(status.ownership and status.ownership.jira_project) and not quiet(status)

def settle_notified(status: IncidentStatus, observed: Observed, now: datetime, gen: int | None) -> IncidentStatus:
    notes = notifications(status)
    slack_due, jira_due = wants_slack(status, observed), wants_jira(status, observed)
    if (slack_due and notes.slack is None) or (jira_due and notes.jira is None):
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
        return f"{phase.value}/{rem.attempts_made}{waiting}{group_view(status)}"
    return phase.value + group_view(status)

def before(retry_time: datetime | None, now: datetime) -> bool:
    return retry_time is not None and now < retry_time
