"""Leader election decisions, with client-go's semantics (`tools/leaderelection`), and no I/O.

Every replica runs the same loop (`kube.lease.LeaderElector`): every retry
period it reads the Lease and asks `next_record()` what to write. Nothing here
reads a clock; times are parameters:

- `mono` is the replica's monotonic clock. Expiry is judged only on it, like
  client-go: a candidate notes *when it saw* the record change
  (`observed_time`) and takes over when the record has not changed for
  `leaseDurationSeconds` of its own time. Wall clocks of different machines
  never get compared, so clock skew does not matter (only skew *rate* would).
- `wall` is the time written into the Lease (`acquireTime`, `renewTime`) for
  humans and `kubectl get lease`.

Fencing: the leader counts its lease from the moment it *sent* its last
successful write (`renewed_at`): every other candidate saw that write later,
so its view of the expiry is later still. The leader stops acting at
`renewed_at + renew_deadline`, `lease_duration - renew_deadline` seconds
before anyone else may take over (`may_act`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

JITTER_FACTOR = 1.2
"""client-go's: the acquire loop waits retry_period * (1 + up to 0.2) between tries."""


@dataclass(frozen=True)
class ElectionTiming:
    """client-go's three durations (seconds): 15, 10, 2 by default."""

    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def problems(self) -> list[str]:
        """What makes this timing unsafe (client-go's NewLeaderElector checks the same)."""
        out = []
        if self.lease_duration <= self.renew_deadline:
            out.append("the lease duration must be longer than the renew deadline")
        if self.renew_deadline <= JITTER_FACTOR * self.retry_period:
            out.append(f"the renew deadline must be longer than {JITTER_FACTOR} x the retry period")
        if self.retry_period <= 0:
            out.append("the retry period must be positive")
        return out

    @property
    def margin(self) -> float:
        """How long before the lease could expire for others the leader stops acting."""
        return self.lease_duration - self.renew_deadline

    @property
    def lease_duration_seconds(self) -> int:
        """As written into the Lease (an integer field); never below one second."""
        return max(1, round(self.lease_duration))


@dataclass(frozen=True)
class LeaseRecord:
    """The election fields of a Lease's spec."""

    holder: str = ""
    lease_duration_seconds: int = 15
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    transitions: int = 0


@dataclass(frozen=True)
class Candidate:
    """What one replica knows about the election."""

    identity: str
    observed: LeaseRecord | None = None
    observed_time: float = 0.0
    """Monotonic time this replica saw `observed` change (or wrote it)."""
    renewed_at: float | None = None
    """Monotonic time the replica sent its last successful acquire or renew (None: not leader)."""

    @property
    def leading(self) -> bool:
        return self.renewed_at is not None

    @property
    def holder(self) -> str:
        return self.observed.holder if self.observed else ""


class Verdict(StrEnum):
    CREATE = "Create"
    """No Lease yet: create it, holding it."""
    WRITE = "Write"
    """Renew our lease, or take over a free or expired one (optimistic: with the resourceVersion read)."""
    WAIT = "Wait"
    """Someone else holds an unexpired lease."""


@dataclass(frozen=True)
class Turn:
    verdict: Verdict
    candidate: Candidate
    """The candidate after noting what it read."""
    record: LeaseRecord | None = None
    """What to write (Create, Write)."""


def observe(candidate: Candidate, current: LeaseRecord | None, mono: float) -> Candidate:
    """Note the record read; the clock for expiry restarts only when the record changed."""
    if current is None or current == candidate.observed:
        return candidate
    return replace(candidate, observed=current, observed_time=mono)


def expired(candidate: Candidate, mono: float) -> bool:
    """Whether the observed lease has not been renewed for its duration, as this replica's clock counts."""
    record = candidate.observed
    if record is None:
        return True
    return candidate.observed_time + record.lease_duration_seconds <= mono


def next_record(candidate: Candidate, current: LeaseRecord | None, mono: float, wall: datetime,
                timing: ElectionTiming) -> Turn:
    """One try of client-go's `tryAcquireOrRenew`, given the Lease just read (None: there is none)."""
    wanted = LeaseRecord(holder=candidate.identity, lease_duration_seconds=timing.lease_duration_seconds,
                         acquire_time=wall, renew_time=wall)
    if current is None:
        return Turn(Verdict.CREATE, candidate, wanted)
    seen = observe(candidate, current, mono)
    ours = current.holder == candidate.identity
    if current.holder and not ours and not expired(seen, mono):
        return Turn(Verdict.WAIT, seen)
    if ours:
        record = replace(wanted, acquire_time=current.acquire_time or wall, transitions=current.transitions)
    else:
        record = replace(wanted, transitions=current.transitions + 1)
    return Turn(Verdict.WRITE, seen, record)


def succeeded(candidate: Candidate, written: LeaseRecord, sent_at: float) -> Candidate:
    """The write was accepted: we lead until `sent_at + renew_deadline` unless renewed again."""
    return replace(candidate, observed=written, observed_time=sent_at, renewed_at=sent_at)


def failed(candidate: Candidate, mono: float, timing: ElectionTiming) -> Candidate:
    """A try failed (conflict, the API server unreachable, someone else holds it).

    A leader keeps leading until its renew deadline passes, as client-go's renew loop does; after that
    (or when someone else holds the lease) it has lost."""
    if candidate.renewed_at is None:
        return candidate
    if candidate.observed is not None and candidate.observed.holder not in ("", candidate.identity):
        return replace(candidate, renewed_at=None)
    if mono >= candidate.renewed_at + timing.renew_deadline:
        return replace(candidate, renewed_at=None)
    return candidate


def may_act(candidate: Candidate, mono: float, timing: ElectionTiming) -> bool:
    """Whether this replica leads with a lease valid for at least `timing.margin` more seconds.

    Checked before every launch, status write and notification: a leader that cannot renew stops acting
    `margin` seconds before any other replica may consider the lease expired."""
    if candidate.renewed_at is None:
        return False
    return mono + timing.margin < candidate.renewed_at + timing.lease_duration


def release_record(candidate: Candidate, wall: datetime) -> LeaseRecord | None:
    """What a leader writes when it stops (client-go's `release`): no holder, a one-second lease, so the
    others take over at their next try. None when this replica does not lead."""
    if not candidate.leading or candidate.observed is None:
        return None
    return LeaseRecord(holder="", lease_duration_seconds=1, acquire_time=wall, renew_time=wall,
                       transitions=candidate.observed.transitions)


def stepped_down(candidate: Candidate, released: LeaseRecord | None, mono: float) -> Candidate:
    """After stopping: not leading (with the released record as observed, when it was written)."""
    if released is None:
        return replace(candidate, renewed_at=None)
    return replace(candidate, observed=released, observed_time=mono, renewed_at=None)
