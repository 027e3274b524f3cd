"""Enrichment: what the source system says about a failure beyond the alert.

Each enricher turns an Incident into an `Enrichment`; failures are recorded in
`Enrichment.failed_reason` (never raised), so analysis proceeds with what is known.
"""

from __future__ import annotations

from typing import Protocol

from aiops_operator.api import Enrichment, Incident


class Enricher(Protocol):
    def wants(self, incident: Incident) -> bool:
        """Whether this enricher has something to add for the incident."""
        ...

    async def enrich(self, incident: Incident) -> Enrichment:
        """The enrichment; a failure is returned with `failed_reason` set, not raised."""
        ...
