"""The operator's cache of every Incident it watches, as recurrence and retention need them.

Fed by the Incident watch (every replica, standbys too), so after a restart the
initial listing rebuilds it: nothing is kept anywhere but in the Incidents and
the recurrence record. Bounded: at most `max_incidents` incidents are indexed
(oldest failures dropped first when over).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiops_operator.api import Incident, IncidentPhase
from aiops_operator.recurrence.summary import Entry, History, entry_of
from aiops_operator.remediation.attempts import target_for

MAX_INCIDENTS = 200_000
"""About 60 MiB of memory; 1,000 incidents a day kept 30 days is 30,000."""

Key = tuple[str, str, str]
"""(namespace, target hash, error type)."""


@dataclass(frozen=True)
class Tracked:
    """One watched Incident."""

    namespace: str
    name: str
    uid: str
    first_name: str
    """The run's first occurrence (the name without -r<n>)."""
    occurrence: int
    resolved_time: datetime | None
    target: str
    error_type: str | None
    entry: Entry


def tracked(incident: Incident) -> Tracked:
    meta = incident.metadata
    occurrence = incident.spec.occurrence
    suffix = f"-r{occurrence}"
    first = meta.name[: -len(suffix)] if occurrence > 1 and meta.name.endswith(suffix) else meta.name
    analysis = incident.status.analysis
    resolution = incident.status.resolution
    resolved = resolution.resolved_time if resolution and incident.status.phase is IncidentPhase.RESOLVED else None
    return Tracked(meta.namespace or "default", meta.name, meta.uid or meta.name, first, occurrence, resolved,
                   target_for(incident), analysis.error_type.value if analysis else None, entry_of(incident))


class RecurrenceIndex:
    def __init__(self, max_incidents: int = MAX_INCIDENTS) -> None:
        self.max_incidents = max_incidents
        self._by_uid: dict[str, Tracked] = {}
        self._by_key: dict[Key, dict[str, Entry]] = {}
        self._by_run: dict[tuple[str, str], dict[int, str]] = {}  # (namespace, first name) -> occurrence -> uid

    def __len__(self) -> int:
        return len(self._by_uid)

    def observe(self, event_type: str, body: Mapping[str, Any]) -> None:
        """A watch event of an Incident (DELETED, or one with a deletionTimestamp, removes it)."""
        meta = body.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        if event_type == "DELETED" or meta.get("deletionTimestamp"):
            self.forget(uid)
            return
        try:
            item = tracked(Incident.from_object(body))
        except ValueError:
            return
        self.put(item)

    def put(self, item: Tracked) -> None:
        self.forget(item.uid)
        self._by_uid[item.uid] = item
        if item.error_type is not None:
            self._by_key.setdefault((item.namespace, item.target, item.error_type), {})[item.uid] = item.entry
        self._by_run.setdefault((item.namespace, item.first_name), {})[item.occurrence] = item.uid
        if len(self._by_uid) > self.max_incidents:
            oldest = min(self._by_uid.values(), key=lambda t: t.entry.time)
            self.forget(oldest.uid)

    def forget(self, uid: str) -> None:
        item = self._by_uid.pop(uid, None)
        if item is None:
            return
        if item.error_type is not None:
            key = (item.namespace, item.target, item.error_type)
            entries = self._by_key.get(key)
            if entries is not None:
                entries.pop(uid, None)
                if not entries:
                    del self._by_key[key]
        run = self._by_run.get((item.namespace, item.first_name))
        if run is not None and run.get(item.occurrence) == uid:
            del run[item.occurrence]
            if not run:
                del self._by_run[(item.namespace, item.first_name)]

    def history(self, namespace: str, target: str, error_type: str) -> History:
        """The watched incidents of one target and error type."""
        return History(tuple(self._by_key.get((namespace, target, error_type), {}).values()))

    def newest_occurrence(self, namespace: str, first_name: str) -> int:
        """The highest occurrence of a run that is still there (0 when none)."""
        return max(self._by_run.get((namespace, first_name), {}), default=0)

    def resolved(self) -> Iterator[Tracked]:
        """The watched incidents that are resolved (retention's candidates)."""
        return (t for t in list(self._by_uid.values()) if t.resolved_time is not None)
