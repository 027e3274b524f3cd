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
    # Inline PEM from a kubeconfig's *-data fields, kept in memory: a temp file per load would leave
    # the cluster's CA and a client key behind in /tmp for every process and test that loads one.
    ca_data: bytes | None = field(default=None, repr=False)
    client_cert_data: bytes | None = field(default=None, repr=False)
    client_key_data: bytes | None = field(default=None, repr=False)
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
        ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None,
                                         cadata=self.ca_data.decode() if self.ca_data else None)
        if self.client_cert_data is not None or self.client_key_data is not None:
            _load_chain_from_memory(ctx, self.client_cert_pem(), self.client_key_pem())
        elif self.client_cert_file is not None:
            ctx.load_cert_chain(str(self.client_cert_file), str(self.client_key_file or self.client_cert_file))
        return ctx

    def client_cert_pem(self) -> bytes | None:
        if self.client_cert_data is not None:
            return self.client_cert_data
        return self.client_cert_file.read_bytes() if self.client_cert_file else None

    def client_key_pem(self) -> bytes | None:
        if self.client_key_data is not None:
            return self.client_key_data
        return self.client_key_file.read_bytes() if self.client_key_file else self.client_cert_pem()


def _load_chain_from_memory(ctx: ssl.SSLContext, cert: bytes | None, key: bytes | None) -> None:
    """ssl loads a certificate chain only from files: they live in a private (0700) directory for the
    length of the load and are gone afterwards."""
    with tempfile.TemporaryDirectory(prefix="aiops-rca-") as private:
        cert_path, key_path = Path(private, "client.crt"), Path(private, "client.key")
        cert_path.write_bytes(cert or b"")
        key_path.write_bytes(key or b"")
        ctx.load_cert_chain(cert_path, key_path)


def _decoded(data_b64: str | None) -> bytes | None:
    return base64.b64decode(data_b64) if data_b64 else None


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
    return KubeConfig(
        server=str(cluster.get("server", "")).rstrip("/"),
        token=user.get("token"),
        token_file=_relative(path, user.get("tokenFile")),
        ca_file=_relative(path, cluster.get("certificate-authority")),
        client_cert_file=_relative(path, user.get("client-certificate")),
        client_key_file=_relative(path, user.get("client-key")),
        ca_data=_decoded(cluster.get("certificate-authority-data")),
        client_cert_data=_decoded(user.get("client-certificate-data")),
        client_key_data=_decoded(user.get("client-key-data")),
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
