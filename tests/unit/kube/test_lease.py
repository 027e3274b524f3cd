"""The elector's loop body against an in-memory Lease API (resourceVersion checked), clocks injected."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiops_operator.kube import LEASES, HttpRequest, HttpResponse, KubeClient, KubeConfig
from aiops_operator.kube.lease import LeaderElector, LeaseLock, NotLeader, record_of
from aiops_operator.leadership import ElectionTiming

PATH = "/apis/coordination.k8s.io/v1/namespaces/ops/leases"


class LeaseApi:
    """One namespace's Leases, as the API server keeps them: 404, 409 AlreadyExists, 409 on a stale PUT."""

    def __init__(self) -> None:
        self.leases: dict[str, dict[str, Any]] = {}
        self.rv = 10
        self.down = False
        self.requests: list[tuple[str, str]] = []

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append((request.method, request.path))
        if self.down:
            raise OSError("connection refused")
        name = request.path.removeprefix(PATH).strip("/")
        body = json.loads(request.body) if request.body else None
        if request.method == "GET":
            if name not in self.leases:
                return self._status(404, "NotFound")
            return HttpResponse(200, json.dumps(self.leases[name]).encode())
        if request.method == "POST":
            assert body is not None
            name = body["metadata"]["name"]
            if name in self.leases:
                return self._status(409, "AlreadyExists")
            return self._store(name, body)
        if request.method == "PUT":
            assert body is not None
            if self.leases[name]["metadata"]["resourceVersion"] != body["metadata"].get("resourceVersion"):
                return self._status(409, "Conflict")
            return self._store(name, body)
        raise AssertionError(request.method)

    def _store(self, name: str, body: dict[str, Any]) -> HttpResponse:
        self.rv += 1
        body["metadata"]["resourceVersion"] = str(self.rv)
        self.leases[name] = body
        return HttpResponse(200, json.dumps(body).encode())

    @staticmethod
    def _status(code: int, reason: str) -> HttpResponse:
        return HttpResponse(code, json.dumps({"kind": "Status", "code": code, "reason": reason}).encode())

    def holder(self) -> str:
        return record_of(self.leases["op"]).holder

    def writes(self) -> int:
        return sum(1 for method, _ in self.requests if method != "GET")


class Clock:
    def __init__(self) -> None:
        self.mono = 1000.0

    def wall(self) -> datetime:
        return datetime(2026, 12, 6, tzinfo=UTC) + timedelta(seconds=self.mono)


def elector(api: LeaseApi, clock: Clock, identity: str, events: list[str] | None = None) -> LeaderElector:
    kube = KubeClient(KubeConfig(server="http://kube.test"), send=api)
    log = events if events is not None else []
    return LeaderElector(
        LeaseLock(kube, "ops", "op"), identity, ElectionTiming(), mono=lambda: clock.mono, wall=clock.wall,
        on_started_leading=lambda: log.append(f"{identity} started"),
        on_stopped_leading=lambda: log.append(f"{identity} stopped"),
        on_new_leader=lambda holder: log.append(f"saw {holder or 'nobody'}"),
    )


@pytest.fixture
def api() -> LeaseApi:
    return LeaseApi()


async def test_the_first_candidate_creates_the_lease_and_leads(api: LeaseApi) -> None:
    clock, events = Clock(), list[str]()
    a = elector(api, clock, "a", events)
    assert await a.try_acquire_or_renew()
    assert a.may_act()
    spec = api.leases["op"]["spec"]
    assert spec["holderIdentity"] == "a"
    assert spec["leaseDurationSeconds"] == 15
    assert spec["leaseTransitions"] == 0
    assert spec["acquireTime"] == spec["renewTime"] == "2026-12-06T00:16:40.000000Z"
    assert events == ["saw a", "a started"]


async def test_a_leader_renews_with_one_write_and_no_read(api: LeaseApi) -> None:
    clock = Clock()
    a = elector(api, clock, "a")
    await a.try_acquire_or_renew()
    acquired = api.leases["op"]["spec"]["acquireTime"]
    api.requests.clear()
    clock.mono += 2
    assert await a.try_acquire_or_renew()
    assert [m for m, _ in api.requests] == ["PUT"]
    spec = api.leases["op"]["spec"]
    assert spec["acquireTime"] == acquired
    assert spec["renewTime"] != acquired


async def test_a_standby_reads_and_never_writes_while_the_lease_is_held(api: LeaseApi) -> None:
    clock = Clock()
    a, b = elector(api, clock, "a"), elector(api, clock, "b")
    await a.try_acquire_or_renew()
    api.requests.clear()
    for _ in range(30):  # a minute at the default retry period
        clock.mono += 2
        assert await a.try_acquire_or_renew()
        assert not await b.try_acquire_or_renew()
        assert not b.may_act()
    b_writes = [r for r in api.requests if r[0] != "GET"]
    assert len(b_writes) == 30  # all of them a's renewals
    assert api.holder() == "a"


async def test_an_expired_lease_is_taken_over_with_one_more_transition(api: LeaseApi) -> None:
    clock, events = Clock(), list[str]()
    a, b = elector(api, clock, "a", events), elector(api, clock, "b", events)
    await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()  # b sees a's record at t0
    clock.mono += 14.9
    assert not await b.try_acquire_or_renew()
    assert not a.may_act()  # a stopped acting at t0 + 10
    clock.mono += 0.1
    assert await b.try_acquire_or_renew()
    assert api.holder() == "b"
    assert api.leases["op"]["spec"]["leaseTransitions"] == 1
    # a comes back: it lost the lease and learns so at its next try.
    assert not await a.try_acquire_or_renew()
    assert not a.leading()
    assert "a stopped" in events
    assert "b started" in events


async def test_a_leader_that_cannot_renew_stops_acting_at_the_renew_deadline(api: LeaseApi) -> None:
    clock = Clock()
    a = elector(api, clock, "a")
    await a.try_acquire_or_renew()
    api.down = True
    for _ in range(4):
        clock.mono += 2
        assert not await a.try_acquire_or_renew()
        assert a.leading()
        assert a.may_act()
    clock.mono += 2  # t0 + 10
    assert not await a.try_acquire_or_renew()
    assert not a.leading()
    with pytest.raises(NotLeader):
        a.check("PATCH", "/x")


async def test_the_loser_of_a_simultaneous_takeover_gets_a_conflict(api: LeaseApi) -> None:
    clock = Clock()
    old, a, b = elector(api, clock, "old"), elector(api, clock, "a"), elector(api, clock, "b")
    await old.try_acquire_or_renew()
    await a.try_acquire_or_renew()
    await b.try_acquire_or_renew()
    clock.mono += 15
    current = await a.lock.get()
    assert current is not None
    # b wins between a's read and a's write: a's PUT carries the stale resourceVersion.
    assert await b.try_acquire_or_renew()
    real_get = a.lock.get

    async def stale_get() -> dict[str, Any]:
        return current

    a.lock.get = stale_get  # type: ignore[method-assign]
    assert not await a.try_acquire_or_renew()
    a.lock.get = real_get  # type: ignore[method-assign]
    assert not a.may_act()
    assert api.holder() == "b"


async def test_stop_releases_so_a_standby_takes_over_at_its_next_try(api: LeaseApi) -> None:
    clock, events = Clock(), list[str]()
    a, b = elector(api, clock, "a", events), elector(api, clock, "b", events)
    await a.try_acquire_or_renew()
    await b.try_acquire_or_renew()
    await a.stop(release=True)
    spec = api.leases["op"]["spec"]
    assert spec["holderIdentity"] == ""
    assert spec["leaseDurationSeconds"] == 1
    assert not a.may_act()
    assert "a stopped" in events
    clock.mono += 2
    assert await b.try_acquire_or_renew()
    assert api.leases["op"]["spec"]["leaseTransitions"] == 1


async def test_release_survives_a_renewal_written_but_never_answered(api: LeaseApi) -> None:
    """SIGTERM cancels a renewal in flight; the API server wrote it: the release retries on a fresh read."""
    clock = Clock()
    a = elector(api, clock, "a")
    await a.try_acquire_or_renew()
    api.leases["op"]["spec"]["renewTime"] = "2026-12-06T00:16:42.000000Z"
    api._store("op", api.leases["op"])  # a newer resourceVersion than the copy `a` holds
    await a.stop(release=True)
    assert api.leases["op"]["spec"]["holderIdentity"] == ""
    assert not a.leading()


async def test_release_leaves_a_lease_someone_else_took_alone(api: LeaseApi) -> None:
    clock = Clock()
    a, b = elector(api, clock, "a"), elector(api, clock, "b")
    await a.try_acquire_or_renew()
    await b.try_acquire_or_renew()
    clock.mono += 15
    assert await b.try_acquire_or_renew()  # a was paused; b took over
    await a.stop(release=True)
    assert api.holder() == "b"


async def test_a_standby_stopping_writes_nothing(api: LeaseApi) -> None:
    clock = Clock()
    a, b = elector(api, clock, "a"), elector(api, clock, "b")
    await a.try_acquire_or_renew()
    await b.try_acquire_or_renew()
    before = api.writes()
    await b.stop(release=True)
    assert api.writes() == before
    assert api.holder() == "a"


async def test_the_fence_refuses_every_write_of_the_operator_s_client(api: LeaseApi) -> None:
    clock = Clock()
    a, b = elector(api, clock, "a"), elector(api, clock, "b")
    await a.try_acquire_or_renew()
    await b.try_acquire_or_renew()
    of_a = KubeClient(KubeConfig(server="http://kube.test"), send=api, write_guard=a.check)
    of_b = KubeClient(KubeConfig(server="http://kube.test"), send=api, write_guard=b.check)
    with pytest.raises(NotLeader):
        await of_b.create(LEASES, "ops", {"metadata": {"name": "x"}})
    assert "x" not in api.leases
    assert (await of_b.get(LEASES, "ops", "op"))["spec"]["holderIdentity"] == "a"  # reads are never fenced
    await of_a.create(LEASES, "ops", {"metadata": {"name": "x"}})
    assert "x" in api.leases


def test_unsafe_timing_is_refused() -> None:
    kube = KubeClient(KubeConfig(server="http://kube.test"))
    with pytest.raises(ValueError, match="renew deadline"):
        LeaderElector(LeaseLock(kube, "ops", "op"), "a", ElectionTiming(10, 10, 2))
