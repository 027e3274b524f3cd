"""Prometheus metrics of the operator, served on /metrics next to /healthz."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from aiops_operator.api import IncidentStatus, RemediationAttempt, RemediationAttemptStatus

REGISTRY = CollectorRegistry(auto_describe=True)

INCIDENTS = Gauge(
    "aiops_rca_incidents",
    "Incidents this operator watches, by source, error type and phase.",
    ["source", "error_type", "phase"],
    registry=REGISTRY,
)
INCIDENTS_ANALYZED = Counter(
    "aiops_rca_incidents_analyzed_total",
    "Analyses completed, by source, error type and provider.",
    ["source", "error_type", "provider"],
    registry=REGISTRY,
)
ANALYSIS_SECONDS = Histogram(
    "aiops_rca_analysis_duration_seconds",
    "Time one analysis took (LLM or rules).",
    ["provider"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60),
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "aiops_rca_llm_tokens_total", "LLM tokens spent, by kind (prompt, completion).", ["kind"], registry=REGISTRY
)
LLM_FAILURES = Counter(
    "aiops_rca_llm_fallbacks_total",
    "Analyses where the LLM's answer was unusable and the rule-based one was used.",
    registry=REGISTRY,
)
ENRICHMENT_FAILURES = Counter(
    "aiops_rca_enrichment_failures_total", "Enrichment calls that failed, by source.", ["source"], registry=REGISTRY
)
NOTIFICATIONS = Counter(
    "aiops_rca_notifications_total", "Slack/Jira calls that posted or edited something.", ["channel", "kind"],
    registry=REGISTRY,
)
NOTIFICATION_FAILURES = Counter(
    "aiops_rca_notification_failures_total", "Slack/Jira calls that failed (retried).", ["channel"],
    registry=REGISTRY,
)
NOTIFICATIONS_RATE_LIMITED = Counter(
    "aiops_rca_notifications_rate_limited_total",
    "Slack/Jira calls held back by a 429's Retry-After (retried once it elapsed, never dropped).", ["channel"],
    registry=REGISTRY,
)
RECONCILES = Counter(
    "aiops_rca_reconciles_total", "Incident reconciles, by result (ok, conflict, error).", ["result"],
    registry=REGISTRY,
)
STATUS_WRITES = Counter(
    "aiops_rca_status_writes_total", "Incident status patches written.", registry=REGISTRY
)
LEADER = Gauge(
    "aiops_rca_operator_leader",
    "1 while this replica holds the leader Lease (and acts), else 0; labelled with its Lease holder identity.",
    ["identity"], registry=REGISTRY,
)
API_REQUESTS = Counter(
    "aiops_rca_operator_api_requests_total",
    "Requests to the API server by our own clients (not Kopf's watches), by client (operator, election) and verb.",
    ["client", "verb"], registry=REGISTRY,
)
LEADER_TRANSITIONS = Counter(
    "aiops_rca_operator_leader_transitions_total",
    "Changes of the Lease holder this replica saw (including to or from itself).",
    registry=REGISTRY,
)

REMEDIATION_ATTEMPTS = Counter(
    "aiops_rca_remediation_attempts_total", "RemediationAttempts created, by action.", ["action"], registry=REGISTRY
)
REMEDIATION_OUTCOMES = Counter(
    "aiops_rca_remediation_outcomes_total",
    "Attempts that ended, by action, error type and outcome (succeeded, failed, timed_out, skipped).",
    ["action", "error_type", "outcome"], registry=REGISTRY,
)
APPROVALS = Counter(
    "aiops_rca_approvals_total", "Approval decisions recorded, by decision and channel (Kubectl, Slack).",
    ["decision", "channel"], registry=REGISTRY,
)
TIME_TO_RESOLVE = Histogram(
    "aiops_rca_time_to_resolve_seconds", "MTTR of resolved incidents (first alert to resolved), by resolved-by.",
    ["resolved_by"], buckets=(30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400), registry=REGISTRY,
)
ESCALATIONS = Counter(
    "aiops_rca_incidents_escalated_total", "Incidents escalated to a human, by reason.", ["reason"],
    registry=REGISTRY,
)
EXECUTOR_FAILURES = Counter(
    "aiops_rca_executor_failures_total", "Executor calls (launch, poll) that failed, by action and kind"
    " (transient: retried; terminal: the attempt failed).", ["action", "kind"], registry=REGISTRY,
)


class PhaseTracker:
    """Keeps the incidents gauge right: remembers each incident's labels, moves it on change, drops it on delete."""

    def __init__(self) -> None:
        self._labels: dict[str, tuple[str, str, str]] = {}

    def observe(self, uid: str, source: str, error_type: str, phase: str) -> None:
        labels = (source, error_type, phase)
        old = self._labels.get(uid)
        if old == labels:
            return
        if old is not None:
            INCIDENTS.labels(*old).dec()
        INCIDENTS.labels(*labels).inc()
        self._labels[uid] = labels

    def forget(self, uid: str) -> None:
        old = self._labels.pop(uid, None)
        if old is not None:
            INCIDENTS.labels(*old).dec()


_OUTCOME_LABELS = {"Succeeded": "succeeded", "Failed": "failed", "TimedOut": "timed_out", "Skipped": "skipped"}


def observe_outcome(before: IncidentStatus, after: IncidentStatus) -> None:
    """After an Incident status write: count a new resolution (MTTR) or escalation, once per transition."""
    if after.resolution is not None and before.resolution is None:
        TIME_TO_RESOLVE.labels(after.resolution.resolved_by.value).observe(after.resolution.mttr_seconds)
    if after.phase is not None and after.phase.value == "Escalated" and (
            before.phase is None or before.phase.value != "Escalated"):
        from aiops_operator.api import find_condition

        escalated = find_condition(after.conditions, "Escalated")
        ESCALATIONS.labels(escalated.reason if escalated else "Unknown").inc()


def observe_attempt_write(attempt: RemediationAttempt, written: RemediationAttemptStatus,
                          error_type: str) -> None:
    """After an attempt status write: count a recorded approval and a terminal outcome, once each."""
    before = attempt.status
    if written.approval is not None and (before.approval is None or not _has_approved(before)) \
            and _has_approved(written):
        APPROVALS.labels(written.approval.decision.value, written.approval.via.value).inc()
    phase = written.phase.value if written.phase else ""
    if phase in _OUTCOME_LABELS and (before.phase is None or before.phase.value != phase):
        REMEDIATION_OUTCOMES.labels(attempt.spec.action.value, error_type, _OUTCOME_LABELS[phase]).inc()


def _has_approved(status: RemediationAttemptStatus) -> bool:
    from aiops_operator.api import ConditionStatus, find_condition

    found = find_condition(status.conditions, "Approved")
    return found is not None and found.status is not ConditionStatus.UNKNOWN


INCIDENTS_DELETED = Counter(
    "aiops_rca_incidents_deleted_total",
    "Resolved incidents deleted by retention (their summary kept in the recurrence record).",
    registry=REGISTRY,
)
