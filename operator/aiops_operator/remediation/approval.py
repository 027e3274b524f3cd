"""Approving or denying a RemediationAttempt with kubectl (the Slack buttons' contract is `api.approval`).

    kubectl annotate remediationattempt <name> aiops-rca.io/approval=approved
    kubectl annotate remediationattempt <name> aiops-rca.io/approval=denied \\
        aiops-rca.io/approval-reason="not during month-end close"

**Who may approve is decided by RBAC**: whoever may `patch`
remediationattempts in the namespace can approve or deny. Grant that verb
only to the people (or groups) who should.

**What is and is not proven about who approved.** The annotation's value is
free text anyone with patch rights can write, so it proves nothing about
identity. The API server records, in `metadata.managedFields`, the *field
manager* that last set the annotation (`kubectl-annotate`, `kubectl`, or any
name a client chooses with `--field-manager`), the operation and the time;
the time is the server's and trustworthy, the manager name is chosen by the
client and only says which tool was used. `by` is therefore recorded as the
optional `aiops-rca.io/approved-by` annotation (a claim, marked as such) or,
when absent, the field manager. The authenticated user who made the change
is only in the API server's audit log (`user.username` of the `patch` on
the attempt at that time): that is where to look when identity must be
proven. Slack approvals are different: the receiver verifies Slack's request
signature, so the Slack user id it records is Slack's word, not a claim.
Who may click is the receiver's `AIOPS_RCA_RECEIVER_SLACK_APPROVERS` (Slack
user IDs); unset, anyone who can click in the channel decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiops_operator.api import Approval, ApprovalChannel, ApprovalDecision
from aiops_operator.api.labels import APPROVAL_ANNOTATION as ANNOTATION
from aiops_operator.api.labels import APPROVAL_REASON_ANNOTATION as REASON_ANNOTATION
from aiops_operator.api.labels import APPROVED_BY_ANNOTATION as BY_ANNOTATION
from aiops_operator.api.sanitize import clean_text

_APPROVE = frozenset({"approved", "approve", "yes", "true"})
_DENY = frozenset({"denied", "deny", "rejected", "reject", "no", "false"})


def parse_decision(value: str | None) -> ApprovalDecision | None:
    """`approved` / `denied` (and obvious synonyms), case-insensitive; anything else is no decision."""
    word = (value or "").strip().lower()
    if word in _APPROVE:
        return ApprovalDecision.APPROVED
    if word in _DENY:
        return ApprovalDecision.DENIED
    return None


def decision_problem(annotations: Mapping[str, str]) -> str | None:
    """A sentence for a Warning Event when the approval annotation is set but unreadable."""
    value = annotations.get(ANNOTATION)
    if value is None or parse_decision(value) is not None:
        return None
    return f"{ANNOTATION}={clean_text(value, 64)!r} is neither 'approved' nor 'denied'; ignored"


def _sets_annotation(entry: Mapping[str, Any]) -> bool:
    fields = entry.get("fieldsV1") or {}
    annotations = ((fields.get("f:metadata") or {}).get("f:annotations")) or {}
    return f"f:{ANNOTATION}" in annotations


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def annotation_writer(managed_fields: Any) -> tuple[str | None, datetime | None]:
    """(field manager, server time) of the managedFields entry that set the approval annotation."""
    if not isinstance(managed_fields, list):
        return None, None
    entries = [e for e in managed_fields if isinstance(e, Mapping) and _sets_annotation(e)]
    if not entries:
        return None, None
    latest = max(entries, key=lambda e: str(e.get("time") or ""))
    manager = latest.get("manager")
    return (str(manager) if manager else None), _parse_time(latest.get("time"))


def observe_approval(body: Mapping[str, Any], now: datetime) -> Approval | None:
    """The decision a human annotated on a RemediationAttempt object (raw API body), if any.

    `time` is when the API server recorded the annotation (managedFields),
    else `now`; `by` is the claimed approver (marked "(claimed)") or the
    field manager that wrote the annotation.
    """
    metadata = body.get("metadata") or {}
    annotations: Mapping[str, str] = metadata.get("annotations") or {}
    decision = parse_decision(annotations.get(ANNOTATION))
    if decision is None:
        return None
    manager, when = annotation_writer(metadata.get("managedFields"))
    claimed = clean_text(annotations.get(BY_ANNOTATION) or "", 200).strip()
    if claimed:
        by = f"{claimed} (claimed; field manager {manager or 'unknown'})"
    else:
        by = f"field manager {manager}" if manager else "unknown (kubectl)"
    reason = clean_text(annotations.get(REASON_ANNOTATION) or "", 1024).strip() or None
    return Approval(decision=decision, by=by[:256], time=when or now, via=ApprovalChannel.KUBECTL, reason=reason)
