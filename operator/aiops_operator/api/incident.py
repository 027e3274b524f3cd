"""The Incident kind: one failure of one pipeline run, job run or cluster."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from aiops_operator.api.base import (
    MAX_HISTORY_ENTRIES,
    MAX_MESSAGE_CHARS,
    ApiModel,
    Condition,
    Resource,
)
from aiops_operator.api.recurrence import MAX_OCCURRENCES, Recurrence
from aiops_operator.api.taxonomy import ErrorType


class IncidentSource(StrEnum):
    AZURE_DATA_FACTORY = "AzureDataFactory"
    DATABRICKS_JOB = "DatabricksJob"
    DATABRICKS_CLUSTER = "DatabricksCluster"
    GENERIC = "Generic"


class ResourceKind(StrEnum):
    PIPELINE = "Pipeline"
    JOB = "Job"
    CLUSTER = "Cluster"
    OTHER = "Other"


class RunIdOrigin(StrEnum):
    ALERT = "Alert"
    FINGERPRINT = "Fingerprint"


class Severity(StrEnum):
    CRITICAL = "Critical"
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Confidence(StrEnum):
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"


class IncidentPhase(StrEnum):
    ANALYZING = "Analyzing"
    REMEDIATING = "Remediating"
    MONITORING = "Monitoring"
    RESOLVED = "Resolved"
    ESCALATED = "Escalated"


class SlaState(StrEnum):
    PENDING = "Pending"
    MET = "Met"
    BREACHED = "Breached"


class ResolvedBy(StrEnum):
    AUTO_HEAL = "AutoHeal"
    JIRA = "Jira"
    KUBECTL = "Kubectl"
    ALERT = "Alert"


class OwnershipOrigin(StrEnum):
    POLICY = "Policy"
    KEYWORD_RULE = "KeywordRule"
    DEFAULT = "Default"


class FailedResource(ApiModel):
    """The pipeline, job or cluster that failed, and where it lives."""

    kind: ResourceKind
    """What kind of thing failed: Pipeline (ADF), Job (Databricks), Cluster (Databricks) or Other."""
    name: str = Field(min_length=1, max_length=260)
    """Pipeline, job or cluster name as the source system shows it."""
    id: str | None = Field(default=None, max_length=128)
    """Source-system id of the resource (Databricks job id or cluster id)."""
    factory: str | None = Field(default=None, max_length=128)
    """ADF data factory name."""
    resource_group: str | None = Field(default=None, max_length=128)
    """Azure resource group of the factory or workspace."""
    subscription_id: str | None = Field(default=None, max_length=64)
    """Azure subscription id."""
    workspace_url: str | None = Field(default=None, max_length=512)
    """Databricks workspace URL."""
    workspace_id: str | None = Field(default=None, max_length=64)
    """Databricks workspace id."""


class AlertInfo(ApiModel):
    """The alert that reported the failure."""

    rule: str | None = Field(default=None, max_length=512)
    """Name of the alert rule or notification destination that fired."""
    id: str | None = Field(default=None, max_length=512)
    """Alert id given by the alert source."""
    severity: str | None = Field(default=None, max_length=32)
    """Severity as the alert source stated it (e.g. Sev1)."""
    fired_time: datetime | None = None
    """When the alert fired."""
    signal_type: str | None = Field(default=None, max_length=64)
    """Kind of alert signal (Log, Metric, Webhook)."""


class ErrorDetail(ApiModel):
    """What the failure said about itself."""

    code: str | None = Field(default=None, max_length=128)
    """Vendor error code (ADF error code, Databricks termination code or result state)."""
    message: str = Field(default="", max_length=MAX_MESSAGE_CHARS)
    """Error text, truncated, control characters stripped and secrets redacted."""
    failure_type: str | None = Field(default=None, max_length=64)
    """ADF failure type (UserError, SystemError) when given."""
    activity: str | None = Field(default=None, max_length=260)
    """Failing ADF activity or Databricks task, when known."""


class IncidentSpec(ApiModel):
    """The immutable facts of one failure."""

    source: IncidentSource
    """Which system failed: AzureDataFactory, DatabricksJob, DatabricksCluster or Generic."""
    resource: FailedResource
    """The failing pipeline, job or cluster."""
    run_id: str = Field(min_length=1, max_length=256)
    """Id of the failed run; with the source it determines the Incident's name (deduplication)."""
    run_id_origin: RunIdOrigin = RunIdOrigin.ALERT
    """Alert when the run id came from the alert; Fingerprint when it was derived because the alert had none."""
    run_url: str | None = Field(default=None, max_length=1024)
    """Link to the failed run in the source system's UI."""
    alert: AlertInfo = Field(default_factory=AlertInfo)
    """The alert that reported it."""
    error: ErrorDetail = Field(default_factory=ErrorDetail)
    """The error as reported (and enriched later in status)."""
    received_time: datetime
    """When the receiver accepted the alert."""
    occurrence: int = Field(default=1, ge=1, le=MAX_OCCURRENCES)
    """1 for the first Incident of a run; n when the alert re-fired after Incident n-1 of the same run was
    resolved (the name then ends in -r<n>)."""
    previous_incident_ref: str | None = Field(default=None, max_length=253)
    """The Incident of the same run this one re-fired after (same namespace; it was resolved before this alert
    fired). Also the label aiops-rca.io/previous-incident."""


class Analysis(ApiModel):
    """Root-cause analysis of the failure (from an LLM or the rule-based analyzer)."""

    root_cause: str = Field(max_length=MAX_MESSAGE_CHARS)
    """One or two sentences naming what broke and why."""
    error_type: ErrorType
    """Classification from the fixed taxonomy; policies match rules on it."""
    severity: Severity
    """Business impact: Critical, High, Medium or Low."""
    priority: Priority
    """Urgency P1 (highest) to P4; sets the SLA."""
    confidence: Confidence
    """How sure the analysis is: High, Medium or Low."""
    affected_entity: str = Field(default="", max_length=512)
    """The table, file, cluster or service at fault."""
    recommendations: list[str] = Field(default_factory=list, max_length=10)
    """Ordered, actionable steps for a human."""
    auto_heal_possible: bool = False
    """Whether retrying or repairing can plausibly fix it; the policy still decides."""
    suggested_strategy: str | None = Field(default=None, max_length=512)
    """Free-text suggestion from the analysis; never used to choose an action."""
    provider: str = Field(max_length=64)
    """Who analyzed: Rules, OpenAI, AzureOpenAI, Ollama, Gemini or OpenAICompatible."""
    model: str | None = Field(default=None, max_length=128)
    """LLM model or deployment name, when an LLM answered."""
    fallback_reason: str | None = Field(default=None, max_length=512)
    """Why the rule-based result was used instead of the LLM's, if it was."""
    prompt_tokens: int = Field(default=0, ge=0)
    """LLM prompt tokens spent on this incident."""
    completion_tokens: int = Field(default=0, ge=0)
    """LLM completion tokens spent on this incident."""
    duration_seconds: float = Field(default=0.0, ge=0)
    """Wall time the analysis took."""
    analyzed_time: datetime | None = None
    """When the analysis finished."""


class Enrichment(ApiModel):
    """What the operator learned from the source system beyond the alert."""

    error_message: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)
    """Error text built from the source system (e.g. '[Task: validate] FileNotFoundError: ...')."""
    error_code: str | None = Field(default=None, max_length=128)
    """Error code found by enrichment."""
    activity: str | None = Field(default=None, max_length=260)
    """Failing activity or task found by enrichment."""
    failed_reason: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)
    """Why enrichment failed, if it did; analysis then proceeds with the alert's text."""
    enriched_time: datetime | None = None
    """When enrichment ran."""
    references: FailureReferences | None = None
    """Runs and dependencies the source system's outputs name (correlation reads them)."""


MAX_REFERENCES = 20
"""Bound on each list of references an enrichment records."""


class DependencyRef(ApiModel):
    """A shared dependency a failure names (integration runtime, linked service, storage account, ...)."""

    kind: str = Field(max_length=64)
    """IntegrationRuntime, LinkedService, StorageAccount, SqlServer, KeyVault, DatabricksWorkspace or
    InstancePool."""
    name: str = Field(max_length=260)
    """Its name, lower-cased (Azure names are case-insensitive)."""


class FailureReferences(ApiModel):
    """Other runs and shared dependencies the source system's outputs name; correlation groups by them."""

    databricks_runs: list[str] = Field(default_factory=list, max_length=MAX_REFERENCES)
    """Databricks run ids an ADF activity started (from its run page URL or run id)."""
    child_pipeline_runs: list[str] = Field(default_factory=list, max_length=MAX_REFERENCES)
    """Run ids of child pipelines an Execute Pipeline activity ran."""
    clusters: list[str] = Field(default_factory=list, max_length=MAX_REFERENCES)
    """Databricks cluster ids the run ran on."""
    dependencies: list[DependencyRef] = Field(default_factory=list, max_length=MAX_REFERENCES)
    """Shared dependencies named by the outputs and errors."""


class Sla(ApiModel):
    """Service-level target for resolving the incident."""

    seconds: int = Field(ge=0)
    """Time allowed from the first alert to resolution, from the priority."""
    deadline_time: datetime
    """When the SLA is breached."""
    state: SlaState = SlaState.PENDING
    """Pending until resolution, then Met or Breached (Breached also once the deadline passes)."""


class Ownership(ApiModel):
    """Who owns the failing resource and where they are reached."""

    team: str = Field(max_length=128)
    """Owning team."""
    owner: str | None = Field(default=None, max_length=256)
    """Owning person or alias."""
    cost_center: str | None = Field(default=None, max_length=64)
    """Cost center to book the incident against."""
    slack_channel: str | None = Field(default=None, max_length=128)
    """Slack channel for this incident's message."""
    jira_project: str | None = Field(default=None, max_length=32)
    """Jira project key for this incident's issue."""
    origin: OwnershipOrigin = OwnershipOrigin.DEFAULT
    """Where the ownership came from: a RemediationPolicy's routing, a keyword rule, or defaults."""


class RemediationSummary(ApiModel):
    """How remediation of this incident is going."""

    policy: str | None = Field(default=None, max_length=253)
    """Name of the RemediationPolicy whose rule applies."""
    rule: str | None = Field(default=None, max_length=128)
    """Name of the matching rule in that policy."""
    action: str | None = Field(default=None, max_length=64)
    """Action the rule prescribes."""
    attempts_made: int = Field(default=0, ge=0)
    """RemediationAttempts created so far."""
    max_attempts: int = Field(default=0, ge=0)
    """Attempts the rule allows."""
    current_attempt: str | None = Field(default=None, max_length=253)
    """Name of the newest RemediationAttempt."""
    next_attempt_time: datetime | None = None
    """Not-before time of the next attempt (backoff)."""


class SlackRef(ApiModel):
    """The incident's Slack message."""

    channel: str = Field(max_length=128)
    """Channel id the message was posted to."""
    ts: str = Field(max_length=64)
    """Message timestamp: Slack's id for editing it and replying in its thread."""
    permalink: str | None = Field(default=None, max_length=1024)
    """Link to the message."""


class JiraRef(ApiModel):
    """The incident's Jira issue."""

    key: str = Field(max_length=64)
    """Issue key, e.g. DATA-123."""
    url: str | None = Field(default=None, max_length=1024)
    """Browser link to the issue."""
    status: str | None = Field(default=None, max_length=64)
    """Issue status as last seen."""


class Notifications(ApiModel):
    """Where humans were told about the incident."""

    slack: SlackRef | None = None
    """The Slack message, once posted."""
    jira: JiraRef | None = None
    """The Jira issue, once created."""
    slack_updated_phase: str | None = Field(default=None, max_length=32)
    """Phase the Slack message last showed, so it is edited once per change."""
    jira_updated_phase: str | None = Field(default=None, max_length=32)
    """Phase the Jira issue was last brought up to date with."""


class ExternalSignals(ApiModel):
    """Signals from outside the operator, written by the webhook receiver for the operator to act on."""

    jira_status: str | None = Field(default=None, max_length=64)
    """Status the Jira issue moved to, from Jira's webhook."""
    jira_actor: str | None = Field(default=None, max_length=256)
    """Jira user who moved it."""
    jira_status_time: datetime | None = None
    """When Jira reported the change."""
    alert_resolved_time: datetime | None = None
    """When the alert source reported the condition as resolved."""


class Resolution(ApiModel):
    """How and when the incident ended."""

    resolved_time: datetime
    """When it was resolved."""
    mttr_seconds: int = Field(ge=0)
    """Time to resolve, from the alert firing (or being received) to resolution."""
    resolved_by: ResolvedBy
    """AutoHeal, Jira, Kubectl or Alert."""
    actor: str | None = Field(default=None, max_length=256)
    """The person who resolved it, when a human did."""
    attempt: str | None = Field(default=None, max_length=253)
    """The RemediationAttempt that healed it, when auto-healed."""
    run_id: str | None = Field(default=None, max_length=256)
    """The external run (re-run, repair, cluster or playbook run) that healed it, when auto-healed."""
    note: str | None = Field(default=None, max_length=1024)
    """What the human said when resolving (the kubectl annotation's value)."""


class HistoryEntry(ApiModel):
    """One step of the audit trail."""

    time: datetime
    """When it happened."""
    action: str = Field(max_length=64)
    """CamelCase name of the step, e.g. AlertReceived, Analyzed, SlackNotified, AttemptCreated."""
    message: str = Field(default="", max_length=1024)
    """What happened, in a sentence."""
    actor: str | None = Field(default=None, max_length=256)
    """Who did it when not the operator itself."""


class CorrelationRole(StrEnum):
    ROOT = "Root"
    MEMBER = "Member"


MAX_GROUP_MEMBERS_LISTED = 50
"""A root lists at most this many members (memberCount counts them all)."""


class RootRef(ApiModel):
    """The root a member belongs to, and why."""

    name: str = Field(max_length=253)
    """Name of the root Incident (same namespace); also the member's aiops-rca.io/root label."""
    reason: str = Field(max_length=64)
    """Which rule grouped it: DatabricksRun, ChildPipeline, ClusterTerminated or Storm."""
    message: str = Field(default="", max_length=1024)
    """Why, in a sentence."""


class GroupMember(ApiModel):
    """One member as its root lists it."""

    name: str = Field(max_length=253)
    """Name of the member Incident."""
    source: IncidentSource
    """Its source system."""
    target: str = Field(default="", max_length=260)
    """The pipeline, job or cluster that failed."""
    phase: IncidentPhase | None = None
    """Its phase as last seen by the root."""


class GroupStatus(ApiModel):
    """The incident's place in a group of failures with one root cause (see README "Correlation")."""

    role: CorrelationRole
    """Root (other incidents are its members) or Member (it waits for its root)."""
    root: RootRef | None = None
    """Members: the root and the rule that grouped them."""
    members: list[GroupMember] = Field(default_factory=list, max_length=MAX_GROUP_MEMBERS_LISTED)
    """Roots: the first members by name, bounded (memberCount counts them all)."""
    member_count: int = Field(default=0, ge=0)
    """Roots: how many incidents name this one as their root (label aiops-rca.io/root)."""
    dependency: DependencyRef | None = None
    """Storm roots: the shared dependency behind the storm."""
    canary: str | None = Field(default=None, max_length=253)
    """Storm roots: the member whose own remediation probes the dependency; when it heals, the storm does."""
    members_resolved: int = Field(default=0, ge=0)
    """Roots: members resolved so far."""
    members_escalated: int = Field(default=0, ge=0)
    """Roots: members escalated so far (a human is needed for them)."""
    members_remediating: int = Field(default=0, ge=0)
    """Roots: members released and remediating after the root healed."""


class IncidentStatus(ApiModel):
    """What the operator knows and did about the incident."""

    observed_generation: int | None = None
    """metadata.generation the status was computed from."""
    phase: IncidentPhase | None = None
    """Analyzing, Remediating, Monitoring, Resolved or Escalated; derived from the conditions."""
    conditions: list[Condition] = Field(default_factory=list, max_length=16)
    """Analyzed, Notified, Remediated, Ready and friends."""
    enrichment: Enrichment | None = None
    """What was fetched from the source system."""
    analysis: Analysis | None = None
    """Root-cause analysis."""
    sla: Sla | None = None
    """SLA target and state."""
    ownership: Ownership | None = None
    """Owning team and contacts."""
    remediation: RemediationSummary | None = None
    """Remediation progress."""
    notifications: Notifications | None = None
    """Slack and Jira references."""
    signals: ExternalSignals | None = None
    """Signals from Jira and the alert source, recorded by the receiver."""
    escalation_reason: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)
    """Why a human must act, when escalated."""
    resolution: Resolution | None = None
    """How it ended, when resolved."""
    recurrence: Recurrence | None = None
    """How often this pipeline, job or cluster failed with this error type before (last 30 days) and how those
    incidents ended; computed once, at the hand-off after the analysis."""
    correlation: GroupStatus | None = None
    """Its place in a group of failures with one root cause, when it has one."""
    history: list[HistoryEntry] = Field(default_factory=list, max_length=MAX_HISTORY_ENTRIES)
    """Audit trail, newest last, bounded to the most recent entries."""


class Incident(Resource):
    """One failure of a pipeline run, job run or cluster, and its path to resolution."""

    kind: str = "Incident"
    """Always Incident."""
    spec: IncidentSpec
    """The immutable facts of the failure."""
    status: IncidentStatus = Field(default_factory=IncidentStatus)
    """What the operator knows and did."""
