"""The operator as a real subprocess (`aiops-rca operator --namespace <test ns>`) pointed at the sandbox."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiops_operator.api import GROUP, VERSION
from kubernetes import client

from sandbox.testing import RunningSandbox
from tests.support.crash import CRASH_AT_ENV
from tests.support.kube_objects import as_object

REPO = Path(__file__).resolve().parents[3]
CLI = REPO / ".venv" / "bin" / "aiops-rca"
POLICY_SAMPLE = REPO / "crds" / "samples" / "policy-default.yaml"


@dataclass
class OperatorProcess:
    """One operator subprocess; `restart()` starts it again with the same settings."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)

    def start(self, **env: str) -> None:
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {self.starts} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.args, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
            )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def wait_exit(self, timeout: float) -> int | None:
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


StartOperator = Callable[..., OperatorProcess]


@pytest.fixture
def start_operator(
    kubeconfig: Path, namespace: str, sandbox: RunningSandbox, tmp_path: Path, request: pytest.FixtureRequest,
) -> Iterator[StartOperator]:
    """Start the operator for the test's namespace with the sandbox's settings (override with kwargs)."""
    started: list[OperatorProcess] = []

    def start(port: int = 0, **overrides: str) -> OperatorProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIRA_", "LLM_", "AZURE_",
                                                                         "DATABRICKS_"))}
        env.update(sandbox.endpoints.env())
        env.update({
            "KUBECONFIG": str(kubeconfig),
            "LOG_LEVEL": "INFO",
            "RESYNC_SECONDS": "30",
            "NOTIFY_RETRY_INITIAL_SECONDS": "1",
            "NOTIFY_RETRY_MAX_SECONDS": "2",
            "DASHBOARD_URL": "http://dashboard.example",
            "SSL_CERT_FILE": str(sandbox.endpoints.ca_file),
            # Every test runs the election (its Lease in the test's namespace), on a short lease: a process
            # restarted after a SIGKILL takes over within 3 s. test_failover uses client-go's defaults.
            "LEADER_ELECTION_LEASE_DURATION_SECONDS": "3",
            "LEADER_ELECTION_RENEW_DEADLINE_SECONDS": "2",
            "LEADER_ELECTION_RETRY_PERIOD_SECONDS": "0.5",
        })
        env.update(overrides)
        env = {k: v for k, v in env.items() if v != ""}
        # A crash test runs the operator through the test-only entry point that injects the crash hook.
        entry = [sys.executable, "-m", "tests.support.crashing_operator"] if CRASH_AT_ENV in env \
            else [str(CLI), "operator"]
        op = OperatorProcess(
            args=[*entry, "--namespace", namespace, "--port", str(port)],
            env=env, log_path=tmp_path / f"operator-{len(started)}.log",
        )
        op.start()
        started.append(op)
        return op

    yield start
    for op in started:
        op.stop()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for op in started:
            print(f"--- operator log {op.log_path} ---\n{op.log_tail(200)}")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def apply_default_policy(custom_api: client.CustomObjectsApi, namespace: str) -> Callable[..., dict[str, Any]]:
    def apply(**routing: str) -> dict[str, Any]:
        body = yaml.safe_load(POLICY_SAMPLE.read_text())
        if routing:
            body["spec"]["routing"].update(routing)
        result: dict[str, Any] = as_object(custom_api.create_namespaced_custom_object(
            GROUP, VERSION, namespace, "remediationpolicies", body))
        return result

    return apply


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, op: OperatorProcess | None = None) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.3)
    tail = f"\n--- operator log ---\n{op.log_tail()}" if op is not None else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}{tail}")
