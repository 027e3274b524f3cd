"""The receiver against the real API server: what a user sees with kubectl after each webhook."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiops_operator.api import GROUP, VERSION
from aiops_operator.kube import ATTEMPTS, INCIDENTS
from kubernetes import client

from tests.e2e.conftest import Kubectl
from tests.e2e.receiver.conftest import API_KEY, receiver_process
from tests.e2e.receiver.tcp_proxy import TcpProxy
from tests.support.kube_objects import as_object
from tests.unit.webhook_receiver.goldens import golden
from webhook_receiver.app import Receiver

REPO = Path(__file__).resolve().parents[3]
ADF = "adf-pl-copy-sales-daily-3afbb53e40"
DBJ = "dbj-nightly-customer-features-688755482a"
KEYED = {"x-api-key": API_KEY}


def incidents(custom_api: client.CustomObjectsApi, namespace: str) -> dict[str, dict[str, Any]]:
    listed = as_object(custom_api.list_namespaced_custom_object(GROUP, VERSION, namespace, "incidents"))
    return {item["metadata"]["name"]: item for item in listed["items"]}


async def test_alert_endpoints_create_incidents(
    in_process: tuple[httpx.AsyncClient, Receiver], namespace: str, kubectl: Kubectl
) -> None:
    http, _ = in_process
    posts = [
        ("/azure-monitor", "azure-monitor/log-v2-pipeline-failed.json", 201),
        ("/azure-monitor", "azure-monitor/log-v1-activity-runs.json", 201),  # one new + one duplicate
        ("/azure-monitor", "azure-monitor/metric-pipeline-failed-runs.json", 201),
        ("/databricks-monitor", "databricks/generic-task-failure.json", 201),
        ("/databricks-monitor", "databricks/generic-on-success.json", 200),
        ("/databricks-monitor", "databricks/generic-no-run-id.json", 201),  # no message, no run id
        ("/azure-monitor-alert", "cluster-logs/log-v1-terminations.json", 201),
    ]
    for path, fixture, status in posts:
        response = await http.post(path, json=golden(fixture))
        assert response.status_code == status, (fixture, response.text)
    out = kubectl("get", "incidents", "-n", namespace, "-o", "json").stdout
    items = {i["metadata"]["name"]: i for i in json.loads(out)["items"]}
    assert len(items) == 7, sorted(items)
    assert {ADF, DBJ} <= set(items)
    adf = items[ADF]
    assert adf["metadata"]["labels"]["aiops-rca.io/source"] == "AzureDataFactory"
    assert adf["spec"]["error"]["code"] == "2200"
    assert adf["spec"]["runIdOrigin"] == "Alert"
    sources = sorted(i["spec"]["source"] for i in items.values())
    assert sources.count("DatabricksCluster") == 2
    assert sum(1 for i in items.values() if i["spec"]["runIdOrigin"] == "Fingerprint") == 2

    resolved = await http.post("/azure-monitor", json=golden("azure-monitor/log-v2-resolved.json"))
    assert resolved.json()["resolved"] == [{"name": ADF, "recorded": True}]
    got = json.loads(kubectl("get", "incident", ADF, "-n", namespace, "-o", "json").stdout)
    assert got["status"]["signals"]["alertResolvedTime"].startswith("2026-11-23T07:20:11")
    assert len(json.loads(kubectl("get", "incidents", "-n", namespace, "-o", "json").stdout)["items"]) == 7


async def test_check_ticket_exists(in_process: tuple[httpx.AsyncClient, Receiver]) -> None:
    http, _ = in_process
    run_id = "7d1b6f0a-3c2e-4d8b-9a51-2f6c8e4b1a90"
    assert (await http.get(f"/api/check-ticket-exists/{run_id}")).json()["exists"] is False
    await http.post("/azure-monitor", json=golden("azure-monitor/log-v2-pipeline-failed.json"))
    found = (await http.get(f"/api/check-ticket-exists/{run_id}")).json()
    assert (found["exists"], found["ticket_id"]) == (True, ADF)


async def test_jira_and_callback_update_the_right_objects(
    in_process: tuple[httpx.AsyncClient, Receiver], namespace: str
) -> None:
    http, receiver = in_process
    kube = receiver.store.kube
    await http.post("/azure-monitor", json=golden("azure-monitor/log-v2-pipeline-failed.json"))
    await http.post("/databricks-monitor", json=golden("databricks/generic-task-failure.json"))
    # What the operator does once it has filed issues: label one Incident, only record the key on the other.
    await kube.patch(INCIDENTS, namespace, ADF, {"metadata": {"labels": {"aiops-rca.io/jira-key": "DATA-123"}}})
    await kube.patch(INCIDENTS, namespace, DBJ, {"status": {"notifications": {"jira": {"key": "DATA-456"}}}},
                     status=True)
    attempt = yaml.safe_load((REPO / "crds/samples/remediationattempt.yaml").read_text())
    await kube.create(ATTEMPTS, namespace, attempt)

    done = await http.post("/webhook/jira", json=golden("jira/issue-updated-done.json"))
    assert done.json() == {"status": "recorded", "incident": ADF, "meaning": "Resolved"}
    progress = golden("jira/issue-updated-in-progress.json")
    progress["issue"]["key"] = "DATA-456"
    assert (await http.post("/webhook/jira", json=progress)).json()["incident"] == DBJ
    adf_obj = await kube.get(INCIDENTS, namespace, ADF)
    dbj_obj = await kube.get(INCIDENTS, namespace, DBJ)
    assert adf_obj["status"]["signals"]["jiraStatus"] == "Done"
    assert adf_obj["status"]["signals"]["jiraActor"] == "Jane Doe"
    assert dbj_obj["status"]["signals"]["jiraStatus"] == "In Progress"
    assert dbj_obj["status"]["notifications"]["jira"]["key"] == "DATA-456"  # the operator's fields survive

    payload = golden("callback/succeeded.json")
    assert (await http.post("/api/remediation-callback", json=payload)).json()["status"] == "recorded"
    assert (await http.post("/api/remediation-callback", json=payload)).json()["status"] == "unchanged"
    got = await kube.get(ATTEMPTS, namespace, f"{ADF}-1")
    assert got["status"]["callback"]["success"] is True
    assert got["status"]["callback"]["status"] == "Succeeded"
    missing = await http.post("/api/remediation-callback", json={**payload, "attempt_number": 2})
    assert missing.status_code == 404


async def test_fifty_concurrent_duplicates_make_one_incident(
    receiver_url: str, namespace: str, custom_api: client.CustomObjectsApi
) -> None:
    payload = golden("databricks/legacy-job-run-failed.json")
    async with httpx.AsyncClient(base_url=receiver_url, headers=KEYED, timeout=30) as http:
        responses = await asyncio.gather(*(http.post("/databricks-monitor", json=payload) for _ in range(50)))
        statuses = [r.status_code for r in responses]
        # 201 created, or 202 if the API server was slow (made durable, the create finishing behind the answer);
        # everyone else shares that answer or is told it is a duplicate.
        assert set(statuses) <= {200, 201, 202}, statuses
        assert {r.json()["incidents"][0]["name"] for r in responses} == {DBJ}
        deadline = time.monotonic() + 15
        while (await http.get("/readyz")).json()["spoolDepth"]:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        metrics = (await http.get("/metrics")).text
    assert list(incidents(custom_api, namespace)) == [DBJ]
    assert "aiops_rca_receiver_incidents_created_total{source=\"DatabricksJob\"} 1.0" in metrics


@pytest.mark.parametrize(
    "headers",
    [pytest.param({}, id="no-credentials"), pytest.param({"x-api-key": "stolen-guess"}, id="wrong-key")],
)
async def test_auth_failures_create_nothing(
    receiver_url: str, namespace: str, custom_api: client.CustomObjectsApi, headers: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=receiver_url, headers=headers) as http:
        for path, fixture in [
            ("/azure-monitor", "azure-monitor/log-v2-pipeline-failed.json"),
            ("/databricks-monitor", "databricks/generic-on-failure.json"),
            ("/azure-monitor-alert", "cluster-logs/log-v1-terminations.json"),
            ("/webhook/jira", "jira/issue-updated-done.json"),
            ("/api/remediation-callback", "callback/succeeded.json"),
        ]:
            assert (await http.post(path, json=golden(fixture))).status_code == 401
        assert (await http.get("/api/check-ticket-exists/x")).status_code == 401
        assert (await http.get("/healthz")).status_code == 200
    assert incidents(custom_api, namespace) == {}


async def test_api_server_outage_loses_no_alert(
    proxied_kubeconfig: tuple[Path, TcpProxy],
    namespace: str,
    tmp_path: Path,
    api_keys_file: Path,
    custom_api: client.CustomObjectsApi,
) -> None:
    kubeconfig, proxy = proxied_kubeconfig
    with receiver_process(kubeconfig, namespace, tmp_path, api_keys_file) as url:
        async with httpx.AsyncClient(base_url=url, headers=KEYED, timeout=30) as http:
            before = await http.post("/azure-monitor", json=golden("azure-monitor/log-v2-pipeline-failed.json"))
            assert before.status_code in (201, 202)

            proxy.stop()  # the API server is gone
            during = [
                await http.post("/databricks-monitor", json=golden("databricks/legacy-job-run-failed.json")),
                await http.post("/azure-monitor-alert", json=golden("cluster-logs/log-v1-terminations.json")),
                await http.post("/databricks-monitor", json=golden("databricks/legacy-job-run-failed.json")),
            ]
            assert [r.status_code for r in during] == [202, 202, 202], [r.text for r in during]
            assert (await http.get("/readyz")).json()["ready"] is True  # spool has room
            assert set(incidents(custom_api, namespace)) <= {ADF}
            assert len(list((tmp_path / "spool").glob("*.json"))) >= 3

            proxy.start()  # it is back
            deadline = time.monotonic() + 30
            while len(incidents(custom_api, namespace)) < 4:
                assert time.monotonic() < deadline, sorted(incidents(custom_api, namespace))
                await asyncio.sleep(0.25)
            assert list((tmp_path / "spool").glob("*.json")) == []
            after = await http.post("/databricks-monitor", json=golden("databricks/legacy-job-run-failed.json"))
            assert after.status_code == 200
            assert after.json()["incidents"][0]["outcome"] == "duplicate"
    assert len(incidents(custom_api, namespace)) == 4


VENDOR_SHAPES = [
    (json.loads(p.read_text()), p.with_name(p.name.replace(".expected", "")).read_bytes())
    for p in sorted((REPO / "tests" / "data" / "webhooks" / "vendor").rglob("*.expected.json"))
]


async def test_every_documented_shape_is_accepted_by_the_api_server(
    in_process: tuple[httpx.AsyncClient, Receiver], namespace: str, custom_api: client.CustomObjectsApi,
) -> None:
    """Each vendor shape through the receiver into the real API server: the CRD schema takes every Incident,
    non-failures leave nothing behind, and the Incidents carry what the shape's expected file names."""
    http, _ = in_process
    made: dict[str, dict[str, Any]] = {}
    for expected, payload in VENDOR_SHAPES:
        if "settings" in expected:
            continue  # custom-payload mapping shapes need their own settings; the unit tests cover them
        response = await http.post(expected["endpoint"], content=payload, headers={"content-type": "application/json"})
        body = response.json()
        wanted = expected.get("status") or (201 if expected.get("incidents") else 200)
        # 200 for a 201 shape: an earlier shape already reported the same run (a duplicate, as it should be).
        assert response.status_code in (wanted, 200 if wanted == 201 else wanted), (expected["doc"], body)
        for created, want in zip(body.get("incidents", []), expected.get("incidents", []), strict=False):
            made.setdefault(created["name"], want)
    found = incidents(custom_api, namespace)
    assert set(made) <= set(found)
    for name, want in made.items():
        spec = found[name]["spec"]
        assert spec["source"] == want["source"]
        assert spec["resource"]["name"] == want["name"]
        if "errorCode" in want and want["errorCode"] is not None:
            assert spec["error"]["code"] == want["errorCode"]
        if "message" in want:
            assert want["message"].lower() in spec["error"]["message"].lower()
        if "factory" in want:
            assert spec["resource"].get("factory") == want["factory"]
    assert len(found) == len(made)
