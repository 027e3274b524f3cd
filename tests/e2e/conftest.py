"""End-to-end fixtures: a real kube-apiserver, the CRDs installed, a fresh namespace per test.

The control plane is the local one (`aiops-rca controlplane`), started once per
test session and stopped at the end if this session started it; with
$KUBECONFIG pointing at a reachable cluster, that cluster is used instead.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiops_operator.kube import KubeClient, load_config
from aiops_operator.kube.crds import install_crds
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from devtools.localcluster import controlplane
from devtools.localcluster.build import ensure_binaries
from sandbox.testing import RunningSandbox
from sandbox.testing import start as start_sandbox

REPO = Path(__file__).resolve().parents[2]

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e" in str(item.path):
            item.add_marker(pytest.mark.e2e)


def _progress(message: str) -> None:
    print(f"[controlplane] {message}", flush=True)


@pytest.fixture(scope="session")
def kubeconfig() -> Iterator[Path]:
    """Path of a kubeconfig for a reachable cluster with the aiops-rca CRDs installed."""
    yield from session_cluster(allow_external=True)


def session_cluster(allow_external: bool) -> Iterator[Path]:
    """$KUBECONFIG's cluster when allowed and reachable, else the local control plane (stopped afterwards
    if this session started it)."""
    layout = controlplane.Layout.default()
    external = os.environ.get("KUBECONFIG") if allow_external else None
    use_external = bool(external) and controlplane.cluster_reachable(str(external))
    was_running = all(controlplane.status(layout).values())
    path = Path(str(external)) if use_external else controlplane.start(layout, _progress)
    asyncio.run(_install_crds(path))
    yield path
    if not use_external and not was_running and not os.environ.get("AIOPS_RCA_KEEP_CONTROLPLANE"):
        controlplane.stop(layout, _progress)


async def _install_crds(kubeconfig: Path) -> None:
    async with KubeClient(load_config(kubeconfig)) as kube, asyncio.timeout(60):
        await install_crds(kube)


@pytest.fixture(scope="session")
def api_client(kubeconfig: Path) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    yield api
    api.close()


@pytest.fixture(scope="session")
def custom_api(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture
def namespace(api_client: client.ApiClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace named after the test, deleted afterwards (without waiting)."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].rstrip("-")
    name = f"e2e-{slug}-{secrets.token_hex(3)}"
    core = client.CoreV1Api(api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as exc:
        if exc.status != 404:
            raise


@pytest.fixture(scope="session")
def kubectl(kubeconfig: Path) -> Kubectl:
    """Run kubectl (the cached v1.20 client unless $KUBECTL says otherwise) against the cluster."""
    binary = os.environ.get("KUBECTL") or str(ensure_binaries(_progress).kubectl)

    def run(*args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        result = subprocess.run(
            [binary, *args], input=input, capture_output=True, text=True, env=env,
            timeout=60, check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
            )
        return result

    return run


@pytest.fixture(scope="session")
def sandbox_session() -> Iterator[RunningSandbox]:
    """One cloud sandbox (ADF, Azure AD, Databricks, Slack, Jira, LLM) for the whole session."""
    running = start_sandbox()
    yield running
    running.stop()


@pytest.fixture
def sandbox(sandbox_session: RunningSandbox) -> RunningSandbox:
    """The session's sandbox, reset to an empty scenario: `.endpoints`, `.control`."""
    sandbox_session.control.reset()
    return sandbox_session
