"""Condition types and reasons of an Incident: the vocabulary of its status.

Conditions are the truth; `phase` is derived from them (`incident.phase`).
Reasons are CamelCase and specific, so `kubectl describe` and alerting rules
can tell a human *why*, not just *what*.

| type | status | reasons |
|---|---|---|
| Analyzed | True | AnalysisSucceeded (rules or LLM), AnalysisFellBack (LLM answer unusable, rules used) |
| Analyzed | Unknown | Analyzing |
| Notified | True | NotificationsSent, NotificationsSkipped (neither Slack nor Jira configured) |
| Notified | False | NotificationFailed (retried with backoff; the lifecycle goes on) |
| Remediated | Unknown | AwaitingRemediation (the hand-off to remediation), AwaitingApproval, BackingOff,
  AttemptPending, AttemptRunning (phase Monitoring) |
| Remediated | True | AutoHealed |
| Remediated | False | NotAutoHealable, NoMatchingPolicy, NoMatchingRule, RuleDisabled, AttemptsExhausted,
  ApprovalDenied, ApprovalTimedOut, DryRun, RemediationDisabled, ..., ResolvedInJira/ResolvedByKubectl |
| Escalated | True | same reasons as Remediated=False: why a human must act |
| Resolved | True | AutoHealed, ResolvedInJira, ResolvedByKubectl, AlertResolved |
| Ready | True | Resolved, Escalated: nothing left for the operator |
| Ready | False | the phase name while work is pending |
"""

from __future__ import annotations

from typing import Final

ANALYZED: Final = "Analyzed"
NOTIFIED: Final = "Notified"
REMEDIATED: Final = "Remediated"
ESCALATED: Final = "Escalated"
RESOLVED: Final = "Resolved"
READY: Final = "Ready"

# Analyzed
ANALYZING: Final = "Analyzing"
ANALYSIS_SUCCEEDED: Final = "AnalysisSucceeded"
ANALYSIS_FELL_BACK: Final = "AnalysisFellBack"

# Notified
NOTIFICATIONS_SENT: Final = "NotificationsSent"
NOTIFICATIONS_SKIPPED: Final = "NotificationsSkipped"
NOTIFICATION_FAILED: Final = "NotificationFailed"

# Remediated=Unknown: work in progress. AWAITING_REMEDIATION is the hand-off
# from the Analyzing phase to the remediation phase.
AWAITING_REMEDIATION: Final = "AwaitingRemediation"
AWAITING_APPROVAL: Final = "AwaitingApproval"
BACKING_OFF: Final = "BackingOff"
ATTEMPT_PENDING: Final = "AttemptPending"
ATTEMPT_RUNNING: Final = "AttemptRunning"
IN_PROGRESS_REASONS: Final = frozenset({AWAITING_REMEDIATION, AWAITING_APPROVAL, BACKING_OFF, ATTEMPT_PENDING,
                                        ATTEMPT_RUNNING})
"""Remediated=Unknown reasons: the remediation phase is still at work."""
MONITORING_REASONS: Final = frozenset({ATTEMPT_RUNNING})
"""Remediated=Unknown reasons that mean an external run is in flight: phase Monitoring."""

# Remediated=False / Escalated=True: why a human must act.
NOT_AUTO_HEALABLE: Final = "NotAutoHealable"
NO_MATCHING_POLICY: Final = "NoMatchingPolicy"
NO_MATCHING_RULE: Final = "NoMatchingRule"
RULE_DISABLED: Final = "RuleDisabled"
REMEDIATION_DISABLED: Final = "RemediationDisabled"
"""The global kill switch (AUTO_REMEDIATION_ENABLED=false); the same reason remediation uses for an attempt
it skips for that switch."""

# Resolved / Remediated=True
AUTO_HEALED: Final = "AutoHealed"
# Resolved by a human (Remediated=False with the same reason when remediation was still at work).
RESOLVED_IN_JIRA: Final = "ResolvedInJira"
RESOLVED_BY_KUBECTL: Final = "ResolvedByKubectl"
