"""The product as users install it, on the local node: the image in containerd, the Helm chart, the sandbox as a pod.

Used by `aiops-rca demo --in-cluster` and by the cluster suite (tests/e2e/cluster). The values are the
chart's defaults plus tests/data/chart/values-local-node.yaml (what the loopback-only node needs) plus what
this installation points at: the API server's port, the sandbox's endpoints and its CA, and the Secrets
the chart expects the user to create.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devtools.localcluster import controlplane
from devtools.localcluster import image as image_mod
from devtools.localcluster import node as node_mod
from devtools.localcluster.build import ensure_binaries

Progress = Callable[[str], None]
REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "aiops-rca"
NODE_VALUES = REPO / "tests" / "data" / "chart" / "values-local-node.yaml"
TOLERATION = {"key": node_mod.TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}
CA_DIR = "/etc/aiops-rca/sandbox-ca"
POD_TMP = "/tmp"  # noqa: S108 - inside the pod: an emptyDir, the only writable path (read-only root FS)
SANDBOX_STATE = f"{POD_TMP}/sandbox"


@dataclass(frozen=True)
class Ports:
    operator: int = 18181
    receiver: int = 18182
    dashboard: int = 18183
    sandbox_https: int = 18184
    sandbox_http: int = 18185


@dataclass
class Installation:
    """One release of the chart and its sandbox pod in one namespace."""

    namespace: str
    release: str
    kubeconfig: Path
    ports: Ports = field(default_factory=Ports)
    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @property
    def receiver_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.receiver}"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.dashboard}"

    @property
    def sandbox_control_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.sandbox_http}/_sandbox"

    def deployment(self, component: str) -> str:
        return f"{self.release}-aiops-rca-{component}"


def kubectl_command(kubeconfig: Path, *args: str) -> list[str]:
    """The kubectl command line (`$KUBECTL` or the cached binary) for `args` against `kubeconfig`."""
    return [os.environ.get("KUBECTL") or str(ensure_binaries(lambda _m: None).kubectl), f"--kubeconfig={kubeconfig}",
            *args]


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(kubectl_command(kubeconfig, *args), input=stdin, capture_output=True,
                         text=True, timeout=timeout, check=False)
    if check and out.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed ({out.returncode}):\n{out.stderr}")
    return out


def helm(kubeconfig: Path, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    binary = os.environ.get("HELM") or str(ensure_binaries(lambda _m: None).helm)
    home = Path(tempfile.gettempdir()) / "aiops-rca-helm"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HELM_CACHE_HOME": str(home / "cache"),
           "HELM_CONFIG_HOME": str(home / "config"), "HELM_DATA_HOME": str(home / "data")}
    out = subprocess.run([binary, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if check and out.returncode != 0:
        raise RuntimeError(f"helm {' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out


def prepare_node(progress: Progress, repo: Path = REPO) -> node_mod.NodeLayout:
    """Node up (control plane too), image built from the Dockerfile and imported: all cached after once."""
    layout = node_mod.NodeLayout.default()
    node_mod.start(layout, progress)
    name = image_mod.build(repo, progress)
    image_mod.load_into_node(layout, name, progress)
    return layout


def _api_env(cp: controlplane.Layout) -> list[dict[str, str]]:
    return [{"name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1"},
            {"name": "KUBERNETES_SERVICE_PORT", "value": str(cp.apiserver_port)}]


def values(inst: Installation, cp: controlplane.Layout, *, fast: bool) -> dict[str, Any]:
    """The values file for this installation: the node's values plus ports, API server, sandbox, Secrets."""
    v: dict[str, Any] = yaml.safe_load(NODE_VALUES.read_text())
    p = inst.ports
    v["watchNamespaces"] = [inst.namespace]
    v["incidentNamespace"] = inst.namespace
    v["operator"].update({
        "metricsPort": p.operator,
        "existingSecret": f"{inst.release}-operator-sandbox",
        "extraEnv": [*_api_env(cp),
                     {"name": "SSL_CERT_FILE", "value": f"{CA_DIR}/ca.crt"},
                     {"name": "REQUESTS_CA_BUNDLE", "value": f"{CA_DIR}/ca.crt"},
                     {"name": "DASHBOARD_URL", "value": inst.dashboard_url},
                     {"name": "DEFAULT_SLACK_CHANNEL", "value": "#data-incidents"},
                     {"name": "DEFAULT_JIRA_PROJECT", "value": "DATA"},
                     {"name": "REMEDIATION_POLL_SECONDS", "value": "1" if fast else "5"},
                     {"name": "REMEDIATION_CALLBACK_URL", "value": f"{inst.receiver_url}/api/remediation-callback"}],
        "extraVolumes": [{"name": "sandbox-ca", "secret": {"secretName": f"{inst.release}-sandbox-tls",
                                                           "items": [{"key": "ca.crt", "path": "ca.crt"}]}}],
        "extraVolumeMounts": [{"name": "sandbox-ca", "mountPath": CA_DIR, "readOnly": True}],
    })
    v["receiver"].update({"port": p.receiver, "existingSecret": f"{inst.release}-receiver-keys",
                          "extraEnv": _api_env(cp)})
    v["dashboard"].update({"port": p.dashboard, "extraEnv": _api_env(cp)})
    return v


def _secret(namespace: str, name: str, data: dict[str, bytes]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "type": "Opaque", "data": {k: base64.b64encode(v).decode() for k, v in data.items()}}


def sandbox_objects(inst: Installation, scenario: dict[str, Any]) -> list[dict[str, Any]]:
    """The sandbox as a pod of the same image, with the same restrictions as the chart's pods."""
    name = f"{inst.release}-sandbox"
    # Not the release's instance label: the sandbox is the test's, not the chart's (uninstall leaves it).
    labels = {"app.kubernetes.io/name": "aiops-rca-sandbox", "app.kubernetes.io/instance": name}
    p = inst.ports
    pod = {
        "serviceAccountName": "default",
        "automountServiceAccountToken": False,
        "hostNetwork": True, "dnsPolicy": "None", "dnsConfig": {"nameservers": ["127.0.0.1"]},
        "tolerations": [TOLERATION],
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "sandbox", "image": f"{image_mod.IMAGE}", "imagePullPolicy": "Never",
            "args": ["sandbox", "--scenario=/etc/sandbox/scenario.yaml", f"--https-port={p.sandbox_https}",
                     f"--http-port={p.sandbox_http}", f"--state-dir={SANDBOX_STATE}"],
            "ports": [{"name": "https", "containerPort": p.sandbox_https},
                      {"name": "http", "containerPort": p.sandbox_http}],
            "readinessProbe": {"httpGet": {"path": "/_sandbox/", "port": "http"}, "periodSeconds": 2},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "tmp", "mountPath": POD_TMP},
                             {"name": "scenario", "mountPath": "/etc/sandbox", "readOnly": True},
                             {"name": "tls", "mountPath": f"{SANDBOX_STATE}/tls", "readOnly": True}],
        }],
        "volumes": [{"name": "tmp", "emptyDir": {}},
                    {"name": "scenario", "configMap": {"name": name}},
                    {"name": "tls", "secret": {"secretName": f"{inst.release}-sandbox-tls"}}],
    }
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": inst.namespace},
         "data": {"scenario.yaml": yaml.safe_dump(scenario, sort_keys=False)}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": name, "namespace": inst.namespace, "labels": labels},
         "spec": {"replicas": 1, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": pod}}},
    ]


def _apply(inst: Installation, objects: Sequence[dict[str, Any]]) -> None:
    kubectl(inst.kubeconfig, "apply", "-f", "-",
            stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))


def install(inst: Installation, cp: controlplane.Layout, scenario: dict[str, Any], *, fast: bool, llm: bool,
            progress: Progress, extra_helm_args: Sequence[str] = (), wait: bool = True,
            chart: Path = CHART, sandbox: bool = True) -> None:
    """Secrets, the sandbox pod, then `helm install --wait`: returns when every Deployment is Ready."""
    from sandbox.server import Endpoints
    from sandbox.tls import ensure_tls

    work = Path(tempfile.mkdtemp(prefix="aiops-rca-incluster-"))
    tls = ensure_tls(work / "tls")
    endpoints = Endpoints(https_url=f"https://127.0.0.1:{inst.ports.sandbox_https}",
                          http_url=f"http://127.0.0.1:{inst.ports.sandbox_http}", ca_file=tls.ca_cert)
    operator_env = {k: v for k, v in endpoints.env(llm=llm).items() if k != "REQUESTS_CA_BUNDLE"}
    _apply(inst, [
        _secret(inst.namespace, f"{inst.release}-operator-sandbox", {k: v.encode() for k, v in operator_env.items()}),
        _secret(inst.namespace, f"{inst.release}-receiver-keys", {"api-keys": f"{inst.api_key}\n".encode()}),
        # The operator trusts the sandbox's CA; the sandbox serves with its certificate.
        _secret(inst.namespace, f"{inst.release}-sandbox-tls",
                {f: (work / "tls" / f).read_bytes() for f in ("ca.crt", "server.crt", "server.key")}),
        *(sandbox_objects(inst, scenario) if sandbox else []),
    ])
    values_file = work / "values.yaml"
    values_file.write_text(yaml.safe_dump(values(inst, cp, fast=fast), sort_keys=False))
    progress(f"helm install {inst.release} {chart} -n {inst.namespace} -f {values_file}")
    started = time.monotonic()
    try:
        helm(inst.kubeconfig, "install", inst.release, str(chart), "-n", inst.namespace, "-f", str(values_file),
             *(["--wait", "--timeout", "240s"] if wait else []), *extra_helm_args)
    except RuntimeError as exc:  # "timed out waiting for the condition" alone does not say what was not Ready
        raise RuntimeError(f"{exc}\n{diagnose(inst)}") from None
    if wait and sandbox:
        kubectl(inst.kubeconfig, "-n", inst.namespace, "rollout", "status", f"deployment/{inst.release}-sandbox",
                "--timeout=120s", timeout=150)
        progress(f"every Deployment Ready in {time.monotonic() - started:.0f}s")


def diagnose(inst: Installation) -> str:
    """What a user would look at when a release does not become Ready: pods and Warning events."""
    pods = kubectl(inst.kubeconfig, "-n", inst.namespace, "get", "deployments,pods", "-o", "wide", check=False)
    events = kubectl(inst.kubeconfig, "-n", inst.namespace, "get", "events", "--field-selector", "type=Warning",
                     "--sort-by=.lastTimestamp", check=False)
    return f"{pods.stdout}\n{events.stdout[-3000:]}"


def http_status(url: str, timeout: float = 3.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback URLs built here
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def upgrade(inst: Installation, new_values: dict[str, Any], *, chart: Path = CHART) -> None:
    """`helm upgrade --wait` with these complete values (as made by `values`, then changed)."""
    work = Path(tempfile.mkdtemp(prefix="aiops-rca-upgrade-"))
    (work / "values.yaml").write_text(yaml.safe_dump(new_values, sort_keys=False))
    helm(inst.kubeconfig, "upgrade", inst.release, str(chart), "-n", inst.namespace, "-f", str(work / "values.yaml"),
         "--wait", "--timeout", "240s")


def uninstall(inst: Installation) -> None:
    helm(inst.kubeconfig, "uninstall", inst.release, "-n", inst.namespace, "--wait", check=False)
