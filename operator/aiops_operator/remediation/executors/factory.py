"""Executors for every action, built from settings, with injectable clients.

    executors = build_executors(OperatorSettings(), RemediationSettings())
    run = await asyncio.to_thread(executors.launch, incident, attempt)       # ExternalRun
    progress = await asyncio.to_thread(executors.poll, incident, attempt)    # Progress

`Executors.launch` returns the attempt's recorded run when its status already
has one, so a repeated reconcile never launches twice; otherwise the action's
executor launches (and finds its own earlier run, see each module).

Pointing the SDKs elsewhere (the sandbox, sovereign clouds, private
endpoints) is configuration only: `AZURE_AUTHORITY_HOST`,
`AZURE_RESOURCE_MANAGER_URL`, `DATABRICKS_HOST` (operator settings) and
`EXECUTOR_CA_BUNDLE` (or `REQUESTS_CA_BUNDLE`) for the CA that signs them.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from aiops_operator.api import ExternalRun, Incident, RemediationAction, RemediationAttempt
from aiops_operator.integrations.azure import azure_credential
from aiops_operator.integrations.databricks import databricks_client
from aiops_operator.remediation.attempt_status import Progress
from aiops_operator.remediation.executors.adf import AdfExecutor
from aiops_operator.remediation.executors.base import CannotRemediate, Executor
from aiops_operator.remediation.executors.databricks import DatabricksExecutor
from aiops_operator.remediation.executors.playbook import PlaybookExecutor
from aiops_operator.remediation.settings import RemediationSettings
from aiops_operator.settings import OperatorSettings

ADF_ACTIONS = frozenset({RemediationAction.RERUN_PIPELINE, RemediationAction.CHECK_UPSTREAM_THEN_RERUN})
DATABRICKS_ACTIONS = frozenset({
    RemediationAction.RUN_JOB_NOW, RemediationAction.REPAIR_RUN, RemediationAction.START_CLUSTER,
    RemediationAction.RESTART_CLUSTER, RemediationAction.RESIZE_CLUSTER, RemediationAction.REINSTALL_LIBRARY,
})


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Executors:
    """One executor per system; dispatch by the attempt's action."""

    adf: Executor
    databricks: Executor
    playbook: Executor
    closers: list[Callable[[], None]] = field(default_factory=list)

    def for_action(self, action: RemediationAction) -> Executor:
        if action in ADF_ACTIONS:
            return self.adf
        if action in DATABRICKS_ACTIONS:
            return self.databricks
        return self.playbook

    def launch(self, incident: Incident, attempt: RemediationAttempt) -> ExternalRun:
        """Start the attempt's action, or return what it already started (see executors.base for errors)."""
        if attempt.status.external_run is not None:
            return attempt.status.external_run
        return self.for_action(attempt.spec.action).launch(incident, attempt)

    def poll(self, incident: Incident, attempt: RemediationAttempt) -> Progress:
        """How the attempt's external run is doing; a failed poll is `transient_error`, never an exception."""
        return self.for_action(attempt.spec.action).poll(incident, attempt)

    def close(self) -> None:
        for close in self.closers:
            close()


class _Unconfigured:
    """Stands in for a system whose credentials are not configured: launching fails terminally."""

    def __init__(self, what: str) -> None:
        self._what = what

    def launch(self, incident: Incident, attempt: RemediationAttempt) -> ExternalRun:
        raise CannotRemediate(f"{self._what} is not configured")

    def poll(self, incident: Incident, attempt: RemediationAttempt) -> Progress:
        from aiops_operator.remediation.executors.base import failed

        return failed(f"{self._what} is not configured")


def _verify(settings: RemediationSettings) -> str | bool:
    bundle = settings.executor_ca_bundle or os.environ.get("REQUESTS_CA_BUNDLE")
    return str(bundle) if bundle else True


def adf_client_factory(op: OperatorSettings, settings: RemediationSettings) -> tuple[Callable[[str], Any],
                                                                                      Callable[[], None]]:
    """subscription id → DataFactoryManagementClient, one per subscription, sharing one credential.

    The SDKs are imported and the credential made on first use: an operator that never acts on ADF
    does not carry them in memory."""
    verify = _verify(settings)
    kwargs: dict[str, Any] = {}
    if isinstance(verify, str):
        kwargs["connection_verify"] = verify
    clients: dict[str, Any] = {}
    credentials: list[Any] = []
    timeout = settings.executor_timeout_seconds

    def credential() -> Any:
        if not credentials:
            credentials.append(azure_credential(
                tenant_id=op.azure_tenant_id, client_id=op.azure_client_id, secret=op.azure_secret(),
                authority_host=op.azure_authority_host, connection_verify=verify if isinstance(verify, str) else None,
            ))
        return credentials[0]

    def client_for(subscription_id: str) -> Any:
        from azure.mgmt.datafactory import DataFactoryManagementClient

        if subscription_id not in clients:
            extra: dict[str, Any] = {"connection_timeout": timeout, "read_timeout": timeout, "retry_total": 2,
                                     **kwargs}
            if op.azure_resource_manager_url:
                extra["base_url"] = op.azure_resource_manager_url
            clients[subscription_id] = DataFactoryManagementClient(credential(), subscription_id, **extra)
        return clients[subscription_id]

    def close() -> None:
        for client in clients.values():
            client.close()
        for made in credentials:
            made.close()

    return client_for, close


def databricks_client_factory(op: OperatorSettings, settings: RemediationSettings) -> Callable[[str], Any]:
    """workspace URL → WorkspaceClient with the configured token (re-read: rotation), else pod identity.

    databricks-sdk is imported on first use (it is large)."""
    clients: dict[tuple[str, str], Any] = {}

    def client_for(host: str) -> Any:
        token = op.databricks_pat() or ""
        key = (host, token)
        if key not in clients:
            clients.clear()
            clients[key] = databricks_client(host, token or None, settings.executor_timeout_seconds,
                                             settings.executor_timeout_seconds)
        return clients[key]

    return client_for


def build_executors(
    op: OperatorSettings, settings: RemediationSettings, *, clock: Callable[[], datetime] = _utcnow,
    http: httpx.Client | None = None,
) -> Executors:
    """The production executors: real SDK clients from settings (systems without credentials fail terminally)."""
    closers: list[Callable[[], None]] = []
    adf: Executor = _Unconfigured("Azure Data Factory (AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET)")
    if op.adf_enabled:
        client_for, close = adf_client_factory(op, settings)
        adf = AdfExecutor(client_for, clock)
        closers.append(close)
    databricks: Executor = _Unconfigured("Databricks (DATABRICKS_TOKEN)")
    if op.databricks_enabled:
        databricks = DatabricksExecutor(databricks_client_factory(op, settings), op.databricks_host,
                                        settings.library_fallback_versions)
    if http is None:
        verify = _verify(settings)
        http = httpx.Client(timeout=settings.executor_timeout_seconds, follow_redirects=False,
                            verify=ssl.create_default_context(cafile=verify) if isinstance(verify, str) else True)
        closers.append(http.close)
    playbook = PlaybookExecutor(http, settings.callback_url, attempts=settings.playbook_attempts,
                                initial_wait=settings.playbook_retry_initial_seconds)
    return Executors(adf=adf, databricks=databricks, playbook=playbook, closers=closers)
