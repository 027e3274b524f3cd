"""A Role missing one verb (in a copy of the chart) is reported clearly by the operator, never a crash loop."""

from __future__ import annotations

import json
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.demo import cli as demo_cli
from devtools.demo import incluster
from devtools.demo.scenarios import sandbox_scenario, scenarios
from devtools.localcluster import controlplane
from tests.e2e.cluster.conftest import LocalNode, pods

RESOURCES = '  resources: ["incidents", "remediationattempts"]\n'
FULL = RESOURCES + '  verbs: ["get", "list", "watch", "create", "patch", "update"]'
NO_CREATE = RESOURCES + '  verbs: ["get", "list", "watch", "patch", "update"]'


@pytest.fixture
def crippled(local_node: LocalNode, kubeconfig: Path, tmp_path: Path) -> Iterator[incluster.Installation]:
    chart = tmp_path / "aiops-rca"
    shutil.copytree(incluster.CHART, chart)
    helpers = chart / "templates" / "_helpers.tpl"
    text = helpers.read_text()
    assert FULL in text, "the operator's rules changed: update this test's copy"
    helpers.write_text(text.replace(FULL, NO_CREATE))
    namespace = f"e2e-cluster-rbac-{secrets.token_hex(3)}"
    inst = incluster.Installation(namespace=namespace, release="suite-rbac", kubeconfig=kubeconfig)
    incluster.kubectl(kubeconfig, "create", "namespace", namespace)
    policy = json.dumps(demo_cli._demo_policy(True))
    incluster.kubectl(kubeconfig, "-n", namespace, "apply", "-f", "-", stdin=policy)
    incluster.install(inst, controlplane.Layout.default(), sandbox_scenario(), fast=True, llm=False,
                      progress=print, chart=chart, sandbox=False)
    yield inst
    incluster.uninstall(inst)
    incluster.kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false", check=False)


def test_operator_reports_a_missing_verb_instead_of_crash_looping(crippled: incluster.Installation) -> None:
    gateway = next(s for s in scenarios() if s.key == "adf-gateway-timeout")
    with httpx.Client(base_url=crippled.receiver_url, headers={"x-api-key": crippled.api_key}, timeout=10) as http:
        assert http.post(gateway.endpoint, json=gateway.payload).status_code == 201
    deadline = time.monotonic() + 90
    events: list[dict[str, object]] = []
    while time.monotonic() < deadline and not events:
        listed = json.loads(incluster.kubectl(crippled.kubeconfig, "-n", crippled.namespace, "get", "events", "-o",
                                              "json", "--field-selector",
                                              f"involvedObject.name={gateway.incident}").stdout)["items"]
        events = [e for e in listed if e["type"] == "Warning" and "forbidden" in e["message"].lower()]
        time.sleep(1)
    (pod,) = pods(crippled, "operator")
    log = incluster.kubectl(crippled.kubeconfig, "-n", crippled.namespace, "logs", pod["metadata"]["name"]).stdout
    assert events, f"no Warning Event on the Incident names the missing permission; {listed}\n{log[-4000:]}"
    message = str(events[0]["message"])
    assert "create" in message
    assert "remediationattempts" in message
    (pod,) = pods(crippled, "operator")
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 0
    assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"] == "True"
    assert "forbidden" in log.lower()
