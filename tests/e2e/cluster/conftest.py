"""The cluster suite: the product as users install it, on a real node of the local control plane.

One session brings up the node (devtools/localcluster/node.py), builds the image from the unchanged
Dockerfile and imports it, and installs the chart once with tests/data/chart/values-local-node.yaml; the
tests then look at the pods from outside like a user with kubectl would. The components listen on fixed
loopback ports (one node, host networking), so one release exists at a time and the tests that change it
(pod deletions, upgrade, uninstall) run in file order after the ones that only look.

A sampler records, all session long, every socket peer of every process of the node (components, shims,
pods) that is not on loopback; test_9_egress asserts there was none.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiops_operator.kube import KubeClient, load_config

from devtools.demo import cli as demo_cli
from devtools.demo import incluster
from devtools.demo.scenarios import sandbox_scenario
from devtools.localcluster import controlplane
from devtools.localcluster import node as node_mod
from tests.e2e.conftest import session_cluster

NAMESPACE_PREFIX = "e2e-cluster-"
_NO_PEER = {"*", "0.0.0.0", "::", ""}  # noqa: S104 - what ss shows for a listening or unconnected socket
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def _progress(message: str) -> None:
    print(f"[cluster] {message}", flush=True)


@dataclass
class EgressSampler:
    """Every non-loopback socket peer any process of the node held while the suite ran."""

    layout: node_mod.NodeLayout
    samples: int = 0
    offenders: set[tuple[str, str]] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        pids = node_mod.node_processes(self.layout)
        out = subprocess.run(["ss", "-tunapH"], capture_output=True, text=True, timeout=20, check=False).stdout
        for line in out.splitlines():
            found = [int(p) for p in re.findall(r"pid=(\d+)", line)]
            if not any(p in pids for p in found):
                continue
            peer = line.split()[5]
            host = peer.rsplit(":", 1)[0].strip("[]")
            if host in _NO_PEER:
                continue
            with contextlib.suppress(ValueError):
                if not ipaddress.ip_address(host.split("%")[0]).is_loopback:
                    self.offenders.add((pids.get(found[0], "?"), peer))
        self.samples += 1

    def run(self) -> None:
        while not self._stop.wait(1.0):
            with contextlib.suppress(Exception):  # a process ending mid-scan is not a finding
                self.sample()

    def stop(self) -> None:
        self._stop.set()


@dataclass
class LocalNode:
    layout: node_mod.NodeLayout
    kernel_before: dict[str, str]
    egress: EgressSampler


@pytest.fixture(scope="session")
def kubeconfig() -> Iterator[Path]:
    """The local control plane whatever $KUBECONFIG says: the node joins that one only."""
    yield from session_cluster(allow_external=False)


@pytest.fixture(scope="session")
def local_node(kubeconfig: Path) -> Iterator[LocalNode]:
    """The node Ready, the image imported; stopped and cleaned afterwards unless AIOPS_RCA_KEEP_NODE is set."""
    layout = node_mod.NodeLayout.default()
    was_running = all(node_mod.status(layout).values())
    before = node_mod.kernel_settings()
    if was_running:  # the settings this node found when it first started
        with contextlib.suppress(OSError, ValueError):
            before = json.loads(layout.kernel_settings_file.read_text())
    sampler = EgressSampler(layout)
    thread = threading.Thread(target=sampler.run, name="egress-sampler", daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        incluster.prepare_node(_progress)
        _progress(f"node and image ready in {time.monotonic() - started:.0f}s")
        yield LocalNode(layout, before, sampler)
    finally:
        sampler.stop()
        thread.join(10)
        if not was_running and not os.environ.get("AIOPS_RCA_KEEP_NODE"):
            node_mod.stop(layout, _progress)


def pods(inst: incluster.Installation, component: str) -> list[dict[str, Any]]:
    out = incluster.kubectl(inst.kubeconfig, "-n", inst.namespace, "get", "pods", "-o", "json", "-l",
                            f"app.kubernetes.io/instance={inst.release},app.kubernetes.io/component={component}")
    items: list[dict[str, Any]] = json.loads(out.stdout)["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def wait_ready(inst: incluster.Installation, deployment: str, timeout: int = 120) -> None:
    incluster.kubectl(inst.kubeconfig, "-n", inst.namespace, "rollout", "status", f"deployment/{deployment}",
                      f"--timeout={timeout}s", timeout=timeout + 30)


@pytest.fixture(scope="session")
def release(local_node: LocalNode, kubeconfig: Path) -> Iterator[incluster.Installation]:
    """The chart installed once (with the sandbox pod) in a fresh namespace, every Deployment Ready."""
    cp = controlplane.Layout.default()
    namespace = f"{NAMESPACE_PREFIX}{secrets.token_hex(3)}"
    inst = incluster.Installation(namespace=namespace, release="suite", kubeconfig=kubeconfig)

    async def prepare() -> None:
        async with KubeClient(load_config(kubeconfig)) as kube:
            await demo_cli._prepare_namespace(kube, namespace, demo_cli._demo_policy(True))

    _uninstall_leftovers(kubeconfig, inst.release)
    asyncio.run(prepare())
    incluster.install(inst, cp, sandbox_scenario(), fast=True, llm=True, progress=_progress)
    yield inst
    incluster.uninstall(inst)
    incluster.kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false", check=False)


def _uninstall_leftovers(kubeconfig: Path, release: str) -> None:
    """A release of an interrupted run would hold the fixed ports and the cluster-scoped names."""
    listed = incluster.helm(kubeconfig, "list", "--all-namespaces", "--filter", f"^{release}$", "-o", "json")
    for old in json.loads(listed.stdout or "[]"):
        _progress(f"uninstalling the leftover release {old['name']} in {old['namespace']}")
        incluster.helm(kubeconfig, "uninstall", old["name"], "-n", old["namespace"], "--wait", check=False)
    namespaces = incluster.kubectl(kubeconfig, "get", "namespaces", "-o", "name").stdout.split()
    for old_ns in (n.removeprefix("namespace/") for n in namespaces):
        if old_ns.startswith(NAMESPACE_PREFIX):  # with the sandbox pod of an interrupted run
            incluster.kubectl(kubeconfig, "delete", "namespace", old_ns, "--wait=true", timeout=180, check=False)
