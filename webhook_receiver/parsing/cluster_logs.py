"""Databricks cluster terminations from Azure Monitor log-search alerts (POST /azure-monitor-alert).

The alert's query over the Databricks cluster logs projects ClusterId,
ClusterName, TerminationCode, State and a time. Each failing row is one
Incident whose run id is `<clusterId>_<terminationCode>_<eventTimestamp>`, so
the same termination re-alerted every few minutes stays one Incident. Benign
codes (INACTIVITY, USER_REQUEST, SUCCESS, JOB_FINISHED by default) create nothing.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

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
from webhook_receiver.parsing.fields import as_dict, first_text, identifier, timestamp

_EXPECTED = (
    "expected an Azure Monitor log-search alert over Databricks cluster logs whose rows or dimensions "
    "carry ClusterId (or ClusterName), TerminationCode and a time (TimeGenerated/Timestamp)"
)
_TIME_KEYS = ("EventTimestamp", "EventTime", "Timestamp", "TimeGenerated", "time")
_HEALTHY_STATES = frozenset({"RUNNING", "PENDING", "RESTARTING", "RESIZING", "STARTING"})


def parse(payload: Any, now: datetime, options: ParseOptions) -> ParsedAlert:
    """One Incident (or resolved signal) per failing cluster row of the alert."""
    alert = common_alert_schema.parse(payload)
    specs: dict[str, IncidentSpec] = {}
    ignored: list[str] = []
    recognised = False
    for row in alert.rows:
        row = _with_request_params(row)
        cluster_id = first_text(row, ("ClusterId", "cluster_id", "clusterId"), 128)
        cluster_name = first_text(row, ("ClusterName", "cluster_name", "clusterName"), 260)
        if cluster_id is None and cluster_name is None:
            continue
        recognised = True
        code = first_text(row, ("TerminationCode", "termination_code", "TerminationReason", "reason"), 128)
        state = first_text(row, ("State", "state", "ClusterState"), 64)
        code = code.upper() if code else None
        if code is None and state is not None and state.upper() in _HEALTHY_STATES:
            ignored.append(f"cluster {cluster_name or cluster_id} is {state}, not terminated")
            continue
        if code is not None and code in options.benign_termination_codes:
            ignored.append(f"termination code {code} of cluster {cluster_name or cluster_id} is benign")
            continue
        code = code or (state.upper() if state else "UNKNOWN")
        lowered = {k.lower(): v for k, v in row.items()}
        raw_time = next((lowered[k.lower()] for k in _TIME_KEYS if lowered.get(k.lower()) not in (None, "")), None)
        event_time = timestamp(raw_time)
        message = first_text(
            row, ("TerminationMessage", "Message", "ErrorMessage", "StateMessage", "termination_parameters"),
            options.max_message_chars,
        )
        name = cluster_name or cluster_id or "cluster"
        if cluster_id is not None and raw_time is not None:
            stamp = str(int(event_time.timestamp() * 1000)) if event_time else str(identifier(raw_time, 64))
            run_id, origin = identifier(f"{cluster_id}_{code}_{stamp}", 256) or cluster_id, RunIdOrigin.ALERT
        else:
            run_id = fingerprint_run_id(
                IncidentSource.DATABRICKS_CLUSTER, cluster_id or name, code,
                event_time or alert.essentials.fired_time or now, options.fingerprint_bucket_seconds,
            )
            origin = RunIdOrigin.FINGERPRINT
        workspace_id = first_text(row, ("WorkspaceId", "workspace_id"), 64)
        specs.setdefault(run_id, IncidentSpec(
            source=IncidentSource.DATABRICKS_CLUSTER,
            resource=FailedResource(
                kind=ResourceKind.CLUSTER,
                name=name,
                id=cluster_id,
                workspace_url=first_text(row, ("WorkspaceUrl", "workspace_url"), 512),
                workspace_id=workspace_id,
                resource_group=_rg(alert),
                subscription_id=_sub(alert),
            ),
            run_id=run_id,
            run_id_origin=origin,
            alert=AlertInfo(
                rule=alert.essentials.rule, id=alert.essentials.alert_id, severity=alert.essentials.severity,
                fired_time=alert.essentials.fired_time, signal_type=alert.essentials.signal_type,
            ),
            error=ErrorDetail(
                code=code,
                message=message or f"Cluster {name} terminated: {code}" + (f" (state {state})" if state else ""),
            ),
            received_time=now,
        ))
    if not recognised:
        raise Unrecognized(_EXPECTED)
    result = ParsedAlert(ignored=ignored)
    if alert.essentials.resolved:
        result.resolved = list(specs.values())
        result.resolved_time = alert.essentials.resolved_time or now
    else:
        result.incidents = list(specs.values())
    return result


def _with_request_params(row: dict[str, Any]) -> dict[str, Any]:
    """DatabricksClusters diagnostic rows keep cluster fields in the RequestParams JSON column."""
    raw = row.get("RequestParams")
    if not isinstance(raw, str) or len(raw) > 100_000:
        return row
    try:
        params = as_dict(json.loads(raw))
    except ValueError:
        return row
    return {**{k: v for k, v in params.items() if isinstance(k, str)}, **row}


def _rg(alert: common_alert_schema.AlertRows) -> str | None:
    found = next((common_alert_schema.arm_segment(t, "resourceGroups") for t in alert.essentials.target_ids), None)
    return found[:128] if found else None


def _sub(alert: common_alert_schema.AlertRows) -> str | None:
    found = next((common_alert_schema.arm_segment(t, "subscriptions") for t in alert.essentials.target_ids), None)
    return found[:64] if found else None
