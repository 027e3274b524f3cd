"""The policy cache: one list per namespace at a time, stale results never cached after an invalidation."""

from __future__ import annotations

import asyncio
from typing import Any

from aiops_operator.policy.cache import PolicyCache


def policy(name: str) -> dict[str, Any]:
    return {"apiVersion": "aiops-rca.io/v1alpha1", "kind": "RemediationPolicy",
            "metadata": {"name": name, "namespace": "ns", "generation": 1},
            "spec": {"rules": [{"name": "gw", "errorType": "GatewayTimeout", "action": "RerunPipeline"}]}}


class SlowKube:
    """Lists take until `release` is set; counts them."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.lists = 0
        self.release = asyncio.Event()

    async def list_all(self, *_: Any, **__: Any) -> tuple[list[dict[str, Any]], str]:
        self.lists += 1
        names = list(self.names)
        await self.release.wait()
        return [policy(n) for n in names], "1"


async def test_a_burst_of_reconciles_shares_one_list() -> None:
    kube = SlowKube(["default"])
    cache = PolicyCache(kube, lambda: 0.0)  # type: ignore[arg-type]
    waiters = [asyncio.create_task(cache.get("ns")) for _ in range(50)]
    await asyncio.sleep(0)
    kube.release.set()
    results = await asyncio.gather(*waiters)
    assert kube.lists == 1
    assert all([p.metadata.name for p in r] == ["default"] for r in results)
    await cache.get("ns")
    assert kube.lists == 1  # cached


async def test_a_cancelled_caller_does_not_cancel_the_list_for_the_others() -> None:
    kube = SlowKube(["default"])
    cache = PolicyCache(kube, lambda: 0.0)  # type: ignore[arg-type]
    first, second = asyncio.create_task(cache.get("ns")), asyncio.create_task(cache.get("ns"))
    await asyncio.sleep(0)
    first.cancel()
    kube.release.set()
    assert [p.metadata.name for p in await second] == ["default"]


async def test_a_list_that_predates_an_invalidation_is_not_cached() -> None:
    kube = SlowKube(["old"])
    cache = PolicyCache(kube, lambda: 0.0)  # type: ignore[arg-type]
    stale = asyncio.create_task(cache.get("ns"))
    await asyncio.sleep(0)
    kube.names = ["new"]
    cache.invalidate("ns")  # a policy event arrived while the list was in flight
    fresh = asyncio.create_task(cache.get("ns"))
    await asyncio.sleep(0)
    kube.release.set()
    await stale
    assert [p.metadata.name for p in await fresh] == ["new"]
    assert [p.metadata.name for p in await cache.get("ns")] == ["new"]
    assert kube.lists == 2


async def test_the_cache_expires() -> None:
    now = [0.0]
    kube = SlowKube(["default"])
    kube.release.set()
    cache = PolicyCache(kube, lambda: now[0], ttl=10.0)  # type: ignore[arg-type]
    await cache.get("ns")
    now[0] = 9.0
    await cache.get("ns")
    assert kube.lists == 1
    now[0] = 10.5
    await cache.get("ns")
    assert kube.lists == 2
