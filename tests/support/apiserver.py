"""An in-memory stand-in for the API server's custom-resource endpoints, for unit tests (the client's sender).

Like the real one it bumps `metadata.resourceVersion` on every write and answers 409 Conflict to a patch
that names an older resourceVersion, so the fenced writes and their refolds can be unit-tested."""

from __future__ import annotations

import json
from typing import Any

from aiops_operator.kube import HttpRequest, HttpResponse, KubeClient, KubeConfig


def respond(status: int, body: Any = None, *, text: str | None = None) -> HttpResponse:
    return HttpResponse(status, text.encode() if text is not None else json.dumps(body or {}).encode())


class FakeApiServer:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}  # (plural, namespace, name)
        self.calls: list[tuple[str, str]] = []
        self.down = False
        self.revision = 0
        self.conflicts = 0
        """How many patches were refused for naming an older resourceVersion."""

    def _bump(self, obj: dict[str, Any]) -> None:
        self.revision += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.revision)

    def client(self) -> KubeClient:
        return KubeClient(KubeConfig(server="https://fake"), send=self.send)

    async def send(self, request: HttpRequest) -> HttpResponse:
        return self.handle(request)

    def handle(self, request: HttpRequest) -> HttpResponse:
        self.calls.append((request.method, request.path))
        if self.down:
            raise ConnectionRefusedError("connection refused")
        if request.path == "/readyz":
            return respond(200, text="ok")
        parts = request.path.strip("/").split("/")
        # apis/<group>/<version>/namespaces/<ns>/<plural>[/<name>[/status]], or api/v1/namespaces/<ns>/events
        at = parts.index("namespaces")
        namespace, plural = parts[at + 1], parts[at + 2]
        name = parts[at + 3] if len(parts) > at + 3 else None
        if request.method == "POST":
            body = json.loads(request.body or b"{}")
            if "name" not in body["metadata"] and "generateName" in body["metadata"]:
                body["metadata"]["name"] = f"{body['metadata']['generateName']}{self.revision + 1}"
            key = (plural, namespace, body["metadata"]["name"])
            if key in self.objects:
                return respond(409, {"kind": "Status", "reason": "AlreadyExists", "message": "exists"})
            body["metadata"]["namespace"] = namespace
            body["metadata"].setdefault("uid", f"uid-{namespace}-{body['metadata']['name']}")
            self._bump(body)
            self.objects[key] = body
            return respond(201, body)
        if request.method == "GET" and name is None:
            selector = request.params.get("labelSelector")
            items = [o for (p, ns, _), o in self.objects.items() if p == plural and ns == namespace]
            if selector:
                k, _, v = selector.partition("=")
                items = [o for o in items if o["metadata"].get("labels", {}).get(k) == v]
            return respond(200, {"items": items, "metadata": {"resourceVersion": "1"}})
        obj = self.objects.get((plural, namespace, name or ""))
        if obj is None:
            return respond(404, {"reason": "NotFound", "message": "not found"})
        if request.method == "GET":
            return respond(200, obj)
        if request.method == "PATCH":
            patch = json.loads(request.body or b"{}")
            wanted = (patch.get("metadata") or {}).pop("resourceVersion", None)
            if wanted is not None and wanted != obj["metadata"].get("resourceVersion"):
                self.conflicts += 1
                return respond(409, {"kind": "Status", "reason": "Conflict", "message": "the object has been modified"})
            merge(obj, patch)
            self._bump(obj)
            return respond(200, obj)
        if request.method == "PUT":
            body = json.loads(request.body or b"{}")
            if body["metadata"].get("resourceVersion") != obj["metadata"].get("resourceVersion"):
                self.conflicts += 1
                return respond(409, {"kind": "Status", "reason": "Conflict", "message": "the object has been modified"})
            body["metadata"]["uid"] = obj["metadata"].get("uid")
            self._bump(body)
            self.objects[(plural, namespace, name or "")] = body
            return respond(200, body)
        if request.method == "DELETE":
            options = json.loads(request.body or b"{}")
            uid = (options.get("preconditions") or {}).get("uid")
            if uid is not None and uid != obj["metadata"].get("uid"):
                return respond(409, {"kind": "Status", "reason": "Conflict", "message": "precondition failed: uid"})
            del self.objects[(plural, namespace, name or "")]
            return respond(200, {"kind": "Status", "status": "Success"})
        return respond(405)


def merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """RFC 7386 JSON merge patch."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = value
