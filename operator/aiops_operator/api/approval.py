"""The Slack approval buttons' wire contract, shared by the operator (which posts them) and the receiver.

The operator's message carries the buttons; the receiver verifies Slack's
signature on a click, reads them back and records an `Approval`. Both sides
import this module, so the action ids and the value format cannot drift.
What the message shows (the attempt waiting, the decision taken) is read
from the Incident's status here too.
"""

from __future__ import annotations

import re
from datetime import datetime

from aiops_operator.api.base import find_condition
from aiops_operator.api.conditions import IncidentCondition, RemediatedReason
from aiops_operator.api.history import ATTEMPT_APPROVED, ATTEMPT_DENIED
from aiops_operator.api.incident import IncidentStatus
from aiops_operator.api.phase import TERMINAL_PHASES
from aiops_operator.api.remediation import Approval, ApprovalChannel, ApprovalDecision
from aiops_operator.api.sanitize import clean_text

SLACK_APPROVE_ACTION = "aiops_approve"
"""`action_id` of the Approve button on an incident's Slack message."""
SLACK_DENY_ACTION = "aiops_deny"
"""`action_id` of the Deny button."""
SLACK_ACTIONS = {SLACK_APPROVE_ACTION: ApprovalDecision.APPROVED, SLACK_DENY_ACTION: ApprovalDecision.DENIED}

_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def slack_button_value(namespace: str, attempt: str) -> str:
    """The buttons' `value`: which attempt they decide (`<namespace>/<attempt name>`; nothing secret)."""
    return f"{namespace}/{attempt}"


def parse_slack_button_value(value: str) -> tuple[str, str] | None:
    """(namespace, attempt name) from a button's value, or None when it is not one of ours."""
    namespace, _, name = value.partition("/")
    if not _DNS_NAME.match(namespace) or len(namespace) > 63 or not _DNS_NAME.match(name) or len(name) > 253:
        return None
    return namespace, name


def slack_user(user_id: str, name: str | None) -> str:
    """How a Slack user is recorded in `approval.by`: name and Slack's user id (the id is what Slack vouches for)."""
    who = clean_text(name or "", 120).strip()
    return f"{who} (Slack user {user_id})" if who else f"Slack user {user_id}"


def slack_approval(decision: ApprovalDecision, user: str, time: datetime, reason: str | None = None) -> Approval:
    """An approval from a Slack button, after the receiver verified Slack's request signature."""
    return Approval(decision=decision, by=clean_text(user, 256), time=time, via=ApprovalChannel.SLACK,
                    reason=clean_text(reason, 1024) if reason else None)


def attempt_awaiting_approval(status: IncidentStatus) -> str | None:
    """The name of the attempt waiting for a human's approval right now, if one is."""
    remediated = find_condition(status.conditions, IncidentCondition.REMEDIATED)
    rem = status.remediation
    if status.phase in TERMINAL_PHASES or remediated is None or remediated.reason != RemediatedReason.AWAITING_APPROVAL:
        return None
    return rem.current_attempt if rem is not None and rem.current_attempt else None


def approval_decision(status: IncidentStatus) -> str | None:
    """The latest approval decision, as the history tells it ('Attempt 1/2 (...) approved by ... via Slack at ...')."""
    for entry in reversed(status.history):
        if entry.action in (ATTEMPT_APPROVED, ATTEMPT_DENIED):
            return entry.message
    return None
