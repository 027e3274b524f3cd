"""The chart installed as users install it: real probes, non-root read-only pods under the chart's
ServiceAccounts, the demo's six scenarios through the receiver pod, and the dashboard pod's live page."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path

import pytest
from aiops_operator.kube import KubeClient, load_config
from playwright.sync_api import expect, sync_playwright

from devtools.demo import cli as demo_cli
from devtools.demo import incluster
from devtools.demo.scenarios import scenarios
from tests.e2e.cluster.conftest import ARTIFACTS, pods

COMPONENTS = ("operator", "receiver", "dashboard")
CHROMIUM = "/usr/bin/chromium"


def exec_python(inst: incluster.Installation, pod: str, code: str) -> str:
    out = incluster.kubectl(inst.kubeconfig, "-n", inst.namespace, "exec", pod, "--", "python", "-c", code)
    return out.stdout.strip()


@pytest.mark.parametrize("component", COMPONENTS)
def test_deployment_is_ready_through_its_probes(release: incluster.Installation, component: str) -> None:
    deployment = json.loads(incluster.kubectl(release.kubeconfig, "-n", release.namespace, "get", "deployment",
                                              release.deployment(component), "-o", "json").stdout)
    assert deployment["status"].get("readyReplicas") == deployment["spec"]["replicas"]
    (pod,) = pods(release, component)
    container = pod["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]
    assert container["livenessProbe"]["httpGet"]
    conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
    assert conditions["Ready"] == "True"
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 0


@pytest.mark.parametrize("component", COMPONENTS)
def test_pod_runs_non_root_read_only_with_the_charts_service_account(
    release: incluster.Installation, component: str
) -> None:
    (pod,) = pods(release, component)
    name = pod["metadata"]["name"]
    assert pod["spec"]["serviceAccountName"] == release.deployment(component)
    identity = exec_python(release, name, "import os; print(os.getuid(), os.getgid())")
    assert identity == "10001 10001"
    refused = exec_python(release, name, "\n".join([
        "try:", "    open('/opt/aiops-rca/written', 'w')", "except OSError as e:", "    print(e.errno)"]))
    assert refused == "30"  # EROFS: the root filesystem is read-only
    token = exec_python(release, name, "print(open('/var/run/secrets/kubernetes.io/serviceaccount/token').read())")
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["sub"] == f"system:serviceaccount:{release.namespace}:{release.deployment(component)}"
    # The image ships the product only: the dev tools (local cluster, demo) are not in it.
    assert exec_python(release, name, "import importlib.util; print(importlib.util.find_spec('devtools'))") == "None"


def test_demo_scenarios_end_as_demo_check_expects(release: incluster.Installation) -> None:
    items = scenarios()
    demo_cli._fire(release.receiver_url, release.api_key, items)

    async def watch() -> bool:
        async with KubeClient(load_config(release.kubeconfig)) as kube:
            return await demo_cli._watch_outcomes(kube, release.namespace, items, check=True,
                                                  deadline=time.monotonic() + 300, alive=lambda: None)

    assert asyncio.run(watch())


def test_dashboard_pod_serves_the_live_page(release: incluster.Installation) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "cluster-dashboard.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(release.dashboard_url)
            # The demo's incidents, as the pod's watch of the API server sees them, over the live stream.
            expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=30_000)
            expect(page.locator('.tile[data-phase="Resolved"] .tile-value')).to_have_text("5", timeout=30_000)
            expect(page.locator('.tile[data-phase="Escalated"] .tile-value')).to_have_text("1", timeout=30_000)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert Path(shot).stat().st_size > 10_000
