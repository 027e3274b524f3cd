"""The node itself: Ready, tainted against strangers, and the host left as it was."""

from __future__ import annotations

import json
import time
from pathlib import Path

from devtools.demo import incluster
from devtools.localcluster import node as node_mod
from tests.e2e.cluster.conftest import LocalNode


def test_node_is_ready_and_named_by_its_loopback_address(local_node: LocalNode, kubeconfig: Path) -> None:
    out = incluster.kubectl(kubeconfig, "get", "node", node_mod.NODE_NAME, "-o", "json")
    node = json.loads(out.stdout)
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert ready["Ready"] == "True"
    assert {a["address"] for a in node["status"]["addresses"]} == {"127.0.0.1"}
    assert {"key": node_mod.TAINT_KEY, "value": "cluster-suite", "effect": "NoSchedule"} in node["spec"]["taints"]


def test_a_pod_without_the_toleration_is_kept_off_the_node(
    local_node: LocalNode, kubeconfig: Path, namespace: str
) -> None:
    pod = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stranger", "namespace": namespace},
        "spec": {"containers": [{"name": "c", "image": node_mod.PAUSE_IMAGE, "imagePullPolicy": "Never"}]},
    }
    incluster.kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(pod))
    deadline = time.monotonic() + 30
    message = ""
    while time.monotonic() < deadline:
        got = json.loads(incluster.kubectl(kubeconfig, "-n", namespace, "get", "pod", "stranger", "-o", "json").stdout)
        scheduled = [c for c in got["status"].get("conditions", []) if c["type"] == "PodScheduled"]
        if scheduled and scheduled[0]["status"] == "False":
            message = scheduled[0].get("message", "")
            break
        time.sleep(0.5)
    assert "taint" in message, message
    assert not got["spec"].get("nodeName")


def test_the_hosts_kernel_settings_are_unchanged(local_node: LocalNode) -> None:
    # The kubelet would set vm.overcommit_memory=1, kernel.panic=10, kernel.panic_on_oops=1 (build.py patches it).
    assert node_mod.kernel_settings() == local_node.kernel_before


def test_the_kubelet_only_warned_about_the_kernel_settings(local_node: LocalNode) -> None:
    log = local_node.layout.log_file("kubelet").read_text(errors="replace")
    assert "Updating kernel flag" not in log
