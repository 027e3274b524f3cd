"""A small async client for the Kubernetes API, for our custom resources and Events.

The official Python client is synchronous and slow under load; the receiver
(thousands of creates), the dashboard (long watches) and the operator's
children need an async one. This is deliberately small: create, get, list,
merge-patch (optionally the status subresource), delete and watch, with the
API server's errors mapped to exceptions callers can branch on (409 Conflict
for deduplication, 404, 410 Gone for watch restarts).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote

import httpx

from aiops_operator.api import GROUP, VERSION
from aiops_operator.kube.config import KubeConfig

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class ResourceType:
    """Where a kind lives in the API: group ('' for core), version, plural."""

    group: str
    version: str
    plural: str

    def path(self, namespace: str | None, name: str | None = None, subresource: str | None = None) -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        parts = [base]
        if namespace is not None:
            parts.append(f"namespaces/{quote(namespace, safe='')}")
        parts.append(self.plural)
        if name is not None:
            parts.append(quote(name, safe=""))
        if subresource is not None:
            parts.append(subresource)
        return "/".join(parts)


INCIDENTS = ResourceType(GROUP, VERSION, "incidents")
ATTEMPTS = ResourceType(GROUP, VERSION, "remediationattempts")
POLICIES = ResourceType(GROUP, VERSION, "remediationpolicies")
EVENTS = ResourceType("", "v1", "events")
NAMESPACES = ResourceType("", "v1", "namespaces")


class KubeApiError(Exception):
    """The API server answered with an error Status."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


class NotFound(KubeApiError):
    pass


class Conflict(KubeApiError):
    """409: AlreadyExists on create, or a resourceVersion conflict on update."""

    @property
    def already_exists(self) -> bool:
        return self.reason == "AlreadyExists"


class Gone(KubeApiError):
    """410: the watch's resourceVersion is too old; relist."""


class Invalid(KubeApiError):
    """422: the object failed schema validation."""


class KubeUnavailable(Exception):
    """The API server could not be reached or did not answer in time."""


_ERRORS: dict[int, type[KubeApiError]] = {404: NotFound, 409: Conflict, 410: Gone, 422: Invalid}


def _error(status: int, body: Any) -> KubeApiError:
    reason, message = "", ""
    if isinstance(body, dict):
        reason = str(body.get("reason", ""))
        message = str(body.get("message", ""))
    return _ERRORS.get(status, KubeApiError)(status, reason, message or f"HTTP {status}")


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: JsonObject

    @property
    def resource_version(self) -> str | None:
        rv: str | None = self.object.get("metadata", {}).get("resourceVersion")
        return rv


class _BearerAuth(httpx.Auth):
    def __init__(self, config: KubeConfig) -> None:
        self._config = config

    def auth_flow(self, request: httpx.Request) -> Any:
        token = self._config.bearer_token()
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        yield request


class KubeClient:
    """Async access to one cluster. Create once, share, `await close()` at shutdown."""

    def __init__(
        self,
        config: KubeConfig,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        max_connections: int = 64,
        field_manager: str = "aiops-rca",
        max_in_flight: int | None = None,
    ) -> None:
        self.config = config
        self.field_manager = field_manager
        # Requests beyond the pool's connections wait here rather than in httpcore's pool queue, whose
        # bookkeeping grows with the queue (measured: a third of the operator's CPU under a burst).
        self._in_flight = asyncio.Semaphore(max_in_flight) if max_in_flight else None
        self._http = http or httpx.AsyncClient(
            base_url=config.server,
            verify=config.ssl_context(),
            auth=_BearerAuth(config),
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        content_type: str = "application/json",
    ) -> JsonObject:
        headers = {"Accept": "application/json"}
        content = None
        if json_body is not None:
            headers["Content-Type"] = content_type
            content = json.dumps(json_body).encode()
        try:
            if self._in_flight is None:
                response = await self._http.request(method, path, params=params, content=content, headers=headers)
            else:
                async with self._in_flight:
                    response = await self._http.request(method, path, params=params, content=content,
                                                        headers=headers)
        except httpx.TransportError as exc:
            raise KubeUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = {"message": response.text[:500]}
        if response.status_code >= 400:
            if response.status_code == 429 or response.status_code >= 500:
                # Overloaded, etcd down, timeouts: the same request can succeed later.
                detail = body.get("message", "") if isinstance(body, dict) else ""
                raise KubeUnavailable(f"{method} {path}: HTTP {response.status_code} {detail}".strip())
            raise _error(response.status_code, body)
        result: JsonObject = body
        return result

    async def create(self, rt: ResourceType, namespace: str | None, body: JsonObject) -> JsonObject:
        """Create; `namespace` None for cluster-scoped kinds. Conflict(already_exists) if the name is taken."""
        return await self._request(
            "POST", rt.path(namespace), json_body=body, params={"fieldManager": self.field_manager}
        )

    async def get(self, rt: ResourceType, namespace: str | None, name: str) -> JsonObject:
        return await self._request("GET", rt.path(namespace, name))

    async def replace(self, rt: ResourceType, namespace: str | None, name: str, body: JsonObject) -> JsonObject:
        """PUT the whole object; Conflict if metadata.resourceVersion is stale."""
        return await self._request(
            "PUT", rt.path(namespace, name), json_body=body, params={"fieldManager": self.field_manager}
        )

    async def list_page(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> JsonObject:
        params: dict[str, str] = {}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        if limit:
            params["limit"] = str(limit)
        if continue_token:
            params["continue"] = continue_token
        return await self._request("GET", rt.path(namespace), params=params)

    async def list_all(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        page_size: int = 500,
        label_selector: str | None = None,
    ) -> tuple[list[JsonObject], str]:
        """Every object (paginated) and the list's resourceVersion to start a watch from."""
        items: list[JsonObject] = []
        token: str | None = None
        while True:
            page = await self.list_page(
                rt, namespace, limit=page_size, continue_token=token, label_selector=label_selector
            )
            items.extend(page.get("items", []))
            token = page.get("metadata", {}).get("continue")
            if not token:
                return items, str(page.get("metadata", {}).get("resourceVersion", ""))

    async def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        patch: JsonObject,
        *,
        status: bool = False,
        resource_version: str | None = None,
    ) -> JsonObject:
        """JSON merge patch; with `resource_version`, a 409 if the object changed since it was read."""
        if resource_version is not None:
            patch = {**patch, "metadata": {**patch.get("metadata", {}), "resourceVersion": resource_version}}
        return await self._request(
            "PATCH",
            rt.path(namespace, name, "status" if status else None),
            json_body=patch,
            content_type="application/merge-patch+json",
            params={"fieldManager": self.field_manager},
        )

    async def delete(self, rt: ResourceType, namespace: str | None, name: str) -> JsonObject:
        return await self._request(
            "DELETE", rt.path(namespace, name), json_body={"propagationPolicy": "Background"}
        )

    async def ready(self) -> bool:
        """Whether the API server answers /readyz (any authenticated answer counts)."""
        try:
            response = await self._http.get("/readyz", timeout=2.0)
        except httpx.TransportError:
            return False
        return response.status_code in (200, 401, 403)

    async def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        resource_version: str,
        *,
        timeout_seconds: int = 300,
        label_selector: str | None = None,
    ) -> AsyncIterator[WatchEvent]:
        """Events after `resource_version` until the server ends the watch; raises Gone on 410."""
        params = {
            "watch": "1",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        if label_selector:
            params["labelSelector"] = label_selector
        try:
            async with self._http.stream(
                "GET",
                rt.path(namespace),
                params=params,
                timeout=httpx.Timeout(10.0, read=timeout_seconds + 30),
            ) as response:
                if response.status_code >= 400:
                    body = json.loads(await response.aread() or b"{}")
                    raise _error(response.status_code, body)
                async for line in response.aiter_lines():
                    if not line:
                        continue
                    event = json.loads(line)
                    if event.get("type") == "ERROR":
                        status_obj = event.get("object", {})
                        raise _error(int(status_obj.get("code", 500)), status_obj)
                    yield WatchEvent(type=event["type"], object=event["object"])
        except httpx.TransportError as exc:
            raise KubeUnavailable(f"watch {rt.plural}: {type(exc).__name__}: {exc}") from exc
