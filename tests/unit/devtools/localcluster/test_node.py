"""The node's generated configuration keeps every guard of the loopback rule; the pause image is a valid OCI archive."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from devtools.localcluster import controlplane
from devtools.localcluster import node as node_mod
from devtools.localcluster.build import NodeBinaries


@pytest.fixture
def layout(tmp_path: Path) -> node_mod.NodeLayout:
    cp = controlplane.Layout(root=tmp_path / "cp", apiserver_port=17443, etcd_port=24790)
    return node_mod.NodeLayout(cp=cp, kubelet_port=11250, kubelet_healthz_port=11248, stream_port=11010)


def binaries(tmp_path: Path) -> NodeBinaries:
    return NodeBinaries(kubelet=tmp_path / "kubelet", kube_scheduler=tmp_path / "kube-scheduler",
                        containerd=Path("/usr/bin/containerd"), ctr=Path("/usr/bin/ctr"),
                        runc=Path("/usr/sbin/runc"), cni_bin_dir=Path("/usr/lib/cni"), busybox=Path("/bin/busybox"))


def test_containerd_listens_on_loopback_with_its_own_paths(layout: node_mod.NodeLayout, tmp_path: Path) -> None:
    config = node_mod._containerd_config(layout, binaries(tmp_path))
    assert 'stream_server_address = "127.0.0.1"' in config
    assert f'stream_server_port = "{layout.stream_port}"' in config
    assert f'conf_dir = "{layout.cni_conf_dir}"' in config  # never /etc/cni/net.d (podman's NAT bridge)
    assert "/etc/cni" not in config
    assert "restrict_oom_score_adj = true" in config
    assert f'sandbox_image = "{node_mod.PAUSE_IMAGE}"' in config
    assert str(layout.root) in config.split("[grpc]")[1].split("\n")[1]


def test_the_only_network_is_loopback() -> None:
    assert [p["type"] for p in node_mod.LOOPBACK_CONFLIST["plugins"]] == ["loopback"]


def test_kubelet_serves_on_loopback_only(layout: node_mod.NodeLayout) -> None:
    config = json.loads(node_mod._kubelet_config(layout))
    assert (config["address"], config["healthzBindAddress"], config["readOnlyPort"]) == ("127.0.0.1", "127.0.0.1", 0)
    assert config["port"] == 11250
    assert config["healthzPort"] == 11248
    assert config["makeIPTablesUtilChains"] is False
    assert config["clusterDNS"] == []


def test_kubelet_is_named_by_its_address_and_tainted(layout: node_mod.NodeLayout, tmp_path: Path) -> None:
    argv = node_mod._kubelet_argv(layout, binaries(tmp_path))
    assert "--hostname-override=127.0.0.1" in argv
    assert f"--register-with-taints={node_mod.TAINT}" in argv
    assert f"--root-dir={layout.kubelet_root}" in argv


def test_guarded_env_disables_the_metadata_probe_and_sends_pulls_to_a_closed_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_PROXY", "example.com")
    monkeypatch.setenv("https_proxy", "http://proxy.example.com:3128")
    env = node_mod._guarded_env()
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"
    assert env["HTTP_PROXY"] == env["HTTPS_PROXY"] == env["https_proxy"] == "http://127.0.0.1:9"
    assert "NO_PROXY" not in env
    assert "no_proxy" not in env


def test_pause_image_is_a_consistent_oci_archive(tmp_path: Path) -> None:
    fake = tmp_path / "busybox"
    fake.write_bytes(b"\x7fELF not really")
    with tarfile.open(fileobj=io.BytesIO(node_mod.pause_image_archive(fake))) as archive:
        files = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]
    for name, data in files.items():
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    index = json.loads(files["index.json"])
    (entry,) = index["manifests"]
    assert entry["annotations"]["io.containerd.image.name"] == node_mod.PAUSE_IMAGE
    manifest = json.loads(files[f"blobs/sha256/{entry['digest'].removeprefix('sha256:')}"])
    config = json.loads(files[f"blobs/sha256/{manifest['config']['digest'].removeprefix('sha256:')}"])
    assert config["config"]["User"] == "65535:65535"
    layer = files[f"blobs/sha256/{manifest['layers'][0]['digest'].removeprefix('sha256:')}"]
    with tarfile.open(fileobj=io.BytesIO(layer)) as rootfs:
        assert rootfs.extractfile("bin/busybox").read() == fake.read_bytes()  # type: ignore[union-attr]
