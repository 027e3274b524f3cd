"""What a user installs, run as a user runs it: the wheel in a fresh venv outside the checkout.

The wheel is built from a copy of the checkout, installed (not editable) with its dependencies
into a new virtual environment in a temporary folder, and every component is started from that
venv's `aiops-rca` with the temporary folder as working directory, so nothing of the checkout
can be imported by accident: the receiver turns an alert into an Incident on the real API server,
the operator (from the wheel) analyzes and notifies it through the sandbox, and the dashboard
(from the wheel) serves its page and scripts.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import yaml
from aiops_operator.api import GROUP, VERSION
from kubernetes import client

from sandbox.testing import RunningSandbox
from tests.e2e.operator.conftest import POLICY_SAMPLE, free_port, wait_for
from tests.support.distribution import REPO, build

ALERT = REPO / "tests" / "data" / "webhooks" / "azure-monitor" / "log-v2-pipeline-failed.json"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv holding the wheel built from this checkout."""
    work = tmp_path_factory.mktemp("wheel")
    wheel, _ = build(work)  # the copy it was built from is gone: only the installed code is left
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        cwd=work, capture_output=True, text=True, timeout=900, check=False,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    return venv / "bin"


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith(
               ("SLACK_", "JIRA_", "LLM_", "AZURE_", "DATABRICKS_", "AIOPS_RCA_"))}
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url} exited {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"{url} not healthy in {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


def test_every_module_of_the_wheel_imports_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    result = subprocess.run([str(installed / "python"), "-m", "aiops_operator.install_check"],
                            cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    located = subprocess.run(
        [str(installed / "python"), "-c", "import aiops_operator, dashboard; print(aiops_operator.__file__)"],
        cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    assert "site-packages" in located
    assert str(REPO) not in located


def test_dashboard_from_the_wheel_serves_its_page_and_scripts(
    installed: Path, kubeconfig: Path, namespace: str, tmp_path: Path,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [str(installed / "aiops-rca"), "dashboard", "--port", str(port), "--namespaces", namespace,
            "--kubeconfig", str(kubeconfig)]
    with _process(args, _clean_env(), tmp_path, tmp_path / "dashboard.log") as proc:
        _wait_healthy(url, proc, tmp_path / "dashboard.log")
        page = httpx.get(f"{url}/", timeout=5)
        assert page.status_code == 200
        assert "<script" in page.text
        scripts = [s.split('"')[0] for s in page.text.split('src="')[1:]]
        assert scripts, page.text[:500]
        for src in scripts:
            got = httpx.get(f"{url}{src}" if src.startswith("/") else f"{url}/{src}", timeout=5)
            assert got.status_code == 200, src
            assert len(got.content) > 100, src


def test_receiver_and_operator_from_the_wheel_handle_an_alert(
    installed: Path, kubeconfig: Path, namespace: str, sandbox: RunningSandbox,
    custom_api: client.CustomObjectsApi, tmp_path: Path,
) -> None:
    sandbox.control.load({"adf": {"pipelines": {"pl_copy_sales_daily": {"activities": ["Copy_SalesOrders"]}}}})
    policy = yaml.safe_load(POLICY_SAMPLE.read_text())
    custom_api.create_namespaced_custom_object(GROUP, VERSION, namespace, "remediationpolicies", policy)
    keys = tmp_path / "api-keys"
    keys.write_text("wheel-e2e-key\n")
    port = free_port()
    receiver_url = f"http://127.0.0.1:{port}"
    receiver_args = [str(installed / "aiops-rca"), "receiver", "--host", "127.0.0.1", "--port", str(port),
                     "--kubeconfig", str(kubeconfig), "--namespace", namespace,
                     "--spool-dir", str(tmp_path / "spool"), "--api-keys-file", str(keys)]
    operator_env = _clean_env(
        **sandbox.endpoints.env(), KUBECONFIG=str(kubeconfig), LOG_LEVEL="INFO",
        SSL_CERT_FILE=str(sandbox.endpoints.ca_file), DASHBOARD_URL="http://dashboard.example",
    )
    operator_args = [str(installed / "aiops-rca"), "operator", "--namespace", namespace, "--port", "0"]
    with (
        _process(receiver_args, _clean_env(), tmp_path, tmp_path / "receiver.log") as receiver,
        _process(operator_args, operator_env, tmp_path, tmp_path / "operator.log"),
    ):
        _wait_healthy(receiver_url, receiver, tmp_path / "receiver.log")
        posted = httpx.post(f"{receiver_url}/azure-monitor", content=ALERT.read_bytes(),
                            headers={"x-api-key": "wheel-e2e-key", "content-type": "application/json"}, timeout=10)
        # 202: the API server was slow and the alert was spooled; the receiver creates it on replay.
        assert posted.status_code in (201, 202), posted.text
        name = posted.json()["incidents"][0]["name"]

        def analyzed() -> dict[str, Any] | None:
            listed = cast(dict[str, Any],
                          custom_api.list_namespaced_custom_object(GROUP, VERSION, namespace, "incidents"))
            items: list[dict[str, Any]] = listed["items"]
            done = [i for i in items if i.get("status", {}).get("phase") not in (None, "Analyzing")
                    and i["status"].get("notifications", {}).get("slack")]
            return done[0] if done else None

        try:
            incident: dict[str, Any] = wait_for(analyzed, 60, "the incident analyzed and notified by the operator")
        except AssertionError:
            print((tmp_path / "operator.log").read_text(errors="replace")[-4000:])
            print(custom_api.list_namespaced_custom_object(GROUP, VERSION, namespace, "incidents"))
            raise
    assert incident["metadata"]["name"] == name
    assert incident["spec"]["resource"]["name"] == "pl_copy_sales_daily"
    assert incident["status"]["analysis"]["errorType"]
    assert incident["status"]["observedGeneration"] == incident["metadata"]["generation"]
    posts = [c for c in sandbox.control.calls(service="slack", op="chat.postMessage") if c["status"] == 200]
    assert len(posts) == 1, json.dumps(posts)[:2000]
