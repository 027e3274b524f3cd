"""Every label and annotation key of the `aiops-rca.io/` prefix, and the approval command built from them.

The one place these keys are spelled: the receiver labels what it creates, the
operator labels attempts and reads the annotations humans set, the dashboard
shows the approval command. A unit test (tests/unit/api/test_labels.py) fails
when another module of the product writes an `aiops-rca.io/` key itself.
"""

from __future__ import annotations

import hashlib
from typing import Final

from aiops_operator.api.base import GROUP

# --- labels on Incidents (set by the receiver, except the Jira key) -----------------------------
SOURCE_LABEL: Final = f"{GROUP}/source"
"""Incident source (AzureDataFactory, DatabricksJob, DatabricksCluster, Generic)."""
RUN_ID_HASH_LABEL: Final = f"{GROUP}/run-id-hash"
"""First 32 hex digits of sha256(run id): run ids do not fit label values, their hash does."""
RUN_ID_ORIGIN_LABEL: Final = f"{GROUP}/run-id-origin"
"""Alert or Fingerprint."""
JIRA_KEY_LABEL: Final = f"{GROUP}/jira-key"
"""Set by the operator once the Jira issue exists; the receiver's Jira webhook finds the Incident by it."""
OCCURRENCE_LABEL: Final = f"{GROUP}/occurrence"
"""On a re-fire (occurrence 2 and later): its occurrence number, as spec.occurrence."""
PREVIOUS_INCIDENT_LABEL: Final = f"{GROUP}/previous-incident"
"""On a re-fire: the Incident of the same run it re-fired after (spec.previousIncidentRef)."""
ERROR_TYPE_LABEL: Final = f"{GROUP}/error-type"
"""Set by the operator after the analysis: with TARGET_LABEL (set by the receiver) it selects the recurrences
of one failure: `kubectl get inc -l aiops-rca.io/target-hash=...,aiops-rca.io/error-type=GatewayTimeout`."""

ROOT_LABEL: Final = f"{GROUP}/root"
"""Set by the operator on a member of a group: the name of its root Incident. A root's members are the
Incidents LISTed (or watched) by this label: membership is the record, not a counter."""
STORM_ROOT_LABEL: Final = f"{GROUP}/storm-root"
"""`true` on a storm's root Incident, which the operator creates (it stands for the shared dependency)."""

# --- labels on RemediationAttempts (set by the operator) -----------------------------------------
INCIDENT_LABEL: Final = f"{GROUP}/incident"
ATTEMPT_LABEL: Final = f"{GROUP}/attempt"
POLICY_LABEL: Final = f"{GROUP}/policy"
RULE_LABEL: Final = f"{GROUP}/rule"
TARGET_LABEL: Final = f"{GROUP}/target-hash"
"""First 32 hex digits of sha256("<source>/<pipeline, job or cluster name>"): the per-target launch budget
lists the attempts by it (names do not fit label values, their hash does). Also on Incidents (recurrence)."""

# --- the recurrence record (ConfigMaps written by the operator's retention) ----------------------
RECURRENCE_RECORD_LABEL: Final = f"{GROUP}/recurrence-record"
"""On the ConfigMaps that keep the summaries of incidents deleted by retention (value: the target hash)."""

# --- annotations humans set ----------------------------------------------------------------------
APPROVAL_ANNOTATION: Final = f"{GROUP}/approval"
"""On a RemediationAttempt: `approved` or `denied`."""
APPROVAL_REASON_ANNOTATION: Final = f"{GROUP}/approval-reason"
APPROVED_BY_ANNOTATION: Final = f"{GROUP}/approved-by"
"""Optional claim of who decided (the API server's audit log has the authenticated user)."""
RESOLVE_ANNOTATION: Final = f"{GROUP}/resolve"
"""On an Incident: `kubectl annotate incident <name> aiops-rca.io/resolve="<note>"` resolves it by hand."""
RESOLVED_BY_ANNOTATION: Final = f"{GROUP}/resolved-by"
"""Optional claim of who resolved it."""
BUDGET_RESET_ANNOTATION: Final = f"{GROUP}/budget-reset"
"""On a RemediationPolicy: an RFC 3339 time; launches before it no longer count against its budgets."""


def target_hash(source: str, name: str) -> str:
    """The value of TARGET_LABEL for a failing resource."""
    return hashlib.sha256(f"{source}/{name}".encode()).hexdigest()[:32]


def budget_reset_command(policy: str, namespace: str) -> str:
    """The one kubectl command that resets a policy's launch budgets now."""
    return (f"kubectl annotate rp {policy} -n {namespace} "
            f"{BUDGET_RESET_ANNOTATION}=$(date -u +%Y-%m-%dT%H:%M:%SZ) --overwrite")


def approve_command(attempt: str, namespace: str, decision: str = "approved") -> str:
    """The one kubectl command that approves (or, with `decision="denied"`, denies) a waiting attempt."""
    return f"kubectl annotate remediationattempt {attempt} -n {namespace} {APPROVAL_ANNOTATION}={decision}"
