"""The retention sweep: the leader deletes incidents past their retention, after recording their summary.

Every `RETENTION_SWEEP_SECONDS` it takes the due incidents from the operator's
cache (`recurrence.index`), and for each: adds its entry to the recurrence record
of its target and error type (idempotent, by uid), then deletes it with a uid
precondition (never a newer Incident of the same name) and background
propagation, so the garbage collector deletes its RemediationAttempts (owner
references). A crash between the two leaves the entry recorded and the incident
in place: the next sweep records nothing new and deletes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from aiops_operator import metrics
from aiops_operator.kube import INCIDENTS, Conflict, KubeClient, NotFound
from aiops_operator.recurrence.index import RecurrenceIndex, Tracked
from aiops_operator.recurrence.record import RecordStore
from aiops_operator.retention.decision import due

log = logging.getLogger(__name__)


class RetentionSweeper:
    def __init__(self, kube: KubeClient, index: RecurrenceIndex, records: RecordStore, *,
                 retention_seconds: int, clock: Callable[[], datetime], batch: int = 200,
                 fence: Callable[[], None] = lambda: None) -> None:
        self.kube = kube
        self.index = index
        self.records = records
        self.retention = timedelta(seconds=retention_seconds)
        self.clock = clock
        self.batch = batch
        self.fence = fence
        self._task: asyncio.Task[None] | None = None

    async def sweep_once(self) -> int:
        """Delete the incidents due now (at most a batch); how many were deleted."""
        if self.retention <= timedelta(0):
            return 0
        now = self.clock()
        deleted = 0
        newest = self.index.newest_occurrence
        for item in due(self.index.resolved(), lambda t: newest(t.namespace, t.first_name), self.retention, now,
                        self.batch):
            self.fence()  # only the leader deletes
            await self._delete(item, now)
            deleted += 1
        if deleted:
            log.info("retention deleted %d resolved incident(s)", deleted)
        return deleted

    async def _delete(self, item: Tracked, now: datetime) -> None:
        if item.error_type is not None:
            await self.records.add(item.namespace, item.target, item.error_type, item.entry, now)
        # Gone already, or a newer Incident of that name (the precondition spared it): nothing to delete.
        with contextlib.suppress(NotFound, Conflict):
            await self.kube.delete(INCIDENTS, item.namespace, item.name, uid=item.uid)
        self.index.forget(item.uid)
        metrics.INCIDENTS_DELETED.inc()

    def start(self, interval: float, acting: Callable[[], bool]) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(interval)
                if not acting():
                    continue
                try:
                    await self.sweep_once()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # transient API trouble or lost leadership: the next sweep tries again
                    log.warning("retention sweep stopped: %s: %s", type(exc).__name__, exc)

        if self.retention > timedelta(0) and self._task is None:
            self._task = asyncio.get_running_loop().create_task(loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
