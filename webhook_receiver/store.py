"""Creating Incidents with deduplication, and the spool fallback when the API server is away.

The API server's `409 AlreadyExists` is the truth about duplicates. Two things
keep duplicates cheap without replacing it: a bounded cache of names this
process created (or saw open) recently, and coalescing of concurrent creates
of the same name (one API call; everyone waits for its answer). A 409 for a
run whose Incident was resolved before the alert fired is a re-fire, not a
duplicate: `refire` reads the run's occurrences and the next one is created,
linked to the resolved one. The cache answers only for alerts that fired
before the time the Incident was last seen open, so it never hides a re-fire. When a create
fails because the API server is unreachable, overloaded or slow, the Incident
goes to the durable spool and a background task replays it later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from aiops_operator.bounded import BoundedCache
from aiops_operator.kube import INCIDENTS, Conflict, Invalid, KubeApiError, KubeClient, KubeUnavailable

from webhook_receiver import refire
from webhook_receiver.labels import refire_object
from webhook_receiver.metrics import ReceiverMetrics
from webhook_receiver.spool import Spool, SpoolFull

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"
    SPOOLED = "spooled"


@dataclass(frozen=True)
class CreateResult:
    name: str
    outcome: Outcome


class RecentNames:
    """Incident names known to exist, each with when it was last known to be open; `size` 0 or `ttl` 0: off."""

    def __init__(self, size: int, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._names: BoundedCache[str, datetime | None] | None = (
            BoundedCache(size, ttl_seconds=ttl, clock=clock) if size > 0 and ttl > 0 else None
        )

    def add(self, name: str, open_at: datetime | None = None) -> None:
        """`name` exists; `open_at`: a time it was open (an alert fired by then is a duplicate of it)."""
        if self._names is not None:
            self._names.put(name, open_at)

    def __contains__(self, name: object) -> bool:
        return self._names is not None and name in self._names

    def covers(self, name: str, fired: datetime) -> bool:
        """Whether an alert for `name` that fired at `fired` is surely a duplicate: the Incident was open after."""
        open_at = None if self._names is None else self._names.get(name)
        return open_at is not None and fired <= open_at


class IncidentStore:
    """Create-with-dedup into one namespace; spool when the API server cannot take it."""

    def __init__(
        self,
        kube: KubeClient,
        namespace: str,
        spool: Spool,
        metrics: ReceiverMetrics,
        *,
        timeout: float = 5.0,
        ack_budget: float = 0.0,
        max_background: int = 64,
        recent: RecentNames | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.spool = spool
        self.metrics = metrics
        self.timeout = timeout
        self.recent = recent or RecentNames(10000, 300.0, clock)
        self._clock = clock
        self._wall = wall
        self._inflight: dict[str, asyncio.Future[CreateResult]] = {}
        self.ack_budget = ack_budget
        self.max_background = max_background
        self._background: dict[str, asyncio.Future[Any]] = {}
        self._in_flight = 0
        self._cleanup: set[asyncio.Future[None]] = set()
        self._api_down = False
        self._spool_lock = asyncio.Lock()

    @property
    def api_down(self) -> bool:
        """The last create could not reach the API server and the spool has not drained since."""
        return self._api_down

    async def create(self, body: dict[str, Any]) -> CreateResult:
        """Create the Incident (or find it is a duplicate, or spool it). SpoolFull and Invalid propagate."""
        name: str = body["metadata"]["name"]
        if self.recent.covers(name, refire.alert_time(body)):
            self.metrics.duplicates.labels("cache").inc()
            return CreateResult(name, Outcome.DUPLICATE)
        running = self._inflight.get(name)
        if running is not None:
            leader = await asyncio.shield(running)
            via = "spool" if leader.outcome is Outcome.SPOOLED else "inflight"
            self.metrics.duplicates.labels(via).inc()
            outcome = Outcome.SPOOLED if leader.outcome is Outcome.SPOOLED else Outcome.DUPLICATE
            return CreateResult(leader.name, outcome)
        future: asyncio.Future[CreateResult] = asyncio.get_running_loop().create_future()
        self._inflight[name] = future
        try:
            result = await self._create_or_spool(name, body)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: followers (if any) re-raise it themselves
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._inflight[name]

    async def _create_or_spool(self, name: str, body: dict[str, Any]) -> CreateResult:
        if self.spool.contains(self.namespace, name):
            self.metrics.duplicates.labels("spool").inc()
            return CreateResult(name, Outcome.SPOOLED)
        if not self._api_down:
            create = asyncio.ensure_future(
                asyncio.wait_for(self.kube.create(INCIDENTS, self.namespace, body), self.timeout)
            )
            # Answer early only for a stall under light load. When many creates are in flight the API server
            # is simply saturated: waiting is the backpressure, and spooling would only add disk work.
            light = self._in_flight <= self.max_background and len(self._background) < self.max_background
            budget = self.ack_budget if light else 0.0
            self._in_flight += 1
            try:
                done, _ = await asyncio.wait({create}, timeout=budget or None)
            finally:
                self._in_flight -= 1
            if not done:
                return await self._spool_while_creating(name, body, create)
            exc = create.exception()
            if isinstance(exc, Conflict) and exc.already_exists:
                try:
                    return await self._after_conflict(name, body)
                except (KubeUnavailable, TimeoutError):
                    self._api_down = True
                    log.warning("API server unavailable while reading the occurrences of %s; spooling it", name)
            else:
                result = self._created(name, body, create)
                if result is not None:
                    return result
        await asyncio.to_thread(self.spool.put, self.namespace, name, body)
        self.metrics.spooled.inc()
        self.metrics.spool_depth.set(self.spool.depth)
        return CreateResult(name, Outcome.SPOOLED)

    async def _spool_while_creating(self, name: str, body: dict[str, Any], create: asyncio.Future[Any]) -> CreateResult:
        """The API server is slow: make the alert durable now and let the create finish behind the answer."""
        self._background[name] = create
        try:
            await asyncio.to_thread(self.spool.put, self.namespace, name, body)
        except SpoolFull:
            self._background.pop(name, None)
            await asyncio.wait({create})
            result = self._created(name, body, create)
            if result is None:
                raise
            return result
        # Registered only once the file exists, so the cleanup never races the write.
        create.add_done_callback(lambda task: self._background_done(name, body, task))
        self.metrics.spooled.inc()
        self.metrics.spool_depth.set(self.spool.depth)
        return CreateResult(name, Outcome.SPOOLED)

    def _created(self, name: str, body: dict[str, Any], create: asyncio.Future[Any]) -> CreateResult | None:
        """The result of a finished create; None when the alert must be spooled. Invalid propagates."""
        exc = create.exception()
        if exc is None:
            self.recent.add(name, self._wall())
            self.metrics.incidents_created.labels(_source(body)).inc()
            return CreateResult(name, Outcome.CREATED)
        if isinstance(exc, Conflict) and exc.already_exists:
            self.recent.add(name)
            self.metrics.duplicates.labels("api").inc()
            return CreateResult(name, Outcome.DUPLICATE)
        if isinstance(exc, Invalid):
            raise exc
        if isinstance(exc, KubeUnavailable | TimeoutError):
            self._api_down = True
            log.warning("API server unavailable (%s); spooling %s", type(exc).__name__, name)
        elif isinstance(exc, KubeApiError):
            # Forbidden, namespace missing, ...: a deployment problem, not the alert's. Keep the alert.
            log.error("API server refused %s (%s %s); spooling it", name, exc.status, exc.reason)
        else:
            raise exc
        return None

    async def _after_conflict(self, name: str, body: dict[str, Any]) -> CreateResult:
        """The run's first name is taken: a duplicate of its newest occurrence, or a re-fire that opens the next.

        A racing replica that creates the same next occurrence first makes ours a 409: read the chain again
        (bounded). KubeUnavailable and TimeoutError propagate (the caller spools the alert)."""
        fired = refire.alert_time(body)
        verdict = refire.Verdict(name, create=False, occurrence=1)
        for _ in range(3):
            chain = await asyncio.wait_for(refire.read_chain(self.kube, self.namespace, name), self.timeout)
            verdict = refire.decide(chain, name, fired)
            if not verdict.create:
                break
            next_body = refire_object(body, verdict.name, verdict.occurrence, verdict.previous)
            try:
                await asyncio.wait_for(self.kube.create(INCIDENTS, self.namespace, next_body), self.timeout)
            except Conflict as exc:
                if not exc.already_exists:
                    raise
                continue
            self.recent.add(verdict.name, self._wall())
            self.metrics.incidents_created.labels(_source(body)).inc()
            if verdict.previous:
                self.metrics.refires.inc()
                log.info("alert re-fired after %s was resolved: created %s", verdict.previous, verdict.name)
            return CreateResult(verdict.name, Outcome.CREATED)
        if name != verdict.name:
            self.recent.add(verdict.name, self._wall())
        self.recent.add(name, self._wall() if name == verdict.name else None)
        self.metrics.duplicates.labels("api").inc()
        return CreateResult(verdict.name, Outcome.DUPLICATE)

    def _background_done(self, name: str, body: dict[str, Any], create: asyncio.Future[Any]) -> None:
        """A create that outlived the ack budget finished: drop its spool file if the Incident now exists.

        A 409 keeps the file: the replay tells a duplicate from a re-fire (`_after_conflict`)."""
        self._background.pop(name, None)
        if create.cancelled():
            return
        exc = create.exception()
        if isinstance(exc, Conflict) and exc.already_exists:
            return
        try:
            result = self._created(name, body, create)
        except Exception:
            log.exception("background create of %s failed; the spool keeps it", name)
            return
        if result is not None:
            task = asyncio.ensure_future(asyncio.to_thread(self._unspool, name))
            self._cleanup.add(task)
            task.add_done_callback(self._cleanup.discard)

    def _unspool(self, name: str) -> None:
        path = self.spool.directory / f"{self.namespace}.{name}.json"
        if self.spool.contains(self.namespace, name):
            self.spool.remove(path)
            self.metrics.spool_depth.set(self.spool.depth)

    # -- replay --------------------------------------------------------------------------------

    async def replay_once(self) -> int:
        """Deliver spooled Incidents; stops at the first sign the API server is still away. Returns delivered."""
        async with self._spool_lock:
            if self.spool.depth == 0:
                if self._api_down and await self.kube.ready():
                    self._api_down = False
                return 0
            delivered = 0
            for item in await asyncio.to_thread(self.spool.pending):
                if item.namespace == self.namespace and item.name in self._background:
                    continue  # its create is still running; it removes the file itself
                try:
                    result = await self._replay_item(item.namespace, item.name, item.body)
                except Invalid as exc:
                    await asyncio.to_thread(self.spool.reject, item.path, f"invalid: {exc.message[:200]}")
                    self.metrics.replayed.labels("rejected").inc()
                    continue
                except (KubeUnavailable, TimeoutError, KubeApiError) as exc:
                    log.info("spool replay paused, API server still unavailable: %s", type(exc).__name__)
                    self._api_down = True
                    break
                await asyncio.to_thread(self.spool.remove, item.path)
                self.metrics.replayed.labels(result).inc()
                delivered += 1
                self._api_down = False
            self.metrics.spool_depth.set(self.spool.depth)
            if delivered:
                log.info("replayed %d spooled alert(s); %d waiting", delivered, self.spool.depth)
            return delivered

    async def _replay_item(self, namespace: str, name: str, body: dict[str, Any]) -> str:
        """Create one spooled Incident: "created" or "duplicate" (a 409 may still be a re-fire)."""
        try:
            await asyncio.wait_for(self.kube.create(INCIDENTS, namespace, body), self.timeout)
        except Conflict as exc:
            if not exc.already_exists:
                raise
            if namespace != self.namespace:
                return "duplicate"
            return (await self._after_conflict(name, body)).outcome.value
        self.metrics.incidents_created.labels(_source(body)).inc()
        if namespace == self.namespace:
            self.recent.add(name, self._wall())
        return "created"

    async def replay_forever(self, interval: float) -> None:
        while True:
            try:
                await self.replay_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("spool replay failed; retrying")
            await asyncio.sleep(interval)


def _source(body: dict[str, Any]) -> str:
    return str(body.get("spec", {}).get("source", "unknown"))
