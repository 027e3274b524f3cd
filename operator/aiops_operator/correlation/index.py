"""The operator's in-memory index of Incidents for correlation, fed by the watch (no I/O here).

Every Incident the watch shows (and every status the operator writes) is put here: its facts for
the rules, and what its group needs of it (phase, root, canary). Nothing is only here: after a
restart the watch's initial listing refills it from the records, and a member's root is its
`aiops-rca.io/root` label / status.correlation, so membership is read from the objects, never
counted. `put()` answers which other incidents must look again because this one changed: a
member's root when the member joined or moved on; a root's members when the root's phase
changed; the next waiting members of a root when one of its members finished (their turn); a
storm root's canary when it was chosen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiops_operator.api import Incident
from aiops_operator.api.phase import TERMINAL_PHASES
from aiops_operator.correlation.membership import Peer, facts_of, peer_of
from aiops_operator.correlation.rules import Facts

MAX_ENTRIES = 50_000
"""Bound on incidents indexed; past it, the oldest finished ones are forgotten first."""
WAKE_NEXT_MEMBERS = 20
"""A finished member wakes at most this many waiting members of its root (the next in turn)."""


@dataclass(frozen=True)
class Entry:
    facts: Facts
    peer: Peer
    resource_version: int


def _rv(incident: Incident) -> int:
    value = incident.metadata.resource_version or ""
    return int(value) if value.isdigit() else 0


class GroupIndex:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, dict[str, Entry]] = {}
        self._members: dict[tuple[str, str], set[str]] = {}

    def __len__(self) -> int:
        return sum(len(v) for v in self._entries.values())

    def put(self, incident: Incident) -> list[str]:
        """Index `incident` (ignored when older than what is indexed); the names that must look again."""
        namespace = incident.metadata.namespace or "default"
        entries = self._entries.setdefault(namespace, {})
        name = incident.metadata.name
        old = entries.get(name)
        if old is not None and _rv(incident) and _rv(incident) < old.resource_version:
            return []
        entry = Entry(facts_of(incident), peer_of(incident), _rv(incident))
        entries[name] = entry
        if old is not None and old.peer.root and old.peer.root != entry.peer.root:
            self._members.get((namespace, old.peer.root), set()).discard(name)
        if entry.peer.root:
            self._members.setdefault((namespace, entry.peer.root), set()).add(name)
        self._bound(namespace)
        return self._woken(namespace, old, entry)

    def _woken(self, namespace: str, old: Entry | None, new: Entry) -> list[str]:
        wake: list[str] = []
        before = old.peer if old is not None else None
        peer = new.peer
        if peer.root and (before is None or before.root != peer.root or before.phase != peer.phase
                          or before.attempts_made != peer.attempts_made):
            wake.append(peer.root)
        if before is not None and before.phase != peer.phase:
            wake.extend(sorted(self._members.get((namespace, peer.name), set())))
            if peer.root and peer.phase in TERMINAL_PHASES:
                wake.extend(self._next_in_turn(namespace, peer.root))
        if peer.canary and (before is None or before.canary != peer.canary):
            wake.append(peer.canary)
        return wake

    def _next_in_turn(self, namespace: str, root: str) -> list[str]:
        """A member finished: its slot passes to the next waiting members of its root (by arrival)."""
        waiting = [p for p in self.members(namespace, root) if p.phase not in TERMINAL_PHASES and p.attempts_made == 0]
        return [p.name for p in sorted(waiting, key=lambda p: (p.received_time, p.name))[:WAKE_NEXT_MEMBERS]]

    def forget(self, namespace: str, name: str) -> None:
        entry = self._entries.get(namespace, {}).pop(name, None)
        if entry is not None and entry.peer.root:
            self._members.get((namespace, entry.peer.root), set()).discard(name)

    def peer(self, namespace: str, name: str) -> Peer | None:
        entry = self._entries.get(namespace, {}).get(name)
        return entry.peer if entry is not None else None

    def members(self, namespace: str, root: str) -> tuple[Peer, ...]:
        entries = self._entries.get(namespace, {})
        names = self._members.get((namespace, root), set())
        return tuple(entries[n].peer for n in sorted(names) if n in entries)

    def facts(self, namespace: str, excluding: str) -> Iterable[Facts]:
        """Every other incident's facts, open or finished (a finished storm member still names its root)."""
        return [e.facts for n, e in self._entries.get(namespace, {}).items() if n != excluding]

    def _bound(self, namespace: str) -> None:
        if len(self) <= self.max_entries:
            return
        entries = self._entries[namespace]
        for name in [n for n, e in entries.items() if e.peer.phase in TERMINAL_PHASES][: max(1, len(entries) // 10)]:
            self.forget(namespace, name)
