"""Leader election on a `coordination.k8s.io/v1` Lease, through our own client.

The decisions are `aiops_operator.leadership`'s (client-go's semantics); this
module reads and writes the Lease and runs the loop: every retry period one
try (read, decide, write with the resourceVersion read, so two candidates
that read the same Lease cannot both win), `may_act()` for the fence, and
`stop()` releases the Lease so a rolling update fails over at the others'
next try.

The elector has a client of its own: a renewal must never queue behind a
burst of status writes (and the operator's client refuses writes while its
fence is shut, the Lease's included).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiops_operator.kube.client import LEASES, Conflict, JsonObject, KubeApiError, KubeClient, KubeUnavailable, NotFound
from aiops_operator.leadership import (
    JITTER_FACTOR,
    Candidate,
    ElectionTiming,
    LeaseRecord,
    Verdict,
    failed,
    may_act,
    next_record,
    release_record,
    stepped_down,
    succeeded,
)

log = logging.getLogger(__name__)


class NotLeader(KubeUnavailable):
    """This replica does not lead, or can no longer be sure it does: it writes and launches nothing.

    A KubeUnavailable, so every caller that already backs off from an unreachable API server backs off
    from this too."""


def _micro_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def record_of(body: JsonObject) -> LeaseRecord:
    """The election record of a Lease object."""
    spec = body.get("spec") or {}
    return LeaseRecord(
        holder=str(spec.get("holderIdentity") or ""),
        lease_duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
        acquire_time=_parse_time(spec.get("acquireTime")),
        renew_time=_parse_time(spec.get("renewTime")),
        transitions=int(spec.get("leaseTransitions") or 0),
    )


def lease_spec(record: LeaseRecord) -> JsonObject:
    return {
        "holderIdentity": record.holder,
        "leaseDurationSeconds": record.lease_duration_seconds,
        "acquireTime": _micro_time(record.acquire_time),
        "renewTime": _micro_time(record.renew_time),
        "leaseTransitions": record.transitions,
    }


class LeaseLock:
    """One Lease, read and written whole (PUT with its resourceVersion: optimistic concurrency)."""

    def __init__(self, kube: KubeClient, namespace: str, name: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = name

    def describe(self) -> str:
        return f"{self.namespace}/{self.name}"

    async def get(self) -> JsonObject | None:
        try:
            return await self.kube.get(LEASES, self.namespace, self.name)
        except NotFound:
            return None

    async def create(self, record: LeaseRecord) -> JsonObject:
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace}, "spec": lease_spec(record)}
        return await self.kube.create(LEASES, self.namespace, body)

    async def update(self, current: JsonObject, record: LeaseRecord) -> JsonObject:
        """Replace the spec; Conflict when the Lease changed since `current` was read."""
        meta = current.get("metadata") or {}
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace,
                             "resourceVersion": meta.get("resourceVersion"),
                             **({"labels": meta["labels"]} if meta.get("labels") else {})},
                "spec": {**(current.get("spec") or {}), **lease_spec(record)}}
        return await self.kube.replace(LEASES, self.namespace, self.name, body)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LeaderElector:
    """client-go's LeaderElector: acquire, renew every retry period, lose at the renew deadline, release."""

    def __init__(
        self,
        lock: LeaseLock,
        identity: str,
        timing: ElectionTiming,
        *,
        mono: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = _utcnow,
        jitter: Callable[[], float] = random.random,
        on_started_leading: Callable[[], None] = lambda: None,
        on_stopped_leading: Callable[[], None] = lambda: None,
        on_new_leader: Callable[[str], None] = lambda holder: None,
    ) -> None:
        problems = timing.problems()
        if problems:
            raise ValueError("leader election timing: " + "; ".join(problems))
        self.lock = lock
        self.timing = timing
        self._mono = mono
        self._wall = wall
        self._jitter = jitter
        self._on_started = on_started_leading
        self._on_stopped = on_stopped_leading
        self._on_new_leader = on_new_leader
        self._candidate = Candidate(identity)
        self._body: JsonObject | None = None  # the Lease as last read or written (its resourceVersion)
        self._reported_holder: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def identity(self) -> str:
        return self._candidate.identity

    @property
    def candidate(self) -> Candidate:
        return self._candidate

    def leading(self) -> bool:
        """Whether this replica believes it leads (the loop's view; `may_act` is the fence)."""
        return self._candidate.leading

    def may_act(self) -> bool:
        return not self._stopping and may_act(self._candidate, self._mono(), self.timing)

    def check(self, method: str = "", path: str = "") -> None:
        """The fence: raise NotLeader unless this replica leads with `margin` seconds of lease left."""
        if not self.may_act():
            raise NotLeader(f"{method} {path}: not the leader of {self.lock.describe()}".strip())

    # --- one try ---------------------------------------------------------------------------

    async def try_acquire_or_renew(self) -> bool:
        """One try; True when this replica holds the Lease afterwards."""
        sent = self._mono()
        try:
            if self._candidate.leading and self._body is not None and self.may_act():
                # The fast path of a leader: write from the Lease it wrote last; a conflict means someone
                # else wrote since, and the slow path below reads what.
                with contextlib.suppress(Conflict):
                    return self._won(await self._renew_optimistically(), sent)
            current = await self.lock.get()
            record = record_of(current) if current is not None else None
            turn = next_record(self._candidate, record, self._mono(), self._wall(), self.timing)
            self._candidate, self._body = turn.candidate, current
            if turn.verdict is Verdict.WAIT or turn.record is None:
                self._lost(self._mono())
                return False
            if turn.verdict is Verdict.CREATE:
                written = await self.lock.create(turn.record)
            else:
                assert current is not None
                written = await self.lock.update(current, turn.record)
            return self._won(written, sent)
        except (KubeApiError, KubeUnavailable) as exc:
            log.debug("lease %s: try failed: %s", self.lock.describe(), exc)
            self._lost(self._mono())
            return False

    async def _renew_optimistically(self) -> JsonObject:
        assert self._body is not None
        assert self._candidate.observed is not None
        observed = self._candidate.observed
        now = self._wall()
        record = LeaseRecord(holder=self.identity, lease_duration_seconds=self.timing.lease_duration_seconds,
                             acquire_time=observed.acquire_time or now, renew_time=now,
                             transitions=observed.transitions)
        return await self.lock.update(self._body, record)

    def _won(self, written: JsonObject, sent: float) -> bool:
        was_leading = self._candidate.leading
        self._body = written
        self._candidate = succeeded(self._candidate, record_of(written), sent)
        self._report()
        if not was_leading:
            log.info("lease %s: acquired as %s", self.lock.describe(), self.identity)
            self._on_started()
        return True

    def _lost(self, mono: float) -> None:
        was_leading = self._candidate.leading
        self._candidate = failed(self._candidate, mono, self.timing)
        self._report()
        if was_leading and not self._candidate.leading:
            log.warning("lease %s: lost (not renewed within %.0f s, or taken)", self.lock.describe(),
                        self.timing.renew_deadline)
            self._on_stopped()

    async def _release(self, released: LeaseRecord) -> LeaseRecord | None:
        """Write the released record; None when someone else holds the Lease by now.

        A renewal cancelled in flight may have been written all the same: the Lease is then newer than
        the copy we hold, and the release is tried again on a fresh read (still ours: release it)."""
        body = self._body
        for _ in range(3):
            if body is None or record_of(body).holder != self.identity:
                return None
            try:
                self._body = await self.lock.update(body, released)
            except Conflict:
                body = await self.lock.get()
                continue
            log.info("lease %s: released by %s", self.lock.describe(), self.identity)
            return released
        raise Conflict(409, "Conflict", "the Lease kept changing")

    def _report(self) -> None:
        holder = self._candidate.holder
        if holder != self._reported_holder:
            self._reported_holder = holder
            self._on_new_leader(holder)

    # --- the loop ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            leading = await self.try_acquire_or_renew()
            # A leader renews every retry period; candidates add jitter so they do not try in lockstep.
            factor = 1.0 if leading else 1.0 + (JITTER_FACTOR - 1.0) * self._jitter()
            await asyncio.sleep(self.timing.retry_period * factor)

    async def stop(self, *, release: bool = True) -> None:
        """Stop trying; a leader stops acting at once and (with `release`) frees the Lease for the others."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        was_leading = self._candidate.leading
        released = release_record(self._candidate, self._wall()) if release else None
        if released is not None:
            try:
                released = await self._release(released)
            except (KubeApiError, KubeUnavailable) as exc:
                log.warning("lease %s: not released (%s); the others take over when it expires",
                            self.lock.describe(), exc)
                released = None
        self._candidate = stepped_down(self._candidate, released, self._mono())
        self._report()
        if was_leading:
            self._on_stopped()
