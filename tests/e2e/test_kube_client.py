"""The async client against the real API server: create/409, status patch, watch from a resourceVersion."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from aiops_operator.kube import INCIDENTS, Conflict, Invalid, KubeClient, load_config

SAMPLE = Path(__file__).resolve().parents[2] / "crds" / "samples" / "incident-adf.yaml"


async def test_create_conflict_patch_watch(kubeconfig: Path, namespace: str) -> None:
    body = yaml.safe_load(SAMPLE.read_text())
    async with KubeClient(load_config(kubeconfig)) as kube:
        assert await kube.ready()
        _, rv = await kube.list_all(INCIDENTS, namespace)
        created = await kube.create(INCIDENTS, namespace, body)
        with pytest.raises(Conflict) as dup:
            await kube.create(INCIDENTS, namespace, body)
        assert dup.value.already_exists
        name = created["metadata"]["name"]
        await kube.patch(INCIDENTS, namespace, name, {"status": {"phase": "Analyzing"}}, status=True)
        got = await kube.get(INCIDENTS, namespace, name)
        assert got["status"]["phase"] == "Analyzing"

        seen: list[tuple[str, str | None]] = []

        async def collect() -> None:
            async for event in kube.watch(INCIDENTS, namespace, rv, timeout_seconds=5):
                seen.append((event.type, event.object.get("status", {}).get("phase")))
                if len(seen) == 2:
                    return

        await asyncio.wait_for(collect(), timeout=10)
        assert seen == [("ADDED", None), ("MODIFIED", "Analyzing")]


async def test_schema_violation_is_invalid(kubeconfig: Path, namespace: str) -> None:
    body = yaml.safe_load(SAMPLE.read_text())
    body["spec"]["source"] = "Jenkins"
    async with KubeClient(load_config(kubeconfig)) as kube:
        with pytest.raises(Invalid, match=r"spec\.source"):
            await kube.create(INCIDENTS, namespace, body)
