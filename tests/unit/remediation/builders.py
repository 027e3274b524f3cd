"""Small builders for remediation tests: an Incident, a policy, attempts in any phase."""

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
    FailedResource,
    Incident,
    IncidentSource,
    IncidentSpec,
    IncidentStatus,
    ObjectMeta,
    Parameter,
    PolicyRule,
    Priority,
    RemediationAction,
    RemediationAttempt,
    RemediationAttemptStatus,
    RemediationPolicy,
    RemediationPolicySpec,
    ResourceKind,
    Risk,
    Severity,
)
from aiops_operator.api.conditions import Outcome
from aiops_operator.remediation import attempt_status
from aiops_operator.remediation.attempts import attempt_spec

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
"""When the analysis finished."""


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@dataclass(frozen=True)
class Settings:
    auto_remediation_enabled: bool = True
    remediation_poll_seconds: float = 30.0


def incident(
    *,
    error_type: ErrorType = ErrorType.GATEWAY_TIMEOUT,
    source: IncidentSource = IncidentSource.AZURE_DATA_FACTORY,
    auto_heal: bool = True,
    confidence: Confidence = Confidence.HIGH,
    analyzed: bool = True,
    phase: Any = None,
) -> Incident:
    kind = ResourceKind.PIPELINE if source is IncidentSource.AZURE_DATA_FACTORY else ResourceKind.JOB
    status = IncidentStatus(phase=phase)
    if analyzed:
        status.analysis = Analysis(
            root_cause="gateway timed out", error_type=error_type, severity=Severity.HIGH, priority=Priority.P2,
            confidence=confidence, auto_heal_possible=auto_heal, provider="Rules", analyzed_time=T0,
        )
    return Incident(
        metadata=ObjectMeta(name="adf-ingest-sales-0123456789", namespace="ns", uid="uid-1"),
        spec=IncidentSpec(
            source=source,
            resource=FailedResource(kind=kind, name="ingest_sales", factory="f", resource_group="rg",
                                    subscription_id="sub"),
            run_id="run-1",
            received_time=T0 - timedelta(minutes=1),
        ),
        status=status,
    )


def rule(**overrides: Any) -> PolicyRule:
    values: dict[str, Any] = {
        "name": "gateway-timeout", "error_type": ErrorType.GATEWAY_TIMEOUT, "action": RemediationAction.RERUN_PIPELINE,
        "max_attempts": 3, "backoff": Backoff(seconds=[10, 30, 60]), "risk": Risk.LOW,
    }
    values.update(overrides)
    return PolicyRule(**values)


def policy(*rules: PolicyRule, enabled: bool = True, **spec: Any) -> RemediationPolicy:
    return RemediationPolicy(
        metadata=ObjectMeta(name="default", namespace="ns", generation=3),
        spec=RemediationPolicySpec(enabled=enabled, rules=list(rules) or [rule()], **spec),
    )


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
    inc = incident()
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
