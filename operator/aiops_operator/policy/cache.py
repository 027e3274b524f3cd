"""The RemediationPolicies of each namespace, as the reconciles read them: listed at most every few seconds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiops_operator.api import RemediationPolicy
from aiops_operator.kube import POLICIES, KubeClient
from aiops_operator.policy.validation import validate_policy_body

log = logging.getLogger(__name__)

POLICY_CACHE_SECONDS = 10.0


class PolicyCache:
    """RemediationPolicies per namespace, listed at most every few seconds; invalidated by policy events.

    One list per namespace at a time: the reconciles that find the cache stale together (a burst of
    incidents) share the one list in flight instead of each sending their own.
    """

    def __init__(self, kube: KubeClient, clock: Callable[[], float], ttl: float = POLICY_CACHE_SECONDS) -> None:
        self._kube = kube
        self._clock = clock
        self._ttl = ttl
        self._cache: dict[str, tuple[float, tuple[RemediationPolicy, ...]]] = {}
        self._loading: dict[str, asyncio.Future[tuple[RemediationPolicy, ...]]] = {}

    def invalidate(self, namespace: str) -> None:
        self._cache.pop(namespace, None)
        # A list already in flight may predate the change: later callers list again.
        self._loading.pop(namespace, None)

    async def get(self, namespace: str) -> tuple[RemediationPolicy, ...]:
        hit = self._cache.get(namespace)
        if hit is not None and self._clock() - hit[0] < self._ttl:
            return hit[1]
        loading = self._loading.get(namespace)
        if loading is None:
            loading = asyncio.ensure_future(self._load(namespace))
            self._loading[namespace] = loading
            loading.add_done_callback(lambda done: self._loaded(namespace, done))
        # Shielded: one caller being cancelled must not cancel the list the others wait for.
        return await asyncio.shield(loading)

    def _loaded(self, namespace: str, done: asyncio.Future[tuple[RemediationPolicy, ...]]) -> None:
        failed = done.cancelled() or done.exception() is not None  # (retrieved: the waiters got it too)
        if self._loading.get(namespace) is not done:
            return  # invalidated while listing: the result may predate the change
        del self._loading[namespace]
        if not failed:
            self._cache[namespace] = (self._clock(), done.result())

    async def _load(self, namespace: str) -> tuple[RemediationPolicy, ...]:
        items, _ = await self._kube.list_all(POLICIES, namespace)
        policies: list[RemediationPolicy] = []
        for item in items:
            # An invalid policy covers nothing and heals nothing; its own status (Stalled, InvalidSpec) says why.
            policy, problems = validate_policy_body(item)
            if policy is None or problems:
                log.info("ignoring invalid RemediationPolicy %s: %s", item.get("metadata", {}).get("name"),
                         "; ".join(str(p) for p in problems[:3]))
                continue
            policies.append(policy)
        return tuple(policies)
