"""Every Azure Monitor alert (POST /azure-monitor and /azure-monitor-alert): shape → rows → Incidents.

1. The payload is read into essentials and rows, whatever its shape: the common
   alert schema, the older non-common schemas, or a custom JSON payload.
2. Activity-log alerts (administrative changes, policy, autoscale, security,
   recommendations, service and resource health) are answered as informational:
   they never open a failure Incident.
3. Each row is a Databricks cluster or job row, an ADF row, or neither. A row
   whose run did not fail (Status Succeeded, a healthy cluster action, a benign
   termination) is recorded as ignored with its reason.
4. `Resolved` alerts never create: the Incidents they name get
   `status.signals.alertResolvedTime`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiops_operator.api import IncidentSpec

from webhook_receiver.parsing import azure_monitor, cluster_logs, common_alert_schema, legacy_alerts
from webhook_receiver.parsing.alerts import ParsedAlert, ParseOptions, Unrecognized
from webhook_receiver.parsing.common_alert_schema import ACTIVITY_LOG, AlertRows
from webhook_receiver.parsing.fields import as_dict


def read(payload: Any, options: ParseOptions) -> AlertRows:
    doc = as_dict(payload)
    if common_alert_schema.is_common_schema(doc):
        return common_alert_schema.parse(doc)
    return legacy_alerts.parse(doc, options.custom_payload_fields)


def parse(payload: Any, now: datetime, options: ParseOptions) -> ParsedAlert:
    """Incidents (or resolved signals, or reasons for ignoring it) for one Azure Monitor alert."""
    alert = read(payload, options)
    if alert.kind == ACTIVITY_LOG:
        return ParsedAlert(ignored=[f"{alert.summary}: an activity-log event, not a failed run; no Incident opened"])
    specs: dict[tuple[str, str], IncidentSpec] = {}
    ignored: list[str] = []
    for row in alert.rows:
        outcome = _row(row, alert, now, options)
        if isinstance(outcome, str):
            ignored.append(outcome)
        elif outcome is not None:
            key = (outcome.source.value, outcome.run_id)
            specs[key] = azure_monitor.merge(specs[key], outcome) if key in specs else outcome
    if not specs and not ignored:
        return _no_failed_rows(alert, now, options)
    return _result(alert, list(specs.values()), ignored, now)


def _row(row: dict[str, Any], alert: AlertRows, now: datetime, options: ParseOptions) -> cluster_logs.RowOutcome:
    databricks = cluster_logs.row_outcome(row, alert, now, options)
    if databricks is not None:
        return databricks
    adf = azure_monitor.read_row(row, options.max_message_chars)
    if not azure_monitor.is_adf_row(adf):
        metric = adf.get("metric")
        return f"metric {metric} is not an ADF failure metric" if metric else None
    status = azure_monitor.status_of(row)
    if status is not None and status.lower() in azure_monitor.NOT_FAILED:
        return f"a run with status {status} is not a failure"
    return azure_monitor.row_spec(row, alert, now, options)


def _no_failed_rows(alert: AlertRows, now: datetime, options: ParseOptions) -> ParsedAlert:
    """An alert no row of which names a run: a factory-level metric alert, an unrelated alert, or a wrong query."""
    e = alert.essentials
    factory_id = next((t for t in [*e.target_ids, *e.configuration_items]
                       if azure_monitor.FACTORY_PATH in t.lower()), None)
    if factory_id is not None:
        return _result(alert, [azure_monitor.factory_spec(alert, factory_id, now, options)], [], now)
    if alert.kind == "Metric":
        target = e.target_ids[0] if e.target_ids else "its target"
        return ParsedAlert(ignored=[f"metric alert {e.rule or ''} on {target[:300]} is not about ADF or Databricks"])
    raise Unrecognized(f"{azure_monitor.EXPECTED}; or {cluster_logs.EXPECTED}")


def _result(alert: AlertRows, specs: list[IncidentSpec], ignored: list[str], now: datetime) -> ParsedAlert:
    if alert.essentials.resolved:
        return ParsedAlert(resolved=specs, resolved_time=alert.essentials.resolved_time or now, ignored=ignored)
    return ParsedAlert(incidents=specs, ignored=ignored)
