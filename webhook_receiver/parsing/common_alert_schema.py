"""Azure Monitor's common alert schema: the essentials, and the rows an alert is about.

Three alert-context shapes carry the rows:
- log search alerts V2 (`conditionType: LogQueryCriteria`): one row per
  `condition.allOf[]` entry, from its `dimensions` name/value pairs;
- log alerts V1 (Log Analytics): `SearchResults.tables[].columns/rows`, one row
  per result row;
- metric alerts (`SingleResourceMultipleMetricCriteria`, ...): one row per
  `condition.allOf[]` entry, its dimensions plus `metricName`/`metricValue`.
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


@dataclass(frozen=True)
class Essentials:
    """The fields every common-schema alert has."""

    alert_id: str | None
    rule: str | None
    severity: str | None
    signal_type: str | None
    monitor_condition: str | None
    monitoring_service: str | None
    fired_time: datetime | None
    resolved_time: datetime | None
    target_ids: list[str]
    configuration_items: list[str]
    description: str | None

    @property
    def resolved(self) -> bool:
        return (self.monitor_condition or "").lower() == "resolved"


@dataclass(frozen=True)
class AlertRows:
    """Essentials plus one name → value mapping per thing the alert is about."""

    essentials: Essentials
    kind: str
    """LogV2, LogV1, Metric or Other."""
    rows: list[dict[str, Any]] = field(default_factory=list)


def parse(payload: Any) -> AlertRows:
    """The essentials and rows of a common-schema alert; Unrecognized for anything else."""
    doc = as_dict(payload)
    data = as_dict(doc.get("data"))
    essentials_raw = as_dict(data.get("essentials"))
    if not essentials_raw or (doc.get("schemaId") not in (None, SCHEMA_ID)):
        raise Unrecognized(_EXPECTED)
    essentials = Essentials(
        alert_id=text(essentials_raw.get("alertId"), 512),
        rule=text(essentials_raw.get("alertRule"), 512),
        severity=text(essentials_raw.get("severity"), 32),
        signal_type=text(essentials_raw.get("signalType"), 64),
        monitor_condition=text(essentials_raw.get("monitorCondition"), 32),
        monitoring_service=text(essentials_raw.get("monitoringService"), 64),
        fired_time=timestamp(essentials_raw.get("firedDateTime")),
        resolved_time=timestamp(essentials_raw.get("resolvedDateTime")),
        target_ids=[t for t in (text(v, 1024) for v in as_list(essentials_raw.get("alertTargetIDs"))) if t],
        configuration_items=[
            c for c in (text(v, 260) for v in as_list(essentials_raw.get("configurationItems"))) if c
        ],
        description=text(essentials_raw.get("description"), 1024),
    )
    context = as_dict(data.get("alertContext"))
    search_results = as_dict(context.get("SearchResults"))
    if search_results:
        return AlertRows(essentials, "LogV1", _table_rows(search_results))
    condition = as_dict(context.get("condition"))
    criteria = [as_dict(c) for c in as_list(condition.get("allOf"))[:MAX_ROWS]]
    kind = "LogV2" if str(context.get("conditionType", "")) == "LogQueryCriteria" else "Metric"
    if not criteria:
        return AlertRows(essentials, "Other", [])
    return AlertRows(essentials, kind, [_criterion_row(c) for c in criteria])


def _criterion_row(criterion: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for dim in as_list(criterion.get("dimensions")):
        dim = as_dict(dim)
        name = scalar(dim.get("name"))
        if name is not None:
            row[name] = dim.get("value")
    for key in ("metricName", "metricValue", "metricNamespace", "linkToFilteredSearchResultsUI"):
        if key in criterion and key not in row:
            row[key] = criterion[key]
    return row


def _table_rows(search_results: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for table in as_list(search_results.get("tables")):
        table = as_dict(table)
        columns = as_list(table.get("columns"))
        names = [scalar(as_dict(col).get("name")) or f"column{i}" for i, col in enumerate(columns)]
        for values in as_list(table.get("rows")):
            if len(rows) >= MAX_ROWS:
                return rows
            values = as_list(values)
            rows.append(dict(zip(names, values, strict=False)))
    return rows


def arm_segment(resource_id: str | None, segment: str) -> str | None:
    """The value after `/<segment>/` in an Azure resource id (case-insensitive), e.g. resourceGroups."""
    if not resource_id:
        return None
    parts = resource_id.strip("/").split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == segment.lower():
            return parts[i + 1] or None
    return None
