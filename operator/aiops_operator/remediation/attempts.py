"""Building a RemediationAttempt for attempt n of an Incident (pure).

The name is deterministic (`<incident>-<n>`), so creating attempt n twice is a
409 the reconcile loop adopts instead of a second re-run; the owner reference
makes Kubernetes delete attempts with their Incident; the idempotency key is
derived from the Incident's uid and n, so it is the same after any restart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiops_operator.api import (
    API_VERSION,
    Incident,
    PolicyRule,
    RemediationAttemptSpec,
    Risk,
    attempt_name,
    idempotency_key,
)
from aiops_operator.api.labels import (
    ATTEMPT_LABEL,
    INCIDENT_LABEL,
    POLICY_LABEL,
    RULE_LABEL,
    TARGET_LABEL,
    target_hash,
)

LABEL_MAX = 63


def approval_required(rule: PolicyRule) -> bool:
    """Explicit `approvalRequired` wins; unset means required for High risk only."""
    if rule.approval_required is not None:
        return rule.approval_required
    return rule.risk is Risk.HIGH


def incident_identity(incident: Incident) -> str:
    """What the idempotency key is derived from: the uid (stable for the object's life).

    Without a uid (never the case for objects read from the API server) the
    namespaced name stands in, so unit tests and dry tools stay deterministic.
    """
    meta = incident.metadata
    return meta.uid or f"{meta.namespace or ''}/{meta.name}"


def attempt_spec(
    incident: Incident, policy: str | None, rule: PolicyRule, attempt: int, not_before: datetime,
) -> RemediationAttemptSpec:
    """The immutable spec of attempt `attempt`, from the rule that allows it."""
    return RemediationAttemptSpec(
        incident_ref=incident.metadata.name,
        attempt=attempt,
        action=rule.action,
        parameters=list(rule.parameters),
        policy=policy,
        rule=rule.name,
        not_before_time=not_before,
        dry_run=rule.dry_run,
        approval_required=approval_required(rule),
        approval_timeout_seconds=rule.approval_timeout_seconds,
        timeout_seconds=rule.timeout_seconds,
        idempotency_key=idempotency_key(incident_identity(incident), attempt),
    )


def _label(value: str | None) -> str | None:
    if not value:
        return None
    return value[:LABEL_MAX].rstrip("-_.") or None


def policy_label(policy: str) -> str | None:
    """The POLICY_LABEL value of attempts under `policy` (names longer than a label value are cut)."""
    return _label(policy)


def target_for(incident: Incident) -> str:
    """The TARGET_LABEL value of the incident's failing pipeline, job or cluster (per-target budgets)."""
    return target_hash(str(incident.spec.source), incident.spec.resource.name)


def attempt_body(incident: Incident, spec: RemediationAttemptSpec) -> dict[str, Any]:
    """The object to create: name `<incident>-<n>`, labels, and a controller owner reference to the Incident."""
    meta = incident.metadata
    if not meta.uid:
        raise ValueError(f"Incident {meta.name} has no uid: read it from the API server before creating attempts")
    labels = {
        INCIDENT_LABEL: _label(meta.name),
        ATTEMPT_LABEL: str(spec.attempt),
        POLICY_LABEL: _label(spec.policy),
        RULE_LABEL: _label(spec.rule),
        TARGET_LABEL: target_for(incident),
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "RemediationAttempt",
        "metadata": {
            "name": attempt_name(meta.name, spec.attempt),
            "namespace": meta.namespace,
            "labels": {k: v for k, v in labels.items() if v},
            "ownerReferences": [{
                "apiVersion": API_VERSION,
                "kind": "Incident",
                "name": meta.name,
                "uid": meta.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }],
        },
        "spec": spec.to_wire(),
    }
