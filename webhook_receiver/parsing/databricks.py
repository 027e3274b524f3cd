"""Databricks job notification webhooks (POST /databricks-monitor).

Shapes:
- the generic webhook of notification destinations ("Job notifications",
  docs.databricks.com/aws/en/jobs/notifications): `{"event_type": "jobs.on_failure",
  "workspace_id": ..., "run": {"run_id": ...}, "job": {"job_id": ..., "name": ...}}`.
  Only on_failure is a failure; on_start, on_success, and the warnings
  on_duration_warning_threshold_exceeded and on_streaming_backlog_exceeded are
  answered 200 with what was done (nothing opened: a warning is no failed run);
- a Jobs API `runs/get` body forwarded as is (`run_id`, `state`/`status`,
  `tasks[]`): a failure when its result state or termination code says so;
- a cluster event from the Clusters API `events` list (`cluster_id`, `type`,
  `details.reason.code`): a failure for TERMINATING / TERMINATED with a
  non-benign reason;
- the older `{"event": "job.run.failed", "job": {...}, "run": {...}}` shape, with
  task, cluster and library events (`task.failed`, `cluster.terminated`,
  `library.install.failed`).
"""

from __future__ import annotations

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

from webhook_receiver.parsing.alerts import ParsedAlert, ParseOptions, Unrecognized, fingerprint_run_id
from webhook_receiver.parsing.fields import as_dict, as_list, first_text, identifier, text, timestamp

_EXPECTED = (
    'expected a Databricks job notification: {"event_type": "jobs.on_failure", "run": {"run_id": ...}, '
    '"job": {"job_id": ..., "name": ...}, "workspace_id": ...} or {"event": "job.run.failed", "job": {...}, '
    '"run": {...}}'
)
_FAILURE_EVENTS = {"jobs.on_failure": "FAILED"}
_NOT_FAILURES = {
    "jobs.on_start": "a run started",
    "jobs.on_success": "a run succeeded",
    "jobs.on_duration_warning_threshold_exceeded": "a warning: the run is still going past its duration threshold",
    "jobs.on_streaming_backlog_exceeded": "a warning: a streaming backlog exceeded its threshold",
    "jobs.on_maintenance_start": "maintenance started",
    "jobs.on_maintenance_end": "maintenance ended",
}
_FAILURE_VERBS = {"failed": "FAILED", "timedout": "TIMEDOUT", "timed_out": "TIMEDOUT", "error": "FAILED",
                  "errored": "FAILED", "terminated": "TERMINATED"}
_BENIGN_VERBS = frozenset({"started", "succeeded", "success", "running", "created", "skipped", "pending", "queued"})
_FAILED_RESULT_STATES = frozenset({"FAILED", "TIMEDOUT", "INTERNAL_ERROR", "MAXIMUM_CONCURRENT_RUNS_REACHED",
                                   "UPSTREAM_FAILED", "UPSTREAM_CANCELED", "EXCLUDED", "CANCELED"})
_RUN_NOT_FAILED = frozenset({"SUCCESS", "SUCCESS_WITH_FAILURES", "SKIPPED"})
_CLUSTER_EVENT_FAILURES = frozenset({"TERMINATING", "TERMINATED", "DRIVER_NOT_RESPONDING", "DRIVER_UNAVAILABLE",
                                     "NODES_LOST", "INIT_SCRIPTS_FINISHED_WITH_ERRORS"})


def parse(payload: Any, now: datetime, options: ParseOptions) -> ParsedAlert:
    doc = as_dict(payload)
    event_type = text(doc.get("event_type"), 128)
    if event_type is not None:
        return _generic(doc, event_type.lower(), now, options)
    event = text(doc.get("event"), 128)
    if event is not None:
        return _legacy(doc, event.lower(), now, options)
    if "run_id" in doc and (as_dict(doc.get("state")) or as_dict(doc.get("status"))):
        return _runs_get(doc, now, options)
    if "cluster_id" in doc and "type" in doc:
        return _cluster_event(doc, now, options)
    raise Unrecognized(_EXPECTED)


def _generic(doc: dict[str, Any], event_type: str, now: datetime, options: ParseOptions) -> ParsedAlert:
    if event_type in _NOT_FAILURES:
        job = text(as_dict(doc.get("job")).get("name"), 260) or "a job"
        return ParsedAlert(ignored=[f"{event_type} for {job}: {_NOT_FAILURES[event_type]}; no Incident opened"])
    code = _FAILURE_EVENTS.get(event_type)
    if code is None:
        if event_type.startswith("jobs."):
            return ParsedAlert(ignored=[f"{event_type} is not an event the receiver acts on"])
        raise Unrecognized(_EXPECTED)
    return ParsedAlert(incidents=[_job_spec(doc, code, event_type, now, options)])


def _legacy(doc: dict[str, Any], event: str, now: datetime, options: ParseOptions) -> ParsedAlert:
    parts = event.replace("-", "_").split(".")
    entity, verb = parts[0], parts[-1]
    if verb in _BENIGN_VERBS:
        return ParsedAlert(ignored=[f"{event} is not a failure"])
    code = _FAILURE_VERBS.get(verb)
    if code is None:
        raise Unrecognized(_EXPECTED)
    has_run = bool(as_dict(doc.get("run")) or as_dict(doc.get("job")))
    if entity == "cluster" or (entity == "library" and not has_run):
        return _cluster(doc, event, code, now, options)
    if entity == "library":
        code = "LIBRARY_INSTALLATION_FAILED"
    return ParsedAlert(incidents=[_job_spec(doc, code, event, now, options)])


def _job_spec(doc: dict[str, Any], default_code: str, rule: str, now: datetime, options: ParseOptions) -> IncidentSpec:
    job, run = as_dict(doc.get("job")), as_dict(doc.get("run"))
    job_id = identifier(job.get("job_id") or run.get("job_id"), 128)
    job_name = (
        text(job.get("name"), 260) or text(as_dict(job.get("settings")).get("name"), 260)
        or text(run.get("run_name"), 260) or (f"job-{job_id}" if job_id else None) or "databricks-job"
    )
    code = _run_code(run, default_code)
    task_key, message = _run_message(doc, run, job_name, code, options)
    workspace = as_dict(doc.get("workspace"))
    workspace_url = text(doc.get("workspace_url") or workspace.get("url"), 512)
    fired = timestamp(doc.get("timestamp")) or timestamp(run.get("end_time")) or timestamp(run.get("start_time"))
    # Task-level notifications carry the task's run id and the job run as parent: the job run is the failure.
    run_id = identifier(run.get("parent_run_id"), 256) or identifier(run.get("run_id") or doc.get("run_id"), 256)
    origin = RunIdOrigin.ALERT
    if run_id is None:
        run_id = fingerprint_run_id(
            IncidentSource.DATABRICKS_JOB, job_id or job_name, code, fired or now, options.fingerprint_bucket_seconds
        )
        origin = RunIdOrigin.FINGERPRINT
    run_url = text(run.get("run_page_url"), 1024)
    if run_url is None and workspace_url and job_id and origin is RunIdOrigin.ALERT:
        run_url = text(f"{workspace_url.rstrip('/')}/#job/{job_id}/run/{run_id}", 1024)
    return IncidentSpec(
        source=IncidentSource.DATABRICKS_JOB,
        resource=FailedResource(
            kind=ResourceKind.JOB, name=job_name, id=job_id, workspace_url=workspace_url,
            workspace_id=identifier(doc.get("workspace_id") or workspace.get("id"), 64),
        ),
        run_id=run_id,
        run_id_origin=origin,
        run_url=run_url,
        alert=AlertInfo(rule=rule, fired_time=fired, signal_type="Webhook"),
        error=ErrorDetail(code=code, message=message, activity=task_key),
        received_time=now,
    )


def _run_state(run: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state, termination details): Jobs API 2.1 `state` and 2.2 `status.termination_details`."""
    status = as_dict(run.get("status"))
    return as_dict(run.get("state")) or status, as_dict(status.get("termination_details"))


def _run_code(run: dict[str, Any], default_code: str) -> str:
    state, details = _run_state(run)
    found = text(state.get("result_state"), 64) or text(details.get("code"), 128)
    return found.upper() if found and default_code == "FAILED" else default_code


def _run_message(doc: dict[str, Any], run: dict[str, Any], job_name: str, code: str,
                 options: ParseOptions) -> tuple[str | None, str]:
    state, details = _run_state(run)
    task_key, task_message = _failed_task(doc, run)
    limit = options.max_message_chars
    message = (task_message or text(state.get("state_message"), limit) or text(details.get("message"), limit)
               or text(doc.get("error_message") or doc.get("message"), limit)
               or f"Run of {job_name} reported {code} with no message; enrichment fetches the run's error")
    if task_key and not message.startswith("[Task:"):
        message = text(f"[Task: {task_key}] {message}", limit) or message
    return task_key, message


def _runs_get(doc: dict[str, Any], now: datetime, options: ParseOptions) -> ParsedAlert:
    """A Jobs API runs/get body: a failure unless its result state says it is not one."""
    state, details = _run_state(doc)
    result = (text(state.get("result_state"), 64) or text(details.get("code"), 128) or "").upper()
    life = (text(state.get("life_cycle_state") or state.get("state"), 64) or "").upper()
    if not result or result in _RUN_NOT_FAILED:
        return ParsedAlert(ignored=[f"run {text(doc.get('run_id'), 64)} is {result or life or 'not finished'}"])
    wrapped = {"run": doc, "job": {"job_id": doc.get("job_id")}, "workspace_url": doc.get("workspace_url")}
    return ParsedAlert(incidents=[_job_spec(wrapped, "FAILED", "runs/get", now, options)])


def _cluster_event(doc: dict[str, Any], now: datetime, options: ParseOptions) -> ParsedAlert:
    """One entry of the Clusters API events list: TERMINATING/TERMINATED (and driver/node losses) are failures."""
    kind = (text(doc.get("type"), 64) or "").upper()
    if kind not in _CLUSTER_EVENT_FAILURES:
        return ParsedAlert(ignored=[f"cluster event {kind or '?'} is not a termination"])
    details = as_dict(doc.get("details"))
    reason = as_dict(details.get("reason"))
    cluster = {"cluster_id": doc.get("cluster_id"), "termination_reason": reason,
               "state_message": details.get("current_state_message") or details.get("cause")}
    event = {"cluster": cluster, "timestamp": doc.get("timestamp"), "workspace_id": doc.get("workspace_id")}
    return _cluster(event, f"cluster.{kind.lower()}", kind, now, options)


def _failed_task(doc: dict[str, Any], run: dict[str, Any]) -> tuple[str | None, str | None]:
    """The failing task's key and message: a `task` object, or the first failed entry of run.tasks."""
    task = as_dict(doc.get("task"))
    if task:
        state = as_dict(task.get("state"))
        return text(task.get("task_key"), 260), text(state.get("state_message"), 4096)
    for entry in as_list(run.get("tasks"))[:200]:
        entry = as_dict(entry)
        state = as_dict(entry.get("state"))
        result = (text(state.get("result_state"), 64) or "").upper()
        if result in _FAILED_RESULT_STATES:
            return text(entry.get("task_key"), 260), text(state.get("state_message"), 4096)
    return None, None


def _cluster(doc: dict[str, Any], event: str, code: str, now: datetime, options: ParseOptions) -> ParsedAlert:
    cluster = as_dict(doc.get("cluster"))
    reason = as_dict(cluster.get("termination_reason"))
    cluster_id = identifier(cluster.get("cluster_id") or doc.get("cluster_id"), 128)
    name = text(cluster.get("cluster_name"), 260) or cluster_id or "databricks-cluster"
    term_code = text(reason.get("code"), 128)
    if event.startswith("library"):
        term_code = "LIBRARY_INSTALLATION_FAILED"
    term_code = (term_code or code).upper()
    if term_code in options.benign_termination_codes:
        return ParsedAlert(ignored=[f"termination code {term_code} of cluster {name} is benign"])
    params = as_dict(reason.get("parameters"))
    library = as_dict(doc.get("library"))
    message = (
        text(cluster.get("state_message"), options.max_message_chars)
        or first_text(params, ("databricks_error_message", "inactivity_duration_min"), options.max_message_chars)
        or text(library.get("error") or doc.get("message"), options.max_message_chars)
        or f"Cluster {name}: {event} ({term_code})"
    )
    raw_time = doc.get("timestamp") or cluster.get("terminated_time") or cluster.get("last_state_loss_time")
    event_time = timestamp(raw_time)
    if cluster_id is not None and event_time is not None:
        run_id = f"{cluster_id}_{term_code}_{int(event_time.timestamp() * 1000)}"
        origin = RunIdOrigin.ALERT
    else:
        run_id = fingerprint_run_id(
            IncidentSource.DATABRICKS_CLUSTER, cluster_id or name, term_code, now, options.fingerprint_bucket_seconds
        )
        origin = RunIdOrigin.FINGERPRINT
    spec = IncidentSpec(
        source=IncidentSource.DATABRICKS_CLUSTER,
        resource=FailedResource(
            kind=ResourceKind.CLUSTER, name=name, id=cluster_id,
            workspace_id=identifier(doc.get("workspace_id"), 64),
        ),
        run_id=identifier(run_id, 256) or run_id[:256],
        run_id_origin=origin,
        alert=AlertInfo(rule=event, fired_time=event_time, signal_type="Webhook"),
        error=ErrorDetail(code=term_code, message=message, activity=text(library.get("name"), 260)),
        received_time=now,
    )
    return ParsedAlert(incidents=[spec])
