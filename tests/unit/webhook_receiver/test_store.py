"""Create-with-dedup: the cache, coalescing of concurrent creates, the spool and its replay."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiops_operator.kube import INCIDENTS, Invalid

from tests.support.apiserver import FakeApiServer
from tests.unit.webhook_receiver.goldens import NOW, golden
from webhook_receiver.labels import incident_object
from webhook_receiver.metrics import ReceiverMetrics
from webhook_receiver.parsing import ParseOptions, azure_alerts
from webhook_receiver.spool import Spool, SpoolFull
from webhook_receiver.store import IncidentStore, Outcome, RecentNames


def incident() -> dict[str, object]:
    (spec,) = azure_alerts.parse(golden("azure-monitor/log-v2-pipeline-failed.json"), NOW, ParseOptions()).incidents
    return incident_object(spec)


def make_store(
    tmp_path: Path, api: FakeApiServer, *, max_files: int = 100, recent: RecentNames | None = None
) -> IncidentStore:
    spool = Spool(tmp_path / "spool", max_files=max_files, max_bytes=1 << 20)
    spool.open()
    return IncidentStore(api.client(), "ns", spool, ReceiverMetrics(), timeout=1.0, recent=recent)


def creates(api: FakeApiServer) -> int:
    return sum(1 for method, _ in api.calls if method == "POST")


async def test_create_then_duplicates_from_the_cache(tmp_path: Path) -> None:
    api = FakeApiServer()
    store = make_store(tmp_path, api)
    first = await store.create(incident())
    second = await store.create(incident())
    assert (first.outcome, second.outcome) == (Outcome.CREATED, Outcome.DUPLICATE)
    assert first.name == second.name == "adf-pl-copy-sales-daily-3afbb53e40"
    assert creates(api) == 1


async def test_409_is_a_duplicate(tmp_path: Path) -> None:
    api = FakeApiServer()
    store = make_store(tmp_path, api, recent=RecentNames(0, 0))
    await store.create(incident())
    again = await store.create(incident())
    assert again.outcome is Outcome.DUPLICATE
    assert creates(api) == 2


async def test_fifty_concurrent_identical_creates_make_one_call(tmp_path: Path) -> None:
    api = FakeApiServer()
    store = make_store(tmp_path, api)
    results = await asyncio.gather(*(store.create(incident()) for _ in range(50)))
    assert [r.outcome for r in results].count(Outcome.CREATED) == 1
    assert creates(api) == 1
    assert len(api.objects) == 1


async def test_cache_expires(tmp_path: Path) -> None:
    clock = [0.0]
    recent = RecentNames(10, 5.0, lambda: clock[0])
    recent.add("a")
    assert "a" in recent
    clock[0] = 6
    assert "a" not in recent


def test_cache_is_bounded() -> None:
    recent = RecentNames(2, 100.0)
    for name in ("a", "b", "c"):
        recent.add(name)
    assert "a" not in recent
    assert "b" in recent
    assert "c" in recent


async def test_unreachable_api_spools_then_replay_delivers_once(tmp_path: Path) -> None:
    api = FakeApiServer()
    api.down = True
    store = make_store(tmp_path, api)
    result = await store.create(incident())
    assert result.outcome is Outcome.SPOOLED
    assert bool(store.api_down)  # (bool(): no narrowing, the property changes below)
    # Duplicates while down find their twin in the spool, without calling the API server.
    calls = len(api.calls)
    assert (await store.create(incident())).outcome is Outcome.SPOOLED
    assert len(api.calls) == calls
    assert await store.replay_once() == 0  # still down
    api.down = False
    assert await store.replay_once() == 1
    assert store.spool.depth == 0
    assert store.api_down is not True  # (mypy narrowed the property above)
    assert list(api.objects) == [("incidents", "ns", "adf-pl-copy-sales-daily-3afbb53e40")]
    assert (await store.create(incident())).outcome is Outcome.DUPLICATE


async def test_replay_of_something_that_exists_is_a_duplicate(tmp_path: Path) -> None:
    api = FakeApiServer()
    store = make_store(tmp_path, api)
    body = incident()
    store.spool.put("ns", "adf-pl-copy-sales-daily-3afbb53e40", body)
    await api.client().create(INCIDENTS, "ns", body)
    assert await store.replay_once() == 1
    assert store.spool.depth == 0
    assert len(api.objects) == 1


async def test_spool_full_propagates(tmp_path: Path) -> None:
    api = FakeApiServer()
    api.down = True
    store = make_store(tmp_path, api, max_files=1)
    await store.create(incident())
    other = incident()
    other["metadata"]["name"] = "another"  # type: ignore[index]
    with pytest.raises(SpoolFull):
        await store.create(other)


async def test_slow_api_server_spools(tmp_path: Path) -> None:
    api = FakeApiServer()
    store = make_store(tmp_path, api)

    async def slow(*args: object, **kwargs: object) -> dict[str, object]:
        await asyncio.sleep(5)
        return {}

    store.timeout = 0.05
    store.kube.create = slow  # type: ignore[method-assign]
    assert (await store.create(incident())).outcome is Outcome.SPOOLED


async def test_invalid_is_not_spooled(tmp_path: Path) -> None:
    api = FakeApiServer()
    store = make_store(tmp_path, api)

    async def invalid(*args: object, **kwargs: object) -> dict[str, object]:
        raise Invalid(422, "Invalid", "spec.source: Unsupported value")

    store.kube.create = invalid  # type: ignore[method-assign]
    with pytest.raises(Invalid):
        await store.create(incident())
    assert store.spool.depth == 0


async def test_slow_create_is_spooled_then_unspooled_when_it_lands(tmp_path: Path) -> None:
    api = FakeApiServer()
    store = make_store(tmp_path, api)
    store.ack_budget = 0.02
    real_create = store.kube.create

    async def slow(*args: Any, **kwargs: Any) -> dict[str, Any]:
        await asyncio.sleep(0.2)
        return await real_create(*args, **kwargs)

    store.kube.create = slow  # type: ignore[method-assign]
    result = await store.create(incident())
    assert result.outcome is Outcome.SPOOLED
    assert store.spool.depth == 1
    assert await store.replay_once() == 0  # its create is still running: replay leaves it alone
    for _ in range(50):
        await asyncio.sleep(0.02)
        if store.spool.depth == 0:
            break
    assert store.spool.depth == 0
    assert list(api.objects) == [("incidents", "ns", "adf-pl-copy-sales-daily-3afbb53e40")]
    assert creates(api) == 1
    assert (await store.create(incident())).outcome is Outcome.DUPLICATE
