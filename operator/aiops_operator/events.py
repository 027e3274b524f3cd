"""Kubernetes Events for `kubectl describe`: one per audit-trail entry, with its specific reason.

Events expire (an hour by default); the bounded `status.history` keeps the
story. Posting is best effort: a failed Event never fails a reconcile.

Lifecycle writes go first. An Event costs the API server as much as a status
patch, and a burst of incidents makes seven Events each; while the operator is
busy with a burst (many reconciles in flight), Events trickle out at a low rate
and the rest wait in the queue until the burst is over (measured in
`bench/lifecycle.py`: without this, Events took a quarter of the operator's API
slots and half its CPU mid-burst). A few incidents at a time post theirs at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
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
    While `busy()` says reconciles are under way, at most `busy_rate` Events per second are sent.
    """

    def __init__(
        self,
        kube: KubeClient,
        *,
        workers: int = 2,
        queue_size: int = 20_000,
        busy: Callable[[], bool] = lambda: False,
        busy_rate: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kube = kube
        self._workers = workers
        self._queue: asyncio.Queue[tuple[str, dict[str, object], str]] = asyncio.Queue(maxsize=queue_size)
        self._tasks: list[asyncio.Task[None]] = []
        self._busy = busy
        self._busy_interval = 1.0 / busy_rate
        self._clock = clock
        self._next_busy_slot = 0.0
        self._pending = 0

    @property
    def pending(self) -> int:
        """Events accepted and not yet sent (or given up on)."""
        return self._pending

    async def post(self, incident: Incident, entry: HistoryEntry, *, warning: bool, now: datetime) -> None:
        if not self._tasks:
            self._tasks = [asyncio.get_running_loop().create_task(self._work()) for _ in range(self._workers)]
        body = event_body(incident, entry, warning, now)
        try:
            self._queue.put_nowait((incident.metadata.namespace or "default", body, entry.action))
            self._pending += 1
        except asyncio.QueueFull:
            log.debug("event %s for %s dropped: queue full", entry.action, incident.metadata.name)

    async def _work(self) -> None:
        while True:
            namespace, body, action = await self._queue.get()
            await self._wait_turn()
            try:
                await self._kube.create(EVENTS, namespace, body)
            except (KubeApiError, KubeUnavailable) as exc:
                log.debug("event %s not posted: %s", action, exc)
            except Exception:
                log.exception("event %s not posted", action)
            finally:
                self._pending -= 1
                self._queue.task_done()

    async def _wait_turn(self) -> None:
        """Return at once when the operator is idle; while it is busy, one Event per `1 / busy_rate` s."""
        while self._busy():
            now = self._clock()
            if now >= self._next_busy_slot:
                self._next_busy_slot = now + self._busy_interval
                return
            await asyncio.sleep(min(0.25, self._next_busy_slot - now))

    async def flush(self) -> None:
        """Wait until every queued Event was sent (tests, shutdown)."""
        if self._tasks:
            await self._queue.join()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []
