"""An in-memory stand-in for the API server's custom-resource endpoints, for unit tests (httpx.MockTransport)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from aiops_operator.kube import KubeClient, KubeConfig


class FakeApiServer:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}  # (plural, namespace, name)
        self.calls: list[tuple[str, str]] = []
        self.down = False

    def client(self) -> KubeClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handle), base_url="https://fake")
        return KubeClient(KubeConfig(server="https://fake"), http=http)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path))
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/readyz":
            return httpx.Response(200, text="ok")
        parts = request.url.path.strip("/").split("/")
        # apis/<group>/<version>/namespaces/<ns>/<plural>[/<name>[/status]]
        namespace, plural = parts[4], parts[5]
        name = parts[6] if len(parts) > 6 else None
        if request.method == "POST":
            body = json.loads(request.content)
            key = (plural, namespace, body["metadata"]["name"])
            if key in self.objects:
                return httpx.Response(409, json={"kind": "Status", "reason": "AlreadyExists", "message": "exists"})
            body["metadata"]["namespace"] = namespace
            self.objects[key] = body
            return httpx.Response(201, json=body)
        if request.method == "GET" and name is None:
            selector = request.url.params.get("labelSelector")
            items = [o for (p, ns, _), o in self.objects.items() if p == plural and ns == namespace]
            if selector:
                k, _, v = selector.partition("=")
                items = [o for o in items if o["metadata"].get("labels", {}).get(k) == v]
            return httpx.Response(200, json={"items": items, "metadata": {"resourceVersion": "1"}})
        obj = self.objects.get((plural, namespace, name or ""))
        if obj is None:
            return httpx.Response(404, json={"reason": "NotFound", "message": "not found"})
        if request.method == "GET":
            return httpx.Response(200, json=obj)
        if request.method == "PATCH":
            merge(obj, json.loads(request.content))
            return httpx.Response(200, json=obj)
        return httpx.Response(405)


def merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """RFC 7386 JSON merge patch."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = value
