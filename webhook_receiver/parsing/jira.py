"""Jira `jira:issue_updated` webhooks (POST /webhook/jira): the status change of an issue."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from aiops_operator.api import ExternalSignals

from webhook_receiver.parsing.alerts import Unrecognized
from webhook_receiver.parsing.fields import as_dict, as_list, text, timestamp

_EXPECTED = (
    'expected a Jira webhook: {"webhookEvent": "jira:issue_updated", "issue": {"key": "DATA-123", ...}, '
    '"changelog": {"items": [{"field": "status", "toString": "Done"}]}, "user": {...}}'
)
JIRA_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,30}-[1-9][0-9]{0,9}$")
_RESOLVED = frozenset({"done", "resolved", "closed"})
_ACKNOWLEDGED = frozenset({"in progress", "in review", "acknowledged"})


class JiraMeaning(StrEnum):
    RESOLVED = "Resolved"
    """A human closed the issue."""
    ACKNOWLEDGED = "Acknowledged"
    """A human picked the issue up."""
    OTHER = "Other"


@dataclass(frozen=True)
class JiraStatusChange:
    key: str
    signals: ExternalSignals
    meaning: JiraMeaning


def parse(payload: Any, now: datetime) -> JiraStatusChange | None:
    """The status change an update carries; None for updates that did not change the status."""
    doc = as_dict(payload)
    event = text(doc.get("webhookEvent"), 64)
    issue = as_dict(doc.get("issue"))
    key = text(issue.get("key"), 64)
    if event is None or key is None or not JIRA_KEY.match(key.upper()):
        raise Unrecognized(_EXPECTED)
    if event != "jira:issue_updated":
        return None
    status: str | None = None
    for item in as_list(as_dict(doc.get("changelog")).get("items"))[:100]:
        item = as_dict(item)
        if text(item.get("field"), 64) == "status" or text(item.get("fieldId"), 64) == "status":
            status = text(item.get("toString"), 64)
    if status is None:
        return None
    user = as_dict(doc.get("user"))
    actor = text(user.get("displayName"), 256) or text(user.get("name"), 256) or text(user.get("accountId"), 256)
    lowered = status.lower()
    meaning = (
        JiraMeaning.RESOLVED if lowered in _RESOLVED
        else JiraMeaning.ACKNOWLEDGED if lowered in _ACKNOWLEDGED
        else JiraMeaning.OTHER
    )
    return JiraStatusChange(
        key=key.upper(),
        signals=ExternalSignals(
            jira_status=status, jira_actor=actor, jira_status_time=timestamp(doc.get("timestamp")) or now
        ),
        meaning=meaning,
    )
