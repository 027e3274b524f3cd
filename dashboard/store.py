"""The in-memory view of the watched objects, indexed for the dashboard. No I/O.

Each change reports which incident cards changed, with the card's JSON
serialized once (every browser gets the same bytes). A card's JSON is cached,
so a snapshot for a new browser is a join, not 5,000 serializations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiops_operator.api import AttemptPhase

from dashboard import viewmodel as vm

INCIDENT = "Incident"
ATTEMPT = "RemediationAttempt"
POLICY = "RemediationPolicy"

Key = tuple[str, str]


@dataclass
class Changes:
    """Cards to (re)draw and cards to remove, as a browser delta."""

    upserted: dict[Key, str] = field(default_factory=dict)
    deleted: set[Key] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.upserted or self.deleted)

    def merge(self, other: Changes) -> None:
        for key in other.upserted:
            self.deleted.discard(key)
        self.upserted.update(other.upserted)
        for key in other.deleted:
            self.upserted.pop(key, None)
        self.deleted |= other.deleted

    def to_json(self) -> str:
        upserts = ",".join(self.upserted.values())
        deletes = json.dumps([f"{ns}/{name}" for ns, name in sorted(self.deleted)])
        return f'{{"upsert":[{upserts}],"delete":{deletes}}}'


def _key(obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace", "")), str(meta.get("name", "")))


class Store:
    def __init__(self) -> None:
        self.incidents: dict[Key, vm.IncidentRecord] = {}
        self.attempts: dict[Key, vm.AttemptRecord] = {}
        self.policies: dict[Key, vm.PolicyRecord] = {}
        self._attempts_by_incident: dict[Key, set[str]] = {}
        self._cards: dict[Key, str] = {}

    # ---- reading ----

    def attempts_of(self, key: Key) -> list[vm.AttemptRecord]:
        ns = key[0]
        return [self.attempts[(ns, n)] for n in sorted(self._attempts_by_incident.get(key, ()))]

    def awaiting_approval(self) -> set[Key]:
        return {
            a.incident_key for a in self.attempts.values() if a.phase == AttemptPhase.AWAITING_APPROVAL.value
        }

    def cards_json(self) -> str:
        return "[" + ",".join(self._cards.values()) + "]"

    def detail(self, key: Key) -> dict[str, Any] | None:
        rec = self.incidents.get(key)
        return None if rec is None else vm.incident_detail(rec, self.attempts_of(key))

    def counts(self) -> dict[str, int]:
        return {INCIDENT: len(self.incidents), ATTEMPT: len(self.attempts), POLICY: len(self.policies)}

    # ---- writing ----

    def apply(self, kind: str, event_type: str, obj: Mapping[str, Any]) -> Changes:
        """One watch event (ADDED, MODIFIED, DELETED) of one kind."""
        if event_type == "DELETED":
            return self._remove(kind, _key(obj))
        return self._put(kind, obj)

    def upsert_many(self, kind: str, items: Iterable[Mapping[str, Any]]) -> tuple[Changes, set[Key]]:
        """One page of a list: the changes and the keys seen."""
        changes = Changes()
        seen: set[Key] = set()
        for obj in items:
            seen.add(_key(obj))
            changes.merge(self._put(kind, obj))
        return changes, seen

    def drop_missing(self, kind: str, namespace: str | None, seen: set[Key]) -> Changes:
        """After a full list (all namespaces when `namespace` is None): forget what it did not contain."""
        changes = Changes()
        current: Mapping[Key, object] = (
            self.incidents if kind == INCIDENT else self.attempts if kind == ATTEMPT else self.policies
        )
        stale = [k for k in current if k not in seen and (namespace is None or k[0] == namespace)]
        for key in stale:
            changes.merge(self._remove(kind, key))
        return changes

    def _put(self, kind: str, obj: Mapping[str, Any]) -> Changes:
        if kind == INCIDENT:
            rec = vm.parse_incident(obj)
            old = self.incidents.get(rec.key)
            if old is not None and old.resource_version == rec.resource_version and rec.resource_version:
                return Changes()
            self.incidents[rec.key] = rec
            return self._refresh(rec.key)
        if kind == ATTEMPT:
            att = vm.parse_attempt(obj)
            key = (att.namespace, att.name)
            old_att = self.attempts.get(key)
            if old_att is not None and old_att.resource_version == att.resource_version and att.resource_version:
                return Changes()
            changes = Changes()
            if old_att is not None and old_att.incident != att.incident:
                changes.merge(self._unlink(old_att))
            self.attempts[key] = att
            self._attempts_by_incident.setdefault(att.incident_key, set()).add(att.name)
            changes.merge(self._refresh(att.incident_key))
            return changes
        pol = vm.parse_policy(obj)
        self.policies[(pol.namespace, pol.name)] = pol
        return Changes()

    def _remove(self, kind: str, key: Key) -> Changes:
        if kind == INCIDENT:
            self.incidents.pop(key, None)
            self._cards.pop(key, None)
            return Changes(deleted={key})
        if kind == ATTEMPT:
            att = self.attempts.pop(key, None)
            return Changes() if att is None else self._unlink(att)
        self.policies.pop(key, None)
        return Changes()

    def _unlink(self, att: vm.AttemptRecord) -> Changes:
        names = self._attempts_by_incident.get(att.incident_key)
        if names is not None:
            names.discard(att.name)
            if not names:
                del self._attempts_by_incident[att.incident_key]
        return self._refresh(att.incident_key)

    def _refresh(self, key: Key) -> Changes:
        """Recompute one card; a change only when its JSON differs."""
        rec = self.incidents.get(key)
        if rec is None:
            return Changes()
        card = json.dumps(vm.incident_row(rec, self.attempts_of(key)), separators=(",", ":"))
        if self._cards.get(key) == card:
            return Changes()
        self._cards[key] = card
        return Changes(upserted={key: card})
