"""The RemediationAttempt and RemediationPolicy kinds."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from aiops_operator.api.base import MAX_MESSAGE_CHARS, ApiModel, Condition, Resource
from aiops_operator.api.incident import Confidence, IncidentSource
from aiops_operator.api.taxonomy import ErrorType


class RemediationAction(StrEnum):
    RERUN_PIPELINE = "RerunPipeline"
    CHECK_UPSTREAM_THEN_RERUN = "CheckUpstreamThenRerun"
    RUN_JOB_NOW = "RunJobNow"
    REPAIR_RUN = "RepairRun"
    START_CLUSTER = "StartCluster"
    RESTART_CLUSTER = "RestartCluster"
    RESIZE_CLUSTER = "ResizeCluster"
    REINSTALL_LIBRARY = "ReinstallLibrary"
    CALL_PLAYBOOK = "CallPlaybook"


class Risk(StrEnum):
    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"


class RunMode(StrEnum):
    """How far automation may go: Observe records what would have run, Review asks before every launch,
    Auto launches as the rule says. Observe is the strictest (`policy.guardrails.strictest`)."""

    OBSERVE = "Observe"
    REVIEW = "Review"
    AUTO = "Auto"


class AlertResolution(StrEnum):
    """What a Resolved alert (status.signals.alertResolvedTime, from the receiver) does to an open incident."""

    RESOLVE = "Resolve"
    RECORD = "Record"
    IGNORE = "Ignore"


class AttemptPhase(StrEnum):
    PENDING = "Pending"
    AWAITING_APPROVAL = "AwaitingApproval"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    TIMED_OUT = "TimedOut"
    SKIPPED = "Skipped"


class ApprovalDecision(StrEnum):
    APPROVED = "Approved"
    DENIED = "Denied"


class ApprovalChannel(StrEnum):
    KUBECTL = "Kubectl"
    SLACK = "Slack"
    POLICY = "Policy"


class ExternalSystem(StrEnum):
    AZURE_DATA_FACTORY = "AzureDataFactory"
    DATABRICKS = "Databricks"
    PLAYBOOK = "Playbook"


class Parameter(ApiModel):
    """A named action parameter."""

    name: str = Field(min_length=1, max_length=64)
    """Parameter name, e.g. upstreamPipeline, scalePercent, library."""
    value: str = Field(max_length=1024)
    """Parameter value."""


class RemediationAttemptSpec(ApiModel):
    """One try at healing an incident; immutable once created."""

    incident_ref: str = Field(min_length=1, max_length=253)
    """Name of the Incident (same namespace) this attempt heals."""
    attempt: int = Field(ge=1, le=100)
    """Attempt number, starting at 1; the object is named <incident>-<attempt>."""
    action: RemediationAction
    """What to do: RerunPipeline, CheckUpstreamThenRerun, RunJobNow, RepairRun, StartCluster,
    RestartCluster, ResizeCluster, ReinstallLibrary or CallPlaybook."""
    parameters: list[Parameter] = Field(default_factory=list, max_length=32)
    """Action parameters from the policy rule."""
    policy: str | None = Field(default=None, max_length=253)
    """RemediationPolicy that allowed this attempt."""
    rule: str | None = Field(default=None, max_length=128)
    """Rule of that policy."""
    not_before_time: datetime
    """Do not start before this time (backoff)."""
    dry_run: bool = False
    """Record what would be done, do nothing (phase Skipped)."""
    approval_required: bool = False
    """Wait in AwaitingApproval until a human approves or denies."""
    approval_timeout_seconds: int = Field(default=3600, ge=0)
    """Escalate when no decision arrives within this time."""
    timeout_seconds: int = Field(default=7200, ge=1)
    """Give up on the external run after this long (phase TimedOut)."""
    idempotency_key: str = Field(min_length=1, max_length=64)
    """Stable identity of this attempt, sent to systems that deduplicate (Databricks run-now)."""
    guardrail: str | None = Field(default=None, max_length=512)
    """Why this attempt only records (dryRun) or needs approval although its rule would launch on its own:
    the run mode of the policy or rule, or the freeze window open when it was created."""


class Approval(ApiModel):
    """A human's decision on an attempt that needed approval."""

    decision: ApprovalDecision
    """Approved or Denied."""
    by: str = Field(max_length=256)
    """Who decided."""
    time: datetime
    """When they decided."""
    via: ApprovalChannel
    """Kubectl, Slack or Policy (not required)."""
    reason: str | None = Field(default=None, max_length=1024)
    """Why, when given."""


class ExternalRun(ApiModel):
    """The run or operation the attempt launched in the external system."""

    system: ExternalSystem
    """AzureDataFactory, Databricks or Playbook."""
    run_id: str = Field(max_length=256)
    """Run id (ADF run id, Databricks run id or repair id, playbook run id) or cluster id."""
    url: str | None = Field(default=None, max_length=1024)
    """Link to the run."""
    state: str | None = Field(default=None, max_length=64)
    """Last state seen in the external system."""
    detail: str | None = Field(default=None, max_length=1024)
    """What was done, e.g. 'installed pandas==2.1.0' or 'resized 4 -> 6 workers'."""


class PlaybookCallback(ApiModel):
    """Outcome reported by a Logic App / HTTP playbook."""

    status: str = Field(max_length=64)
    """Status as reported by the playbook."""
    success: bool
    """Whether the playbook says it healed the failure."""
    remediation_run_id: str | None = Field(default=None, max_length=256)
    """Run id the playbook launched."""
    error_message: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)
    """Error the playbook reported."""
    received_time: datetime
    """When the receiver took the callback."""


class RemediationAttemptStatus(ApiModel):
    """Progress and outcome of the attempt."""

    observed_generation: int | None = None
    """metadata.generation the status was computed from."""
    phase: AttemptPhase | None = None
    """Pending, AwaitingApproval, Running, Succeeded, Failed, TimedOut or Skipped."""
    conditions: list[Condition] = Field(default_factory=list, max_length=16)
    """Standard conditions."""
    approval: Approval | None = None
    """The approval decision, when one was needed."""
    external_run: ExternalRun | None = None
    """What was launched."""
    callback: PlaybookCallback | None = None
    """Playbook callback, for CallPlaybook attempts."""
    start_time: datetime | None = None
    """When the action started."""
    completion_time: datetime | None = None
    """When it reached a terminal phase."""
    duration_seconds: int | None = Field(default=None, ge=0)
    """Completion minus start."""
    failure_reason: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)
    """Why it failed, timed out or was skipped."""
    would_have_done: str | None = Field(default=None, max_length=1024)
    """For dry runs: what the action would have done."""


class RemediationAttempt(Resource):
    """One try at healing an Incident, named <incident>-<n> and owned by it."""

    kind: str = "RemediationAttempt"
    """Always RemediationAttempt."""
    spec: RemediationAttemptSpec
    """What to try."""
    status: RemediationAttemptStatus = Field(default_factory=RemediationAttemptStatus)
    """How it went."""


class Backoff(ApiModel):
    """Wait before each attempt: an explicit schedule, or exponential growth."""

    seconds: list[int] = Field(default_factory=list, max_length=20)
    """Explicit waits in seconds before attempts 1, 2, ...; the last value repeats."""
    initial_seconds: int | None = Field(default=None, ge=0)
    """First wait, when no explicit schedule is given."""
    factor: float | None = Field(default=None, ge=1)
    """Multiplier between waits, when no explicit schedule is given."""
    max_seconds: int | None = Field(default=None, ge=0)
    """Cap on any wait."""


class RecurrenceLimit(ApiModel):
    """Escalate instead of remediating a failure that keeps coming back."""

    escalate_after: int = Field(ge=1, le=1000)
    """Earlier incidents of the same pipeline, job or cluster with the same error type within the window at which a
    new one is escalated (reason RecurringFailure) instead of remediated: 3 escalates the 4th failure."""
    window_seconds: int = Field(default=7 * 86400, ge=3600, le=30 * 86400)
    """The look-back window (at most 30 days, what the recurrence record keeps)."""


class PolicyRule(ApiModel):
    """What to do about one error type."""

    name: str = Field(min_length=1, max_length=128, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    """Rule name, unique in the policy (lowercase, digits, dashes)."""
    error_type: ErrorType
    """Error type from the taxonomy this rule matches."""
    action: RemediationAction
    """Action to take."""
    parameters: list[Parameter] = Field(default_factory=list, max_length=32)
    """Action parameters, e.g. upstreamPipeline for CheckUpstreamThenRerun."""
    max_attempts: int = Field(default=3, ge=0, le=20)
    """Attempts allowed per incident; 0 means never remediate."""
    backoff: Backoff = Field(default_factory=Backoff)
    """Wait before each attempt."""
    risk: Risk = Risk.LOW
    """Low, Medium or High; High needs approval unless approvalRequired says otherwise."""
    approval_required: bool | None = None
    """Require a human's approval; unset means required only for High risk."""
    approval_timeout_seconds: int = Field(default=3600, ge=60)
    """Escalate when no decision arrives within this time."""
    min_confidence: Confidence = Confidence.MEDIUM
    """Lowest analysis confidence that may trigger this rule."""
    timeout_seconds: int = Field(default=7200, ge=1)
    """Give up on one attempt's external run after this long."""
    dry_run: bool = False
    """Record what would be done without doing it, then escalate."""
    mode: RunMode | None = None
    """Run mode for this rule: Observe, Review or Auto; unset uses the policy's mode. The strictest of the
    policy's mode, this and an open freeze window's mode applies."""
    recurrence: RecurrenceLimit | None = None
    """Escalate instead of remediating after this many recent recurrences; unset uses the policy's."""


class FreezeWindowSpec(ApiModel):
    """A recurring window during which rules do not launch on their own (month-end close, deploy freezes)."""

    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    """Window name, shown in the incident's message when it holds a launch back."""
    rrule: str = Field(min_length=1, max_length=512)
    """When the window opens: an RFC 5545 recurrence rule, e.g. FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=18;BYMINUTE=0
    (optionally a DTSTART: line, then an RRULE: line). Times are local to timeZone."""
    duration_seconds: int = Field(ge=1, le=400 * 86400)
    """How long the window stays open from each occurrence."""
    time_zone: str = Field(default="UTC", min_length=1, max_length=64)
    """IANA time zone the rule is read in, e.g. Europe/Berlin (daylight saving time follows it)."""
    mode: RunMode = RunMode.REVIEW
    """Review (launches need approval) or Observe (only record) while the window is open."""


class LaunchBudget(ApiModel):
    """At most maxLaunches launches within any rolling window of windowSeconds."""

    max_launches: int = Field(ge=0, le=10_000)
    """Launches allowed in the window; 0 allows none."""
    window_seconds: int = Field(ge=60, le=90 * 86400)
    """Length of the rolling window."""


class Budgets(ApiModel):
    """Launch budgets, counted from the RemediationAttempts (restarts and concurrent reconciles cannot miscount).

    Reset both by hand: kubectl annotate rp NAME aiops-rca.io/budget-reset=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    --overwrite (launches before that time no longer count)."""

    per_target: LaunchBudget | None = None
    """Per failing pipeline, job or cluster."""
    per_policy: LaunchBudget | None = None
    """For everything this policy covers."""


class PolicySelector(ApiModel):
    """Which incidents a policy covers. Empty lists match everything."""

    sources: list[IncidentSource] = Field(default_factory=list, max_length=4)
    """Incident sources covered."""
    name_patterns: list[str] = Field(default_factory=list, max_length=64)
    """Shell-style patterns (fnmatch) over the pipeline, job or cluster name."""


class Routing(ApiModel):
    """Ownership and notification routing for covered incidents."""

    team: str | None = Field(default=None, max_length=128)
    """Owning team."""
    owner: str | None = Field(default=None, max_length=256)
    """Owning person or alias."""
    cost_center: str | None = Field(default=None, max_length=64)
    """Cost center."""
    slack_channel: str | None = Field(default=None, max_length=128)
    """Slack channel for incident messages."""
    jira_project: str | None = Field(default=None, max_length=32)
    """Jira project key for incident issues."""


class CorrelationSettings(ApiModel):
    """How failures covered by the policy are grouped under one root cause (README "Correlation")."""

    enabled: bool = True
    """False: covered incidents are never grouped (each notifies and remediates on its own)."""
    wait_for_root_seconds: int = Field(default=60, ge=0, le=3600)
    """An ADF failure naming a Databricks run or child pipeline run with no incident yet waits this long for
    it (holding its notifications) before it goes on alone."""
    cluster_window_seconds: int = Field(default=1800, ge=0, le=86400)
    """A job failure joins a cluster's termination incident received within this many seconds of it."""
    storm_threshold: int = Field(default=5, ge=2, le=10000)
    """This many open incidents of one error type naming one shared dependency make a storm."""
    storm_window_seconds: int = Field(default=600, ge=1, le=86400)
    """...received within this many seconds of each other."""
    storm_hold_seconds: int = Field(default=10, ge=0, le=600)
    """An incident naming a shared dependency holds its notifications this long for a storm to form, so the
    first failures of a storm do not post on their own."""
    member_concurrency: int = Field(default=10, ge=1, le=1000)
    """Once a root heals, at most this many of its members remediate at once, in order of arrival; the
    others wait their turn (Remediated reason AwaitingRoot)."""


class RemediationPolicySpec(ApiModel):
    """Which failures may be healed and how. The LLM classifies; this decides."""

    enabled: bool = True
    """Kill switch for this policy: false stops new attempts (running ones finish)."""
    priority: int = Field(default=0, ge=-1000, le=1000)
    """When several policies match an incident, the highest priority wins, then the oldest, then the name."""
    selector: PolicySelector = Field(default_factory=PolicySelector)
    """Incidents covered."""
    rules: list[PolicyRule] = Field(default_factory=list, max_length=64)
    """One rule per error type; error types without a rule are escalated."""
    routing: Routing | None = None
    """Ownership and notification routing for covered incidents."""
    mode: RunMode = RunMode.AUTO
    """Run mode: Observe (decide and record what would have run, never launch; counted per rule in
    status.rules[].wouldHaveLaunched), Review (every launch needs approval) or Auto (as the rules say)."""
    freeze_windows: list[FreezeWindowSpec] = Field(default_factory=list, max_length=16)
    """Recurring windows during which launches need approval (Review) or are only recorded (Observe)."""
    budgets: Budgets = Field(default_factory=Budgets)
    """Caps on launches per rolling window, per target and per policy."""
    recurrence: RecurrenceLimit | None = None
    """Escalate (reason RecurringFailure) instead of remediating when the same pipeline, job or cluster already
    failed with the same error type this often within the window; a rule's own recurrence wins."""
    alert_resolution: AlertResolution = AlertResolution.RESOLVE
    """What the alert source reporting the condition as resolved does: Resolve (the incident is resolved with
    reason AlertResolved, Slack and Jira updated; while an attempt's run is in flight it is only recorded as
    confirmation), Record (only recorded in the history) or Ignore."""
    correlation: CorrelationSettings = Field(default_factory=CorrelationSettings)
    """How covered failures are grouped under one root (windows, storm threshold)."""


class RuleStats(ApiModel):
    """How often a rule fired and how well it worked."""

    name: str = Field(max_length=128)
    """Rule name."""
    matched: int = Field(default=0, ge=0)
    """Incidents the rule matched."""
    attempted: int = Field(default=0, ge=0)
    """Attempts launched under it."""
    succeeded: int = Field(default=0, ge=0)
    """Attempts that healed the incident."""
    would_have_launched: int = Field(default=0, ge=0)
    """Attempts recorded instead of launched (run mode Observe, an Observe freeze window, or dryRun)."""


class RemediationPolicyStatus(ApiModel):
    """Validation result (kstatus) and rule statistics."""

    observed_generation: int | None = None
    """metadata.generation the status was computed from."""
    conditions: list[Condition] = Field(default_factory=list, max_length=16)
    """Ready, Stalled with reason InvalidSpec when the spec is invalid, and BudgetExhausted (the circuit
    breaker: True while a launch budget is used up, with when it reopens)."""
    rules: list[RuleStats] = Field(default_factory=list, max_length=64)
    """Per-rule counts."""


class RemediationPolicy(Resource):
    """A GitOps-managed policy: which failures may be healed, how, and who owns them."""

    kind: str = "RemediationPolicy"
    """Always RemediationPolicy."""
    spec: RemediationPolicySpec
    """The policy."""
    status: RemediationPolicyStatus = Field(default_factory=RemediationPolicyStatus)
    """Validation and statistics."""
