"""Run a real local Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager.

Everything listens on loopback. The API server uses token authentication and
RBAC with a service-account key pair; the controller manager runs the
garbage-collector and namespace controllers so ownerReference cascading
deletion and namespace deletion behave as in a real cluster. There is no
kubelet: no pod ever runs.

State (certificates, tokens, etcd data, logs, pids, kubeconfig) lives in
$AIOPS_RCA_STATE (default <cache>/controlplane). If $KUBECONFIG points at a
reachable cluster, callers use that instead (see `resolve_kubeconfig`).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import secrets
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devtools.localcluster.build import Binaries, cache_root, ensure_binaries

Progress = Callable[[str], None]

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager")

_STARTED_HERE: dict[int, subprocess.Popen[bytes]] = {}
"""Handles of the components this process started. The components outlive it by design; holding the
handles keeps Python from warning "subprocess is still running" when they would be collected (an error
under pytest's warnings-as-errors), and lets `stop()` reap them."""
CONTROLLERS = "garbagecollector,namespace,serviceaccount,serviceaccount-token"


class ControlPlaneError(RuntimeError):
    """The control plane could not be started; the message points at the log to read."""


@dataclass(frozen=True)
class Layout:
    """Where one control plane keeps its files, and its ports."""

    root: Path
    apiserver_port: int
    etcd_port: int

    @classmethod
    def default(cls) -> Layout:
        root = Path(os.environ.get("AIOPS_RCA_STATE", cache_root() / "controlplane"))
        return cls(
            root=root,
            apiserver_port=int(os.environ.get("AIOPS_RCA_APISERVER_PORT", "16443")),
            etcd_port=int(os.environ.get("AIOPS_RCA_ETCD_PORT", "23790")),
        )

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd-data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def admin_token_file(self) -> Path:
        return self.pki / "admin.token"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    def pid_file(self, component: str) -> Path:
        return self.root / f"{component}.pid"

    def log_file(self, component: str) -> Path:
        return self.logs / f"{component}.log"


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def ensure_pki(layout: Layout, progress: Progress) -> None:
    """CA, API-server serving certificate, service-account key pair and tokens (once)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    pki = layout.pki
    if (pki / "apiserver.crt").exists() and layout.admin_token_file.exists():
        return
    progress(f"generating certificates and tokens in {pki}")
    now = dt.datetime.now(dt.UTC)

    def key() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def pem_key(k: rsa.RSAPrivateKey) -> bytes:
        return k.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )

    ca_key = key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aiops-rca-local-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    srv_key = key()
    sans: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.DNSName("kubernetes"),
        x509.DNSName("kubernetes.default"),
        x509.DNSName("kubernetes.default.svc"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("10.0.0.1")),
    ]
    srv_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(srv_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    sa_key = key()
    pem = serialization.Encoding.PEM
    _write_private(pki / "ca.crt", ca_cert.public_bytes(pem))
    _write_private(pki / "ca.key", pem_key(ca_key))
    _write_private(pki / "apiserver.crt", srv_cert.public_bytes(pem))
    _write_private(pki / "apiserver.key", pem_key(srv_key))
    _write_private(pki / "sa.key", pem_key(sa_key))
    _write_private(
        pki / "sa.pub",
        sa_key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo),
    )
    admin_token = secrets.token_hex(24)
    cm_token = secrets.token_hex(24)
    _write_private(
        pki / "tokens.csv",
        (
            f'{admin_token},admin,admin,"system:masters"\n'
            f'{cm_token},system:kube-controller-manager,kcm,"system:masters"\n'
        ).encode(),
    )
    _write_private(layout.admin_token_file, admin_token.encode())
    _write_private(pki / "kcm.token", cm_token.encode())


def _kubeconfig_text(layout: Layout, token: str, user: str) -> str:
    ca = base64.b64encode((layout.pki / "ca.crt").read_bytes()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "aiops-local", "cluster": {"server": layout.server,
                                               "certificate-authority-data": ca}}
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {"name": "aiops-local", "context": {"cluster": "aiops-local", "user": user}}
        ],
        "current-context": "aiops-local",
    }
    return json.dumps(config, indent=2) + "\n"


def write_kubeconfigs(layout: Layout) -> None:
    admin = layout.admin_token_file.read_text().strip()
    kcm = (layout.pki / "kcm.token").read_text().strip()
    _write_private(layout.kubeconfig, _kubeconfig_text(layout, admin, "admin").encode())
    _write_private(
        layout.root / "kcm.kubeconfig",
        _kubeconfig_text(layout, kcm, "kube-controller-manager").encode(),
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _read_pid(layout: Layout, component: str) -> int | None:
    try:
        pid = int(layout.pid_file(component).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _spawn(layout: Layout, component: str, argv: list[str]) -> int:
    layout.logs.mkdir(parents=True, exist_ok=True)
    with layout.log_file(component).open("ab") as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    layout.pid_file(component).write_text(str(proc.pid))
    _STARTED_HERE[proc.pid] = proc
    return proc.pid


def _get(url: str, token: str | None = None, ca: Path | None = None, timeout: float = 2.0) -> int:
    req = urllib.request.Request(url)  # noqa: S310 - loopback URLs we built ourselves
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    ctx = ssl.create_default_context(cafile=str(ca)) if ca else None
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:  # noqa: S310
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def _wait_until(check: Callable[[], bool], what: str, layout: Layout, component: str,
                timeout: float, progress: Progress) -> None:
    deadline = time.monotonic() + timeout
    last_note = time.monotonic()
    while time.monotonic() < deadline:
        if check():
            return
        pid = _read_pid(layout, component)
        if pid is None:
            raise ControlPlaneError(
                f"{component} exited while starting; see {layout.log_file(component)}:\n"
                + _tail(layout.log_file(component))
            )
        if time.monotonic() - last_note > 5:
            progress(f"  still waiting for {what}...")
            last_note = time.monotonic()
        time.sleep(0.2)
    raise ControlPlaneError(
        f"{what} not ready after {timeout:.0f}s; see {layout.log_file(component)}:\n"
        + _tail(layout.log_file(component))
    )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _etcd_argv(b: Binaries, layout: Layout) -> list[str]:
    client = f"http://127.0.0.1:{layout.etcd_port}"
    peer = f"http://127.0.0.1:{layout.etcd_port + 10}"
    return [
        str(b.etcd),
        "--name=aiops-local",
        f"--data-dir={layout.etcd_data}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=aiops-local={peer}",
        "--quota-backend-bytes=4294967296",
        "--log-level=warn",
        "--logger=zap",
    ]


def _apiserver_argv(b: Binaries, layout: Layout) -> list[str]:
    pki = layout.pki
    return [
        str(b.kube_apiserver),
        f"--etcd-servers=http://127.0.0.1:{layout.etcd_port}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={layout.apiserver_port}",
        "--insecure-port=0",
        f"--cert-dir={pki}",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--token-auth-file={pki / 'tokens.csv'}",
        "--authorization-mode=RBAC",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--api-audiences=https://kubernetes.default.svc.cluster.local",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=false",
        "--profiling=false",
        "--enable-priority-and-fairness=false",
        "--max-requests-inflight=800",
        "--max-mutating-requests-inflight=400",
        "--v=1",
    ]


def _kcm_argv(b: Binaries, layout: Layout) -> list[str]:
    kubeconfig = layout.root / "kcm.kubeconfig"
    return [
        str(b.kube_controller_manager),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        f"--controllers={CONTROLLERS}",
        f"--service-account-private-key-file={layout.pki / 'sa.key'}",
        f"--root-ca-file={layout.pki / 'ca.crt'}",
        "--leader-elect=false",
        "--use-service-account-credentials=false",
        "--bind-address=127.0.0.1",
        "--port=0",
        "--secure-port=0",
        "--concurrent-gc-syncs=20",
        "--v=1",
    ]


def status(layout: Layout | None = None) -> dict[str, int | None]:
    """pid of each running component (None when not running)."""
    layout = layout or Layout.default()
    return {c: _read_pid(layout, c) for c in COMPONENTS}


def apiserver_ready(layout: Layout) -> bool:
    if not layout.admin_token_file.exists():
        return False
    token = layout.admin_token_file.read_text().strip()
    return _get(f"{layout.server}/readyz", token, layout.pki / "ca.crt") == 200


def start(layout: Layout | None = None, progress: Progress = print) -> Path:
    """Start whatever is not running yet; return the kubeconfig path. Idempotent."""
    layout = layout or Layout.default()
    binaries = ensure_binaries(progress)
    layout.root.mkdir(parents=True, exist_ok=True)
    ensure_pki(layout, progress)
    write_kubeconfigs(layout)
    running = status(layout)
    if all(running.values()) and apiserver_ready(layout):
        progress(f"local control plane already running ({layout.server})")
        return layout.kubeconfig
    started_at = time.monotonic()
    if running["etcd"] is None:
        progress(f"starting etcd on 127.0.0.1:{layout.etcd_port}")
        _spawn(layout, "etcd", _etcd_argv(binaries, layout))
    _wait_until(
        lambda: _get(f"http://127.0.0.1:{layout.etcd_port}/health") == 200,
        "etcd health", layout, "etcd", 30, progress,
    )
    if running["kube-apiserver"] is None:
        progress(f"starting kube-apiserver on {layout.server}")
        _spawn(layout, "kube-apiserver", _apiserver_argv(binaries, layout))
    _wait_until(lambda: apiserver_ready(layout), "kube-apiserver /readyz", layout,
                "kube-apiserver", 90, progress)
    if running["kube-controller-manager"] is None:
        progress(f"starting kube-controller-manager ({CONTROLLERS})")
        _spawn(layout, "kube-controller-manager", _kcm_argv(binaries, layout))
    time.sleep(0.5)
    if _read_pid(layout, "kube-controller-manager") is None:
        raise ControlPlaneError(
            "kube-controller-manager exited; see "
            f"{layout.log_file('kube-controller-manager')}:\n"
            + _tail(layout.log_file("kube-controller-manager"))
        )
    progress(f"local control plane ready in {time.monotonic() - started_at:.1f}s")
    progress(f"kubeconfig: {layout.kubeconfig}")
    return layout.kubeconfig


def stop(layout: Layout | None = None, progress: Progress = print, timeout: float = 20) -> None:
    """Stop the components in reverse order: SIGTERM, then SIGKILL after `timeout`."""
    layout = layout or Layout.default()
    for component in reversed(COMPONENTS):
        pid = _read_pid(layout, component)
        if pid is None:
            layout.pid_file(component).unlink(missing_ok=True)
            continue
        progress(f"stopping {component} (pid {pid})")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            progress(f"  {component} ignored SIGTERM; killing it")
            os.kill(pid, signal.SIGKILL)
        child = _STARTED_HERE.pop(pid, None)
        if child is not None:
            child.wait(timeout)
        layout.pid_file(component).unlink(missing_ok=True)


def reset(layout: Layout | None = None, progress: Progress = print) -> None:
    """Stop and delete all state (etcd data, certificates, logs); binaries stay cached."""
    import shutil

    layout = layout or Layout.default()
    stop(layout, progress)
    if layout.root.exists():
        progress(f"deleting {layout.root}")
        shutil.rmtree(layout.root)


def cluster_reachable(kubeconfig: str, timeout: float = 5.0) -> bool:
    """Whether the cluster a kubeconfig points at answers /version."""
    from kubernetes import client, config

    try:
        api_client = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        try:
            client.VersionApi(api_client).get_code(_request_timeout=timeout)
        finally:
            api_client.close()
    except Exception:  # any failure means "not usable": the caller falls back
        return False
    return True


def resolve_kubeconfig(progress: Progress = print) -> Path:
    """$KUBECONFIG when it points at a reachable cluster; else the local control plane, started."""
    external = os.environ.get("KUBECONFIG")
    if external:
        if cluster_reachable(external):
            progress(f"using the cluster from KUBECONFIG={external}")
            return Path(external)
        progress(f"KUBECONFIG={external} is not reachable; using the local control plane")
    return start(progress=progress)
