"""Azure Monitor's common alert schema: the essentials, and the rows an alert is about.

Alert-context shapes that carry rows (field names from "Common alert schema"
and "Sample payloads for log search alerts", learn.microsoft.com/azure/azure-monitor/alerts):
- log search alerts V2 (`conditionType: LogQueryCriteria`): one row per
  `condition.allOf[]` entry, from its `dimensions` name/value pairs (Simple Log
  Alerts: its `event` name/value lists);
- log alerts V1 (monitoringService Log Analytics / Application Insights):
  `SearchResults.tables[].columns/rows`, one row per result row; without
  embedded results (`IncludedSearchResults` false, or over 256 KB) the
  `Dimensions` pairs are the one row;
- metric alerts (static, dynamic, multi-resource criteria): one row per
  `condition.allOf[]` entry, its dimensions plus `metricName`/`metricValue`;
- activity-log alerts (Administrative, Policy, Autoscale, Security,
  Recommendation, ServiceHealth, ResourceHealth): no rows, a one-line summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from webhook_receiver.parsing.alerts import Unrecognized
from webhook_receiver.parsing.fields import as_dict, as_list, scalar, text, timestamp

SCHEMA_ID = "azureMonitorCommonAlertSchema"
_EXPECTED = (
    'expected the Azure Monitor common alert schema: {"schemaId": "azureMonitorCommonAlertSchema", '
    '"data": {"essentials": {...}, "alertContext": {...}}} (enable the common alert schema on the action group)'
)
MAX_ROWS = 500
"""Rows read from one alert; Azure caps the payload at 256 KB anyway."""
ACTIVITY_LOG = "ActivityLog"
_ACTIVITY_SERVICES = ("activity log", "servicehealth", "service health", "resourcehealth", "resource health")


@dataclass(frozen=True)
class Essentials:
    """The fields every alert has (legacy shapes are mapped onto them)."""

    alert_id: str | None = None
    rule: str | None = None
    severity: str | None = None
    signal_type: str | None = None
    monitor_condition: str | None = None
    monitoring_service: str | None = None
    fired_time: datetime | None = None
    resolved_time: datetime | None = None
    target_ids: list[str] = field(default_factory=list)
    """alertTargetIDs, then any other resource id the alert names (dataSources, ResourceId)."""
    configuration_items: list[str] = field(default_factory=list)
    description: str | None = None

    @property
    def resolved(self) -> bool:
        return (self.monitor_condition or "").lower() in ("resolved", "deactivated")


@dataclass(frozen=True)
class AlertRows:
    """Essentials plus one name → value mapping per thing the alert is about."""

    essentials: Essentials
    kind: str
    """LogV2, LogV1, Metric, ActivityLog, Custom or Other."""
    rows: list[dict[str, Any]] = field(default_factory=list)
    summary: str | None = None
    """For activity-log alerts: what happened, in one line."""


def is_common_schema(doc: dict[str, Any]) -> bool:
    return bool(as_dict(as_dict(doc.get("data")).get("essentials"))) and doc.get("schemaId") in (None, SCHEMA_ID)


def texts(values: Any, max_chars: int) -> list[str]:
    return [t for t in (text(v, max_chars) for v in as_list(values)) if t]


def parse(payload: Any) -> AlertRows:
    """The essentials and rows of a common-schema alert; Unrecognized for anything else."""
    doc = as_dict(payload)
    if not is_common_schema(doc):
        raise Unrecognized(_EXPECTED)
    data = as_dict(doc.get("data"))
    raw = as_dict(data.get("essentials"))
    context = as_dict(data.get("alertContext"))
    essentials = Essentials(
        alert_id=text(raw.get("alertId"), 512),
        rule=text(raw.get("alertRule"), 512),
        severity=text(raw.get("severity"), 32),
        signal_type=text(raw.get("signalType"), 64),
        monitor_condition=text(raw.get("monitorCondition"), 32),
        monitoring_service=text(raw.get("monitoringService"), 64),
        fired_time=timestamp(raw.get("firedDateTime")),
        resolved_time=timestamp(raw.get("resolvedDateTime")),
        target_ids=texts(raw.get("alertTargetIDs"), 1024) + data_source_ids(context.get("SearchResults")),
        # Log alerts V1 also list the resources in the context's AffectedConfigurationItems.
        configuration_items=texts(raw.get("configurationItems"), 1024)
        + texts(context.get("AffectedConfigurationItems"), 1024),
        description=text(raw.get("description"), 1024),
    )
    return context_rows(essentials, context)


def context_rows(essentials: Essentials, context: dict[str, Any]) -> AlertRows:
    """The rows of an alert context, whichever alert type it comes from."""
    if _is_activity_log(essentials, context):
        return AlertRows(essentials, ACTIVITY_LOG, summary=activity_summary(context))
    search_results = as_dict(context.get("SearchResults")) or as_dict(context.get("SearchResult"))
    if as_list(search_results.get("tables")):
        return AlertRows(essentials, "LogV1", table_rows(search_results))
    dimensions = pairs(context.get("Dimensions"))
    if dimensions or "SearchQuery" in context:
        return AlertRows(essentials, "LogV1", [dimensions] if dimensions else [])
    condition = as_dict(context.get("condition"))
    criteria = [as_dict(c) for c in as_list(condition.get("allOf"))[:MAX_ROWS]]
    kind = "LogV2" if str(context.get("conditionType", "")) == "LogQueryCriteria" else "Metric"
    if not criteria:
        return AlertRows(essentials, "Other", [])
    return AlertRows(essentials, kind, [row for c in criteria for row in _criterion_rows(c)][:MAX_ROWS])


def _is_activity_log(essentials: Essentials, context: dict[str, Any]) -> bool:
    signal = (essentials.signal_type or "").lower().replace(" ", "")
    service = (essentials.monitoring_service or "").lower()
    return signal == "activitylog" or service.startswith(_ACTIVITY_SERVICES) or "eventSource" in context


def activity_summary(context: dict[str, Any]) -> str:
    """`<eventSource> <operationName> (status, level): title` from an activity-log alert context."""
    properties = as_dict(context.get("properties"))
    source = text(context.get("eventSource"), 64) or "activity log"
    operation = text(context.get("operationName"), 256) or "an operation"
    status = text(context.get("status"), 64) or "unknown status"
    level = text(context.get("level"), 32) or "unknown level"
    title = text(properties.get("title"), 256) or text(properties.get("description"), 256)
    return f"{source} event {operation} ({status}, {level})" + (f": {title}" if title else "")


def pairs(values: Any) -> dict[str, Any]:
    """`[{"name": n, "value": v}, ...]` as a mapping."""
    row: dict[str, Any] = {}
    for pair in as_list(values)[:MAX_ROWS]:
        pair = as_dict(pair)
        name = scalar(pair.get("name"))
        if name is not None:
            row[name] = pair.get("value")
    return row


def _criterion_rows(criterion: dict[str, Any]) -> list[dict[str, Any]]:
    base = pairs(criterion.get("dimensions"))
    for key in ("metricName", "metricValue", "metricNamespace", "linkToFilteredSearchResultsUI"):
        if key in criterion and key not in base:
            base[key] = criterion[key]
    events = [pairs(e) for e in as_list(criterion.get("event"))]
    return [{**base, **e} for e in events if e] or [base]


def table_rows(search_results: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for table in as_list(search_results.get("tables")):
        table = as_dict(table)
        columns = as_list(table.get("columns"))
        names = [scalar(as_dict(col).get("name")) or f"column{i}" for i, col in enumerate(columns)]
        for values in as_list(table.get("rows")):
            if len(rows) >= MAX_ROWS:
                return rows
            rows.append(dict(zip(names, as_list(values), strict=False)))
    return rows


def data_source_ids(search_results: Any) -> list[str]:
    """`SearchResults.dataSources[].resourceId`: the workspace or resource the query ran on."""
    sources = as_list(as_dict(search_results).get("dataSources"))
    return [t for t in (text(as_dict(s).get("resourceId"), 1024) for s in sources[:20]) if t]


def arm_segment(resource_id: str | None, segment: str) -> str | None:
    """The value after `/<segment>/` in an Azure resource id (case-insensitive), e.g. resourceGroups."""
    if not resource_id:
        return None
    parts = resource_id.strip("/").split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == segment.lower():
            return parts[i + 1] or None
    return None
