"""Azure Data Factory enrichment: the failed run's activity runs (`queryActivityruns`).

Used when the alert lacked the failing activity, its error code or message.
The failing activity is the earliest failed activity that is not a container
(ExecutePipeline, ForEach, If, Until, Switch only wrap their inner failure).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from aiops_operator.api import Enrichment, Incident, IncidentSource
from aiops_operator.api.base import MAX_MESSAGE_CHARS
from aiops_operator.api.sanitize import clean_text
from aiops_operator.correlation.membership import to_recorded
from aiops_operator.correlation.references import references
from aiops_operator.integrations.azure import azure_credential

CONTAINER_ACTIVITIES = frozenset({"ExecutePipeline", "ForEach", "IfCondition", "Until", "Switch"})


def failing_activity(activity_runs: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The activity run that failed first, preferring real work over containers that wrap it."""
    failed = [a for a in activity_runs if str(a.get("status") or "").lower() == "failed"]
    if not failed:
        return None
    failed.sort(key=lambda a: str(a.get("activityRunStart") or a.get("activity_run_start") or ""))
    leaves = [a for a in failed if (a.get("activityType") or a.get("activity_type")) not in CONTAINER_ACTIVITIES]
    return (leaves or failed)[0]


def activity_error(activity: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(activity name, error code, message) of a failed activity run."""
    error = activity.get("error") or {}
    name = activity.get("activityName") or activity.get("activity_name")
    code = error.get("errorCode") or error.get("error_code")
    message = error.get("message")
    return (str(name) if name else None, str(code) if code else None, str(message) if message else None)


class AdfEnricher:
    """Queries activity runs through azure-mgmt-datafactory with a service principal."""

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        secret: Callable[[], str | None],
        *,
        authority_host: str | None = None,
        resource_manager_url: str | None = None,
        timeout: float = 15.0,
        clock: Callable[[], datetime],
    ) -> None:
        self._tenant_id = tenant_id
        self._client_id = client_id
        self._secret = secret
        self._authority_host = authority_host
        self._arm_url = resource_manager_url
        self._timeout = timeout
        self._clock = clock

    def wants(self, incident: Incident) -> bool:
        spec = incident.spec
        if spec.source is not IncidentSource.AZURE_DATA_FACTORY:
            return False
        if not (spec.resource.factory and spec.resource.resource_group and spec.resource.subscription_id):
            return False
        return not (spec.error.activity and spec.error.code and spec.error.message)

    def _query(self, incident: Incident) -> list[dict[str, Any]]:
        from azure.mgmt.datafactory import DataFactoryManagementClient
        from azure.mgmt.datafactory.models import RunFilterParameters

        credential = azure_credential(tenant_id=self._tenant_id, client_id=self._client_id, secret=self._secret(),
                                      authority_host=self._authority_host)
        client_kwargs: dict[str, Any] = {"connection_timeout": self._timeout, "read_timeout": self._timeout,
                                         "retry_total": 2}
        if self._arm_url:
            client_kwargs["base_url"] = self._arm_url
        spec = incident.spec
        resource = spec.resource
        received = spec.received_time
        with DataFactoryManagementClient(credential, resource.subscription_id or "", **client_kwargs) as client:
            result = client.activity_runs.query_by_pipeline_run(
                resource.resource_group or "",
                resource.factory or "",
                spec.run_id,
                RunFilterParameters(
                    last_updated_after=received - timedelta(days=2),
                    last_updated_before=max(self._clock(), received) + timedelta(days=1),
                ),
            )
        return [a.as_dict() for a in result.value or []]

    async def enrich(self, incident: Incident) -> Enrichment:
        now = self._clock()
        try:
            runs = await asyncio.to_thread(self._query, incident)
        except Exception as exc:
            return Enrichment(failed_reason=clean_text(f"ADF: {type(exc).__name__}: {exc}", 512), enriched_time=now)
        activity = failing_activity(runs)
        if activity is None:
            return Enrichment(failed_reason="ADF: no failed activity run found for this pipeline run",
                              enriched_time=now)
        name, code, message = activity_error(activity)
        return Enrichment(
            error_message=clean_text(message, MAX_MESSAGE_CHARS) if message else None,
            error_code=code[:128] if code else None,
            activity=name[:260] if name else None,
            enriched_time=now,
            # The Databricks run an activity started, a child pipeline's run, the IR: correlation groups by them.
            references=to_recorded(references(*(a for a in runs if str(a.get("status") or "").lower() == "failed"))),
        )
