"""The HTTP surface in-process (httpx.ASGITransport) over an in-memory API server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from tests.support.apiserver import FakeApiServer
from tests.unit.webhook_receiver.goldens import NOW, golden
from webhook_receiver.app import Receiver, build_app, make_receiver
from webhook_receiver.settings import ReceiverSettings

KEY = "test-api-key"
INCIDENT = "adf-pl-copy-sales-daily-3afbb53e40"
ALERT_ENDPOINTS = ["/azure-monitor", "/databricks-monitor", "/azure-monitor-alert"]


def settings_for(tmp_path: Path, **overrides: Any) -> ReceiverSettings:
    basic = tmp_path / "basic"
    basic.write_text("databricks:basic-pass\n")
    values: dict[str, Any] = {
        "api_keys": SecretStr(f"old-key,{KEY}"), "basic_auth_file": basic, "spool_dir": tmp_path / "spool",
        "spool_max_files": 5, **overrides,
    }
    return ReceiverSettings(**values)


@pytest.fixture
def api() -> FakeApiServer:
    return FakeApiServer()


@pytest.fixture
def receiver(tmp_path: Path, api: FakeApiServer) -> Receiver:
    r = make_receiver(settings_for(tmp_path), api.client(), "ns", now=lambda: NOW)
    r.store.spool.open()
    return r


@pytest.fixture
async def client(receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(receiver)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver") as c:
        yield c


def keyed(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"x-api-key": KEY, **(extra or {})}


async def test_azure_monitor_create_then_duplicate(client: httpx.AsyncClient, api: FakeApiServer) -> None:
    payload = golden("azure-monitor/log-v2-pipeline-failed.json")
    first = await client.post("/azure-monitor", json=payload, headers=keyed())
    assert first.status_code == 201, first.text
    assert first.json() == {"status": "created", "incidents": [{"name": INCIDENT, "outcome": "created"}]}
    again = await client.post(f"/azure-monitor?api_key={KEY}", json=payload)
    assert again.status_code == 200
    assert again.json()["incidents"] == [{"name": INCIDENT, "outcome": "duplicate"}]
    created = api.objects[("incidents", "ns", INCIDENT)]
    assert created["metadata"]["labels"]["aiops-rca.io/source"] == "AzureDataFactory"
    assert created["spec"]["runId"] == "7d1b6f0a-3c2e-4d8b-9a51-2f6c8e4b1a90"
    metrics = (await client.get("/metrics")).text
    assert 'aiops_rca_receiver_duplicates_total{via="cache"} 1.0' in metrics
    assert 'aiops_rca_receiver_incidents_created_total{source="AzureDataFactory"} 1.0' in metrics


async def test_resolved_alert_records_the_signal(client: httpx.AsyncClient, api: FakeApiServer) -> None:
    await client.post("/azure-monitor", json=golden("azure-monitor/log-v2-pipeline-failed.json"), headers=keyed())
    response = await client.post("/azure-monitor", json=golden("azure-monitor/log-v2-resolved.json"), headers=keyed())
    assert response.status_code == 200
    assert response.json()["resolved"] == [{"name": INCIDENT, "recorded": True}]
    signals = api.objects[("incidents", "ns", INCIDENT)]["status"]["signals"]
    assert signals == {"alertResolvedTime": "2026-11-23T07:20:11.123456Z"}
    assert len(api.objects) == 1


async def test_resolved_alert_without_incident_creates_nothing(client: httpx.AsyncClient, api: FakeApiServer) -> None:
    response = await client.post("/azure-monitor", json=golden("azure-monitor/log-v2-resolved.json"), headers=keyed())
    assert response.status_code == 200
    assert response.json()["resolved"] == [{"name": INCIDENT, "recorded": False}]
    assert api.objects == {}


async def test_databricks_with_basic_auth_and_ignored_success(client: httpx.AsyncClient, api: FakeApiServer) -> None:
    basic = {"authorization": "Basic " + base64.b64encode(b"databricks:basic-pass").decode()}
    failed = await client.post("/databricks-monitor", json=golden("databricks/generic-on-failure.json"), headers=basic)
    assert failed.status_code == 201
    ok = await client.post("/databricks-monitor", json=golden("databricks/generic-on-success.json"), headers=basic)
    assert ok.status_code == 200
    assert ok.json()["status"] == "ignored"
    assert len(api.objects) == 1


async def test_cluster_logs(client: httpx.AsyncClient, api: FakeApiServer) -> None:
    response = await client.post(
        "/azure-monitor-alert", json=golden("cluster-logs/log-v1-terminations.json"), headers=keyed()
    )
    assert response.status_code == 201
    assert len(response.json()["incidents"]) == 2
    assert len(response.json()["ignored"]) == 2


async def test_check_ticket_exists(client: httpx.AsyncClient) -> None:
    run_id = "7d1b6f0a-3c2e-4d8b-9a51-2f6c8e4b1a90"
    missing = await client.get(f"/api/check-ticket-exists/{run_id}", headers=keyed())
    assert missing.json()["exists"] is False
    await client.post("/azure-monitor", json=golden("azure-monitor/log-v2-pipeline-failed.json"), headers=keyed())
    found = await client.get(f"/api/check-ticket-exists/{run_id}", headers=keyed())
    assert found.status_code == 200
    assert found.json()["exists"] is True
    assert found.json()["ticket_id"] == INCIDENT


async def test_callback_recorded_repeated_and_unknown(client: httpx.AsyncClient, api: FakeApiServer) -> None:
    api.objects[("remediationattempts", "ns", f"{INCIDENT}-1")] = {"metadata": {"name": f"{INCIDENT}-1"}}
    payload = golden("callback/succeeded.json")
    first = await client.post("/api/remediation-callback", json=payload, headers=keyed())
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "recorded"
    callback = api.objects[("remediationattempts", "ns", f"{INCIDENT}-1")]["status"]["callback"]
    assert callback["success"] is True
    assert callback["remediationRunId"] == "08585000000000000000000000000CU00"
    again = await client.post("/api/remediation-callback", json=payload, headers=keyed())
    assert again.json()["status"] == "unchanged"
    unknown = await client.post("/api/remediation-callback", json={**payload, "attempt_number": 7}, headers=keyed())
    assert unknown.status_code == 404


async def test_jira_by_label_and_by_status(client: httpx.AsyncClient, api: FakeApiServer) -> None:
    api.objects[("incidents", "ns", "inc-a")] = {
        "metadata": {"name": "inc-a", "labels": {"aiops-rca.io/jira-key": "DATA-123"}}, "spec": {},
    }
    done = await client.post("/webhook/jira", json=golden("jira/issue-updated-done.json"), headers=keyed())
    assert done.json() == {"status": "recorded", "incident": "inc-a", "meaning": "Resolved"}
    signals = api.objects[("incidents", "ns", "inc-a")]["status"]["signals"]
    assert signals["jiraStatus"] == "Done"
    assert signals["jiraActor"] == "Jane Doe"
    api.objects[("incidents", "ns", "inc-a")]["metadata"]["labels"] = {}
    api.objects[("incidents", "ns", "inc-a")]["status"]["notifications"] = {"jira": {"key": "DATA-123"}}
    progress = await client.post("/webhook/jira", json=golden("jira/issue-updated-in-progress.json"), headers=keyed())
    assert progress.json()["meaning"] == "Acknowledged"
    assert api.objects[("incidents", "ns", "inc-a")]["status"]["signals"]["jiraStatus"] == "In Progress"
    other = await client.post("/webhook/jira", json=golden("jira/issue-updated-assignee.json"), headers=keyed())
    assert other.json()["status"] == "ignored"


async def test_jira_signature_when_secret_configured(tmp_path: Path, api: FakeApiServer) -> None:
    secret = tmp_path / "jira-secret"
    secret.write_text("jira-hmac-secret\n")
    r = make_receiver(settings_for(tmp_path, jira_webhook_secret_file=secret), api.client(), "ns", now=lambda: NOW)
    r.store.spool.open()
    body = json.dumps(golden("jira/issue-updated-done.json")).encode()
    signature = "sha256=" + hmac.new(b"jira-hmac-secret", body, hashlib.sha256).hexdigest()
    transport = httpx.ASGITransport(app=build_app(r))
    async with httpx.AsyncClient(transport=transport, base_url="http://r") as c:
        ok = await c.post("/webhook/jira", content=body, headers={"x-hub-signature": signature})
        assert ok.status_code == 200
        bad = await c.post("/webhook/jira", content=body + b" ", headers={"x-hub-signature": signature})
        assert bad.status_code == 401
        assert (await c.post("/webhook/jira", content=body, headers=keyed())).status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [*[pytest.param("POST", p, id=p) for p in ALERT_ENDPOINTS],
     pytest.param("GET", "/api/check-ticket-exists/abc", id="check"),
     pytest.param("POST", "/api/remediation-callback", id="callback"),
     pytest.param("POST", "/webhook/jira", id="jira")],
)
@pytest.mark.parametrize(
    "headers",
    [pytest.param({}, id="none"), pytest.param({"x-api-key": "wrong"}, id="wrong-key"),
     pytest.param({"authorization": "Basic " + base64.b64encode(b"databricks:nope").decode()}, id="wrong-basic")],
)
async def test_bad_credentials_are_401_and_create_nothing(
    client: httpx.AsyncClient, api: FakeApiServer, method: str, path: str, headers: dict[str, str]
) -> None:
    payload = golden("azure-monitor/log-v2-pipeline-failed.json")
    response = await client.request(method, path, json=payload if method == "POST" else None, headers=headers)
    assert response.status_code == 401
    assert api.calls == []


async def test_health_needs_no_credentials(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["apiServer"] is True


async def test_too_large_by_content_length(client: httpx.AsyncClient, api: FakeApiServer) -> None:
    response = await client.post(
        "/azure-monitor", content=b"{" + b" " * (1024 * 1024 + 10) + b"}", headers=keyed()
    )
    assert response.status_code == 413
    assert api.calls == []


async def test_too_large_while_streaming(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b" " * 65536

    response = await client.post("/azure-monitor", content=chunks(), headers=keyed())
    assert response.status_code == 413


async def test_lying_content_length(client: httpx.AsyncClient) -> None:
    response = await client.post("/azure-monitor", content=b"{}", headers=keyed({"content-length": "abc"}))
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        pytest.param(b"<xml/>", "application/xml", 415, id="xml"),
        pytest.param(b"a=b", "application/x-www-form-urlencoded", 415, id="form"),
        pytest.param(b"not json", "application/json", 400, id="not-json"),
        pytest.param(b"", "application/json", 400, id="empty"),
        pytest.param(b"\xff\xfe\x00", "application/json", 400, id="not-utf8"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "application/json", 400, id="deep-nesting"),
        pytest.param(b"[1, 2]", "application/json", 422, id="array"),
        pytest.param(b'"alert"', "application/json", 422, id="string"),
        pytest.param(b'{"hello": "world"}', "application/json", 422, id="unrecognised"),
        pytest.param(b'{"hello": "world"}', "text/plain", 422, id="text-plain-json"),
    ],
)
async def test_bad_input(client: httpx.AsyncClient, content: bytes, content_type: str, status: int) -> None:
    response = await client.post(
        "/azure-monitor", content=content, headers=keyed({"content-type": content_type})
    )
    assert response.status_code == status
    assert "error" in response.json()
    if status == 422:
        assert "expected" in response.json()["error"]


async def test_api_server_down_spools_202_then_503_when_full(
    client: httpx.AsyncClient, api: FakeApiServer, receiver: Receiver
) -> None:
    api.down = True
    first = await client.post("/azure-monitor", json=golden("azure-monitor/log-v2-two-runs.json"), headers=keyed())
    assert first.status_code == 202
    assert {i["outcome"] for i in first.json()["incidents"]} == {"spooled"}
    for fixture in ("cluster-logs/log-v1-terminations.json", "cluster-logs/log-v2-termination.json"):
        await client.post("/azure-monitor-alert", json=golden(fixture), headers=keyed())
    assert receiver.store.spool.depth == 5
    full = await client.post("/databricks-monitor", json=golden("databricks/generic-on-failure.json"), headers=keyed())
    assert full.status_code == 503
    assert full.headers["retry-after"] == "10"
    spooled = await client.get("/api/check-ticket-exists/7d1b6f0a-3c2e-4d8b-9a51-2f6c8e4b1a90", headers=keyed())
    assert spooled.status_code == 503  # the lookup itself needs the API server
    api.down = False
    assert await receiver.store.replay_once() == 5
    assert len(api.objects) == 5


async def test_unexpected_errors_are_503_not_500(client: httpx.AsyncClient, receiver: Receiver) -> None:
    async def boom(body: dict[str, Any]) -> Any:
        raise RuntimeError("password=hunter2")

    receiver.store.create = boom  # type: ignore[method-assign]
    response = await client.post(
        "/azure-monitor", json=golden("azure-monitor/log-v2-pipeline-failed.json"), headers=keyed()
    )
    assert response.status_code == 503
    assert "hunter2" not in response.text


ALLOWED = {200, 201, 202, 400, 404, 413, 415, 422}
json_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=200),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=15), inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from([*ALERT_ENDPOINTS, "/api/remediation-callback", "/webhook/jira"]),
    body=st.binary(max_size=300) | json_junk.map(lambda v: json.dumps(v).encode()),
)
async def test_no_input_makes_a_500(client: httpx.AsyncClient, path: str, body: bytes) -> None:
    response = await client.post(path, content=body, headers=keyed({"content-type": "application/json"}))
    assert response.status_code in ALLOWED, (response.status_code, response.text)


VENDOR_SHAPES = sorted((Path(__file__).resolve().parents[2] / "data" / "webhooks" / "vendor").rglob("*.expected.json"))
VENDOR_CASES = [
    pytest.param(json.loads(p.read_text()), p.with_name(p.name.replace(".expected", "")).read_bytes(),
                 id=p.name.split(".")[0])
    for p in VENDOR_SHAPES
]


@pytest.mark.parametrize(("expected", "payload"), VENDOR_CASES)
async def test_vendor_shapes_answer_what_was_done(
    expected: dict[str, Any], payload: bytes, tmp_path: Path, api: FakeApiServer
) -> None:
    """Failures 201 and an Incident each; non-failures 200 saying why nothing opened; unknown shapes 422."""
    fields = expected.get("settings", {}).get("custom_payload_fields")
    overrides = {"custom_payload_fields": json.dumps(fields)} if fields else {}
    r = make_receiver(settings_for(tmp_path, **overrides), api.client(), "ns", now=lambda: NOW)
    r.store.spool.open()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(r)), base_url="http://receiver") as c:
        response = await c.post(expected["endpoint"], content=payload,
                                headers=keyed({"content-type": "application/json"}))
    body = response.json()
    if expected.get("status") == 422:
        assert response.status_code == 422
        assert expected["error"] in body["error"]
    elif expected["incidents"]:
        assert response.status_code == 201, body
        assert len(body["incidents"]) == len(expected["incidents"])
    else:
        assert response.status_code == 200, body
        assert body["incidents"] == []
        assert body.get("ignored") or body.get("resolved") is not None, body
    assert len([k for k in api.objects if k[0] == "incidents"]) == len(expected.get("incidents", []))
