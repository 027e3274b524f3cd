"""The watch loop (resume, relist on 410, backoff) and the app's routes, against a fake API server."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiops_operator.kube import INCIDENTS, Gone, KubeUnavailable, ResourceType, WatchEvent
from prometheus_client import CollectorRegistry
from starlette.testclient import TestClient

from dashboard.app import create_app
from dashboard.settings import AuthMode, Settings
from dashboard.store import INCIDENT
from dashboard.watch import Backoff, WatchMetrics, run_watch
from tests.support.builders import watched_incident

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class FakeKube:
    """Scripted list pages and watch outcomes; records what was asked."""

    def __init__(self, items: dict[str, list[dict[str, Any]]], watches: list[Any] | None = None) -> None:
        self.items = items
        self.watches = list(watches or [])
        self.calls: list[tuple[str, str, str | None]] = []

    async def list_page(self, rt: ResourceType, namespace: str | None, **kw: Any) -> dict[str, Any]:
        self.calls.append(("list", rt.plural, None))
        return {"items": self.items.get(rt.plural, []), "metadata": {"resourceVersion": "10"}}

    async def watch(
        self, rt: ResourceType, namespace: str | None, resource_version: str, **kw: Any
    ) -> AsyncIterator[WatchEvent]:
        self.calls.append(("watch", rt.plural, resource_version))
        script: Any = self.watches.pop(0) if rt is INCIDENTS and self.watches else "block"
        if script == "block":
            await asyncio.Event().wait()
        if isinstance(script, BaseException):
            raise script
        events: list[WatchEvent] = script
        for event in events:
            yield event

    async def close(self) -> None:
        pass


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.lists = 0

    def listed_page(self, kind: str, items: list[dict[str, Any]]) -> set[tuple[str, str]]:
        self.lists += 1
        return {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items}

    def listed(self, kind: str, namespace: str | None, seen: set[tuple[str, str]]) -> None:
        pass

    def event(self, kind: str, event_type: str, obj: Any) -> None:
        self.events.append((event_type, obj["metadata"]["resourceVersion"]))


async def test_watch_resumes_relists_and_backs_off() -> None:
    kube = FakeKube(
        {"incidents": [watched_incident(1, "5")]},
        watches=[
            [
                WatchEvent("MODIFIED", watched_incident(1, "11")),
                WatchEvent("BOOKMARK", {"metadata": {"resourceVersion": "15"}}),
            ],
            KubeUnavailable("connection reset"),
            Gone(410, "Expired", "too old"),
            "block",
        ],
    )
    sink, sleeps = Recorder(), []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    fake: Any = kube
    metrics = WatchMetrics(CollectorRegistry())
    task = asyncio.create_task(
        run_watch(fake, INCIDENTS, INCIDENT, None, sink, metrics, backoff=Backoff(1, maximum=4), sleep=fake_sleep)
    )
    for _ in range(100):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert kube.calls == [
        ("list", "incidents", None),
        ("watch", "incidents", "10"),  # from the list's resourceVersion
        ("watch", "incidents", "15"),  # the server ended it: resume after the bookmark
        ("watch", "incidents", "15"),  # connection lost: same place, after a backoff
        ("list", "incidents", None),  # 410 Gone: relist
        ("watch", "incidents", "10"),
    ]
    assert sink.events == [("MODIFIED", "11")]
    assert len(sleeps) == 1
    assert 0.8 <= sleeps[0] <= 1.2


def _app(settings: Settings, kube: FakeKube) -> TestClient:
    fake: Any = kube
    app = create_app(settings, kube=fake, registry=CollectorRegistry(), clock=lambda: NOW.timestamp())
    return TestClient(app)


@pytest.fixture
def kube() -> FakeKube:
    items = [watched_incident(1, "1"), watched_incident(2, "2", phase="Escalated", root_cause="=cmd|' /C calc'!A0"),
             watched_incident(3, "3", phase="Resolved", ns="other")]
    return FakeKube({"incidents": items})


def test_routes_headers_csv_detail_health_metrics(kube: FakeKube) -> None:
    with _app(Settings(), kube) as client:
        for _ in range(50):
            if client.get("/healthz").status_code == 200:
                break
        health = client.get("/healthz").json()
        assert health["objects"]["Incident"] == 3
        page = client.get("/")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        assert client.get("/static/js/main.js").status_code == 200

        csv_text = client.get("/api/incidents.csv", params={"namespace": "ns", "phase": "Escalated"}).text
        lines = csv_text.strip().splitlines()
        assert len(lines) == 2
        assert "'=cmd" in lines[1]

        name = watched_incident(1, "1")["metadata"]["name"]
        detail = client.get(f"/api/incidents/ns/{name}").json()
        assert detail["name"] == name
        assert detail["history"]
        assert client.get("/api/incidents/ns/nope").status_code == 404
        assert client.get("/api/audit", params={"action": "AlertReceived"}).json()["entries"]
        assert "aiops_rca_dashboard_objects" in client.get("/metrics").text
        assert client.get("/api/overview").json()["total"] == 3
        assert client.get("/nowhere").status_code == 404


def test_auth_modes_guard_everything_but_probes(kube: FakeKube) -> None:
    basic = Settings(auth=AuthMode.BASIC, basic_users=(("alice", "pw"),))
    with _app(basic, kube) as client:
        denied = client.get("/api/overview")
        assert denied.status_code == 401
        assert denied.headers["www-authenticate"].startswith("Basic")
        good = "Basic " + base64.b64encode(b"alice:pw").decode()
        assert client.get("/api/overview", headers={"Authorization": good}).status_code == 200
        assert client.get("/metrics").status_code == 200

    with _app(Settings(auth=AuthMode.TOKEN, token="t0k"), kube) as client:
        assert client.get("/", follow_redirects=False).headers["location"] == "/login"
        assert client.get("/api/overview").status_code == 401
        assert client.post("/login", content="token=wrong", follow_redirects=False).headers["location"].endswith(
            "failed=1"
        )
        signed_in = client.post("/login", content="token=t0k", follow_redirects=False)
        assert signed_in.status_code == 303
        assert "httponly" in signed_in.headers["set-cookie"].lower()
        assert client.get("/api/overview").status_code == 200  # the cookie is kept by the client

    with _app(Settings(auth=AuthMode.PROXY), kube) as client:
        assert client.get("/api/overview").status_code == 401
        assert client.get("/api/overview", headers={"X-Forwarded-User": "carol"}).status_code == 200
