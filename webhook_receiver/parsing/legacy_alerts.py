"""Azure Monitor alerts without the common schema, mapped onto the same essentials and rows.

Shapes (field names from "Noncommon alert schema definitions" and "Sample
payloads for log search alerts using webhook actions", learn.microsoft.com/azure/azure-monitor/alerts):
- log alerts V1 for Log Analytics: top-level `AlertRuleName`, `SearchResult`
  (or `SearchResults`) tables, `WorkspaceId`, `ResourceId`,
  `AffectedConfigurationItems`, `Dimensions`;
- the same for Application Insights, wrapped as
  `{"schemaId": "Microsoft.Insights/LogAlert", "data": {...}}`;
- metric alerts `{"schemaId": "AzureMonitorMetricAlert", "data": {"status", "context": {...}}}`;
- activity-log alerts `{"schemaId": "Microsoft.Insights/activityLogs", "data": {"context": {"activityLog": {...}}}}`;
- custom JSON payloads of log alerts: whatever the rule's author wrote, with the
  search results when it says `"IncludeSearchResults": true`, and the fields the
  receiver's custom-payload mapping points at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webhook_receiver.parsing.alerts import Unrecognized
from webhook_receiver.parsing.common_alert_schema import (
    ACTIVITY_LOG,
    AlertRows,
    Essentials,
    activity_summary,
    context_rows,
    data_source_ids,
    pairs,
    table_rows,
    texts,
)
from webhook_receiver.parsing.fields import as_dict, at_path, scalar, text, timestamp

CUSTOM_FIELDS = {
    "pipeline": "PipelineName",
    "runId": "RunId",
    "message": "ErrorMessage",
    "errorCode": "ErrorCode",
    "factoryResourceId": "_ResourceId",
    "activity": "ActivityName",
    "failureType": "FailureType",
    "status": "Status",
}
"""Custom-payload mapping keys that fill a row, and the ADF column each stands for."""
CUSTOM_ALERT_FIELDS = ("alertRule", "severity", "firedTime")
"""Custom-payload mapping keys that fill the essentials."""
_ROW_COLUMNS = frozenset({"pipelinename", "pipelinerunid", "runid", "clusterid", "clustername", "terminationcode",
                          "requestparams"})
"""Column names that make a custom payload's top level a row of its own."""
_RULE_KEYS = ("AlertRuleName", "alertRuleName", "alertname", "alertName", "alertRule", "rule")
_EXPECTED = (
    "expected an Azure Monitor alert: the common alert schema, a log alert without it (AlertRuleName, "
    "SearchResult/SearchResults), a metric or activity-log alert, or a custom JSON payload with "
    '"IncludeSearchResults": true; for any other custom payload set AIOPS_RCA_RECEIVER_CUSTOM_PAYLOAD_FIELDS '
    "to say where it keeps pipeline, runId, message, errorCode and factoryResourceId"
)


def parse(doc: dict[str, Any], mapping: Mapping[str, str]) -> AlertRows:
    """The essentials and rows of a non-common-schema alert; Unrecognized when it is none we know."""
    schema = str(doc.get("schemaId") or "")
    if schema == "AzureMonitorMetricAlert":
        return _metric(as_dict(doc.get("data")))
    if schema == "Microsoft.Insights/activityLogs":
        data = as_dict(doc.get("data"))
        log = as_dict(as_dict(data.get("context")).get("activityLog"))
        essentials = Essentials(signal_type="Activity Log", monitor_condition=text(data.get("status"), 32))
        return AlertRows(essentials, ACTIVITY_LOG, summary=activity_summary(log))
    if schema == "Microsoft.Insights/LogAlert":
        doc = as_dict(doc.get("data"))
    if "AlertRuleName" in doc and "SearchQuery" in doc:
        return _log_v1(doc)
    return _custom(doc, mapping)


def _metric(data: dict[str, Any]) -> AlertRows:
    context = as_dict(data.get("context"))
    status = (text(data.get("status"), 32) or "").lower()
    essentials = Essentials(
        alert_id=text(context.get("id"), 512),
        rule=text(context.get("name"), 512),
        severity=text(context.get("severity"), 32),
        signal_type="Metric",
        monitor_condition="Resolved" if status in ("resolved", "deactivated") else "Fired",
        monitoring_service="Platform",
        fired_time=timestamp(context.get("timestamp")),
        resolved_time=timestamp(context.get("timestamp")) if status in ("resolved", "deactivated") else None,
        target_ids=texts([context.get("resourceId")], 1024),
        configuration_items=texts([context.get("resourceName")], 1024),
        description=text(context.get("description"), 1024),
    )
    return context_rows(essentials, context)


def _log_v1(doc: dict[str, Any]) -> AlertRows:
    results = as_dict(doc.get("SearchResult")) or as_dict(doc.get("SearchResults"))
    essentials = Essentials(
        rule=_rule(doc),
        severity=text(doc.get("Severity"), 32),
        signal_type="Log",
        monitor_condition="Fired",
        monitoring_service="Application Insights" if doc.get("ApplicationId") else "Log Analytics",
        fired_time=timestamp(doc.get("SearchIntervalEndtimeUtc")),
        target_ids=data_source_ids(results) + texts([doc.get("ResourceId")], 1024),
        configuration_items=texts(doc.get("AffectedConfigurationItems"), 1024),
        description=text(doc.get("Description"), 1024),
    )
    rows = table_rows(results) or ([pairs(doc.get("Dimensions"))] if pairs(doc.get("Dimensions")) else [])
    return AlertRows(essentials, "LogV1", rows)


def _rule(doc: dict[str, Any]) -> str | None:
    return next((r for r in (text(doc.get(k), 512) for k in _RULE_KEYS) if r), None)


def _custom(doc: dict[str, Any], mapping: Mapping[str, str]) -> AlertRows:
    results = as_dict(doc.get("SearchResults")) or as_dict(doc.get("SearchResult"))
    found = {key: at_path(doc, path) for key, path in mapping.items()}
    found = {key: value for key, value in found.items() if scalar(value) is not None}
    essentials = Essentials(
        rule=text(found.get("alertRule"), 512) or _rule(doc),
        severity=text(found.get("severity"), 32) or text(doc.get("Severity") or doc.get("severity"), 32),
        signal_type="Log",
        monitor_condition="Fired",
        monitoring_service="Custom payload",
        fired_time=timestamp(found.get("firedTime")),
        target_ids=data_source_ids(results) + texts([found.get("factoryResourceId")], 1024),
        configuration_items=texts(doc.get("AffectedConfigurationItems"), 1024),
    )
    mapped = {column: found[key] for key, column in CUSTOM_FIELDS.items() if key in found}
    table = table_rows(results)
    if table or "pipeline" in found or "runId" in found:
        return AlertRows(essentials, "Custom", [{**row, **mapped} for row in table] or [mapped])
    if not mapping and {str(k).lower() for k in doc} & _ROW_COLUMNS:
        # A custom payload that names its fields like the tables' columns is its own row.
        return AlertRows(essentials, "Custom", [doc])
    raise Unrecognized(_missing(mapping, found) if mapping else _EXPECTED)


def _missing(mapping: Mapping[str, str], found: Mapping[str, Any]) -> str:
    missing = [f"{key} ({path})" for key, path in mapping.items() if key not in found]
    matched = sorted(found) or ["nothing"]
    return (
        "custom alert payload: AIOPS_RCA_RECEIVER_CUSTOM_PAYLOAD_FIELDS points at fields this payload "
        f"lacks: {', '.join(missing)}; matched {', '.join(matched)}"
    )
