"""Kubernetes Events for `kubectl describe`: one per audit-trail entry, with its specific reason.

Events expire (an hour by default); the bounded `status.history` keeps the
story. Posting is best effort: a failed Event never fails a reconcile.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime

from aiops_operator.api import API_VERSION, HistoryEntry, Incident
from aiops_operator.api.sanitize import truncate
from aiops_operator.kube import EVENTS, KubeApiError, KubeClient, KubeUnavailable

log = logging.getLogger(__name__)

COMPONENT = "aiops-rca-operator"


def event_body(incident: Incident, entry: HistoryEntry, warning: bool, now: datetime) -> dict[str, object]:
    """A core/v1 Event about the incident; its name is derived from the entry, so a re-post is a 409."""
    meta = incident.metadata
    digest = hashlib.sha256(f"{meta.uid}/{entry.time.isoformat()}/{entry.action}/{entry.message}".encode())
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta.name}.{digest.hexdigest()[:16]}", "namespace": meta.namespace},
        "involvedObject": {
            "apiVersion": API_VERSION, "kind": "Incident", "name": meta.name,
            "namespace": meta.namespace, "uid": meta.uid, "resourceVersion": meta.resource_version,
        },
        "type": "Warning" if warning else "Normal",
        "reason": entry.action,
        "message": truncate(entry.message, 1024),
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": COMPONENT,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


class EventRecorder:
    """Posts Events off the reconcile's path: queued (bounded) and sent by a few background workers.

    A status write is never held up by its Events; when the queue is full (a burst far beyond what
    the API server takes), further Events are dropped: `status.history` keeps the story regardless.
    """

    def __init__(self, kube: KubeClient, *, workers: int = 2, queue_size: int = 20_000) -> None:
        self._kube = kube
        self._workers = workers
        self._queue: asyncio.Queue[tuple[str, dict[str, object], str]] = asyncio.Queue(maxsize=queue_size)
        self._tasks: list[asyncio.Task[None]] = []

    async def post(self, incident: Incident, entry: HistoryEntry, *, warning: bool, now: datetime) -> None:
        if not self._tasks:
            self._tasks = [asyncio.get_running_loop().create_task(self._work()) for _ in range(self._workers)]
        body = event_body(incident, entry, warning, now)
        try:
            self._queue.put_nowait((incident.metadata.namespace or "default", body, entry.action))
        except asyncio.QueueFull:
            log.debug("event %s for %s dropped: queue full", entry.action, incident.metadata.name)

    async def _work(self) -> None:
        while True:
            namespace, body, action = await self._queue.get()
            try:
                await self._kube.create(EVENTS, namespace, body)
            except (KubeApiError, KubeUnavailable) as exc:
                log.debug("event %s not posted: %s", action, exc)
            except Exception:
                log.exception("event %s not posted", action)
            finally:
                self._queue.task_done()

    async def flush(self) -> None:
        """Wait until every queued Event was sent (tests, shutdown)."""
        if self._tasks:
            await self._queue.join()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []
