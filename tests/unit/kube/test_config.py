from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml
from aiops_operator.kube import KubeConfigError, load_config
from aiops_operator.kube.config import in_cluster


def write_kubeconfig(tmp_path: Path, user: dict[str, object], cluster: dict[str, object]) -> Path:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump({
        "current-context": "c",
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u", "namespace": "team-a"}}],
        "clusters": [{"name": "k", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
    }))
    return path


def test_token_kubeconfig_with_inline_ca(tmp_path: Path) -> None:
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()
    path = write_kubeconfig(tmp_path, {"token": "abc"},
                            {"server": "https://127.0.0.1:6443/", "certificate-authority-data": ca})
    config = load_config(path, env={})
    assert config.server == "https://127.0.0.1:6443"
    assert config.bearer_token() == "abc"
    assert config.namespace == "team-a"
    assert config.ca_file is not None
    assert config.ca_file.read_bytes() == b"-----BEGIN CERTIFICATE-----\n"
    assert "abc" not in repr(config)


def test_kubeconfig_env_wins_over_in_cluster(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path, {"token": "abc"}, {"server": "https://a"})
    config = load_config(env={"KUBECONFIG": f"{path}:/other", "KUBERNETES_SERVICE_HOST": "10.0.0.1"})
    assert config.server == "https://a"


def test_exec_plugins_are_refused_with_a_reason(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path, {"exec": {"command": "gke-gcloud-auth-plugin"}}, {"server": "https://a"})
    with pytest.raises(KubeConfigError, match="exec"):
        load_config(path, env={})


def test_in_cluster_rereads_rotating_token(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("one")
    (tmp_path / "namespace").write_text("aiops")
    config = in_cluster({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}, tmp_path)
    assert config.server == "https://10.0.0.1:443"
    assert config.namespace == "aiops"
    assert config.bearer_token() == "one"
    (tmp_path / "token").write_text("two")
    assert config.bearer_token() == "two"


def test_nothing_configured_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(KubeConfigError, match="KUBECONFIG"):
        load_config(env={})
