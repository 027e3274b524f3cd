"""Azure credentials for the ADF clients (enrichment and executors share them).

With a client secret configured (AZURE_CLIENT_SECRET or its _FILE), a service
principal signs in with it. Without one, azure-identity's default chain is
used, so the operator runs from pod identity with no secret at all: AKS
workload identity (the webhook injects AZURE_CLIENT_ID, AZURE_TENANT_ID and
AZURE_FEDERATED_TOKEN_FILE), then a managed identity, then the usual
environment sources. A non-public authority host (a sovereign cloud, or the
sandbox) is not in Microsoft's instance list, so discovery is switched off.
"""

from __future__ import annotations

from typing import Any

_PUBLIC_AUTHORITIES = {"login.microsoftonline.com", "login.chinacloudapi.cn", "login.microsoftonline.us"}


def credential_kwargs(authority_host: str | None, connection_verify: str | None) -> dict[str, Any]:
    """Keyword arguments every azure-identity credential takes for this authority and CA bundle."""
    kwargs: dict[str, Any] = {}
    if connection_verify:
        kwargs["connection_verify"] = connection_verify
    if authority_host:
        kwargs["authority"] = authority_host
        host = authority_host.rstrip("/").removeprefix("https://")
        if host not in _PUBLIC_AUTHORITIES:
            kwargs["disable_instance_discovery"] = True
    return kwargs


def azure_credential(
    *,
    tenant_id: str | None,
    client_id: str | None,
    secret: str | None,
    authority_host: str | None = None,
    connection_verify: str | None = None,
) -> Any:
    """A TokenCredential: the service principal's secret when there is one, else pod identity."""
    kwargs = credential_kwargs(authority_host, connection_verify)
    if secret:
        from azure.identity import ClientSecretCredential

        return ClientSecretCredential(tenant_id or "", client_id or "", secret, **kwargs)
    from azure.identity import DefaultAzureCredential

    identity: dict[str, Any] = {"exclude_interactive_browser_credential": True}
    if client_id:
        identity["managed_identity_client_id"] = client_id
        identity["workload_identity_client_id"] = client_id
    if tenant_id:
        identity["workload_identity_tenant_id"] = tenant_id
    return DefaultAzureCredential(**identity, **kwargs)
