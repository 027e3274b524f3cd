"""The builders the unit tests share: one Incident builder (and a preset for remediation), analyses,
policies and rules, RemediationAttempts in any phase, approvals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiops_operator.api import (
    Analysis,
    Approval,
    ApprovalChannel,
    ApprovalDecision,
    AttemptPhase,
    Backoff,
    Confidence,
    ErrorType,
    Incident,
    IncidentSource,
    ObjectMeta,
    Parameter,
    PolicyRule,
    Priority,
    RemediationAction,
    RemediationAttempt,
    RemediationAttemptStatus,
    RemediationPolicy,
    Risk,
    Severity,
)
from aiops_operator.api.base import API_VERSION
from aiops_operator.api.conditions import Outcome
from aiops_operator.api.naming import incident_name
from aiops_operator.remediation import attempt_status
from aiops_operator.remediation.attempts import attempt_spec

from devtools.samples import sample_incident

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
FIRED = datetime(2026, 11, 23, 6, 58, 24, tzinfo=UTC)
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
"""When the remediation tests' analysis finished (`remediable()`, `attempt()`, `at()`)."""


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


ADF_FACTORY = {"factory": "adf-contoso-prod", "resourceGroup": "rg-data", "subscriptionId": "sub-1"}
"""Where an ADF incident's pipeline lives: what a re-run needs (remediation.preflight)."""


def incident(source: str = "AzureDataFactory", name: str = "pl_copy_sales_daily", *,
             resource: dict[str, Any] | None = None, object_name: str = "adf-x-1", namespace: str = "ns",
             uid: str = "uid-1", run_id: str = "run-1", received: datetime = FIRED, fired: datetime | None = FIRED,
             message: str | None = "Execution Timeout Expired", activity: str | None = None,
             **status: Any) -> Incident:
    """An Incident as the receiver creates it (spec), with `status` fields as given (by their JSON names)."""
    where = ADF_FACTORY if source == "AzureDataFactory" else {}
    spec: dict[str, Any] = {
        "source": source,
        "resource": resource if resource is not None else {"kind": "Pipeline", "name": name, **where},
        "runId": run_id,
        "receivedTime": received.isoformat(),
    }
    if fired is not None:
        spec["alert"] = {"firedTime": fired.isoformat()}
    if message is not None:
        spec["error"] = {"message": message, "activity": activity}
    return Incident.model_validate({
        "metadata": {"name": object_name, "namespace": namespace, "uid": uid, "generation": 1,
                     "resourceVersion": "10"},
        "spec": spec,
        "status": status,
    })


def incident_body(source: IncidentSource, resource: dict[str, Any], run_id: str, *, received: str,
                  alert: dict[str, Any] | None = None, error: dict[str, Any] | None = None,
                  **spec: Any) -> dict[str, Any]:
    """The JSON of a new Incident as the receiver would create it (named as it names them), for the API server;
    `spec` adds other spec fields by their JSON names."""
    fields: dict[str, Any] = {"source": str(source), "resource": resource, "runId": run_id}
    if alert is not None:
        fields["alert"] = alert
    if error is not None:
        fields["error"] = error
    return {
        "apiVersion": API_VERSION, "kind": "Incident",
        "metadata": {"name": incident_name(source, run_id, str(resource["name"]))},
        "spec": {**fields, "receivedTime": received, **spec},
    }


WATCHED_AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
"""When the dashboard tests' incidents were sampled (`watched_incident()`)."""


def watched_incident(i: int, rv: str, phase: str = "Remediating", ns: str = "ns", *,
                     root_cause: str | None = None) -> dict[str, Any]:
    """The JSON of the dashboard's `i`-th sample incident as a watch or list delivers it (at `rv`)."""
    s = sample_incident(i, WATCHED_AT, phase=phase, root_cause=root_cause)
    return {**s.body, "metadata": {**s.body["metadata"], "namespace": ns, "resourceVersion": rv}, "status": s.status}


def remediable(
    *,
    error_type: ErrorType = ErrorType.GATEWAY_TIMEOUT,
    source: IncidentSource = IncidentSource.AZURE_DATA_FACTORY,
    auto_heal: bool = True,
    confidence: Confidence = Confidence.HIGH,
    analyzed: bool = True,
    phase: Any = None,
) -> Incident:
    """`incident()` as remediation finds it: analyzed at T0, the pipeline (or job) `ingest_sales`."""
    kind = "Pipeline" if source is IncidentSource.AZURE_DATA_FACTORY else "Job"
    found = Analysis(
        root_cause="gateway timed out", error_type=error_type, severity=Severity.HIGH, priority=Priority.P2,
        confidence=confidence, auto_heal_possible=auto_heal, provider="Rules", analyzed_time=T0,
    ) if analyzed else None
    return incident(
        str(source), resource={"kind": kind, "name": "ingest_sales", "factory": "f", "resourceGroup": "rg",
                               "subscriptionId": "sub"},
        object_name="adf-ingest-sales-0123456789", received=T0 - timedelta(minutes=1), fired=None, message=None,
        phase=phase, analysis=found,
    )


def analysis(error_type: ErrorType = ErrorType.GATEWAY_TIMEOUT, *, healable: bool = True,
             priority: Priority = Priority.P3, fallback: str | None = None) -> Analysis:
    return Analysis(
        root_cause="The SQL source did not answer in time.", error_type=error_type, severity=Severity.MEDIUM,
        priority=priority, confidence=Confidence.HIGH, recommendations=["Re-run the pipeline."],
        auto_heal_possible=healable, provider="Rules", fallback_reason=fallback,
    )


@dataclass(frozen=True)
class Settings:
    """The `decision.DecisionSettings` the remediation tests decide with."""

    auto_remediation_enabled: bool = True
    remediation_poll_seconds: float = 30.0


def rule(**overrides: Any) -> PolicyRule:
    values: dict[str, Any] = {
        "name": "gateway-timeout", "error_type": ErrorType.GATEWAY_TIMEOUT, "action": RemediationAction.RERUN_PIPELINE,
        "max_attempts": 3, "backoff": Backoff(seconds=[10, 30, 60]), "risk": Risk.LOW,
    }
    values.update(overrides)
    return PolicyRule(**values)


def policy(*rules: PolicyRule, name: str = "default", priority: int = 0, sources: list[str] | None = None,
           patterns: list[str] | None = None, rule_bodies: list[dict[str, Any]] | None = None,
           routing: dict[str, Any] | None = None, created: str = "2026-01-01T00:00:00Z",
           enabled: bool = True, **spec: Any) -> RemediationPolicy:
    """A policy with `rules` (default: one `rule()`) or rules as JSON (`rule_bodies`); `spec` adds
    other spec fields by their Python names (mode, budgets, freeze_windows...)."""
    body: dict[str, Any] = {
        "enabled": enabled, "priority": priority,
        "selector": {"sources": sources or [], "namePatterns": patterns or []},
        "rules": rule_bodies if rule_bodies is not None else [
            r.model_dump(by_alias=True, exclude_none=True) for r in rules or (rule(),)],
    }
    if routing is not None:
        body["routing"] = routing
    return RemediationPolicy.model_validate({
        "metadata": {"name": name, "namespace": "ns", "creationTimestamp": created, "generation": 3},
        "spec": {**body, **spec},
    })


def params(**values: str) -> list[Parameter]:
    return [Parameter(name=k, value=v) for k, v in values.items()]


def attempt(
    n: int,
    phase: AttemptPhase | None = None,
    *,
    the_rule: PolicyRule | None = None,
    not_before: datetime | None = None,
    created: datetime | None = None,
    started: datetime | None = None,
    completed: datetime | None = None,
    outcome: Outcome | None = None,
    approval: Approval | None = None,
    failure: str | None = None,
) -> RemediationAttempt:
    r = the_rule or rule()
    nb = not_before or at(10)
    inc = remediable()
    spec = attempt_spec(inc, "default", r, n, nb)
    a = RemediationAttempt(
        metadata=ObjectMeta(name=f"{inc.metadata.name}-{n}", namespace="ns", generation=1,
                            creation_timestamp=created or nb),
        spec=spec,
        status=RemediationAttemptStatus(phase=phase, start_time=started, approval=approval,
                                        failure_reason=failure),
    )
    if outcome is not None:
        done = completed or at(100)
        status = attempt_status.finished(a, outcome, failure or f"ended: {outcome}", done)
        a = a.model_copy(update={"status": status.model_copy(update={"start_time": started})})
    return a


def approval(decision: ApprovalDecision = ApprovalDecision.APPROVED, by: str = "alice",
             via: ApprovalChannel = ApprovalChannel.KUBECTL) -> Approval:
    return Approval(decision=decision, by=by, time=at(20), via=via)
