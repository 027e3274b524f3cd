from __future__ import annotations

import json

import httpx
import pytest
from aiops_operator.kube import (
    INCIDENTS,
    Conflict,
    Gone,
    KubeClient,
    KubeConfig,
    KubeUnavailable,
    NotFound,
    WatchEvent,
)
from aiops_operator.kube.client import EVENTS

CONFIG = KubeConfig(server="https://k8s.test", token="t0k3n")


def client_with(handler: httpx.MockTransport) -> KubeClient:
    http = httpx.AsyncClient(base_url=CONFIG.server, transport=handler)
    return KubeClient(CONFIG, http=http)


def status(code: int, reason: str, message: str = "") -> httpx.Response:
    return httpx.Response(code, json={"kind": "Status", "code": code, "reason": reason, "message": message})


def test_paths() -> None:
    assert INCIDENTS.path("ns", "x", "status") == "/apis/aiops-rca.io/v1alpha1/namespaces/ns/incidents/x/status"
    assert INCIDENTS.path(None) == "/apis/aiops-rca.io/v1alpha1/incidents"
    assert EVENTS.path("ns") == "/api/v1/namespaces/ns/events"


@pytest.mark.parametrize(
    ("response", "error"),
    [
        pytest.param(status(409, "AlreadyExists"), Conflict, id="409"),
        pytest.param(status(404, "NotFound"), NotFound, id="404"),
        pytest.param(status(503, "ServiceUnavailable"), KubeUnavailable, id="503"),
        pytest.param(status(500, "InternalError", "etcdserver: request timed out"), KubeUnavailable, id="500"),
        pytest.param(httpx.Response(429, text="slow down"), KubeUnavailable, id="429-no-status"),
    ],
)
async def test_errors_map_to_exceptions(response: httpx.Response, error: type[Exception]) -> None:
    async with client_with(httpx.MockTransport(lambda _req: response)) as kube:
        with pytest.raises(error):
            await kube.create(INCIDENTS, "ns", {"metadata": {"name": "x"}})


async def test_conflict_knows_already_exists() -> None:
    async with client_with(httpx.MockTransport(lambda _req: status(409, "AlreadyExists"))) as kube:
        with pytest.raises(Conflict) as info:
            await kube.create(INCIDENTS, "ns", {})
    assert info.value.already_exists


async def test_transport_failure_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with client_with(httpx.MockTransport(refuse)) as kube:
        with pytest.raises(KubeUnavailable):
            await kube.get(INCIDENTS, "ns", "x")


async def test_patch_is_a_merge_patch_on_status() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    async with client_with(httpx.MockTransport(handler)) as kube:
        await kube.patch(INCIDENTS, "ns", "x", {"status": {"phase": "Resolved"}}, status=True, resource_version="7")
    request = seen[0]
    assert request.method == "PATCH"
    assert request.url.path.endswith("/incidents/x/status")
    assert request.headers["content-type"] == "application/merge-patch+json"
    assert json.loads(request.content) == {"status": {"phase": "Resolved"}, "metadata": {"resourceVersion": "7"}}


async def test_list_all_follows_continue_tokens() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("continue") == "c1":
            return httpx.Response(200, json={"items": [{"n": 2}], "metadata": {"resourceVersion": "42"}})
        return httpx.Response(200, json={"items": [{"n": 1}], "metadata": {"continue": "c1"}})

    async with client_with(httpx.MockTransport(handler)) as kube:
        items, rv = await kube.list_all(INCIDENTS)
    assert items == [{"n": 1}, {"n": 2}]
    assert rv == "42"


async def test_watch_yields_events_and_raises_gone() -> None:
    lines = [
        {"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "5"}}},
        {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}},
    ]
    body = "\n".join(json.dumps(line) for line in lines) + "\n"

    async with client_with(httpx.MockTransport(lambda _req: httpx.Response(200, text=body))) as kube:
        seen: list[WatchEvent] = []

        async def drain() -> None:
            async for event in kube.watch(INCIDENTS, "ns", "1"):
                seen.append(event)

        with pytest.raises(Gone):
            await drain()
    assert [(e.type, e.resource_version) for e in seen] == [("ADDED", "5")]
