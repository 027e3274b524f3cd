"""`aiops-rca demo`: the whole product on one machine, driven by six realistic failures.

Starts (or reuses) the local Kubernetes control plane, installs the CRDs and
the default RemediationPolicy in a fresh namespace, runs the sandbox (playing
ADF, Databricks, Slack, Jira and the LLM), the operator, the webhook receiver
and the dashboard as local processes, fires the alerts through the receiver,
and shows each incident's way to its outcome. Ctrl-C stops everything it
started. With --check it runs unattended: waits for every outcome, approves
the waiting scale-up the way a human would with kubectl, and exits 0 only if
every scenario ended as expected.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from aiops_operator.api import AttemptPhase, Incident, RemediationAttempt, attempt_name
from aiops_operator.api.labels import APPROVAL_ANNOTATION
from aiops_operator.kube import ATTEMPTS, INCIDENTS, NAMESPACES, POLICIES, KubeClient, NotFound, load_config
from aiops_operator.kube.crds import install_crds

from devtools.demo.scenarios import Scenario, sandbox_scenario, scenarios
from devtools.demo.supervisor import Supervisor
from devtools.localcluster import controlplane
from devtools.localcluster.build import ensure_binaries


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--namespace", default="aiops-demo",
                        help="namespace for the demo's objects; recreated on every run (default aiops-demo)")
    parser.add_argument("--check", action="store_true",
                        help="unattended: wait for every outcome, approve the scale-up, exit 0 if all ended as"
                             " expected, 1 otherwise")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="with --check: seconds to wait for all outcomes (default 600)")
    parser.add_argument("--fast", action="store_true",
                        help="divide the policy's backoffs by 10 and poll re-runs every second (for tests)")
    parser.add_argument("--no-llm", action="store_true",
                        help="analyze with the built-in rules only (default: the sandbox's LLM, rules as fallback)")
    parser.add_argument("--dashboard-port", type=int, default=8088,
                        help="dashboard port (default 8088; a free port if taken)")
    parser.add_argument("--keep-cluster", action="store_true",
                        help="leave a control plane this demo started running on exit")
    parser.add_argument("--state-dir", type=Path, default=None,
                        help="logs, keys and the sandbox CA (default <cache>/demo)")
    parser.add_argument("--in-cluster", action="store_true",
                        help="run the product as users install it instead of as processes: the local node"
                             " (kubelet + containerd), the image built from the Dockerfile, the Helm chart and"
                             " the sandbox as pods; needs root (see README, 'The chart on a local node')")


def _log(message: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _free_port(preferred: int = 0) -> int:
    for candidate in (preferred, 0) if preferred else (0,):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            port: int = sock.getsockname()[1]
            return port
    raise OSError("no free port")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "aiops_operator.cli", *args]


def _demo_policy(fast: bool) -> dict[str, Any]:
    # devtools runs from a checkout only, so the repository's crds/ is beside it.
    sample = Path(__file__).resolve().parents[2] / "crds" / "samples" / "policy-default.yaml"
    policy: dict[str, Any] = yaml.safe_load(sample.read_text())
    policy["spec"]["routing"]["slackChannel"] = "#data-incidents"
    if fast:
        for rule in policy["spec"]["rules"]:
            rule["backoff"]["seconds"] = [max(1, s // 10) for s in rule["backoff"]["seconds"]]
    return policy


async def _prepare_namespace(kube: KubeClient, namespace: str, policy: dict[str, Any]) -> None:
    with contextlib.suppress(NotFound):
        await kube.delete(NAMESPACES, None, namespace)
        _log(f"deleting the previous run's namespace {namespace} ...")
        async with asyncio.timeout(120):
            while True:
                try:
                    await kube.get(NAMESPACES, None, namespace)
                except NotFound:
                    break
                await asyncio.sleep(0.5)
    await kube.create(NAMESPACES, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    await kube.create(POLICIES, namespace, policy)
    _log(f"namespace {namespace} with RemediationPolicy 'default' ({len(policy['spec']['rules'])} rules)")


def _fire(receiver_url: str, api_key: str, items: list[Scenario]) -> None:
    with httpx.Client(base_url=receiver_url, headers={"x-api-key": api_key}, timeout=10) as http:
        for scenario in items:
            response = http.post(scenario.endpoint, json=scenario.payload)
            _log(f"alert {scenario.key:<20} -> POST {scenario.endpoint} {response.status_code} "
                 f"{response.json().get('incidents', response.json())}")
            if response.status_code >= 300:
                raise RuntimeError(f"the receiver refused the {scenario.key} alert: {response.text}")


def _describe(inc: Incident | None, attempts: list[RemediationAttempt]) -> str:
    if inc is None:
        return "not created yet"
    status = inc.status
    parts = [str(status.phase or "Pending")]
    if status.analysis is not None:
        parts.append(f"{status.analysis.error_type} ({status.analysis.provider})")
    if status.remediation is not None and status.remediation.max_attempts:
        parts.append(f"attempt {status.remediation.attempts_made}/{status.remediation.max_attempts}")
    latest = max(attempts, key=lambda a: a.spec.attempt, default=None)
    if latest is not None and latest.status.phase is not None:
        parts.append(f"{latest.metadata.name}: {latest.status.phase}")
    if status.escalation_reason:
        parts.append(f"escalated: {status.escalation_reason[:80]}")
    if status.resolution is not None:
        parts.append(f"resolved by {status.resolution.resolved_by}, MTTR {status.resolution.mttr_seconds}s")
    return ", ".join(parts)


def _outcome_met(scenario: Scenario, inc: Incident | None, attempts: list[RemediationAttempt]) -> bool:
    if inc is None or inc.status.analysis is None:
        return False
    want = scenario.expected
    if inc.status.phase != want.phase or inc.status.analysis.error_type != want.error_type:
        return False
    if want.awaiting_approval:
        return any(a.status.phase == AttemptPhase.AWAITING_APPROVAL for a in attempts)
    made = inc.status.remediation.attempts_made if inc.status.remediation else 0
    return made == want.attempts


async def _observe(kube: KubeClient, namespace: str) -> tuple[dict[str, Incident], dict[str, list[RemediationAttempt]]]:
    incidents = {i["metadata"]["name"]: Incident.from_object(i) for i in (await kube.list_all(INCIDENTS, namespace))[0]}
    attempts: dict[str, list[RemediationAttempt]] = {}
    for raw in (await kube.list_all(ATTEMPTS, namespace))[0]:
        attempt = RemediationAttempt.from_object(raw)
        attempts.setdefault(attempt.spec.incident_ref, []).append(attempt)
    return incidents, attempts


async def _watch_outcomes(
    kube: KubeClient, namespace: str, items: list[Scenario], *, check: bool, deadline: float,
    alive: Callable[[], None],
) -> bool:
    """Print every change of every scenario; with `check`, approve the waiting attempt and stop when all end."""
    last: dict[str, str] = {}
    approved = False
    while True:
        alive()
        incidents, attempts = await _observe(kube, namespace)
        done = []
        for scenario in items:
            inc, mine = incidents.get(scenario.incident), attempts.get(scenario.incident, [])
            line = _describe(inc, mine)
            if last.get(scenario.key) != line:
                _log(f"{scenario.key:<20} {line}")
                last[scenario.key] = line
            met = _outcome_met(scenario, inc, mine)
            if check and met and scenario.expected.awaiting_approval and not approved:
                name = attempt_name(scenario.incident, 1)
                _log(f"approving {name} as a human would: kubectl annotate remediationattempt {name} "
                     f"-n {namespace} {APPROVAL_ANNOTATION}=approved")
                await kube.patch(ATTEMPTS, namespace, name,
                                 {"metadata": {"annotations": {APPROVAL_ANNOTATION: "approved"}}})
                approved = True
            healed_after_approval = (
                approved and scenario.expected.awaiting_approval and inc is not None
                and inc.status.phase == "Resolved"
            )
            done.append(healed_after_approval if scenario.expected.awaiting_approval and check else met)
        if check and all(done):
            return True
        if check and time.monotonic() > deadline:
            for scenario, ok in zip(items, done, strict=True):
                if not ok:
                    _log(f"FAILED {scenario.key}: expected {scenario.expected}, got: {last.get(scenario.key)}")
            return False
        await asyncio.sleep(1.0)


def _print_guide(namespace: str, kubeconfig: Path, bin_dir: Path, dashboard: str, receiver: str,
                 key_file: Path, items: list[Scenario]) -> None:
    approve = next(s for s in items if s.expected.awaiting_approval)
    print(f"""
  Dashboard:        {dashboard}
  Receiver:         {receiver}   (API key in {key_file})

  Look around:
    export KUBECONFIG={kubeconfig}
    export PATH={bin_dir}:$PATH
    kubectl get inc,ra -n {namespace}
    kubectl describe inc -n {namespace} {items[0].incident}
    kubectl get rp -n {namespace}

  Approve the waiting scale-up (high risk) once its attempt shows AwaitingApproval:
    kubectl annotate remediationattempt {attempt_name(approve.incident, 1)} -n {namespace} \\
      {APPROVAL_ANNOTATION}=approved
""", flush=True)


async def _run_demo(args: argparse.Namespace, kubeconfig: Path, supervisor: Supervisor, state: Path) -> int:
    items = scenarios()
    bin_dir = ensure_binaries(_log).bin_dir
    async with KubeClient(load_config(kubeconfig)) as kube:
        async with asyncio.timeout(120):
            await install_crds(kube)
        _log("CRDs installed")
        await _prepare_namespace(kube, args.namespace, _demo_policy(args.fast))

        https_port, http_port = _free_port(), _free_port()
        scenario_file = state / "sandbox-scenario.yaml"
        scenario_file.write_text(yaml.safe_dump(sandbox_scenario(), sort_keys=False))
        sandbox_dir = state / "sandbox"
        sandbox = supervisor.start("sandbox", _cli(
            "sandbox", "--scenario", str(scenario_file), "--https-port", str(https_port),
            "--http-port", str(http_port), "--state-dir", str(sandbox_dir)), dict(os.environ))
        http_url = f"http://127.0.0.1:{http_port}"
        supervisor.wait_http(sandbox, f"{http_url}/_sandbox/")
        from sandbox.server import Endpoints

        endpoints = Endpoints(https_url=f"https://127.0.0.1:{https_port}", http_url=http_url,
                              ca_file=sandbox_dir / "tls" / "ca.crt")
        dashboard_port = _free_port(args.dashboard_port)
        dashboard_url = f"http://127.0.0.1:{dashboard_port}"
        receiver_port, metrics_port = _free_port(), _free_port()
        receiver_url = f"http://127.0.0.1:{receiver_port}"

        base_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("SLACK_", "JIRA_", "AZURE_", "DATABRICKS_", "AIOPS_LLM_"))}
        base_env["KUBECONFIG"] = str(kubeconfig)
        operator_env = {
            **base_env, **endpoints.env(llm=not args.no_llm),
            "SSL_CERT_FILE": str(endpoints.ca_file),
            "DASHBOARD_URL": dashboard_url,
            "DEFAULT_SLACK_CHANNEL": "#data-incidents",
            "DEFAULT_JIRA_PROJECT": "DATA",
            "REMEDIATION_POLL_SECONDS": "1" if args.fast else "5",
            "REMEDIATION_CALLBACK_URL": f"{receiver_url}/api/remediation-callback",
        }
        operator = supervisor.start("operator", _cli(
            "operator", "--namespace", args.namespace, "--standalone", "--port", str(metrics_port)), operator_env)
        supervisor.wait_http(operator, f"http://127.0.0.1:{metrics_port}/healthz")

        key_file = state / "receiver-api-keys"
        key_file.write_text(secrets.token_urlsafe(24) + "\n")
        key_file.chmod(0o600)
        receiver = supervisor.start("receiver", _cli(
            "receiver", "--host", "127.0.0.1", "--port", str(receiver_port), "--namespace", args.namespace,
            "--api-keys-file", str(key_file), "--spool-dir", str(state / "spool")), base_env)
        supervisor.wait_http(receiver, f"{receiver_url}/healthz")
        dashboard = supervisor.start("dashboard", _cli(
            "dashboard", "--host", "127.0.0.1", "--port", str(dashboard_port),
            "--namespaces", args.namespace), base_env)
        supervisor.wait_http(dashboard, f"{dashboard_url}/healthz")

        _fire(receiver_url, key_file.read_text().strip(), items)
        _print_guide(args.namespace, kubeconfig, bin_dir, dashboard_url, receiver_url, key_file, items)
        if args.check:
            ok = await _watch_outcomes(kube, args.namespace, items, check=True,
                                       deadline=time.monotonic() + args.timeout, alive=supervisor.check_alive)
            _log("every scenario ended as expected" if ok else "some scenarios did not end as expected")
            return 0 if ok else 1
        _log("watching; press Ctrl-C to stop everything the demo started")
        await _watch_outcomes(kube, args.namespace, items, check=False, deadline=float("inf"),
                              alive=supervisor.check_alive)
        return 0


async def _run_in_cluster(args: argparse.Namespace) -> int:
    from devtools.demo import incluster

    items = scenarios()
    cp = controlplane.Layout.default()
    incluster.prepare_node(_log)
    async with KubeClient(load_config(cp.kubeconfig)) as kube:
        async with asyncio.timeout(120):
            await install_crds(kube)
        await _prepare_namespace(kube, args.namespace, _demo_policy(args.fast))
        inst = incluster.Installation(namespace=args.namespace, release=args.namespace, kubeconfig=cp.kubeconfig)
        incluster.install(inst, cp, sandbox_scenario(), fast=args.fast, llm=not args.no_llm, progress=_log)
        _fire(inst.receiver_url, inst.api_key, items)
        _print_guide(args.namespace, cp.kubeconfig, ensure_binaries(_log).bin_dir, inst.dashboard_url,
                     inst.receiver_url, Path("(Secret " + f"{inst.release}-receiver-keys)"), items)
        print(f"  Pods:             kubectl get pods -n {args.namespace} -o wide\n"
              f"                    kubectl logs -n {args.namespace} deploy/{inst.deployment('operator')}\n",
              flush=True)
        ok = await _watch_outcomes(kube, args.namespace, items, check=args.check,
                                   deadline=time.monotonic() + args.timeout, alive=lambda: None)
        if args.check:
            _log("every scenario ended as expected" if ok else "some scenarios did not end as expected")
            return 0 if ok else 1
        return 0


def run(args: argparse.Namespace) -> int:
    if args.in_cluster:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            return asyncio.run(_run_in_cluster(args))
        except KeyboardInterrupt:
            _log("stopping; the release stays installed (helm uninstall, or delete the namespace)")
            return 0
    state: Path = args.state_dir or controlplane.Layout.default().root.parent / "demo"
    state.mkdir(parents=True, exist_ok=True)
    layout = controlplane.Layout.default()
    external = os.environ.get("KUBECONFIG")
    use_external = bool(external) and controlplane.cluster_reachable(str(external))
    started_cluster = not use_external and not all(controlplane.status(layout).values())
    kubeconfig = controlplane.resolve_kubeconfig(_log)
    # Ctrl-C and SIGTERM both end the demo through the same cleanup. SIGINT is set explicitly: a
    # process started in the background of a script inherits it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with Supervisor(state / "logs", _log) as supervisor:
            return asyncio.run(_run_demo(args, kubeconfig, supervisor, state))
    except KeyboardInterrupt:
        _log("stopping")
        return 0
    except Exception as exc:  # one clear line for the user, the logs have the rest
        _log(f"error: {type(exc).__name__}: {exc}")
        _log(f"component logs: {state / 'logs'}")
        return 1
    finally:
        if started_cluster and not args.keep_cluster:
            controlplane.stop(layout, _log)
