"""Condition types and their reasons, per condition type: the vocabulary of every status.

The one home of these words. Conditions are the truth; an Incident's `phase`
is derived from them (`api.phase`). Reasons are CamelCase and specific, so
`kubectl describe` and alerting rules can tell a human *why*, not just *what*.
Where two condition types share a reason (an escalation reason is the reason
of both Remediated=False and Escalated=True), it is one enum member used for
both, never a second spelling.

Incident:

| type | status | reasons |
|---|---|---|
| Analyzed | True | AnalysisSucceeded (rules or LLM), AnalysisFellBack (LLM answer unusable, rules used) |
| Analyzed | Unknown | Analyzing |
| Notified | True | NotificationsSent, NotificationsSkipped (neither Slack nor Jira configured),
  NotifiedViaRoot (a member: its root's message and issue tell humans) |
| Notified | False | NotificationFailed (retried with backoff; the lifecycle goes on) |
| Remediated | Unknown | AwaitingRemediation (the hand-off to remediation), AwaitingApproval, BackingOff,
  AttemptPending, AttemptRunning (phase Monitoring), AwaitingRoot (a member while its root is open),
  AwaitingDependency (a storm root until its canary member heals) |
| Remediated | True | AutoHealed |
| Remediated | False | the `ESCALATION_REASONS`, or ResolvedInJira/ResolvedByKubectl/AlertResolved |
| Escalated | True | the `ESCALATION_REASONS`: why a human must act |
| Resolved | True | AutoHealed, DependencyRecovered (a storm root), ResolvedInJira, ResolvedByKubectl,
  AlertResolved |
| Correlated | True | DatabricksRun, ChildPipeline, ClusterTerminated, Storm (a member: the rule that grouped it),
  GroupRoot (a root: other incidents are its members) |
| Correlated | Unknown | WaitingForRoot (notifications held until the root arrives or the wait ends) |
| Correlated | False | NotCorrelated (it stands alone) |
| Ready | True | Resolved, Escalated: nothing left for the operator |
| Ready | False | the phase name while work is pending |

RemediationPolicy: Ready (Valid / InvalidSpec), Stalled (InvalidSpec), and the circuit breaker
BudgetExhausted (True: LaunchBudgetUsedUp; False: WithinBudget).

RemediationAttempt:

| type | status | reasons |
|---|---|---|
| Approved | Unknown | AwaitingApproval |
| Approved | True / False | Approved / Denied, ApprovalTimedOut |
| Completed | Unknown | Pending, Running, WaitingForUpstream, LaunchRetrying |
| Completed | True | Succeeded, RunFailed, TimedOut, LaunchFailed (ran or tried to) |
| Completed | True | DryRun, Observed, ApprovalDenied, ApprovalTimedOut, RemediationDisabled (never launched: Skipped) |
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final

from aiops_operator.api.base import MAX_CONDITION_MESSAGE_CHARS, Condition, ConditionStatus
from aiops_operator.api.sanitize import truncate


class IncidentCondition(StrEnum):
    ANALYZED = "Analyzed"
    NOTIFIED = "Notified"
    REMEDIATED = "Remediated"
    ESCALATED = "Escalated"
    RESOLVED = "Resolved"
    READY = "Ready"
    CORRELATED = "Correlated"


class GroupReason(StrEnum):
    """Which correlation rule grouped a member under its root (Correlated=True on the member, and
    status.correlation.root.reason)."""

    DATABRICKS_RUN = "DatabricksRun"
    CHILD_PIPELINE = "ChildPipeline"
    CLUSTER_TERMINATED = "ClusterTerminated"
    STORM = "Storm"


class CorrelatedReason(StrEnum):
    """Reasons of Correlated other than the rule that grouped a member."""

    GROUP_ROOT = "GroupRoot"
    WAITING_FOR_ROOT = "WaitingForRoot"
    NOT_CORRELATED = "NotCorrelated"


class AnalyzedReason(StrEnum):
    ANALYZING = "Analyzing"
    ANALYSIS_SUCCEEDED = "AnalysisSucceeded"
    ANALYSIS_FELL_BACK = "AnalysisFellBack"


class NotifiedReason(StrEnum):
    NOTIFICATIONS_SENT = "NotificationsSent"
    NOTIFICATIONS_SKIPPED = "NotificationsSkipped"
    NOTIFICATION_FAILED = "NotificationFailed"
    NOTIFIED_VIA_ROOT = "NotifiedViaRoot"


class RemediatedReason(StrEnum):
    """Reasons of Remediated, and of Escalated and Resolved (which say the same why).

    Also the reason a remediation plan carries (`remediation.decision`)."""

    # In progress (Remediated=Unknown). AWAITING_REMEDIATION is the hand-off from the Analyzing phase.
    AWAITING_REMEDIATION = "AwaitingRemediation"
    BACKING_OFF = "BackingOff"
    ATTEMPT_PENDING = "AttemptPending"
    AWAITING_APPROVAL = "AwaitingApproval"
    ATTEMPT_RUNNING = "AttemptRunning"
    AWAITING_ROOT = "AwaitingRoot"
    """A member of a group: it does not remediate on its own while its root is open."""
    AWAITING_DEPENDENCY = "AwaitingDependency"
    """A storm root: waiting for the shared dependency; its canary member's remediation probes it."""
    # Healed (Remediated=True, Resolved=True).
    AUTO_HEALED = "AutoHealed"
    DEPENDENCY_RECOVERED = "DependencyRecovered"
    """A storm root: its canary member healed, so the shared dependency is back."""
    # Escalated (Remediated=False, Escalated=True): why a human must act.
    REMEDIATION_DISABLED = "RemediationDisabled"
    """The global kill switch (AUTO_REMEDIATION_ENABLED=false); also the Completed reason of an attempt skipped
    for it."""
    NO_MATCHING_POLICY = "NoMatchingPolicy"
    POLICY_DISABLED = "PolicyDisabled"
    NO_MATCHING_RULE = "NoMatchingRule"
    RULE_DISABLED = "RuleDisabled"
    ACTION_NOT_APPLICABLE = "ActionNotApplicable"
    NOT_AUTO_HEALABLE = "NotAutoHealable"
    CONFIDENCE_TOO_LOW = "ConfidenceTooLow"
    ATTEMPTS_EXHAUSTED = "AttemptsExhausted"
    APPROVAL_DENIED = "ApprovalDenied"
    APPROVAL_TIMED_OUT = "ApprovalTimedOut"
    DRY_RUN = "DryRun"
    OBSERVED = "Observed"
    """Run mode Observe (policy, rule or an Observe freeze window): what would have run was recorded on a
    Skipped attempt (wouldHaveDone), nothing was launched; counted in the policy's rules[].wouldHaveLaunched."""
    BUDGET_EXHAUSTED = "BudgetExhausted"
    """A launch budget of the policy (per target or per policy) is used up; the message names it and when it
    reopens. No attempt is created."""
    RECURRING_FAILURE = "RecurringFailure"
    """The target failed with this error type too often recently (the policy's or rule's recurrence limit): a human
    looks at the cause instead of another re-run. No attempt is created."""
    DEPENDENCY_NOT_RECOVERED = "DependencyNotRecovered"
    """A storm root: its canary member's remediation escalated; the shared dependency needs a human."""
    CANNOT_REMEDIATE = "CannotRemediate"
    """The action can never launch for this incident: an identity (factory, job, cluster) or a setting
    (workspace, credentials) is missing; the message names it and how to supply it. No attempt is counted."""
    # Resolved by a human (Remediated=False with the same reason when remediation was still at work).
    RESOLVED_IN_JIRA = "ResolvedInJira"
    RESOLVED_BY_KUBECTL = "ResolvedByKubectl"
    ALERT_RESOLVED = "AlertResolved"
    """The alert source reported the condition resolved (policy alertResolution: Resolve)."""
    # Plan reasons that are never written to a condition (the plan does nothing).
    AWAITING_ANALYSIS = "AwaitingAnalysis"
    FINISHED = "Finished"


IN_PROGRESS_REASONS: Final = frozenset({
    RemediatedReason.AWAITING_REMEDIATION, RemediatedReason.AWAITING_APPROVAL, RemediatedReason.BACKING_OFF,
    RemediatedReason.ATTEMPT_PENDING, RemediatedReason.ATTEMPT_RUNNING, RemediatedReason.AWAITING_ROOT,
    RemediatedReason.AWAITING_DEPENDENCY})
"""Remediated=Unknown reasons: the remediation phase is still at work."""
MONITORING_REASONS: Final = frozenset({RemediatedReason.ATTEMPT_RUNNING})
"""Remediated=Unknown reasons that mean an external run is in flight: phase Monitoring."""
GROUP_WAIT_REASONS: Final = frozenset({RemediatedReason.AWAITING_ROOT, RemediatedReason.AWAITING_DEPENDENCY})
"""Remediated=Unknown reasons of an incident waiting on its group: the remediation stage leaves it alone."""


class PolicyCondition(StrEnum):
    BUDGET_EXHAUSTED = "BudgetExhausted"
    """The circuit breaker: True while a launch budget of the policy is used up."""


class BudgetReason(StrEnum):
    USED_UP = "LaunchBudgetUsedUp"
    WITHIN_BUDGET = "WithinBudget"


class AttemptCondition(StrEnum):
    APPROVED = "Approved"
    COMPLETED = "Completed"


class ApprovedReason(StrEnum):
    AWAITING_APPROVAL = "AwaitingApproval"
    APPROVED = "Approved"
    DENIED = "Denied"
    APPROVAL_TIMED_OUT = "ApprovalTimedOut"


class CompletedProgress(StrEnum):
    """Reasons of Completed=Unknown: the attempt is not finished."""

    PENDING = "Pending"
    RUNNING = "Running"
    WAITING_FOR_UPSTREAM = "WaitingForUpstream"
    LAUNCH_RETRYING = "LaunchRetrying"


class Outcome(StrEnum):
    """Reasons of Completed=True: how the attempt ended."""

    SUCCEEDED = "Succeeded"
    RUN_FAILED = "RunFailed"
    TIMED_OUT = "TimedOut"
    DRY_RUN = "DryRun"
    OBSERVED = "Observed"
    APPROVAL_DENIED = "ApprovalDenied"
    APPROVAL_TIMED_OUT = "ApprovalTimedOut"
    REMEDIATION_DISABLED = "RemediationDisabled"
    LAUNCH_FAILED = "LaunchFailed"
    CANNOT_REMEDIATE = "CannotRemediate"


SKIPPED_OUTCOMES: Final = frozenset({Outcome.DRY_RUN, Outcome.OBSERVED, Outcome.APPROVAL_DENIED,
                                     Outcome.APPROVAL_TIMED_OUT, Outcome.REMEDIATION_DISABLED,
                                     Outcome.CANNOT_REMEDIATE})
"""Outcomes of attempts that never launched; each is also the reason the Incident escalates with."""


def condition(
    type_: str, status: ConditionStatus, reason: str, message: str, now: datetime, generation: int | None
) -> Condition:
    """A condition with its message bounded."""
    return Condition(
        type=type_,
        status=status,
        reason=reason,
        message=truncate(message, MAX_CONDITION_MESSAGE_CHARS),
        last_transition_time=now,
        observed_generation=generation,
    )
