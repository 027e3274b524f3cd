from __future__ import annotations

import base64
import ssl
import tempfile
from pathlib import Path

import pytest
import yaml
from aiops_operator.kube import KubeConfigError, load_config
from aiops_operator.kube.config import in_cluster

from sandbox.tls import ensure_tls


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
    assert config.ca_data == b"-----BEGIN CERTIFICATE-----\n"
    assert config.ca_file is None
    assert "abc" not in repr(config)


def test_inline_pem_data_is_used_and_leaves_no_file_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tls = ensure_tls(tmp_path / "tls")  # a real CA and a certificate with its key, as a kubeconfig inlines them
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    def inline(p: Path) -> str:
        return base64.b64encode(p.read_bytes()).decode()

    user: dict[str, object] = {"client-certificate-data": inline(tls.server_cert),
                               "client-key-data": inline(tls.server_key)}
    path = write_kubeconfig(tmp_path, user,
                            {"server": "https://a", "certificate-authority-data": inline(tls.ca_cert)})
    config = load_config(path, env={})
    ctx = config.ssl_context()
    assert isinstance(ctx, ssl.SSLContext)
    assert [c["subject"] for c in ctx.get_ca_certs()], "the inline CA is trusted"
    assert list(scratch.iterdir()) == []
    assert tls.server_key.read_text() not in repr(config)


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
