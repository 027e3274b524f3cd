"""The Starlette app: thin handlers over the live view (store + broadcaster) and the pure view model."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from importlib import resources
from typing import Any

from aiops_operator.kube import ATTEMPTS, INCIDENTS, POLICIES, KubeClient, ResourceType, load_config
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard import auth
from dashboard import viewmodel as vm
from dashboard.settings import Settings
from dashboard.store import ATTEMPT, INCIDENT, POLICY, Changes, Key, Store
from dashboard.stream import Broadcaster, frame
from dashboard.watch import Backoff, WatchMetrics, run_watch

log = logging.getLogger("aiops_rca.dashboard")

STATIC = resources.files("dashboard") / "static"
KINDS: tuple[tuple[str, ResourceType], ...] = ((INCIDENT, INCIDENTS), (ATTEMPT, ATTEMPTS), (POLICY, POLICIES))
HEARTBEAT_SECONDS = 15.0
OVERVIEW_MIN_INTERVAL = 1.0
OVERVIEW_REFRESH = 30.0
"""SLA deadlines pass without any event: republish the overview this often anyway."""
RECONNECT_MS = 1500

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Adds the Content-Security-Policy and friends to every response (no inline script can run)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LiveView:
    """Receives lists and watch events, keeps the store, and pushes deltas and the overview to browsers."""

    def __init__(self, store: Store, broadcaster: Broadcaster, clock: Callable[[], float], registry: CollectorRegistry):
        self.store = store
        self.broadcaster = broadcaster
        self.clock = clock
        self.synced: dict[str, bool] = {}
        self._overview_dirty = asyncio.Event()
        self.snapshots = Counter("aiops_rca_dashboard_snapshots", "Full snapshots sent to browsers", registry=registry)
        self.catchups = Counter(
            "aiops_rca_dashboard_catchups", "Reconnects served from the replay buffer", registry=registry
        )
        objects = Gauge("aiops_rca_dashboard_objects", "Objects in the in-memory view", ["kind"], registry=registry)
        for kind in (INCIDENT, ATTEMPT, POLICY):
            objects.labels(kind).set_function(self._counter_of(kind))
        Gauge("aiops_rca_dashboard_streams", "Open browser streams", registry=registry).set_function(
            lambda: float(len(self.broadcaster.subscribers))
        )

    def _counter_of(self, kind: str) -> Callable[[], float]:
        return lambda: float(self.store.counts()[kind])

    def mark_synced(self, label: str) -> Callable[[], None]:
        def done() -> None:
            self.synced[label] = True

        return done

    # ---- Sink ----

    def listed_page(self, kind: str, items: list[dict[str, Any]]) -> set[Key]:
        changes, seen = self.store.upsert_many(kind, items)
        self._publish(changes)
        return seen

    def listed(self, kind: str, namespace: str | None, seen: set[Key]) -> None:
        self._publish(self.store.drop_missing(kind, namespace, seen))
        self._overview_dirty.set()

    def event(self, kind: str, event_type: str, obj: Mapping[str, Any]) -> None:
        self._publish(self.store.apply(kind, event_type, obj))
        if kind == POLICY:
            self._overview_dirty.set()  # policies show in the overview only

    def _publish(self, changes: Changes) -> None:
        if changes:
            self.broadcaster.publish("delta", changes.to_json())
            self._overview_dirty.set()

    # ---- what browsers get ----

    def overview_json(self) -> str:
        data = vm.overview(self.store.incidents.values(), self.store.awaiting_approval(), self.clock()).to_json()
        data["policies"] = vm.policy_summary(self.store.policies.values())
        return json.dumps(data, separators=(",", ":"))

    def snapshot(self, user: str, namespaces: tuple[str, ...]) -> str:
        head = json.dumps({"user": user, "namespaces": list(namespaces), "synced": all(self.synced.values())})
        return f'{head[:-1]},"overview":{self.overview_json()},"cards":{self.store.cards_json()}}}'

    async def publish_overview_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._overview_dirty.wait(), OVERVIEW_REFRESH)
            self._overview_dirty.clear()
            if self.broadcaster.subscribers:
                self.broadcaster.publish("overview", self.overview_json(), replayable=False)
            await asyncio.sleep(OVERVIEW_MIN_INTERVAL)


def _static(name: str) -> bytes:
    return (STATIC / name).read_bytes()


class DashboardApi:
    """The dashboard's endpoints over one live view of the watched objects: one method per route."""

    def __init__(self, settings: Settings, kube: KubeClient | None, clock: Callable[[], float],
                 registry: CollectorRegistry, backoff: Backoff) -> None:
        self.settings = settings
        self.kube = kube
        self.clock = clock
        self.registry = registry
        self.backoff = backoff
        self.broadcaster = Broadcaster(replay_bytes=settings.replay_mebibytes << 20)
        self.live = LiveView(Store(), self.broadcaster, clock, registry)
        self.watch_metrics = WatchMetrics(registry)
        self.index_page, self.login_page = _static("index.html"), _static("login.html")
        self.scopes: tuple[str | None, ...] = settings.namespaces or (None,)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        client = self.kube or KubeClient(load_config(self.settings.kubeconfig), field_manager="aiops-rca-dashboard")
        tasks = [asyncio.create_task(self.live.publish_overview_forever(), name="overview")]
        for kind, rt in KINDS:
            for ns in self.scopes:
                label = f"{kind}/{ns or '*'}"
                self.live.synced[label] = False
                tasks.append(
                    asyncio.create_task(
                        run_watch(
                            client, rt, kind, ns, self.live, self.watch_metrics,
                            on_synced=self.live.mark_synced(label),
                            watch_timeout=self.settings.watch_timeout_seconds,
                            backoff=self.backoff,
                        ),
                        name=f"watch {label}",
                    )
                )  # fmt: skip
        try:
            yield
        finally:
            self.broadcaster.disconnect_all()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.kube is None:
                await client.close()

    async def index(self, request: Request) -> Response:
        return Response(self.index_page, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})

    async def events(self, request: Request) -> Response:
        user = str(request.scope.get("state", {}).get("user", ""))
        sub = self.broadcaster.subscribe()
        last = request.headers.get("last-event-id") or request.query_params.get("lastEventId")
        missed = self.broadcaster.catch_up(last)
        if missed is None:
            snapshot = frame("snapshot", self.live.snapshot(user, self.settings.namespaces), self.broadcaster.last_id)
            first = [f"retry: {RECONNECT_MS}\n\n", snapshot]
            self.live.snapshots.inc()
        else:
            first = [*missed, frame("resumed", json.dumps({"missed": len(missed)}))]
            self.live.catchups.inc()
        limit = self.settings.stream_max_seconds

        async def stream() -> AsyncIterator[str]:
            started = time.monotonic()
            try:
                for text in first:
                    yield text
                while True:
                    frames = await sub.next_frames(HEARTBEAT_SECONDS)
                    if frames is None:
                        return
                    for text in frames or [": keep-alive\n\n"]:
                        yield text
                    if limit and time.monotonic() - started > limit:
                        return
            finally:
                self.broadcaster.unsubscribe(sub)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def detail(self, request: Request) -> Response:
        key = (request.path_params["namespace"], request.path_params["name"])
        found = self.live.store.detail(key)
        if found is None:
            return JSONResponse({"error": "no such incident"}, status_code=404)
        return JSONResponse(found)

    def _download(self, body: str, name: str) -> Response:
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def incidents_csv(self, request: Request) -> Response:
        wanted = vm.Filter.from_query(request.query_params)
        rows = vm.in_group_order(vm.view(self.live.store.incidents.values(), wanted))
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(self.clock()))
        return self._download(vm.incidents_csv(rows, self.clock()), f"incidents-{stamp}.csv")

    def _audit(self, request: Request) -> list[vm.AuditEntry]:
        q = request.query_params
        try:
            limit = max(1, min(5000, int(q.get("limit", "500"))))
        except ValueError:
            limit = 500
        return vm.audit(self.live.store.incidents.values(), q.get("action", ""), q.get("q", ""), limit)

    async def audit_json(self, request: Request) -> Response:
        entries = self._audit(request)
        actions = vm.audit_actions(self.live.store.incidents.values())
        return JSONResponse({"entries": [e.to_json() for e in entries], "actions": actions})

    async def audit_csv(self, request: Request) -> Response:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(self.clock()))
        return self._download(vm.audit_csv(self._audit(request)), f"audit-{stamp}.csv")

    async def overview(self, request: Request) -> Response:
        return Response(self.live.overview_json(), media_type="application/json")

    async def healthz(self, request: Request) -> Response:
        synced = all(self.live.synced.values()) and bool(self.live.synced)
        body = {"synced": synced, "watches": self.live.synced, "objects": self.live.store.counts()}
        return JSONResponse(body, status_code=200 if synced else 503)

    async def metrics(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    async def login(self, request: Request) -> Response:
        return await auth.login(request, self.settings, self.login_page)

    async def not_found(self, request: Request) -> Response:
        return PlainTextResponse("not found", status_code=404)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.index),
            Route("/api/events", self.events),
            Route("/api/overview", self.overview),
            Route("/api/incidents.csv", self.incidents_csv),
            Route("/api/incidents/{namespace}/{name}", self.detail),
            Route("/api/audit", self.audit_json),
            Route("/api/audit.csv", self.audit_csv),
            Route("/healthz", self.healthz),
            Route("/metrics", self.metrics),
            Route("/login", self.login, methods=["GET", "POST"]),
            Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
            Route("/{path:path}", self.not_found),
        ]


def create_app(
    settings: Settings,
    *,
    kube: KubeClient | None = None,
    clock: Callable[[], float] = time.time,
    registry: CollectorRegistry | None = None,
    backoff: Backoff = Backoff(),  # noqa: B008  (immutable)
) -> Starlette:
    """The dashboard app. Without `kube`, one is made from the settings' kubeconfig at startup."""
    api = DashboardApi(settings, kube, clock, registry or CollectorRegistry(), backoff)
    app = Starlette(
        routes=api.routes(),
        middleware=[Middleware(SecurityHeaders), Middleware(auth.AuthMiddleware, settings=settings)],
        lifespan=api.lifespan,
    )
    app.state.live = api.live
    app.state.broadcaster = api.broadcaster
    return app
