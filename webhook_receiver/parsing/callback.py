"""Logic App / HTTP playbook callbacks (POST /api/remediation-callback)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiops_operator.api import PlaybookCallback

from webhook_receiver.parsing.alerts import Unrecognized
from webhook_receiver.parsing.fields import as_dict, text

_EXPECTED = (
    'expected a remediation callback: {"ticket_id": "<incident name>", "attempt_number": 1, '
    '"status": "Succeeded", "success": true, "remediation_run_id": "...", "error_message": "..."}'
)
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_TRUE = frozenset({"true", "yes", "1", "succeeded", "success"})
_FALSE = frozenset({"false", "no", "0", "failed", "failure"})


@dataclass(frozen=True)
class Callback:
    ticket: str
    """Incident name (or a Jira key that identifies it)."""
    attempt_number: int
    result: PlaybookCallback


def _attempt_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 6:
        number = int(value.strip())
    else:
        return None
    return number if 1 <= number <= 1000 else None


def _success(value: Any, status: str | None) -> bool | None:
    if isinstance(value, bool):
        return value
    raw = (text(value, 16) or status or "").lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    return None


def parse(payload: Any, now: datetime, max_message_chars: int = 4096) -> Callback:
    doc = as_dict(payload)
    ticket = text(doc.get("ticket_id") or doc.get("incident") or doc.get("incident_name"), 253)
    number = _attempt_number(doc.get("attempt_number", 1))
    status = text(doc.get("status"), 64)
    success = _success(doc.get("success"), status)
    if ticket is None or number is None or success is None or len(ticket) > 253:
        raise Unrecognized(_EXPECTED)
    if not _DNS_NAME.match(ticket) and not re.match(r"^[A-Z][A-Z0-9_]*-\d+$", ticket):
        raise Unrecognized(f"ticket_id {ticket!r} is neither an Incident name nor a Jira key; {_EXPECTED}")
    return Callback(
        ticket=ticket,
        attempt_number=number,
        result=PlaybookCallback(
            status=status or ("Succeeded" if success else "Failed"),
            success=success,
            remediation_run_id=text(doc.get("remediation_run_id") or doc.get("run_id"), 256),
            error_message=text(doc.get("error_message"), max_message_chars),
            received_time=now,
        ),
    )
