"""Prometheus metrics of the operator, served on /metrics next to /healthz."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
RECONCILES = Counter(
    "aiops_rca_reconciles_total", "Incident reconciles, by result (ok, conflict, error).", ["result"],
    registry=REGISTRY,
)
STATUS_WRITES = Counter(
    "aiops_rca_status_writes_total", "Incident status patches written.", registry=REGISTRY
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
