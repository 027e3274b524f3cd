"""The actions of an Incident's audit trail (`status.history`), and how an entry is added.

Each new history entry is also posted as a Kubernetes Event with its action as
the reason, so these are the Event reasons `kubectl describe` shows too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from aiops_operator.api.base import MAX_HISTORY_ENTRIES
from aiops_operator.api.incident import HistoryEntry, IncidentStatus
from aiops_operator.api.sanitize import truncate

# The Analyzing phase and the notifications.
ALERT_RECEIVED: Final = "AlertReceived"
ENRICHED: Final = "Enriched"
ENRICHMENT_FAILED: Final = "EnrichmentFailed"
INCIDENT_ANALYZED: Final = "IncidentAnalyzed"
ANALYSIS_FELL_BACK: Final = "AnalysisFellBack"
REMEDIATION_REQUESTED: Final = "RemediationRequested"
ESCALATED: Final = "Escalated"
SLACK_NOTIFIED: Final = "SlackNotified"
SLACK_UPDATED: Final = "SlackUpdated"
JIRA_ISSUE_CREATED: Final = "JiraIssueCreated"
JIRA_UPDATED: Final = "JiraUpdated"
NOTIFICATIONS_SKIPPED: Final = "NotificationsSkipped"
NOTIFICATION_FAILED: Final = "NotificationFailed"
SLA_BREACHED: Final = "SlaBreached"

# Remediation.
ATTEMPT_CREATED: Final = "AttemptCreated"
APPROVAL_REQUIRED: Final = "ApprovalRequired"
ATTEMPT_APPROVED: Final = "AttemptApproved"
ATTEMPT_DENIED: Final = "AttemptDenied"
APPROVAL_TIMED_OUT: Final = "ApprovalTimedOut"
ATTEMPT_LAUNCHED: Final = "AttemptLaunched"
ATTEMPT_FAILED: Final = "RemediationAttemptFailed"
ATTEMPT_SKIPPED: Final = "AttemptSkipped"
REMEDIATION_SUCCEEDED: Final = "RemediationSucceeded"
ATTEMPTS_EXHAUSTED: Final = "AttemptsExhausted"
RESOLVED_IN_JIRA: Final = "ResolvedInJira"
RESOLVED_BY_KUBECTL: Final = "ResolvedByKubectl"
ALERT_RESOLVED: Final = "AlertResolved"
"""The alert source reported the condition resolved, and that resolved the incident."""
ALERT_RESOLUTION_RECORDED: Final = "AlertResolutionRecorded"
"""The alert source reported the condition resolved while a run was in flight (or the policy says Record)."""

WARNING_ACTIONS: Final = frozenset({
    ENRICHMENT_FAILED, ANALYSIS_FELL_BACK, ESCALATED, NOTIFICATION_FAILED, SLA_BREACHED,
    ATTEMPT_DENIED, APPROVAL_TIMED_OUT, ATTEMPT_FAILED, ATTEMPTS_EXHAUSTED,
})
"""Actions posted as Warning Events; the others are Normal."""

MAX_HISTORY_MESSAGE_CHARS: Final = 1024


def record(status: IncidentStatus, action: str, message: str, now: datetime) -> IncidentStatus:
    """`status` with one more audit-trail entry, keeping only the newest entries."""
    entry = HistoryEntry(time=now, action=action, message=truncate(message, MAX_HISTORY_MESSAGE_CHARS))
    return status.model_copy(update={"history": [*status.history, entry][-MAX_HISTORY_ENTRIES:]})
