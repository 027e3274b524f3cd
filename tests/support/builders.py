"""The Incident builder the unit tests share, with the analyses and policies they pair it with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiops_operator.api import (
    Analysis,
    Confidence,
    ErrorType,
    Incident,
    Priority,
    RemediationPolicy,
    Severity,
)

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
FIRED = datetime(2026, 11, 23, 6, 58, 24, tzinfo=UTC)


ADF_FACTORY = {"factory": "adf-contoso-prod", "resourceGroup": "rg-data", "subscriptionId": "sub-1"}
"""Where an ADF incident's pipeline lives: what a re-run needs (remediation.preflight)."""


def incident(source: str = "AzureDataFactory", name: str = "pl_copy_sales_daily", *,
             resource: dict[str, Any] | None = None, **status: Any) -> Incident:
    where = ADF_FACTORY if source == "AzureDataFactory" else {}
    return Incident.model_validate({
        "metadata": {"name": "adf-x-1", "namespace": "ns", "uid": "uid-1", "generation": 1,
                     "resourceVersion": "10"},
        "spec": {
            "source": source,
            "resource": resource if resource is not None else {"kind": "Pipeline", "name": name, **where},
            "runId": "run-1",
            "alert": {"firedTime": FIRED.isoformat()},
            "error": {"message": "Execution Timeout Expired"},
            "receivedTime": FIRED.isoformat(),
        },
        "status": status,
    })


def analysis(error_type: ErrorType = ErrorType.GATEWAY_TIMEOUT, *, healable: bool = True,
             priority: Priority = Priority.P3, fallback: str | None = None) -> Analysis:
    return Analysis(
        root_cause="The SQL source did not answer in time.", error_type=error_type, severity=Severity.MEDIUM,
        priority=priority, confidence=Confidence.HIGH, recommendations=["Re-run the pipeline."],
        auto_heal_possible=healable, provider="Rules", fallback_reason=fallback,
    )


def policy(name: str = "default", *, priority: int = 0, sources: list[str] | None = None,
           patterns: list[str] | None = None, rules: list[dict[str, Any]] | None = None,
           routing: dict[str, Any] | None = None, created: str = "2026-01-01T00:00:00Z",
           enabled: bool = True) -> RemediationPolicy:
    spec: dict[str, Any] = {
        "enabled": enabled, "priority": priority,
        "selector": {"sources": sources or [], "namePatterns": patterns or []},
        "rules": rules if rules is not None else [
            {"name": "gateway-timeout", "errorType": "GatewayTimeout", "action": "RerunPipeline", "maxAttempts": 3},
        ],
    }
    if routing is not None:
        spec["routing"] = routing
    return RemediationPolicy.model_validate({
        "metadata": {"name": name, "namespace": "ns", "creationTimestamp": created}, "spec": spec,
    })
