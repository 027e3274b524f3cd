"""Every Kopf decorator of the operator, in one place; each only delegates to the Runtime.

Why `on.event` and not `on.create/on.update/on.resume` + `on.timer`:
- `on.event` fires for every watch event, including the initial listing
  (resume) and our own status writes, which is exactly a level-based reconcile,
  and Kopf stores nothing for it: no progress or diff-base annotations, so no
  extra API writes per Incident.
- Kopf timers and daemons put a finalizer on every object: two more writes per
  Incident, and Incidents that cannot be deleted while the operator is down.
  The timer is the reconcile's `requeue_after` instead (runtime.Runtime._schedule),
  re-established for every Incident by the initial listing after a restart.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from aiops_operator.api import GROUP, VERSION
from aiops_operator.kube import KubeConfig
from aiops_operator.runtime import Runtime

log = logging.getLogger(__name__)


def register(registry: kopf.OperatorRegistry, runtime: Runtime, *, metrics_port: int) -> None:
    """Register the operator's handlers on `registry`, delegating to `runtime`."""

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return connection_info(runtime.kube_config)

    @kopf.on.startup(registry=registry)
    async def startup(**_: Any) -> None:
        await runtime.start_http(metrics_port)
        runtime.start_background()

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        await runtime.close()

    @kopf.on.event(GROUP, VERSION, "incidents", registry=registry)
    async def incident_event(type: str | None, body: kopf.Body, **_: Any) -> None:
        await runtime.on_incident_event(type or "", body)

    @kopf.on.event(GROUP, VERSION, "remediationpolicies", registry=registry)
    async def policy_event(body: kopf.Body, **_: Any) -> None:
        await runtime.on_policy_event(body)

    @kopf.on.event(GROUP, VERSION, "remediationattempts", registry=registry)
    async def attempt_event(type: str | None, body: kopf.Body, **_: Any) -> None:
        runtime.on_attempt_event(type or "", body)


def configure(settings: kopf.OperatorSettings) -> None:
    """Kopf settings fit for thousands of Incidents."""
    prefix = GROUP
    # Nothing we register persists progress; should a handler ever need it, keep it small and ours.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=prefix)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=prefix, key="last-handled-configuration")
    settings.persistence.finalizer = f"{prefix}/finalizer"
    # Our own Events carry specific reasons; Kopf posts only its warnings and errors.
    settings.posting.level = logging.WARNING
    settings.posting.reporting_component = "aiops-rca-operator"
    # Watches reconnect regularly (and survive API server restarts without stale connections).
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 30
    # Bounded concurrency: one worker per Incident with events, at most this many at once.
    settings.batching.worker_limit = 200
    settings.networking.request_timeout = 60


def connection_info(config: KubeConfig) -> kopf.ConnectionInfo:
    """Kopf talks to the same cluster, the same way, as our own client."""
    return kopf.ConnectionInfo(
        server=config.server,
        ca_path=str(config.ca_file) if config.ca_file and not config.ca_data else None,
        ca_data=config.ca_data,
        insecure=config.insecure_skip_tls_verify,
        token=config.bearer_token(),
        certificate_data=config.client_cert_pem(),
        private_key_data=config.client_key_pem() if config.client_cert_pem() else None,
        default_namespace=config.namespace,
        expiration=None,
    )
