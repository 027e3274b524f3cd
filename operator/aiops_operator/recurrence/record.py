"""The recurrence record: the bounded summary of incidents retention deleted, one ConfigMap per target and error type.

Retention deletes resolved incidents (and, by their owner references, their
attempts) so etcd stays bounded; what recurrence needs of them — when each
failed and how it ended — moves here first. One ConfigMap per (namespace,
target, error type), named `aiops-rca-recurrence-<hash>` and labelled with
the target hash and error type (`kubectl get cm -l aiops-rca.io/recurrence-record`):
`data.entries` is a JSON list of `[uid, name, failed time, endedAs, action, reason]`,
only the last 30 days and at most `MAX_ENTRIES` (the oldest go first; `data.dropped`
counts them, and recurrences then say "at least"), so one record stays below ~80 KB.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from aiops_operator.api import EndedAs
from aiops_operator.api.labels import ERROR_TYPE_LABEL, RECURRENCE_RECORD_LABEL
from aiops_operator.bounded import BoundedCache
from aiops_operator.kube import CONFIGMAPS, Conflict, KubeClient, NotFound
from aiops_operator.recurrence.summary import Entry, History, merge, within

MAX_ENTRIES = 400
"""Entries kept per record: 400 entries of ~170 bytes ≈ 70 KB, far below a ConfigMap's 1 MiB."""
CACHE_RECORDS = 2_000


def record_name(target: str, error_type: str) -> str:
    return "aiops-rca-recurrence-" + hashlib.sha256(f"{target}/{error_type}".encode()).hexdigest()[:20]


def decode(data: dict[str, str] | None) -> History:
    """The entries a record's data holds (entries that do not parse are skipped)."""
    data = data or {}
    entries = []
    try:
        raw = json.loads(data.get("entries") or "[]")
    except ValueError:
        raw = []
    for item in raw if isinstance(raw, list) else []:
        try:
            uid, name, time, ended, action, reason = item
            entries.append(Entry(str(uid), str(name), datetime.fromisoformat(str(time)), EndedAs(ended),
                                 action or None, reason or None))
        except (TypeError, ValueError):
            continue
    dropped = data.get("dropped") or "0"
    return History(tuple(entries), incomplete=dropped.isdigit() and int(dropped) > 0)


def with_entry(data: dict[str, str] | None, entry: Entry, now: datetime) -> dict[str, str] | None:
    """The record's data with `entry` added, pruned to the window and to MAX_ENTRIES; None when it is there."""
    current = decode(data)
    if any(e.uid == entry.uid for e in current.entries):
        return None
    kept = sorted(within(merge(current.entries, [entry]), now), key=lambda e: e.time)
    dropped = int((data or {}).get("dropped") or "0") if ((data or {}).get("dropped") or "0").isdigit() else 0
    if len(kept) > MAX_ENTRIES:
        dropped += len(kept) - MAX_ENTRIES
        kept = kept[-MAX_ENTRIES:]
    rows = [[e.uid, e.name, e.time.isoformat(), e.ended_as.value, e.action or "", e.reason or ""] for e in kept]
    return {"entries": json.dumps(rows, separators=(",", ":")), "dropped": str(dropped)}


def record_object(namespace: str, target: str, error_type: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": record_name(target, error_type),
            "namespace": namespace,
            "labels": {RECURRENCE_RECORD_LABEL: target, ERROR_TYPE_LABEL: error_type},
        },
        "data": data,
    }


class RecordStore:
    """Reads (cached) and appends to the recurrence records; the operator's leader is their only writer."""

    def __init__(self, kube: KubeClient) -> None:
        self.kube = kube
        self._cache: BoundedCache[tuple[str, str], History] = BoundedCache(CACHE_RECORDS)

    def clear(self) -> None:
        """Forget what was read (a new leader reads again: another replica may have written meanwhile)."""
        self._cache = BoundedCache(CACHE_RECORDS)

    async def history(self, namespace: str, target: str, error_type: str) -> History:
        name = record_name(target, error_type)
        cached = self._cache.get((namespace, name))
        if cached is not None:
            return cached
        try:
            body = await self.kube.get(CONFIGMAPS, namespace, name)
        except NotFound:
            body = {}
        history = decode(body.get("data"))
        self._cache.put((namespace, name), history)
        return history

    async def add(self, namespace: str, target: str, error_type: str, entry: Entry, now: datetime) -> None:
        """Add one deleted incident's entry (idempotent: an entry of the same uid is kept as it is)."""
        name = record_name(target, error_type)
        for _ in range(5):
            try:
                body = await self.kube.get(CONFIGMAPS, namespace, name)
            except NotFound:
                body = None
            data = with_entry(body.get("data") if body else None, entry, now)
            if data is None:
                break
            try:
                if body is None:
                    body = await self.kube.create(CONFIGMAPS, namespace,
                                                  record_object(namespace, target, error_type, data))
                else:
                    body = await self.kube.replace(CONFIGMAPS, namespace, name, {**body, "data": data})
            except Conflict:
                continue  # created or changed meanwhile: read again
            break
        else:
            raise Conflict(409, "Conflict", f"recurrence record {namespace}/{name} kept changing")
        if body is not None:
            self._cache.put((namespace, name), decode(body.get("data")))
