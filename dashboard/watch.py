"""List then watch one kind in one scope (a namespace, or all), forever.

Resumes from the last resourceVersion seen (bookmarks included) after the
server ends a watch or the connection drops, with exponential backoff while
the API server is unreachable; relists when the version is too old (410 Gone).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiops_operator.kube import Gone, KubeApiError, KubeClient, KubeUnavailable, ResourceType
from prometheus_client import CollectorRegistry, Counter

log = logging.getLogger("aiops_rca.dashboard.watch")

Key = tuple[str, str]
Sleep = Callable[[float], Awaitable[None]]


class Sink(Protocol):
    """Where listed pages and watch events go (the dashboard's live view)."""

    def listed_page(self, kind: str, items: list[dict[str, Any]]) -> set[Key]: ...

    def listed(self, kind: str, namespace: str | None, seen: set[Key]) -> None: ...

    def event(self, kind: str, event_type: str, obj: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class Backoff:
    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0

    def delay(self, failures: int) -> float:
        """Wait before retry number `failures` (1-based), with ±20 % jitter so replicas spread out."""
        base = min(self.maximum, self.initial * self.factor ** max(0, failures - 1))
        return base * random.uniform(0.8, 1.2)  # noqa: S311  (jitter, not security)


class WatchMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter(
            "aiops_rca_dashboard_watch_events", "Watch events received", ["kind", "type"], registry=registry
        )
        self.restarts = Counter(
            "aiops_rca_dashboard_watch_restarts", "Watches restarted, by reason", ["kind", "reason"], registry=registry
        )
        self.lists = Counter(
            "aiops_rca_dashboard_lists", "Full lists (start and 410 Gone)", ["kind"], registry=registry
        )


async def run_watch(
    kube: KubeClient,
    rt: ResourceType,
    kind: str,
    namespace: str | None,
    sink: Sink,
    metrics: WatchMetrics,
    *,
    on_synced: Callable[[], None] = lambda: None,
    watch_timeout: int = 300,
    page_size: int = 500,
    backoff: Backoff = Backoff(),
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Runs until cancelled."""
    resource_version: str | None = None
    failures = 0
    scope = namespace or "all namespaces"
    while True:
        try:
            if resource_version is None:
                resource_version = await _list(kube, rt, kind, namespace, sink, page_size)
                metrics.lists.labels(kind).inc()
                on_synced()
            async for event in kube.watch(rt, namespace, resource_version, timeout_seconds=watch_timeout):
                failures = 0
                metrics.events.labels(kind, event.type).inc()
                if event.type != "BOOKMARK":
                    sink.event(kind, event.type, event.object)
                resource_version = event.resource_version or resource_version
            metrics.restarts.labels(kind, "ended").inc()
        except Gone:
            metrics.restarts.labels(kind, "gone").inc()
            log.info("watch of %s in %s expired (410 Gone); relisting", rt.plural, scope)
            resource_version = None
        except (KubeUnavailable, KubeApiError) as exc:
            failures += 1
            metrics.restarts.labels(kind, "error").inc()
            delay = Backoff.delay(backoff, failures)
            log.warning("watch of %s in %s failed (%s); retrying in %.1fs", rt.plural, scope, exc, delay)
            await sleep(delay)


async def _list(
    kube: KubeClient, rt: ResourceType, kind: str, namespace: str | None, sink: Sink, page_size: int
) -> str:
    """List page by page into the sink (so raw pages are freed as they go); the list's resourceVersion."""
    seen: set[Key] = set()
    token: str | None = None
    while True:
        page = await kube.list_page(rt, namespace, limit=page_size, continue_token=token)
        seen |= sink.listed_page(kind, page.get("items", []))
        meta = page.get("metadata", {})
        token = meta.get("continue")
        if not token:
            sink.listed(kind, namespace, seen)
            log.info("listed %d %s in %s", len(seen), rt.plural, namespace or "all namespaces")
            return str(meta.get("resourceVersion", ""))
