"""Deterministic object names: creating the same thing twice is a 409, never a duplicate."""

from __future__ import annotations

import hashlib
import re

from aiops_operator.api.incident import IncidentSource

MAX_INCIDENT_NAME = 52
"""Leaves room for '-<n>' attempt suffixes within the 63-character label-value limit."""

_SOURCE_PREFIX = {
    IncidentSource.AZURE_DATA_FACTORY: "adf",
    IncidentSource.DATABRICKS_JOB: "dbj",
    IncidentSource.DATABRICKS_CLUSTER: "dbc",
    IncidentSource.GENERIC: "gen",
}
_HASH_CHARS = 10


def slugify(text: str, max_len: int) -> str:
    """Lowercase DNS-label-safe slug of `text` (may be empty)."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_len].rstrip("-")


def incident_name(source: IncidentSource, run_id: str, resource_name: str) -> str:
    """Name of the Incident for one failed run: '<src>-<slug of resource>-<hash>'.

    The hash covers only (source, run id), so the same failure always maps to
    the same name whatever else the alerts say; the slug makes it readable.
    """
    digest = hashlib.sha256(f"{source.value}\0{run_id}".encode()).hexdigest()[:_HASH_CHARS]
    prefix = _SOURCE_PREFIX[source]
    room = MAX_INCIDENT_NAME - len(prefix) - len(digest) - 2
    slug = slugify(resource_name, room)
    return f"{prefix}-{slug}-{digest}" if slug else f"{prefix}-{digest}"


def occurrence_name(first: str, occurrence: int) -> str:
    """Name of occurrence `occurrence` of a run's Incident: the first keeps the deterministic name, a re-fire
    after the previous one was resolved appends `-r<n>` (at most 56 characters, attempts' `-<n>` still fit)."""
    return first if occurrence <= 1 else f"{first}-r{occurrence}"


def attempt_name(incident: str, attempt: int) -> str:
    """Name of attempt `attempt` (1-based) of an Incident."""
    return f"{incident}-{attempt}"


def idempotency_key(incident_uid: str, attempt: int) -> str:
    """Stable identity of one attempt for external systems that deduplicate (max 64 chars)."""
    return hashlib.sha256(f"{incident_uid}/{attempt}".encode()).hexdigest()[:48]


def dashboard_incident_url(dashboard_url: str, namespace: str, name: str) -> str:
    """Deep link to one incident in the dashboard (its front end routes `#/incident/<namespace>/<name>`)."""
    return f"{dashboard_url.rstrip('/')}/#/incident/{namespace}/{name}"
