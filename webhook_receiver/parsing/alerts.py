"""What every alert parser returns, and how a failure without a run id gets a stable one."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from aiops_operator.api import IncidentSource, IncidentSpec

from webhook_receiver.settings import DEFAULT_BENIGN_TERMINATION_CODES


class Unrecognized(ValueError):
    """Valid JSON that is not a payload this endpoint understands; the message says what was expected."""


@dataclass(frozen=True)
class ParseOptions:
    """Knobs the parsers need from the settings."""

    max_message_chars: int = 4096
    fingerprint_bucket_seconds: int = 3600
    benign_termination_codes: frozenset[str] = frozenset(DEFAULT_BENIGN_TERMINATION_CODES)
    custom_payload_fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Where a custom JSON alert payload keeps each field: mapping key → JSON pointer or dotted path."""


@dataclass
class ParsedAlert:
    """One payload's worth of work: Incidents to create, resolved signals to record, and what was skipped."""

    incidents: list[IncidentSpec] = field(default_factory=list)
    """Failures: each becomes an Incident (or is a duplicate of one)."""
    resolved: list[IncidentSpec] = field(default_factory=list)
    """Alerts whose monitor condition is Resolved: recorded on the existing Incident, never created."""
    resolved_time: datetime | None = None
    """When the alert source says the condition resolved."""
    ignored: list[str] = field(default_factory=list)
    """Why parts of the payload created nothing (success events, benign codes)."""


def fingerprint_run_id(
    source: IncidentSource, resource: str, error_code: str | None, when: datetime, bucket_seconds: int
) -> str:
    """Stable stand-in run id for alerts that carry none: same failure, same hour (bucket) → same id."""
    bucket = int(when.astimezone(UTC).timestamp()) // bucket_seconds
    raw = f"{source.value}\0{resource}\0{error_code or ''}\0{bucket}"
    return "fp-" + hashlib.sha256(raw.encode()).hexdigest()[:24]
