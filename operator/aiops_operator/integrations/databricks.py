"""Databricks client configuration (enrichment and executors share it).

With a personal access token configured (DATABRICKS_TOKEN or its _FILE) the
client uses it. Without one, databricks-sdk's own default authentication chain
decides, so pod identity works without a secret: an Azure managed identity
(ARM_USE_MSI / ARM_CLIENT_ID), an Azure service principal from ARM_* variables,
OAuth machine-to-machine (DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET), or
workload identity federation, as the SDK documents them.
"""

from __future__ import annotations

from typing import Any


def databricks_client(host: str, token: str | None, timeout_seconds: float, retry_timeout_seconds: float) -> Any:
    """A WorkspaceClient for `host`, authenticated by the token if there is one, else by the SDK's chain."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    auth: dict[str, Any] = {"token": token, "auth_type": "pat"} if token else {}
    config = Config(
        host=host,
        http_timeout_seconds=int(timeout_seconds),
        retry_timeout_seconds=int(retry_timeout_seconds),
        **auth,
    )
    return WorkspaceClient(config=config)
