"""One incident's recurrence history: the watched incidents (index) plus the deleted ones (record)."""

from __future__ import annotations

import logging

from aiops_operator.api import Incident
from aiops_operator.kube import KubeApiError, KubeUnavailable
from aiops_operator.recurrence.index import RecurrenceIndex
from aiops_operator.recurrence.record import RecordStore
from aiops_operator.recurrence.summary import History, merge
from aiops_operator.remediation.attempts import target_for

log = logging.getLogger(__name__)


class Recurrences:
    """What the reconcile asks (`history`) once an incident is analyzed."""

    def __init__(self, index: RecurrenceIndex, records: RecordStore) -> None:
        self.index = index
        self.records = records
        self._warned = False

    async def history(self, incident: Incident) -> History | None:
        """Entries of the incident's target and error type; None before the analysis."""
        analysis = incident.status.analysis
        if analysis is None:
            return None
        namespace = incident.metadata.namespace or "default"
        target, error_type = target_for(incident), analysis.error_type.value
        live = self.index.history(namespace, target, error_type)
        try:
            kept = await self.records.history(namespace, target, error_type)
        except KubeUnavailable:
            raise
        except KubeApiError as exc:  # e.g. no RBAC for ConfigMaps: count the watched incidents only
            if not self._warned:
                log.warning("recurrence record unreadable (%s %s); counting watched incidents only",
                            exc.status, exc.reason)
                self._warned = True
            kept = History()
        return History(merge(live.entries, kept.entries), incomplete=kept.incomplete)
