"""Azure and Databricks clients authenticate from a secret when given one, else from pod identity."""

from __future__ import annotations

import pytest
from aiops_operator.integrations.azure import azure_credential, credential_kwargs
from aiops_operator.integrations.databricks import databricks_client
from azure.identity import ClientSecretCredential, DefaultAzureCredential


@pytest.mark.parametrize(
    ("authority", "verify", "expected"),
    [
        pytest.param(None, None, {}, id="public-cloud-defaults"),
        pytest.param("https://login.microsoftonline.us", None, {"authority": "https://login.microsoftonline.us"},
                     id="government-cloud-keeps-discovery"),
        pytest.param("https://127.0.0.1:8443", "/ca.crt",
                     {"authority": "https://127.0.0.1:8443", "disable_instance_discovery": True,
                      "connection_verify": "/ca.crt"}, id="private-authority"),
    ],
)
def test_credential_kwargs(authority: str | None, verify: str | None, expected: dict[str, object]) -> None:
    assert credential_kwargs(authority, verify) == expected


def test_a_configured_secret_signs_in_as_the_service_principal() -> None:
    credential = azure_credential(tenant_id="t", client_id="c", secret="s3cret")
    assert isinstance(credential, ClientSecretCredential)


def test_without_a_secret_pod_identity_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    # What the AKS workload identity webhook injects into the pod.
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token")
    credential = azure_credential(tenant_id="tenant", client_id="client", secret=None)
    assert isinstance(credential, DefaultAzureCredential)
    names = [type(c).__name__ for c in credential.credentials]
    assert "WorkloadIdentityCredential" in names
    assert "ManagedIdentityCredential" in names


def test_databricks_token_means_pat_auth() -> None:
    # The SDK probes the host's metadata while configuring, retrying within the timeouts given.
    client = databricks_client("http://127.0.0.1:9", "dapi-token", 1, 1)
    assert client.config.auth_type == "pat"
    assert client.config.http_timeout_seconds == 1
