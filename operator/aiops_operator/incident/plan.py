"""The vocabulary of an Incident's decision: what the reconcile saw, the I/O steps it may be asked for, the plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from aiops_operator.api import (
    IncidentStatus,
    RemediationPolicy,
)
from aiops_operator.correlation.membership import GroupObservation
from aiops_operator.recurrence.summary import History


class Step(StrEnum):
    """I/O steps the reconcile performs on behalf of the decision."""

    ENRICH = "Enrich"
    ANALYZE = "Analyze"
    CREATE_JIRA = "CreateJira"
    POST_SLACK = "PostSlack"
    UPDATE_SLACK = "UpdateSlack"
    UPDATE_JIRA = "UpdateJira"
    CREATE_GROUP_ROOT = "CreateGroupRoot"

NOTIFICATION_STEPS = frozenset({Step.CREATE_JIRA, Step.POST_SLACK, Step.UPDATE_SLACK, Step.UPDATE_JIRA})
"""Steps with side effects humans see; their outcome is written to status before anything else."""

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
    recurrence: History | None = None
    """Earlier incidents of the same target and error type, once the incident is analyzed and until its
    status.recurrence is recorded (None: not looked up)."""
    group: GroupObservation = field(default_factory=GroupObservation)
    """The incident's group as indexed: what correlation says, its root, its members."""

@dataclass(frozen=True)
class Plan:
    status: IncidentStatus
    """The status as it should read now."""
    step: Step | None
    """The next I/O step, or None when nothing is left to do now."""
    requeue_after: float | None
    """Seconds until the incident should be looked at again even if nothing changes."""
