"""What the benches share: the processes they start, the ADF world they fail, the figures they read.

Benches run as scripts (`python bench/x.py`), so this folder is sys.path[0] and
they import `_world` directly. Incident bodies come from the builder the tests
use (tests/support/builders.py, on sys.path through the dev venv's .pth): one
definition of what the receiver would create, for tests and benches alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiops_operator.api import GROUP, VERSION, IncidentSource
from aiops_operator.kube import NAMESPACES, KubeClient

from tests.support.builders import incident_body

REPO = Path(__file__).resolve().parents[1]
CLI = REPO / ".venv" / "bin" / "aiops-rca"
GATEWAY_TIMEOUT = ("Failure happened on 'Source' side. ErrorCode=SqlFailedToConnect,Message=Cannot connect to SQL"
                   " Database. Execution Timeout Expired. The timeout period elapsed prior to completion of the"
                   " operation or the server is not responding.")
FACTORY, RG = "adf-bench", "rg-bench"


def reporter(tag: str) -> Callable[[str], None]:
    """The bench's progress line on stderr, `[tag] message` (stdout is kept for the JSON figures)."""

    def progress(message: str) -> None:
        print(f"[{tag}] {message}", file=sys.stderr, flush=True)

    return progress


def print_figures(figures: dict[str, Any]) -> None:
    """The last line on stdout: the bench's figures as one JSON object."""
    print(json.dumps(figures), flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def rss_mib(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the world: ADF pipelines that failed, the policy that re-runs them --------------------------------


def adf_run_id(prefix: str, i: int) -> str:
    """The `i`-th ADF run id of a bench: a UUID whose first group (8 hex digits) names the bench."""
    return f"{prefix}-0000-4000-8000-{i:012d}"


def adf_incident(pipeline: str, run: str, subscription: str, *, message: str = GATEWAY_TIMEOUT,
                 fired_ago: float = 5.0, **alert: str) -> dict[str, Any]:
    """A failed Copy_Data run of `pipeline` as the receiver creates its Incident; `alert` adds alert fields."""
    now = datetime.now(UTC)
    return incident_body(
        IncidentSource.AZURE_DATA_FACTORY,
        {"kind": "Pipeline", "name": pipeline, "factory": FACTORY, "resourceGroup": RG, "subscriptionId": subscription},
        run, received=iso(now),
        alert={"rule": "adf-failed-runs", **alert, "firedTime": iso(now - timedelta(seconds=fired_ago))},
        error={"code": "2200", "activity": "Copy_Data", "message": message},
    )


def adf_scenario(failed: list[tuple[str, str, str]]) -> dict[str, Any]:
    """The sandbox as ADF holding each failed run (run id, pipeline, message); every re-run succeeds at once."""
    return {
        "defaults": {"run_duration_seconds": 0},
        "adf": {
            "pipelines": {p: {"activities": ["Copy_Data"], "runs": [{"status": "Succeeded", "duration_seconds": 0}]}
                          for p in sorted({p for _, p, _ in failed})},
            "seeded_runs": [{"run_id": r, "pipeline": p, "status": "Failed", "failed_activity": "Copy_Data",
                             "message": m} for r, p, m in failed],
        },
    }


def gateway_timeout_policy(name: str, routing: dict[str, str] | None = None) -> dict[str, Any]:
    """A RemediationPolicy that re-runs GatewayTimeout failures once, at once; `routing` adds Slack and Jira."""
    spec: dict[str, Any] = {"rules": [{"name": "gateway-timeout", "errorType": "GatewayTimeout",
                                       "action": "RerunPipeline", "maxAttempts": 1, "backoff": {"seconds": [0]}}]}
    if routing is not None:
        spec["routing"] = routing
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "RemediationPolicy", "metadata": {"name": name},
            "spec": spec}


async def create_namespace(kube: KubeClient, namespace: str) -> None:
    await kube.create(NAMESPACES, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})


# -- the processes: operator and receiver as in production -------------------------------------------


def operator_env(kubeconfig: Path, endpoints: Any, *, llm: bool = False, notifications: bool = True,
                 **settings: str) -> dict[str, str]:
    """The operator's environment against the sandox (`endpoints`): Slack and Jira unless `notifications` is
    off, the sandbox LLM with `llm`, a re-run polled every second; `settings` adds or overrides variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIRA_", "AIOPS_LLM_"))}
    env.update({k: v for k, v in endpoints.env(llm=llm).items()
                if notifications or not k.startswith(("SLACK_", "JIRA_"))})
    env.update({"KUBECONFIG": str(kubeconfig), "LOG_LEVEL": "WARNING", "REMEDIATION_POLL_SECONDS": "1",
                "SSL_CERT_FILE": str(endpoints.ca_file), **settings})
    return env


def operator_command(namespace: str) -> list[str]:
    return [str(CLI), "operator", "--namespace", namespace, "--port", "0"]


def receiver_command(port: int, kubeconfig: Path, namespace: str, workdir: Path, keys: Path) -> list[str]:
    """`aiops-rca receiver` as its own process, as in production (spool under `workdir`)."""
    return [sys.executable, "-m", "aiops_operator.cli", "receiver", "--host", "127.0.0.1", "--port", str(port),
            "--kubeconfig", str(kubeconfig), "--namespace", namespace, "--spool-dir", str(workdir / "spool"),
            "--api-keys-file", str(keys), "--log-level", "WARNING"]


def tail(log: Path) -> str:
    """The end of a process's log, for the message that says why a bench stopped."""
    return log.read_text()[-2000:]


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM, and SIGKILL if it is not gone within `timeout`."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


async def wait_until(what: str, check: Callable[[], Awaitable[bool]], limit: float,
                     proc: subprocess.Popen[bytes] | None = None) -> float:
    """Seconds until `check()` holds (polled every 0.5 s); a timeout, or the operator `proc` exiting, raises."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if await check():
            return time.perf_counter() - started
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the operator exited ({proc.returncode}) while waiting for {what}")
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{what} did not happen within {limit:.0f} s")


# -- the figures: the API server's counters, the sandbox's call log -----------------------------------


async def apiserver_requests(kube: KubeClient) -> Counter[str]:
    """The API server's own request counters (`apiserver_request_total`), as "VERB resource[/sub] code"."""
    counts: Counter[str] = Counter()
    for line in (await kube.get_text("/metrics")).splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels_text, _, value = line.rpartition(" ")
        labels = dict(part.split("=", 1) for part in labels_text[len("apiserver_request_total{"):-1].split(",")
                      if "=" in part)
        label = {k: v.strip('"') for k, v in labels.items()}
        resource = label.get("resource", "") + (f"/{label['subresource']}" if label.get("subresource") else "")
        counts[f"{label.get('verb')} {resource} {label.get('code')}"] += int(float(value))
    return counts


def slack_metadata(call: dict[str, Any]) -> dict[str, Any]:
    """The message metadata of a Slack call (a JSON string or an object on the wire)."""
    body = call.get("body") if isinstance(call.get("body"), dict) else {}
    meta = (body or {}).get("metadata") or {}
    if isinstance(meta, str):
        with contextlib.suppress(ValueError):
            meta = json.loads(meta)
    return meta if isinstance(meta, dict) else {}


def once_key(call: dict[str, Any]) -> str | None:
    """What a successful side effect did, named so that doing it twice shows; None for reads (an edit may
    repeat)."""
    target, body = call.get("target") or {}, call.get("body")
    if call["op"] == "createRun":
        return f"rerun {target.get('reference_run_id')}"
    if call["op"] == "chat.postMessage":
        payload = slack_metadata(call).get("event_payload") or {}
        return f"slack {payload.get('incident_uid')} {payload.get('key') or 'message'}"
    if call["op"] == "createIssue" and isinstance(body, dict):
        return f"issue {sorted((body.get('fields') or {}).get('labels') or [])}"
    if call["op"] == "addComment":
        marker = json.dumps(body).split("[aiops-rca:")[1:2]
        return f"comment {target.get('key')} {marker[0].split(']')[0] if marker else json.dumps(body)}"
    if call["op"] == "doTransition":
        return f"transition {target.get('key')} {target.get('to')}"
    if call["op"] == "jobs/run-now":
        return f"run-now job {target.get('job_id')}"
    if call["op"] == "jobs/runs/repair":
        return f"repair run {target.get('run_id')}"
    if call["op"] in ("clusters/start", "clusters/restart", "clusters/resize"):
        return f"{call['op']} {target.get('cluster_id')}"
    return None


async def wait_healthy(http: httpx.AsyncClient, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None,
                       limit: float = 30.0) -> None:
    """Until the receiver behind `http` answers /healthz with 200; its process `proc`
    exiting first ends the bench with the tail of its `log`."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"receiver exited: {tail(log) if log else proc.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if (await http.get("/healthz")).status_code == 200:
                return
        await asyncio.sleep(0.2)
    raise SystemExit("the receiver did not become healthy")
