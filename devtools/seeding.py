"""Create sample Incidents (with status) and their RemediationAttempts through the API server.

Used by the dashboard's end-to-end tests, its benchmark and screenshots, until the operator writes
real status. Creates run concurrently, bounded by a semaphore.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiops_operator.kube import ATTEMPTS, INCIDENTS, KubeClient

from devtools.samples import SampleIncident, owned


async def create_sample(kube: KubeClient, namespace: str, sample: SampleIncident) -> None:
    """The incident, its status, then each attempt with its status (owned by the incident)."""
    created = await kube.create(INCIDENTS, namespace, sample.body)
    await kube.patch(INCIDENTS, namespace, sample.name, {"status": sample.status}, status=True)
    uid = str(created["metadata"]["uid"])
    for body, status in sample.attempts:
        await kube.create(ATTEMPTS, namespace, owned(body, sample.name, uid))
        if status:
            await kube.patch(ATTEMPTS, namespace, body["metadata"]["name"], {"status": status}, status=True)


async def create_samples(
    kube: KubeClient, namespace: str, samples: Iterable[SampleIncident], *, concurrency: int = 32
) -> int:
    gate = asyncio.Semaphore(concurrency)
    count = 0

    async def one(sample: SampleIncident) -> None:
        nonlocal count
        async with gate:
            await create_sample(kube, namespace, sample)
            count += 1

    await asyncio.gather(*(one(s) for s in samples))
    return count
