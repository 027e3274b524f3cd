"""Receiver e2e fixtures: a receiver process, an in-process receiver, a kubeconfig through a proxy."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from aiops_operator.kube import KubeClient, load_config
from pydantic import SecretStr

from tests.e2e.receiver.tcp_proxy import TcpProxy, free_port, kubeconfig_via_proxy
from webhook_receiver.app import Receiver, build_app, make_receiver
from webhook_receiver.settings import ReceiverSettings

API_KEY = "e2e-receiver-key"


@pytest.fixture
def api_keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "api-keys"
    path.write_text(f"retired-key\n{API_KEY}\n")
    return path


@contextlib.contextmanager
def receiver_process(
    kubeconfig: Path, namespace: str, workdir: Path, api_keys_file: Path
) -> Iterator[str]:
    """`aiops-rca receiver` as a real process on a free port; yields its base URL."""
    port = free_port()
    log = (workdir / f"receiver-{port}.log").open("w")
    env = {
        **os.environ,
        "AIOPS_RCA_RECEIVER_SPOOL_REPLAY_INTERVAL_SECONDS": "0.5",
        "AIOPS_RCA_RECEIVER_API_TIMEOUT_SECONDS": "3",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiops_operator.cli", "receiver", "--host", "127.0.0.1", "--port", str(port),
         "--kubeconfig", str(kubeconfig), "--namespace", namespace, "--spool-dir", str(workdir / "spool"),
         "--api-keys-file", str(api_keys_file)],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"receiver exited {proc.returncode}: {(workdir / log.name).read_text()[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError("receiver did not become healthy in 20 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def receiver_url(kubeconfig: Path, namespace: str, tmp_path: Path, api_keys_file: Path) -> Iterator[str]:
    with receiver_process(kubeconfig, namespace, tmp_path, api_keys_file) as url:
        yield url


@pytest.fixture
def proxied_kubeconfig(kubeconfig: Path, tmp_path: Path) -> Iterator[tuple[Path, TcpProxy]]:
    """A copy of the kubeconfig whose server is a local TCP proxy to the real API server (started)."""
    path, proxy = kubeconfig_via_proxy(kubeconfig, tmp_path)
    proxy.start()
    try:
        yield path, proxy
    finally:
        proxy.close()


@pytest.fixture
async def in_process(
    kubeconfig: Path, namespace: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Receiver]]:
    """The receiver app in this process (httpx.ASGITransport) against the real API server."""
    # No early 202s here: these tests assert on exact answers, whatever the shared machine's load.
    settings = ReceiverSettings(api_keys=SecretStr(API_KEY), spool_dir=tmp_path / "spool", ack_budget_seconds=0)
    receiver = make_receiver(settings, KubeClient(load_config(kubeconfig)), namespace)
    receiver.store.spool.open()
    transport = httpx.ASGITransport(app=build_app(receiver))
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver", headers={"x-api-key": API_KEY}) as c:
        yield c, receiver
    await receiver.store.kube.close()


