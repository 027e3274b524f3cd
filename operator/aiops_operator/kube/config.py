"""Where the Kubernetes API server is and how to authenticate to it.

Resolution order: an explicit kubeconfig path, then $KUBECONFIG, then the
in-cluster service account (KUBERNETES_SERVICE_HOST), then ~/.kube/config.
Supports what kind, cloud and our local control plane write: bearer tokens,
token files (projected service-account tokens rotate, so they are re-read),
client certificates, CA files or inline CA data.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

IN_CLUSTER_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class KubeConfigError(ValueError):
    """No usable cluster configuration; the message says what was tried."""


@dataclass(frozen=True)
class KubeConfig:
    server: str
    token: str | None = field(default=None, repr=False)
    token_file: Path | None = None
    ca_file: Path | None = None
    client_cert_file: Path | None = None
    client_key_file: Path | None = None
    insecure_skip_tls_verify: bool = False
    namespace: str = "default"

    def bearer_token(self) -> str | None:
        """The current token; token files are re-read because projected tokens rotate."""
        if self.token_file is not None:
            try:
                return self.token_file.read_text().strip()
            except OSError:
                return self.token
        return self.token

    def ssl_context(self) -> ssl.SSLContext | bool:
        if self.insecure_skip_tls_verify:
            return False
        ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.client_cert_file is not None:
            ctx.load_cert_chain(str(self.client_cert_file), str(self.client_key_file or self.client_cert_file))
        return ctx


def _materialize(data_b64: str, suffix: str) -> Path:
    """Write inline base64 PEM data to a private temp file (ssl wants file paths)."""
    fd, name = tempfile.mkstemp(prefix="aiops-rca-", suffix=suffix)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64decode(data_b64))
    return Path(name)


def _named(items: list[dict[str, Any]], name: str, what: str) -> dict[str, Any]:
    for item in items or []:
        if item.get("name") == name:
            entry: dict[str, Any] = item.get(what) or {}
            return entry
    raise KubeConfigError(f"kubeconfig has no {what} named {name!r}")


def _relative(base: Path, value: str | None) -> Path | None:
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else base.parent / path


def from_kubeconfig(path: Path, context: str | None = None) -> KubeConfig:
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise KubeConfigError(f"cannot read kubeconfig {path}: {exc}") from exc
    ctx_name = context or doc.get("current-context")
    if not ctx_name:
        raise KubeConfigError(f"kubeconfig {path} has no current-context")
    ctx = _named(doc.get("contexts", []), ctx_name, "context")
    cluster = _named(doc.get("clusters", []), ctx.get("cluster", ""), "cluster")
    user = _named(doc.get("users", []), ctx.get("user", ""), "user")
    if "exec" in user or "auth-provider" in user:
        raise KubeConfigError(
            f"kubeconfig user {ctx.get('user')!r} uses an exec/auth-provider plugin; "
            "use a token or client-certificate kubeconfig (e.g. a service account's)"
        )
    ca_file = _relative(path, cluster.get("certificate-authority"))
    if cluster.get("certificate-authority-data"):
        ca_file = _materialize(cluster["certificate-authority-data"], ".crt")
    cert = _relative(path, user.get("client-certificate"))
    key = _relative(path, user.get("client-key"))
    if user.get("client-certificate-data"):
        cert = _materialize(user["client-certificate-data"], ".crt")
    if user.get("client-key-data"):
        key = _materialize(user["client-key-data"], ".key")
    return KubeConfig(
        server=str(cluster.get("server", "")).rstrip("/"),
        token=user.get("token"),
        token_file=_relative(path, user.get("tokenFile")),
        ca_file=ca_file,
        client_cert_file=cert,
        client_key_file=key,
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify", False)),
        namespace=ctx.get("namespace") or "default",
    )


def in_cluster(env: dict[str, str] | None = None, secrets_dir: Path = IN_CLUSTER_DIR) -> KubeConfig:
    env = dict(os.environ) if env is None else env
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise KubeConfigError("not running in a cluster (KUBERNETES_SERVICE_HOST unset)")
    namespace_file = secrets_dir / "namespace"
    host = f"[{host}]" if ":" in host else host
    return KubeConfig(
        server=f"https://{host}:{port}",
        token_file=secrets_dir / "token",
        ca_file=secrets_dir / "ca.crt",
        namespace=namespace_file.read_text().strip() if namespace_file.exists() else "default",
    )


def load_config(kubeconfig: str | Path | None = None, env: dict[str, str] | None = None) -> KubeConfig:
    """The cluster to talk to: explicit path, $KUBECONFIG, in-cluster, then ~/.kube/config."""
    env = dict(os.environ) if env is None else env
    explicit = kubeconfig or env.get("KUBECONFIG")
    if explicit:
        # Like kubectl, take the first file of a path list.
        return from_kubeconfig(Path(str(explicit).split(os.pathsep)[0]))
    if env.get("KUBERNETES_SERVICE_HOST"):
        return in_cluster(env)
    default = Path.home() / ".kube" / "config"
    if default.exists():
        return from_kubeconfig(default)
    raise KubeConfigError(
        "no cluster configured: set KUBECONFIG (e.g. `aiops-rca controlplane start` prints one), "
        "run in a cluster, or create ~/.kube/config"
    )
