"""ADF failures in Azure Monitor alert rows: one Incident per failed pipeline run.

Log search alerts name the failed runs (V2 dimensions, V1 search-result rows
from ADFPipelineRun / ADFActivityRun / ADFTriggerRun, custom payloads mapped
onto those columns); metric alerts on PipelineFailedRuns / ActivityFailedRuns /
TriggerFailedRuns only say that something failed, so their Incidents get a
fingerprint run id. The factory comes from the first ARM id that names one: the
row's `_ResourceId`/`ResourceId`/`Resource`, then `configurationItems`, then
`alertTargetIDs` (a log alert V2 targets the workspace, not the factory).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aiops_operator.api import (
    AlertInfo,
    ErrorDetail,
    FailedResource,
    IncidentSource,
    IncidentSpec,
    ResourceKind,
    RunIdOrigin,
)

from webhook_receiver.parsing.alerts import ParseOptions, fingerprint_run_id
from webhook_receiver.parsing.common_alert_schema import AlertRows, Essentials, arm_segment
from webhook_receiver.parsing.fields import as_dict, decoded, first_text, identifier, text, timestamp

NOT_FAILED = frozenset({"succeeded", "inprogress", "queued", "cancelled", "canceled", "cancelling", "started"})
FACTORY_PATH = "/providers/microsoft.datafactory/factories/"
_FAILURE_METRICS = ("pipelinefailedruns", "activityfailedruns", "triggerfailedruns")
_KEYS = {
    "pipeline": ("PipelineName", "pipeline_name", "Pipeline"),
    "activity": ("ActivityName", "activity_name", "Activity"),
    "trigger": ("TriggerName",),
    "run_id": ("PipelineRunId", "pipelineRunId", "RunId", "runId"),
    "message": ("ErrorMessage", "error_message", "Message", "EventMessage"),
    "code": ("ErrorCode", "error_code"),
    "failure_type": ("FailureType", "failure_type"),
    "factory": ("FactoryName", "DataFactoryName"),
    "resource_id": ("_ResourceId", "ResourceId", "resourceId", "Resource"),
    "metric": ("metricName",),
}
_LIMITS = {"pipeline": 260, "activity": 260, "trigger": 260, "code": 128, "failure_type": 64, "factory": 128,
           "resource_id": 1024, "metric": 128}
EXPECTED = (
    "expected an Azure Data Factory alert: dimensions or search-result columns such as PipelineName and "
    "PipelineRunId/RunId, or a metric alert (PipelineFailedRuns/ActivityFailedRuns) on a "
    "Microsoft.DataFactory/factories resource"
)


@dataclass(frozen=True)
class AdfRow:
    """What one alert row says about an ADF run."""

    fields: dict[str, str | None]
    error: dict[str, Any]

    def get(self, key: str) -> str | None:
        return self.fields.get(key)


def read_row(row: dict[str, Any], max_message_chars: int) -> AdfRow:
    fields = {key: first_text(row, keys, _LIMITS.get(key, max_message_chars)) for key, keys in _KEYS.items()}
    lowered = {str(k).lower(): v for k, v in row.items()}
    fields["run_id"] = next((r for r in (identifier(lowered.get(k.lower()), 256) for k in _KEYS["run_id"]) if r),
                            None)
    metric = (fields["metric"] or "").lower()
    if metric.startswith("activity") and fields["activity"] is None:
        fields["activity"] = first_text(row, ("Name",), 260)
    elif fields["pipeline"] is None and not metric.startswith("activity"):
        fields["pipeline"] = first_text(row, ("Name",), 260)
    error = as_dict(decoded(lowered.get("error")))
    return AdfRow(fields, error)


def is_adf_row(adf: AdfRow) -> bool:
    return any(adf.get(k) for k in ("pipeline", "run_id", "trigger")) or is_failure_metric(adf.get("metric"))


def is_failure_metric(metric: str | None) -> bool:
    return (metric or "").lower().startswith(_FAILURE_METRICS)


def status_of(row: dict[str, Any]) -> str | None:
    return first_text(row, ("Status",), 64)


def factory_identity(adf: AdfRow, essentials: Essentials) -> tuple[str | None, str | None]:
    """(factory name, factory ARM id) from the row, the configuration items, then the alert targets."""
    candidates = [adf.get("resource_id") or "", *essentials.configuration_items, *essentials.target_ids]
    factory_id = next((c for c in candidates if FACTORY_PATH in c.lower()), None)
    if factory_id is not None:
        return bounded(arm_segment(factory_id, "factories"), 128), factory_id
    if adf.get("factory"):
        return adf.get("factory"), None
    # A V2 alert may list the factory by name only; trust it when it is the one plain name.
    plain = [c for c in essentials.configuration_items if "/" not in c]
    return (bounded(plain[0], 128), None) if len(plain) == 1 else (None, None)


def row_spec(row: dict[str, Any], alert: AlertRows, now: datetime, options: ParseOptions) -> IncidentSpec:
    adf = read_row(row, options.max_message_chars)
    factory, factory_id = factory_identity(adf, alert.essentials)
    pipeline, activity = adf.get("pipeline"), adf.get("activity") or text(adf.error.get("target"), 260)
    name = pipeline or adf.get("trigger") or factory or alert.essentials.rule or "unknown-pipeline"
    code = adf.get("code") or text(adf.error.get("errorCode"), 128)
    failure_type = adf.get("failure_type") or text(adf.error.get("failureType"), 64)
    run_id, origin = adf.get("run_id"), RunIdOrigin.ALERT
    if run_id is None:
        when = alert.essentials.fired_time or timestamp(row.get("TimeGenerated")) or now
        run_id = fingerprint_run_id(IncidentSource.AZURE_DATA_FACTORY, f"{factory}/{name}/{activity or ''}",
                                    code or failure_type, when, options.fingerprint_bucket_seconds)
        origin = RunIdOrigin.FINGERPRINT
    return IncidentSpec(
        source=IncidentSource.AZURE_DATA_FACTORY,
        resource=FailedResource(
            kind=ResourceKind.PIPELINE if pipeline else ResourceKind.OTHER,
            name=name,
            factory=factory,
            resource_group=bounded(arm_segment(factory_id, "resourceGroups"), 128),
            subscription_id=bounded(arm_segment(factory_id, "subscriptions"), 64),
        ),
        run_id=run_id,
        run_id_origin=origin,
        run_url=run_url(run_id, factory_id) if origin is RunIdOrigin.ALERT else None,
        alert=alert_info(alert.essentials),
        error=ErrorDetail(code=code, message=_message(adf, row, name, options), failure_type=failure_type,
                          activity=activity),
        received_time=now,
    )


def _message(adf: AdfRow, row: dict[str, Any], name: str, options: ParseOptions) -> str:
    found = adf.get("message") or text(adf.error.get("message"), options.max_message_chars)
    if found is None and not adf.error:
        found = text(row.get("Error"), options.max_message_chars)
    metric = adf.get("metric")
    if found is None and metric is not None:
        value = text(row.get("metricValue"), 64)
        found = f"Azure Monitor metric {metric} = {value}" if value else f"Azure Monitor metric {metric} fired"
    return found or f"ADF run of {name} failed; the alert carried no error text (enrichment fetches it)"


def factory_spec(alert: AlertRows, factory_id: str, now: datetime, options: ParseOptions) -> IncidentSpec:
    factory = arm_segment(factory_id, "factories") or "factory"
    when = alert.essentials.fired_time or now
    return IncidentSpec(
        source=IncidentSource.AZURE_DATA_FACTORY,
        resource=FailedResource(
            kind=ResourceKind.OTHER,
            name=bounded(factory, 260) or "factory",
            factory=bounded(factory, 128),
            resource_group=bounded(arm_segment(factory_id, "resourceGroups"), 128),
            subscription_id=bounded(arm_segment(factory_id, "subscriptions"), 64),
        ),
        run_id=fingerprint_run_id(
            IncidentSource.AZURE_DATA_FACTORY, factory, alert.essentials.rule, when, options.fingerprint_bucket_seconds
        ),
        run_id_origin=RunIdOrigin.FINGERPRINT,
        alert=alert_info(alert.essentials),
        error=ErrorDetail(message=alert.essentials.description or f"Alert {alert.essentials.rule or ''} fired".strip()),
        received_time=now,
    )


def alert_info(e: Essentials) -> AlertInfo:
    return AlertInfo(rule=e.rule, id=e.alert_id, severity=e.severity, fired_time=e.fired_time,
                     signal_type=e.signal_type)


def merge(first: IncidentSpec, other: IncidentSpec) -> IncidentSpec:
    """Several rows (activity runs) of one run are one Incident: keep the first, fill its gaps."""
    error = first.error
    updates = {
        k: getattr(other.error, k)
        for k in ("code", "failure_type", "activity")
        if getattr(error, k) is None and getattr(other.error, k) is not None
    }
    if other.error.message and (not error.message or error.message.startswith("ADF run of ")):
        updates["message"] = other.error.message
    if not updates:
        return first
    return first.model_copy(update={"error": error.model_copy(update=updates)})


def bounded(value: str | None, max_chars: int) -> str | None:
    return value[:max_chars] if value else None


def run_url(run_id: str, factory_id: str | None) -> str | None:
    if not factory_id:
        return None
    url = (
        f"https://adf.azure.com/en/monitoring/pipelineruns/{quote(run_id, safe='')}"
        f"?factory={quote(factory_id, safe='')}"
    )
    return url if len(url) <= 1024 else None
