"""The client over real HTTP (a local aiohttp server stands in for the API server): paths, error mapping,
merge patches, pagination and watches."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import RawTestServer
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

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


class Server:
    """A local HTTP server answering with `handler`, and the requests it saw (method, path, query, headers, body)."""

    def __init__(self) -> None:
        self.handler: Handler = lambda _request: respond(200, {})
        self.seen: list[dict[str, Any]] = []

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        self.seen.append({"method": request.method, "path": request.path, "query": dict(request.query),
                          "headers": dict(request.headers), "body": await request.read()})
        return await self.handler(request)


async def respond(code: int, body: Any, **headers: str) -> web.Response:
    return web.Response(status=code, text=json.dumps(body), content_type="application/json", headers=headers)


def status(code: int, reason: str, message: str = "") -> Handler:
    return lambda _request: respond(code, {"kind": "Status", "code": code, "reason": reason, "message": message})


@pytest.fixture
async def server() -> AsyncIterator[tuple[Server, KubeClient]]:
    fake = Server()
    raw = RawTestServer(fake.handle)
    await raw.start_server()
    kube = KubeClient(KubeConfig(server=str(raw.make_url("")).rstrip("/"), token="t0k3n"))
    yield fake, kube
    await kube.close()
    await raw.close()


def test_paths() -> None:
    assert INCIDENTS.path("ns", "x", "status") == "/apis/aiops-rca.io/v1alpha1/namespaces/ns/incidents/x/status"
    assert INCIDENTS.path(None) == "/apis/aiops-rca.io/v1alpha1/incidents"
    assert EVENTS.path("ns") == "/api/v1/namespaces/ns/events"


@pytest.mark.parametrize(
    ("handler", "error"),
    [
        pytest.param(status(409, "AlreadyExists"), Conflict, id="409"),
        pytest.param(status(404, "NotFound"), NotFound, id="404"),
        pytest.param(status(503, "ServiceUnavailable"), KubeUnavailable, id="503"),
        pytest.param(status(500, "InternalError", "etcdserver: request timed out"), KubeUnavailable, id="500"),
        pytest.param(lambda _r: _text(429, "slow down"), KubeUnavailable, id="429-no-status"),
    ],
)
async def test_errors_map_to_exceptions(server: tuple[Server, KubeClient], handler: Handler,
                                        error: type[Exception]) -> None:
    fake, kube = server
    fake.handler = handler
    with pytest.raises(error):
        await kube.create(INCIDENTS, "ns", {"metadata": {"name": "x"}})


async def _text(code: int, text: str) -> web.Response:
    return web.Response(status=code, text=text)


async def test_create_sends_the_token_the_field_manager_and_json(server: tuple[Server, KubeClient]) -> None:
    fake, kube = server
    fake.handler = lambda _request: respond(201, {"metadata": {"name": "x"}})
    assert await kube.create(INCIDENTS, "ns", {"metadata": {"name": "x"}}) == {"metadata": {"name": "x"}}
    request = fake.seen[0]
    assert (request["method"], request["path"]) == ("POST", "/apis/aiops-rca.io/v1alpha1/namespaces/ns/incidents")
    assert request["headers"]["Authorization"] == "Bearer t0k3n"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["query"] == {"fieldManager": "aiops-rca"}
    assert json.loads(request["body"]) == {"metadata": {"name": "x"}}


async def test_conflict_knows_already_exists(server: tuple[Server, KubeClient]) -> None:
    fake, kube = server
    fake.handler = status(409, "AlreadyExists")
    with pytest.raises(Conflict) as info:
        await kube.create(INCIDENTS, "ns", {})
    assert info.value.already_exists


async def test_an_unreachable_server_is_unavailable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with KubeClient(KubeConfig(server=f"http://127.0.0.1:{port}"), timeout=2.0) as kube:
        with pytest.raises(KubeUnavailable):
            await kube.get(INCIDENTS, "ns", "x")
        assert not await kube.ready()


async def test_patch_is_a_merge_patch_on_status(server: tuple[Server, KubeClient]) -> None:
    fake, kube = server
    await kube.patch(INCIDENTS, "ns", "x", {"status": {"phase": "Resolved"}}, status=True, resource_version="7")
    request = fake.seen[0]
    assert request["method"] == "PATCH"
    assert request["path"].endswith("/incidents/x/status")
    assert request["headers"]["Content-Type"] == "application/merge-patch+json"
    assert json.loads(request["body"]) == {"status": {"phase": "Resolved"}, "metadata": {"resourceVersion": "7"}}


async def test_list_all_follows_continue_tokens(server: tuple[Server, KubeClient]) -> None:
    fake, kube = server

    async def pages(request: web.BaseRequest) -> web.Response:
        if request.query.get("continue") == "c1=/+":
            return await respond(200, {"items": [{"n": 2}], "metadata": {"resourceVersion": "42"}})
        return await respond(200, {"items": [{"n": 1}], "metadata": {"continue": "c1=/+"}})

    fake.handler = pages
    items, rv = await kube.list_all(INCIDENTS)
    assert items == [{"n": 1}, {"n": 2}]
    assert rv == "42"


async def test_non_resource_paths_as_text(server: tuple[Server, KubeClient]) -> None:
    fake, kube = server
    fake.handler = lambda _request: _text(200, "apiserver_request_total 3\n")
    assert await kube.get_text("/metrics") == "apiserver_request_total 3\n"
    assert await kube.ready()


async def test_watch_streams_events_and_raises_gone(server: tuple[Server, KubeClient]) -> None:
    fake, kube = server
    big = "x" * 300_000  # a large object is one long line

    async def stream(request: web.BaseRequest) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for line in (
            {"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "5"}, "data": big}},
            {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "6"}}},
            {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}},
        ):
            await response.write(json.dumps(line).encode() + b"\n")
        return response

    fake.handler = stream
    seen: list[WatchEvent] = []

    async def drain() -> None:
        async for event in kube.watch(INCIDENTS, "ns", "1", timeout_seconds=5):
            seen.append(event)

    with pytest.raises(Gone):
        await drain()
    assert [(e.type, e.resource_version) for e in seen] == [("ADDED", "5"), ("BOOKMARK", "6")]
    assert fake.seen[0]["query"]["watch"] == "1"
    assert fake.seen[0]["query"]["resourceVersion"] == "1"


async def test_a_watch_refused_up_front_raises_the_error(server: tuple[Server, KubeClient]) -> None:
    fake, kube = server
    fake.handler = status(410, "Expired", "too old resource version")

    async def drain() -> None:
        async for _ in kube.watch(INCIDENTS, "ns", "1"):
            pass

    with pytest.raises(Gone):
        await drain()


async def test_queued_counts_requests_waiting_for_an_in_flight_slot(server: tuple[Server, KubeClient]) -> None:
    fake, kube = server
    gate = asyncio.Event()

    async def slow(_request: web.BaseRequest) -> web.Response:
        await gate.wait()
        return await respond(200, {})

    fake.handler = slow
    limited = KubeClient(kube.config, max_in_flight=2)
    requests = [asyncio.create_task(limited.get(INCIDENTS, "ns", f"x{n}")) for n in range(5)]
    for _ in range(100):
        if limited.queued == 3:
            break
        await asyncio.sleep(0.01)
    assert limited.queued == 3  # two in flight, three waiting
    gate.set()
    await asyncio.gather(*requests)
    assert limited.queued == 0
    await limited.close()
