"""Databricks failures in Azure Monitor alert rows: cluster terminations and failed job runs.

Rows come from log-search alerts over the Databricks diagnostic tables
(DatabricksClusters, DatabricksJobs: ActionName, OperationName, RequestParams,
Response, `_ResourceId`, "Azure Monitor Logs reference") or from queries that
project ClusterId, ClusterName, TerminationCode, State and a time. RequestParams
and Response are JSON-encoded strings, sometimes encoded twice (Response.result
is itself JSON): every field is looked up in the row and in everything nested in
it, decoded. A termination is one Incident whose run id is
`<clusterId>_<terminationCode>_<eventTimestamp>`, so the same termination
re-alerted stays one Incident; benign codes (INACTIVITY, USER_REQUEST, SUCCESS,
JOB_FINISHED by default) and healthy actions create nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiops_operator.api import ErrorDetail, FailedResource, IncidentSource, IncidentSpec, ResourceKind, RunIdOrigin

from webhook_receiver.parsing.alerts import ParseOptions, fingerprint_run_id
from webhook_receiver.parsing.azure_monitor import alert_info, bounded
from webhook_receiver.parsing.common_alert_schema import AlertRows, arm_segment
from webhook_receiver.parsing.fields import deep_index, first_found, identifier, text, timestamp

EXPECTED = (
    "expected an Azure Monitor log-search alert over Databricks cluster logs whose rows or dimensions "
    "carry ClusterId (or ClusterName), TerminationCode and a time (TimeGenerated/Timestamp), or "
    "DatabricksClusters/DatabricksJobs rows (ActionName, RequestParams, Response)"
)
_CLUSTER_ID = ("clusterid", "cluster_id")
_CLUSTER_NAME = ("clustername", "cluster_name")
_CODE = ("terminationcode", "termination_code", "terminationreasoncode", "reasoncode", "terminationreason", "reason",
         "code")
_MESSAGE = ("terminationmessage", "databricks_error_message", "azure_error_message", "errormessage", "error_message",
            "statemessage", "state_message", "message", "termination_parameters")
_TIME = ("eventtimestamp", "eventtime", "timestamp", "timegenerated", "time")
_HEALTHY_STATES = frozenset({"RUNNING", "PENDING", "RESTARTING", "RESIZING", "STARTING"})
_JOB_FAILURES = {"runfailed": "FAILED", "runtimedout": "TIMEDOUT", "runfailure": "FAILED"}
RowOutcome = IncidentSpec | str | None
"""A failure, the reason a row is not one, or None when the row is not about Databricks."""


def row_outcome(row: dict[str, Any], alert: AlertRows, now: datetime, options: ParseOptions) -> RowOutcome:
    index = deep_index(row)
    table = (first_found(index, ("type", "category", "servicename"), 64) or "").lower()
    if table in ("databricksjobs", "jobs") or (not _cluster_ref(index) and "jobid" in index and "actionname" in index):
        return _job_row(index, alert, now, options)
    if _cluster_ref(index) or table in ("databricksclusters", "clusters"):
        return _cluster_row(index, alert, now, options)
    return None


def _cluster_ref(index: dict[str, Any]) -> bool:
    return first_found(index, _CLUSTER_ID + _CLUSTER_NAME, 260) is not None


def _http_status(index: dict[str, Any]) -> int:
    raw = text(index.get("statuscode"), 8) or "0"
    return int(raw) if raw.isdigit() else 0


def _cluster_row(index: dict[str, Any], alert: AlertRows, now: datetime, options: ParseOptions) -> RowOutcome:
    cluster_id = bounded(first_found(index, _CLUSTER_ID, 128), 128)
    name = first_found(index, _CLUSTER_NAME, 260) or cluster_id or "cluster"
    code = (first_found(index, _CODE, 128) or "").upper() or None
    state = (first_found(index, ("state", "clusterstate"), 64) or "").upper() or None
    action = first_found(index, ("actionname",), 64)
    status = _http_status(index)
    if code is None and status >= 400:
        code = (first_found(index, ("errorcode", "error_code"), 128) or f"HTTP_{status}").upper()
    if code is None and (state in _HEALTHY_STATES or (action and state is None)):
        return f"cluster {name}: {action or state} is not a termination"
    if code is not None and code in options.benign_termination_codes:
        return f"termination code {code} of cluster {name} is benign"
    code = code or state or "UNKNOWN"
    message = first_found(index, _MESSAGE, options.max_message_chars) or (
        f"Cluster {name} terminated: {code}" + (f" (state {state})" if state else ""))
    cloud_code = first_found(index, ("azure_error_code", "aws_error_code", "gcp_error_code"), 128)
    if cloud_code and cloud_code not in message:
        message = f"{message} ({cloud_code})"[: options.max_message_chars]
    run_id, origin = _termination_run_id(index, cluster_id, name, code, alert, now, options)
    workspace_id = _workspace_resource(index, alert)
    return IncidentSpec(
        source=IncidentSource.DATABRICKS_CLUSTER,
        resource=FailedResource(
            kind=ResourceKind.CLUSTER, name=name, id=cluster_id,
            workspace_url=first_found(index, ("workspaceurl", "workspace_url"), 512),
            workspace_id=first_found(index, ("workspaceid", "workspace_id", "orgid"), 64),
            resource_group=bounded(arm_segment(workspace_id, "resourceGroups"), 128),
            subscription_id=bounded(arm_segment(workspace_id, "subscriptions"), 64),
        ),
        run_id=run_id,
        run_id_origin=origin,
        alert=alert_info(alert.essentials),
        error=ErrorDetail(code=code, message=message),
        received_time=now,
    )


def _termination_run_id(index: dict[str, Any], cluster_id: str | None, name: str, code: str, alert: AlertRows,
                        now: datetime, options: ParseOptions) -> tuple[str, RunIdOrigin]:
    raw_time = next((index[k] for k in _TIME if index.get(k) not in (None, "")), None)
    event_time = timestamp(raw_time)
    if cluster_id is not None and raw_time is not None:
        stamp = str(int(event_time.timestamp() * 1000)) if event_time else str(identifier(raw_time, 64))
        return identifier(f"{cluster_id}_{code}_{stamp}", 256) or cluster_id, RunIdOrigin.ALERT
    when = event_time or alert.essentials.fired_time or now
    run_id = fingerprint_run_id(IncidentSource.DATABRICKS_CLUSTER, cluster_id or name, code, when,
                                options.fingerprint_bucket_seconds)
    return run_id, RunIdOrigin.FINGERPRINT


def _workspace_resource(index: dict[str, Any], alert: AlertRows) -> str | None:
    """The Databricks workspace's ARM id: the row's `_ResourceId`, else an alert target naming one."""
    candidates = [text(index.get("_resourceid"), 1024) or text(index.get("resourceid"), 1024) or "",
                  *alert.essentials.configuration_items, *alert.essentials.target_ids]
    found = next((c for c in candidates if "/subscriptions/" in c.lower() and "/resourcegroups/" in c.lower()), None)
    return found


def _job_row(index: dict[str, Any], alert: AlertRows, now: datetime, options: ParseOptions) -> RowOutcome:
    action = (first_found(index, ("actionname",), 64) or "").lower()
    job_id = identifier(index.get("jobid") or index.get("job_id"), 128)
    code = _JOB_FAILURES.get(action)
    if code is None and _http_status(index) < 400:
        return f"Databricks job {job_id or '?'}: {action or 'an action'} is not a failed run"
    code = (first_found(index, ("resultstate", "result_state", "terminationcode", "errorcode"), 128)
            or code or "FAILED").upper()
    name = first_found(index, ("jobname", "job_name", "runname", "run_name"), 260) or f"job-{job_id or 'unknown'}"
    run_id = identifier(index.get("multitaskparentrunid") or index.get("parentrunid") or index.get("runid")
                        or index.get("run_id"), 256)
    origin = RunIdOrigin.ALERT
    if run_id is None:
        run_id = fingerprint_run_id(IncidentSource.DATABRICKS_JOB, job_id or name, code,
                                    alert.essentials.fired_time or now, options.fingerprint_bucket_seconds)
        origin = RunIdOrigin.FINGERPRINT
    task = first_found(index, ("taskkey", "task_key"), 260)
    message = first_found(index, ("errormessage", "error_message", "statemessage", "state_message", "message"),
                          options.max_message_chars) or f"Run of {name} reported {code} with no message"
    workspace = _workspace_resource(index, alert)
    return IncidentSpec(
        source=IncidentSource.DATABRICKS_JOB,
        resource=FailedResource(
            kind=ResourceKind.JOB, name=name, id=job_id,
            workspace_id=first_found(index, ("workspaceid", "workspace_id", "orgid"), 64),
            resource_group=bounded(arm_segment(workspace, "resourceGroups"), 128),
            subscription_id=bounded(arm_segment(workspace, "subscriptions"), 64),
        ),
        run_id=run_id,
        run_id_origin=origin,
        alert=alert_info(alert.essentials),
        error=ErrorDetail(code=code, message=(f"[Task: {task}] {message}" if task else message)[:4096],
                          activity=task),
        received_time=now,
    )
