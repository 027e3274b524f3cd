"""ADF failures from Azure Monitor common-schema alerts (POST /azure-monitor).

Log search alerts name the failed runs (V2 dimensions or V1 search-result rows
from ADFPipelineRun / ADFActivityRun); metric alerts on PipelineFailedRuns or
ActivityFailedRuns only say that something failed, so their Incidents get a
fingerprint run id. One alert can describe several failed runs: one Incident each.
"""

from __future__ import annotations

import json
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

from webhook_receiver.parsing import common_alert_schema
from webhook_receiver.parsing.alerts import ParsedAlert, ParseOptions, Unrecognized, fingerprint_run_id
from webhook_receiver.parsing.common_alert_schema import AlertRows, arm_segment
from webhook_receiver.parsing.fields import as_dict, first_text, identifier, text, timestamp

_NOT_FAILED = frozenset({"succeeded", "inprogress", "queued", "cancelled", "canceled", "cancelling"})
_RUN_ID_KEYS = ("PipelineRunId", "pipelineRunId", "RunId", "runId")
_EXPECTED = (
    "expected an Azure Data Factory alert: dimensions or search-result columns such as PipelineName and "
    "PipelineRunId/RunId, or a metric alert (PipelineFailedRuns/ActivityFailedRuns) on a "
    "Microsoft.DataFactory/factories resource"
)


def parse(payload: Any, now: datetime, options: ParseOptions) -> ParsedAlert:
    """Incidents (or resolved signals) for the ADF failures one alert describes."""
    alert = common_alert_schema.parse(payload)
    factory_id = next((t for t in alert.essentials.target_ids if "/factories/" in t.lower()), None)
    specs: dict[str, IncidentSpec] = {}
    ignored: list[str] = []
    for row in alert.rows:
        status = first_text(row, ("Status",), 64)
        if status is not None and status.lower() in _NOT_FAILED:
            ignored.append(f"a run with status {status} is not a failure")
            continue
        spec = _row_spec(row, alert, factory_id, now, options)
        if spec is None:
            continue
        # Several rows (activity runs) of one pipeline run are one Incident: keep the first, fill gaps.
        if spec.run_id in specs:
            specs[spec.run_id] = _merge(specs[spec.run_id], spec)
        else:
            specs[spec.run_id] = spec
    if not specs and not ignored:
        if factory_id is None:
            raise Unrecognized(_EXPECTED)
        specs["factory"] = _factory_spec(alert, factory_id, now, options)
    result = ParsedAlert(ignored=ignored)
    if alert.essentials.resolved:
        result.resolved = list(specs.values())
        result.resolved_time = alert.essentials.resolved_time or now
    else:
        result.incidents = list(specs.values())
    return result


def _alert_info(alert: AlertRows) -> AlertInfo:
    e = alert.essentials
    return AlertInfo(
        rule=e.rule, id=e.alert_id, severity=e.severity, fired_time=e.fired_time, signal_type=e.signal_type
    )


def _error_json(raw: Any) -> dict[str, Any]:
    """ADFActivityRun's Error column is a JSON string: {"errorCode", "message", "failureType", "target"}."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str) and raw.lstrip().startswith("{") and len(raw) < 1_000_000:
        try:
            return as_dict(json.loads(raw))
        except ValueError:
            return {}
    return {}


def _row_spec(
    row: dict[str, Any], alert: AlertRows, factory_id: str | None, now: datetime, options: ParseOptions
) -> IncidentSpec | None:
    metric = first_text(row, ("metricName",), 128)
    is_activity_metric = metric is not None and metric.lower().startswith("activity")
    pipeline = first_text(row, ("PipelineName", "pipeline_name", "Pipeline"), 260)
    if pipeline is None and not is_activity_metric:
        pipeline = first_text(row, ("Name",), 260)
    activity = first_text(row, ("ActivityName", "activity_name", "Activity"), 260)
    if activity is None and is_activity_metric:
        activity = first_text(row, ("Name",), 260)
    lowered = {k.lower(): v for k, v in row.items()}
    run_id = next(
        (rid for rid in (identifier(lowered.get(k.lower()), 256) for k in _RUN_ID_KEYS) if rid is not None), None
    )
    if pipeline is None and run_id is None and metric is None:
        return None
    error_obj = _error_json(lowered.get("error"))
    message = first_text(row, ("ErrorMessage", "error_message", "Message"), options.max_message_chars) or text(
        error_obj.get("message"), options.max_message_chars
    )
    if message is None and not error_obj:
        message = text(lowered.get("error"), options.max_message_chars)
    code = first_text(row, ("ErrorCode", "error_code"), 128) or text(error_obj.get("errorCode"), 128)
    failure_type = first_text(row, ("FailureType", "failure_type"), 64) or text(error_obj.get("failureType"), 64)
    activity = activity or text(error_obj.get("target"), 260)
    row_factory_id = first_text(row, ("_ResourceId", "ResourceId", "resourceId"), 1024)
    if row_factory_id is None or "/factories/" not in row_factory_id.lower():
        row_factory_id = factory_id
    factory = first_text(row, ("FactoryName", "DataFactoryName"), 128) or _bounded(
        arm_segment(row_factory_id, "factories"), 128
    )
    name = pipeline or factory or alert.essentials.rule or "unknown-pipeline"
    if message is None and metric is not None:
        value = text(row.get("metricValue"), 64)
        message = f"Azure Monitor metric {metric} = {value}" if value else f"Azure Monitor metric {metric} fired"
    origin = RunIdOrigin.ALERT
    if run_id is None:
        when = alert.essentials.fired_time or timestamp(lowered.get("timegenerated")) or now
        run_id = fingerprint_run_id(
            IncidentSource.AZURE_DATA_FACTORY, f"{factory}/{name}/{activity or ''}", code or failure_type,
            when, options.fingerprint_bucket_seconds,
        )
        origin = RunIdOrigin.FINGERPRINT
    return IncidentSpec(
        source=IncidentSource.AZURE_DATA_FACTORY,
        resource=FailedResource(
            kind=ResourceKind.PIPELINE if pipeline else ResourceKind.OTHER,
            name=name,
            factory=factory,
            resource_group=_bounded(arm_segment(row_factory_id, "resourceGroups"), 128),
            subscription_id=_bounded(arm_segment(row_factory_id, "subscriptions"), 64),
        ),
        run_id=run_id,
        run_id_origin=origin,
        run_url=_run_url(run_id, row_factory_id) if origin is RunIdOrigin.ALERT else None,
        alert=_alert_info(alert),
        error=ErrorDetail(code=code, message=message or "", failure_type=failure_type, activity=activity),
        received_time=now,
    )


def _factory_spec(alert: AlertRows, factory_id: str, now: datetime, options: ParseOptions) -> IncidentSpec:
    factory = arm_segment(factory_id, "factories") or "factory"
    when = alert.essentials.fired_time or now
    return IncidentSpec(
        source=IncidentSource.AZURE_DATA_FACTORY,
        resource=FailedResource(
            kind=ResourceKind.OTHER,
            name=_bounded(factory, 260) or "factory",
            factory=_bounded(factory, 128),
            resource_group=_bounded(arm_segment(factory_id, "resourceGroups"), 128),
            subscription_id=_bounded(arm_segment(factory_id, "subscriptions"), 64),
        ),
        run_id=fingerprint_run_id(
            IncidentSource.AZURE_DATA_FACTORY, factory, alert.essentials.rule, when, options.fingerprint_bucket_seconds
        ),
        run_id_origin=RunIdOrigin.FINGERPRINT,
        alert=_alert_info(alert),
        error=ErrorDetail(message=alert.essentials.description or f"Alert {alert.essentials.rule or ''} fired".strip()),
        received_time=now,
    )


def _merge(first: IncidentSpec, other: IncidentSpec) -> IncidentSpec:
    error = first.error
    updates = {
        k: getattr(other.error, k)
        for k in ("code", "failure_type", "activity")
        if getattr(error, k) is None and getattr(other.error, k) is not None
    }
    if not error.message and other.error.message:
        updates["message"] = other.error.message
    if not updates:
        return first
    return first.model_copy(update={"error": error.model_copy(update=updates)})


def _bounded(value: str | None, max_chars: int) -> str | None:
    return value[:max_chars] if value else None


def _run_url(run_id: str, factory_id: str | None) -> str | None:
    if not factory_id:
        return None
    url = (
        f"https://adf.azure.com/en/monitoring/pipelineruns/{quote(run_id, safe='')}"
        f"?factory={quote(factory_id, safe='')}"
    )
    return url if len(url) <= 1024 else None
