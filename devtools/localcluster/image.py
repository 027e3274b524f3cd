"""The project's image, built from its unchanged Dockerfile without a registry, imported into the node.

1. A base for the Dockerfile's PYTHON_IMAGE from Debian packages: `mmdebstrap` makes a bookworm rootfs with
   python3 and python3-venv (cached as a tarball; ~20 s), and a tiny generated Containerfile adds a wheelhouse
   of the project's dependencies with an /etc/pip.conf that installs from it only. The wheels are downloaded
   once by the host's pip (PyPI is reachable from the machine; the build is not).
2. `podman build --pull=never --network=none` of the project's Dockerfile with that base: no step of the
   build can reach a network, and the Dockerfile stays exactly what users build with Docker.
3. `podman save --format oci-archive` -> `ctr images import` into the node's containerd.

podman keeps its storage under the cache (its own --root/--runroot), so the machine's containers
configuration and storage are never touched. Docker machines keep using `make image`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path

from devtools.localcluster import node as node_mod
from devtools.localcluster.build import BuildError, cache_root, ensure_apt_packages

Progress = Callable[[str], None]

IMAGE_APT_PACKAGES = ["podman", "buildah", "mmdebstrap", "uidmap"]
BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3", "ca-certificates", "passwd")
BASE_SUITE = "bookworm"
BASE_RECIPE = "1"
"""Bump to rebuild the cached rootfs."""
IMAGE = "localhost/aiops-rca/aiops-rca:cluster-suite"
_APT_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
_BASE_CONTAINERFILE = """\
FROM {rootfs}
COPY wheels /opt/wheelhouse
COPY pip.conf /etc/pip.conf
"""
_PIP_CONF = """\
# Builds from this base have no network: pip installs from the wheelhouse only.
[global]
no-index = true
find-links = /opt/wheelhouse
"""


def _work() -> Path:
    return cache_root() / "images"


def _podman(*args: str, timeout: float = 1200, progress: Progress | None = None) -> str:
    work = _work() / "podman"
    tmp = work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    argv = [
        "podman", f"--root={work / 'storage'}", f"--runroot={work / 'run'}", f"--tmpdir={work / 'libpod-tmp'}",
        "--storage-driver=overlay", "--cgroup-manager=cgroupfs", "--events-backend=none",
        "--runtime=/usr/sbin/runc", *args,
    ]
    env = {**os.environ, "TMPDIR": str(tmp)}
    if progress:
        progress("$ podman " + " ".join(args))
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    if out.returncode != 0:
        raise BuildError(f"podman {' '.join(args)} failed ({out.returncode}):\n{out.stdout[-3000:]}\n"
                         f"{out.stderr[-3000:]}")
    return out.stdout


def release_storage() -> None:
    """Unmount podman's storage: containers/storage bind-mounts its overlay dir and leaves it mounted.

    podman mounts it again when next used; unmounted, nothing of ours stays mounted and the cache can be
    deleted with rm -rf."""
    overlay = _work() / "podman" / "storage" / "overlay"
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        if point == str(overlay) or point.startswith(f"{overlay}/"):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False, timeout=30)


def _has_image(name: str) -> bool:
    try:
        _podman("image", "exists", name, timeout=60)
    except BuildError:
        return False
    return True


def base_rootfs(progress: Progress) -> Path:
    """A Debian bookworm rootfs with Python, made by mmdebstrap once and cached."""
    tarball = _work() / f"rootfs-{BASE_SUITE}-{BASE_RECIPE}.tar"
    if tarball.exists():
        return tarball
    tarball.parent.mkdir(parents=True, exist_ok=True)
    progress(f"building a Debian {BASE_SUITE} rootfs with {', '.join(BASE_PACKAGES)} (mmdebstrap, ~20 s)")
    # mmdebstrap picks the output format from the name: keep ".tar" last, or it makes a directory.
    staged = tarball.with_name(tarball.stem + ".partial.tar")
    argv = ["mmdebstrap", "--variant=apt", f"--include={','.join(BASE_PACKAGES)}", BASE_SUITE, str(staged)]
    if _APT_SOURCES.exists():
        argv.append(str(_APT_SOURCES))  # the machine's own mirror, as for the control plane's packages
    out = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    if out.returncode != 0:
        raise BuildError(f"mmdebstrap failed:\n{out.stderr[-3000:]}")
    staged.replace(tarball)
    return tarball


def _requirements(repo: Path) -> list[str]:
    project = tomllib.loads((repo / "pyproject.toml").read_text())
    requires: list[str] = project["build-system"]["requires"]
    deps: list[str] = project["project"]["dependencies"]
    return [*requires, *deps]


def wheelhouse(repo: Path, progress: Progress) -> Path:
    """Wheels of the project's build and runtime dependencies, keyed by the dependency list."""
    reqs = _requirements(repo)
    key = hashlib.sha256("\n".join(reqs).encode()).hexdigest()[:12]
    house = _work() / f"wheels-{key}"
    if (house / ".complete").exists():
        return house
    progress(f"downloading {len(reqs)} requirements and their dependencies as wheels into {house}")
    house.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--dest", str(house), *reqs],
        capture_output=True, text=True, timeout=900, check=False,
    )
    if out.returncode != 0:
        raise BuildError(f"pip download failed:\n{out.stderr[-3000:]}")
    (house / ".complete").write_text("\n".join(reqs) + "\n")
    return house


def base_image(repo: Path, progress: Progress) -> str:
    """The PYTHON_IMAGE for the Dockerfile: Debian's Python plus an offline wheelhouse."""
    rootfs = base_rootfs(progress)
    house = wheelhouse(repo, progress)
    rootfs_name = f"localhost/aiops-rca/rootfs:{BASE_SUITE}-{BASE_RECIPE}"
    base_name = f"localhost/aiops-rca/python-base:{BASE_SUITE}-{BASE_RECIPE}-{house.name.removeprefix('wheels-')}"
    if _has_image(base_name):
        return base_name
    if not _has_image(rootfs_name):
        _podman("import", "--change", 'CMD ["python3"]', str(rootfs), rootfs_name, progress=progress)
    context = _work() / "base-context"
    if context.exists():
        subprocess.run(["rm", "-rf", str(context)], check=True)
    context.mkdir(parents=True)
    subprocess.run(["cp", "-r", str(house), str(context / "wheels")], check=True)
    (context / "pip.conf").write_text(_PIP_CONF)
    (context / "Containerfile").write_text(_BASE_CONTAINERFILE.format(rootfs=rootfs_name))
    _podman("build", "--pull=never", "--network=none", "-t", base_name, "-f", str(context / "Containerfile"),
            str(context), progress=progress)
    return base_name


def _revision(repo: Path) -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True,
                         check=False)
    return out.stdout.strip() or "unknown"


def build(repo: Path, progress: Progress = print, image: str = IMAGE, dockerfile: Path | None = None,
          extra_args: Sequence[str] = ()) -> str:
    """Build the project's Dockerfile (unchanged) into `image`; return its name."""
    ensure_apt_packages(progress, IMAGE_APT_PACKAGES)
    try:
        base = base_image(repo, progress)
        started = time.monotonic()
        # No layer cache: buildah 1.28 reuses a cached `COPY pyproject.toml` layer after the file changed
        # (seen: a wheel without webhook_receiver passed as the old image). Offline, a build takes ~60 s.
        _podman(
            "build", "--pull=never", "--network=none", "--no-cache",
            "--build-arg", f"PYTHON_IMAGE={base}", "--build-arg", f"REVISION={_revision(repo)}",
            "-f", str(dockerfile or repo / "Dockerfile"), "-t", image, *extra_args, str(repo),
            progress=progress,
        )
        # Without the layer cache every build leaves the previous image and the build stage dangling:
        # ~300 MB a build, 8 GB in the cache after a few days of test runs.
        # Best effort: an interrupted build's container still holds its image, and tidying up must
        # never fail the build it follows.
        try:
            _podman("image", "prune", "--force", timeout=300)
        except BuildError as exc:
            progress(f"leaving dangling images for later: {str(exc).splitlines()[0]}")
    finally:
        release_storage()
    progress(f"image {image} built in {time.monotonic() - started:.0f}s")
    return image


def load_into_node(layout: node_mod.NodeLayout, image: str = IMAGE, progress: Progress = print) -> None:
    """podman save -> ctr import: the node's containerd runs the image without any registry."""
    try:
        image_id = _podman("image", "inspect", "--format", "{{.Id}}", image, timeout=60).strip()
    finally:
        release_storage()
    record = layout.root / "imported-images.json"
    try:
        imported: dict[str, str] = json.loads(record.read_text())
    except (OSError, ValueError):
        imported = {}
    if imported.get(image) == image_id and image in node_mod.images(layout):
        progress(f"image {image} ({image_id[:12]}) already in the node's containerd")
        return
    archive = _work() / "image.oci.tar"
    archive.unlink(missing_ok=True)
    try:
        _podman("save", "--format", "oci-archive", "-o", str(archive), image, progress=progress)
    finally:
        release_storage()
    node_mod.import_image(layout, archive)
    archive.unlink(missing_ok=True)
    imported[image] = image_id
    record.write_text(json.dumps(imported) + "\n")
    progress(f"image {image} imported into the node's containerd")
