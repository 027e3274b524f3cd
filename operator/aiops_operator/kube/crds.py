"""Install or update the aiops-rca CRDs in a cluster (demo, tests, `aiops-rca crds --apply`)."""

from __future__ import annotations

import asyncio

from aiops_operator.crdgen import KINDS, crd
from aiops_operator.kube.client import KubeClient, NotFound, ResourceType

CRDS = ResourceType("apiextensions.k8s.io", "v1", "customresourcedefinitions")


async def install_crds(kube: KubeClient) -> None:
    """Create or replace every CRD generated from the models; return once all are Established.

    Callers bound the wait with `asyncio.timeout()`.
    """
    for info in KINDS:
        body = crd(info)
        try:
            current = await kube.get(CRDS, None, info.crd_name)
        except NotFound:
            await kube.create(CRDS, None, body)
            continue
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        await kube.replace(CRDS, None, info.crd_name, body)
    for info in KINDS:
        while True:
            got = await kube.get(CRDS, None, info.crd_name)
            conditions = got.get("status", {}).get("conditions", [])
            if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                break
            await asyncio.sleep(0.2)
