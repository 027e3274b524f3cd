"""A real node for the local control plane: containerd, kubelet, kube-scheduler and a helper controller manager.

Everything stays on this machine (see ../shared notes "Guards"):
- the node is named 127.0.0.1, so nothing is looked up in DNS and the API server reaches the kubelet on
  loopback; the kubelet, containerd's stream server and every pod listen on 127.0.0.1 only;
- the kubelet's AWS credential provider would probe the cloud metadata address, and an image pull would go
  to a registry: both run with AWS_EC2_METADATA_DISABLED=true and HTTP(S)_PROXY set to a closed loopback
  port, and every image is imported locally (the CRI pause image is built here from busybox-static);
- containerd gets a CNI config dir of its own with a loopback-only network: pods use hostNetwork;
- the kubelet build leaves the host's kernel settings alone (build.py), and `stop` removes the host paths
  the tools hard-code, if this node created them;
- the node carries a taint only the cluster suite's pods tolerate, so other users of a shared control plane
  never land on it.

The running controller manager has only the GC/namespace/serviceaccount controllers; Deployments need
deployment, replicaset and nodelifecycle (which lifts the not-ready taint), and a durable spool needs
persistentvolume-binder (with pvc-protection and pv-protection to release its finalizers), so the node
brings a second, helper controller manager with just those, and the shared control plane is never restarted.

One node per machine: kubelet and containerd hard-code some host paths (/var/lib/kubelet/device-plugins,
/var/log/pods, the kubepods cgroups), so two nodes would share them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.localcluster import controlplane
from devtools.localcluster.build import Binaries, NodeBinaries, ensure_binaries, ensure_node_binaries

Progress = Callable[[str], None]

NODE_NAME = "127.0.0.1"
TAINT_KEY = "aiops-rca/local-node"
TAINT = f"{TAINT_KEY}=cluster-suite:NoSchedule"
PAUSE_IMAGE = "aiops-rca.local/pause:busybox"
CRI_NAMESPACE = "k8s.io"
NODE_COMPONENTS = ("containerd", "kubelet", "kube-scheduler", "node-controller-manager")
HELPER_CONTROLLERS = "deployment,replicaset,nodelifecycle,persistentvolume-binder,pvc-protection,pv-protection"
PULL_GUARD = "http://127.0.0.1:9"
"""A closed loopback port: any image pull or stray HTTP(S) request of kubelet or containerd fails here."""
HOST_PATHS = (
    Path("/var/lib/kubelet"),
    Path("/var/log/pods"),
    Path("/var/log/containers"),
    Path("/run/containerd"),
    Path("/run/netns"),
    Path("/run/runc"),
)
"""Paths the kubelet, containerd and runc use whatever their configured roots; removed on stop when the
node created them."""
KERNEL_SETTINGS = ("vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops", "vm.panic_on_oom")


class NodeError(RuntimeError):
    """The node could not be started; the message says which log to read."""


@dataclass(frozen=True)
class NodeLayout:
    """Where the node keeps its files (inside its control plane's state), and its loopback ports."""

    cp: controlplane.Layout
    kubelet_port: int
    kubelet_healthz_port: int
    stream_port: int

    @classmethod
    def default(cls, cp: controlplane.Layout | None = None) -> NodeLayout:
        return cls(
            cp=cp or controlplane.Layout.default(),
            kubelet_port=int(os.environ.get("AIOPS_RCA_KUBELET_PORT", "10250")),
            kubelet_healthz_port=int(os.environ.get("AIOPS_RCA_KUBELET_HEALTHZ_PORT", "10248")),
            stream_port=int(os.environ.get("AIOPS_RCA_CONTAINERD_STREAM_PORT", "10010")),
        )

    @property
    def root(self) -> Path:
        return self.cp.root / "node"

    @property
    def socket(self) -> Path:
        return self.root / "containerd" / "containerd.sock"

    @property
    def kubelet_root(self) -> Path:
        return self.root / "kubelet"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni"

    @property
    def created_host_paths(self) -> Path:
        return self.root / "created-host-paths.json"

    @property
    def kernel_settings_file(self) -> Path:
        return self.root / "kernel-settings-at-start.json"

    def pid_file(self, component: str) -> Path:
        return self.root / f"{component}.pid"

    def log_file(self, component: str) -> Path:
        return self.cp.logs / f"{component}.log"


def _guarded_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in {"no_proxy", "http_proxy", "https_proxy"}}
    env.update({
        "AWS_EC2_METADATA_DISABLED": "true",
        "HTTP_PROXY": PULL_GUARD, "HTTPS_PROXY": PULL_GUARD,
        "http_proxy": PULL_GUARD, "https_proxy": PULL_GUARD,
    })
    return env


def kernel_settings() -> dict[str, str]:
    return {
        name: Path("/proc/sys", *name.split(".")).read_text().strip()
        for name in KERNEL_SETTINGS
    }


def _containerd_config(layout: NodeLayout, nb: NodeBinaries) -> str:
    r = layout.root / "containerd"
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{r / 'root'}"
state = "{r / 'state'}"
[grpc]
  address = "{layout.socket}"
[ttrpc]
  address = "{r / 'ttrpc.sock'}"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{r / 'opt'}"
[{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "{layout.stream_port}"
  # no CAP_SYS_RESOURCE here: without this every sandbox fails ("can't get final child's PID from pipe")
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[{cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  BinaryName = "{nb.runc}"
  Root = "{r / 'runc'}"
[{cri}.cni]
  bin_dir = "{nb.cni_bin_dir}"
  conf_dir = "{layout.cni_conf_dir}"
  max_conf_num = 1
"""


# Not /etc/cni/net.d: Debian's podman drops a NAT bridge with a default route there.
LOOPBACK_CONFLIST: dict[str, Any] = {
    "cniVersion": "0.4.0",
    "name": "aiops-rca-loopback",
    "plugins": [{"type": "loopback"}],
}


def _kubelet_config(layout: NodeLayout) -> str:
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": "127.0.0.1",
        "port": layout.kubelet_port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": layout.kubelet_healthz_port,
        "cgroupDriver": "cgroupfs",
        "failSwapOn": False,
        "makeIPTablesUtilChains": False,
        "enableControllerAttachDetach": False,
        "nodeStatusUpdateFrequency": "2s",
        "protectKernelDefaults": False,
        # The API server has no kubelet client certificate; the kubelet listens on loopback only.
        "authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": False}},
        "authorization": {"mode": "AlwaysAllow"},
        "staticPodPath": "",
        "serializeImagePulls": False,
        # A developer's disk is often fuller than a node's defaults allow: never evict or GC our imported
        # images (they cannot be pulled back).
        "evictionHard": {"memory.available": "50Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "clusterDNS": [],
        "resolvConf": str(layout.root / "resolv.conf"),
        "maxPods": 30,
    }
    return json.dumps(config, indent=2) + "\n"


def _kubelet_argv(layout: NodeLayout, nb: NodeBinaries) -> list[str]:
    return [
        str(nb.kubelet),
        f"--config={layout.root / 'kubelet-config.json'}",
        f"--kubeconfig={layout.root / 'kubelet.kubeconfig'}",
        f"--hostname-override={NODE_NAME}",
        "--container-runtime=remote",
        f"--container-runtime-endpoint=unix://{layout.socket}",
        f"--root-dir={layout.kubelet_root}",
        f"--cert-dir={layout.kubelet_root / 'pki'}",
        f"--register-with-taints={TAINT}",
        f"--pod-infra-container-image={PAUSE_IMAGE}",
        "--v=1",
    ]


def _scheduler_argv(layout: NodeLayout, nb: NodeBinaries) -> list[str]:
    return [
        str(nb.kube_scheduler),
        f"--kubeconfig={layout.root / 'scheduler.kubeconfig'}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        "--port=0",
        "--secure-port=0",
        "--v=1",
    ]


def _helper_kcm_argv(layout: NodeLayout, b: Binaries) -> list[str]:
    kubeconfig = layout.cp.root / "kcm.kubeconfig"
    return [
        str(b.kube_controller_manager),
        f"--kubeconfig={kubeconfig}",
        f"--controllers={HELPER_CONTROLLERS}",
        "--leader-elect=false",
        "--use-service-account-credentials=false",
        "--bind-address=127.0.0.1",
        "--port=0",
        "--secure-port=0",
        "--node-monitor-period=2s",
        "--v=1",
    ]


# ---- identities: ServiceAccounts in kube-system bound to the roles Kubernetes ships for each component ----

_IDENTITIES = {
    "kubelet": ("aiops-rca-node-kubelet", ("system:node",)),
    "scheduler": ("aiops-rca-node-scheduler", ("system:kube-scheduler", "system:volume-scheduler")),
}


def _identity_manifest() -> str:
    docs: list[dict[str, object]] = []
    for sa, roles in _IDENTITIES.values():
        docs.append({"apiVersion": "v1", "kind": "ServiceAccount",
                     "metadata": {"name": sa, "namespace": "kube-system"}})
        for role in roles:
            docs.append({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": f"{sa}:{role.removeprefix('system:')}"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": "kube-system"}],
            })
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})


def _kubectl(b: Binaries, layout: NodeLayout, *args: str, stdin: str | None = None) -> str:
    out = subprocess.run(
        [str(b.kubectl), f"--kubeconfig={layout.cp.kubeconfig}", *args],
        input=stdin, capture_output=True, text=True, timeout=60, check=False,
    )
    if out.returncode != 0:
        raise NodeError(f"kubectl {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


def _service_account_token(b: Binaries, layout: NodeLayout, sa: str, timeout: float = 30) -> str:
    import base64

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        name = _kubectl(b, layout, "-n", "kube-system", "get", "sa", sa, "-o",
                        "jsonpath={.secrets[0].name}").strip()
        if name:
            token = _kubectl(b, layout, "-n", "kube-system", "get", "secret", name, "-o",
                             "jsonpath={.data.token}").strip()
            if token:
                return base64.b64decode(token).decode()
        time.sleep(0.5)
    raise NodeError(f"no token for ServiceAccount kube-system/{sa} after {timeout:.0f}s (serviceaccount-token"
                    " controller not running?)")


def _write_identities(b: Binaries, layout: NodeLayout) -> None:
    _kubectl(b, layout, "apply", "-f", "-", stdin=_identity_manifest())
    for component, (sa, _) in _IDENTITIES.items():
        token = _service_account_token(b, layout, sa)
        text = controlplane._kubeconfig_text(layout.cp, token, sa)
        controlplane._write_private(layout.root / f"{component}.kubeconfig", text.encode())


# ---- the CRI pause image, made here (no registry) ----

def _blob(blobs: dict[str, bytes], data: bytes) -> dict[str, object]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"digest": digest, "size": len(data)}


def pause_image_archive(busybox: Path) -> bytes:
    """An OCI archive of a one-binary image whose entrypoint sleeps forever as user 65535."""
    layer_buf = io.BytesIO()
    with tarfile.open(fileobj=layer_buf, mode="w") as layer:
        info = tarfile.TarInfo("bin")
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        layer.addfile(info)
        data = busybox.read_bytes()
        info = tarfile.TarInfo("bin/busybox")
        info.size = len(data)
        info.mode = 0o755
        layer.addfile(info, io.BytesIO(data))
    layer_bytes = layer_buf.getvalue()
    blobs: dict[str, bytes] = {}
    layer_desc = _blob(blobs, layer_bytes)
    config = {
        "architecture": "amd64", "os": "linux",
        "config": {"User": "65535:65535", "Entrypoint": ["/bin/busybox", "sleep", "2147483647"]},
        "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]},
    }
    config_desc = _blob(blobs, json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_desc},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer_desc}],
    }
    manifest_desc = _blob(blobs, json.dumps(manifest).encode())
    index = {
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest_desc,
            "annotations": {"io.containerd.image.name": PAUSE_IMAGE,
                            "org.opencontainers.image.ref.name": PAUSE_IMAGE.rsplit(":", 1)[1]},
        }],
    }
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        files = {"oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
                 "index.json": json.dumps(index).encode()}
        files.update({f"blobs/sha256/{d.removeprefix('sha256:')}": data for d, data in blobs.items()})
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def ctr(layout: NodeLayout, *args: str, timeout: float = 300) -> str:
    """Run `ctr` against this node's containerd, in the CRI namespace."""
    out = subprocess.run(
        ["ctr", f"--address={layout.socket}", "-n", CRI_NAMESPACE, *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    if out.returncode != 0:
        raise NodeError(f"ctr {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


def import_image(layout: NodeLayout, archive: Path) -> None:
    ctr(layout, "images", "import", "--all-platforms", str(archive))


def images(layout: NodeLayout) -> list[str]:
    return ctr(layout, "images", "ls", "-q").split()


# ---- processes ----

def _read_pid(layout: NodeLayout, component: str) -> int | None:
    try:
        pid = int(layout.pid_file(component).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if controlplane._alive(pid) else None


def _spawn(layout: NodeLayout, component: str, argv: list[str], env: dict[str, str] | None = None) -> int:
    layout.cp.logs.mkdir(parents=True, exist_ok=True)
    with layout.log_file(component).open("ab") as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=env,
        )
    layout.pid_file(component).write_text(str(proc.pid))
    controlplane._STARTED_HERE[proc.pid] = proc
    return proc.pid


def status(layout: NodeLayout | None = None) -> dict[str, int | None]:
    layout = layout or NodeLayout.default()
    return {c: _read_pid(layout, c) for c in NODE_COMPONENTS}


def _wait(check: Callable[[], bool], what: str, layout: NodeLayout, component: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if _read_pid(layout, component) is None:
            raise NodeError(f"{component} exited while starting; see {layout.log_file(component)}:\n"
                            + controlplane._tail(layout.log_file(component)))
        time.sleep(0.3)
    raise NodeError(f"{what} not ready after {timeout:.0f}s; see {layout.log_file(component)}:\n"
                    + controlplane._tail(layout.log_file(component)))


def node_ready(layout: NodeLayout) -> bool:
    b = ensure_binaries(lambda _m: None)
    try:
        out = _kubectl(b, layout, "get", "node", NODE_NAME, "-o",
                       'jsonpath={.status.conditions[?(@.type=="Ready")].status}')
    except NodeError:
        return False
    return out.strip() == "True"


def _record_host_paths(layout: NodeLayout) -> None:
    """Remember which hard-coded host paths existed before this node first ran (kept across restarts)."""
    if layout.created_host_paths.exists():
        return
    created = [str(p) for p in HOST_PATHS if not p.exists()]
    layout.created_host_paths.write_text(json.dumps(created) + "\n")
    layout.kernel_settings_file.write_text(json.dumps(kernel_settings()) + "\n")


def _prepare_files(layout: NodeLayout, nb: NodeBinaries) -> None:
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.cni_conf_dir.mkdir(parents=True, exist_ok=True)
    (layout.cni_conf_dir / "10-aiops-rca-loopback.conflist").write_text(json.dumps(LOOPBACK_CONFLIST) + "\n")
    (layout.root / "containerd.toml").write_text(_containerd_config(layout, nb))
    (layout.root / "kubelet-config.json").write_text(_kubelet_config(layout))
    # Pods with dnsPolicy Default read this; the suite's pods use dnsPolicy None with the same server.
    (layout.root / "resolv.conf").write_text("nameserver 127.0.0.1\n")
    pause = layout.root / "pause.oci.tar"
    if not pause.exists():
        pause.write_bytes(pause_image_archive(nb.busybox))


def start(layout: NodeLayout | None = None, progress: Progress = print) -> None:
    """Start the control plane if needed, then the node; idempotent. Returns when the node is Ready."""
    layout = layout or NodeLayout.default()
    b = ensure_binaries(progress)
    nb = ensure_node_binaries(progress)
    controlplane.start(layout.cp, progress)
    started = time.monotonic()
    _prepare_files(layout, nb)
    _record_host_paths(layout)
    running = status(layout)
    env = _guarded_env()
    if running["containerd"] is None:
        progress(f"starting containerd ({layout.socket})")
        _spawn(layout, "containerd", [str(nb.containerd), f"--config={layout.root / 'containerd.toml'}"], env)
    _wait(lambda: _containerd_up(layout), "containerd", layout, "containerd", 30)
    if PAUSE_IMAGE not in images(layout):
        import_image(layout, layout.root / "pause.oci.tar")
    _write_identities(b, layout)
    if running["node-controller-manager"] is None:
        progress(f"starting a helper kube-controller-manager ({HELPER_CONTROLLERS})")
        _spawn(layout, "node-controller-manager", _helper_kcm_argv(layout, b))
    if running["kube-scheduler"] is None:
        progress("starting kube-scheduler")
        _spawn(layout, "kube-scheduler", _scheduler_argv(layout, nb))
    if running["kubelet"] is None:
        progress(f"starting kubelet (node {NODE_NAME}, 127.0.0.1:{layout.kubelet_port}, taint {TAINT})")
        _spawn(layout, "kubelet", _kubelet_argv(layout, nb), env)
    _wait(lambda: node_ready(layout), f"node {NODE_NAME} Ready", layout, "kubelet", 120)
    progress(f"node {NODE_NAME} Ready in {time.monotonic() - started:.1f}s")


def _containerd_up(layout: NodeLayout) -> bool:
    if not layout.socket.exists():
        return False
    try:
        ctr(layout, "version", timeout=5)
    except (NodeError, subprocess.TimeoutExpired):
        return False
    return True


def _terminate(layout: NodeLayout, component: str, progress: Progress, timeout: float = 15) -> None:
    pid = _read_pid(layout, component)
    if pid is not None:
        progress(f"stopping {component} (pid {pid})")
        _kill_and_wait(pid, timeout)
        child = controlplane._STARTED_HERE.pop(pid, None)
        if child is not None:
            child.wait(timeout)
    layout.pid_file(component).unlink(missing_ok=True)


def _kill_and_wait(pid: int, timeout: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while controlplane._alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if controlplane._alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def node_processes(layout: NodeLayout) -> dict[int, str]:
    """pid -> name of every process of this node: its components and the shims and containers they started."""
    pids = {pid: c for c in NODE_COMPONENTS if (pid := _read_pid(layout, c)) is not None}
    for pid, cmdline in _proc_cmdlines():
        # The shims carry this node's containerd socket on their command line.
        argv0 = cmdline.split("\0", 1)[0]
        if "containerd-shim" in argv0 and str(layout.socket) in cmdline and pid not in pids:
            pids[pid] = cmdline.split("\0", 1)[0]
    changed = True
    while changed:  # the shims' descendants: pause and the pods' containers
        changed = False
        for pid, ppid in _proc_parents():
            if ppid in pids and pid not in pids:
                pids[pid] = _comm(pid)
                changed = True
    return pids


def _proc_cmdlines() -> Iterator[tuple[int, str]]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                yield int(entry.name), (entry / "cmdline").read_bytes().decode(errors="replace")


def _proc_parents() -> Iterator[tuple[int, int]]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                yield int(entry.name), int(stat.rsplit(")", 1)[1].split()[1])


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def _mounts_under(roots: list[Path]) -> list[str]:
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if any(point == str(r) or point.startswith(str(r) + "/") for r in roots):
            mounts.append(point)
    return sorted(set(mounts), key=len, reverse=True)


def _unmount_all(roots: list[Path], progress: Progress) -> None:
    for _ in range(3):  # a bind mount onto itself shows up twice
        points = _mounts_under(roots)
        if not points:
            return
        for point in points:
            subprocess.run(["umount", "-l", point], capture_output=True, check=False, timeout=30)
    if points := _mounts_under(roots):
        progress(f"  still mounted: {points}")


def _remove_kubepods_cgroups() -> None:
    for controller in Path("/sys/fs/cgroup").iterdir():
        top = controller / "kubepods"
        if not top.is_dir():
            continue
        for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                d.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


def stop(layout: NodeLayout | None = None, progress: Progress = print) -> None:
    """Stop the node's processes and containers, unmount and delete what it made; the images stay cached."""
    layout = layout or NodeLayout.default()
    if not layout.root.exists():
        return
    _terminate(layout, "kubelet", progress)
    _terminate(layout, "kube-scheduler", progress)
    _terminate(layout, "node-controller-manager", progress)
    containerd_pid = _read_pid(layout, "containerd")
    leftovers = {pid: name for pid, name in node_processes(layout).items() if pid != containerd_pid}
    _terminate(layout, "containerd", progress)
    for pid in leftovers:  # shims and the containers they run
        _kill_and_wait(pid, 5)
    _unmount_all([layout.root, *HOST_PATHS], progress)
    _remove_kubepods_cgroups()
    _clean_host_paths(layout, progress)
    for state in ("kubelet", "containerd/state", "containerd/runc"):
        shutil.rmtree(layout.root / state, ignore_errors=True)
    _delete_node_object(layout)


def _clean_host_paths(layout: NodeLayout, progress: Progress) -> None:
    try:
        created = [Path(p) for p in json.loads(layout.created_host_paths.read_text())]
    except (OSError, ValueError):
        created = []
    for path in created:
        if path.exists():
            progress(f"removing {path}")
            shutil.rmtree(path, ignore_errors=True)
    layout.created_host_paths.unlink(missing_ok=True)
    layout.kernel_settings_file.unlink(missing_ok=True)


def _delete_node_object(layout: NodeLayout) -> None:
    if controlplane.apiserver_ready(layout.cp):
        b = ensure_binaries(lambda _m: None)
        with contextlib.suppress(NodeError):
            _kubectl(b, layout, "delete", "node", NODE_NAME, "--ignore-not-found", "--wait=false")


def reset_images(layout: NodeLayout) -> None:
    """Forget containerd's content store (images), for a cold start."""
    shutil.rmtree(layout.root / "containerd", ignore_errors=True)
