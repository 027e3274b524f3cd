"""Databricks enrichment: the failed run (`runs/get`) and each failed task's output (`runs/get-output`).

The error text names the task and takes, per failed task, the first of:
the task output's `error` (plus an excerpt of `error_trace`), the task's
termination message (`status.termination_details.message`), the task's
`state.state_message`; without any failed task text, the job run's own
state message: `[Task: validate] FileNotFoundError: ...`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from aiops_operator.api import Enrichment, Incident, IncidentSource
from aiops_operator.api.base import MAX_MESSAGE_CHARS
from aiops_operator.api.sanitize import clean_text
from aiops_operator.correlation.membership import to_recorded
from aiops_operator.correlation.references import references
from aiops_operator.integrations.databricks import databricks_client

MAX_FAILED_TASKS = 10
TRACE_EXCERPT_LINES = 8
TRACE_EXCERPT_CHARS = 1200
_FAILED_RESULTS = frozenset({"FAILED", "TIMEDOUT", "CANCELED", "INTERNAL_ERROR", "MAXIMUM_CONCURRENT_RUNS_REACHED",
                             "UPSTREAM_FAILED", "EXCLUDED"})
_OK_RESULTS = frozenset({"SUCCESS", "SUCCESS_WITH_FAILURES", "SKIPPED", "EXCLUDED", "UPSTREAM_CANCELED"})


def trace_excerpt(trace: str | None) -> str:
    """The last lines of a stack trace: where the innermost cause is."""
    if not trace:
        return ""
    lines = [line for line in trace.strip().splitlines() if line.strip()]
    return "\n".join(lines[-TRACE_EXCERPT_LINES:])[-TRACE_EXCERPT_CHARS:]


def _result_state(task: Mapping[str, Any]) -> str | None:
    state = task.get("state") or {}
    value = state.get("result_state")
    return str(value) if value else None


def _termination(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return ((obj.get("status") or {}).get("termination_details") or {})


def is_failed(task: Mapping[str, Any]) -> bool:
    result = _result_state(task)
    if result is not None:
        return result not in _OK_RESULTS
    term_type = _termination(task).get("type")
    return bool(term_type) and term_type != "SUCCESS"


def failed_tasks(run: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Failed tasks in run order; upstream-failed ones (not causes) last."""
    tasks = [t for t in run.get("tasks") or [] if is_failed(t)]
    own = [t for t in tasks if _result_state(t) not in ("UPSTREAM_FAILED", "UPSTREAM_CANCELED")]
    return (own or tasks)[:MAX_FAILED_TASKS]


def task_error_text(task: Mapping[str, Any], output: Mapping[str, Any] | None) -> str | None:
    """The best error text of one task, by priority."""
    output = output or {}
    error = str(output.get("error") or "").strip()
    if error:
        excerpt = trace_excerpt(output.get("error_trace"))
        return f"{error}\n{excerpt}" if excerpt and excerpt not in error else error
    for candidate in (_termination(task).get("message"), (task.get("state") or {}).get("state_message")):
        if candidate and str(candidate).strip():
            return str(candidate).strip()
    return None


def build_error_text(
    run: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]]
) -> tuple[str | None, str | None, str | None]:
    """(error text, error code, failing task) of a failed run; outputs keyed by task run id."""
    parts: list[str] = []
    first_task: str | None = None
    code: str | None = None
    for task in failed_tasks(run):
        key = str(task.get("task_key") or task.get("run_id") or "task")
        text = task_error_text(task, outputs.get(str(task.get("run_id"))))
        if text is None:
            continue
        parts.append(f"[Task: {key}] {text}")
        if first_task is None:
            first_task = key
            code = _termination(task).get("code") or _result_state(task)
    if parts:
        return "\n".join(parts), (str(code) if code else None), first_task
    job_message = (run.get("state") or {}).get("state_message") or _termination(run).get("message")
    job_code = _termination(run).get("code") or (run.get("state") or {}).get("result_state")
    output = outputs.get(str(run.get("run_id")))  # a single-task run's own output
    if output and output.get("error"):
        job_message = task_error_text(run, output)
    return (str(job_message).strip() or None if job_message else None), (str(job_code) if job_code else None), None


class DatabricksEnricher:
    """Reads the failed run through databricks-sdk's WorkspaceClient."""

    def __init__(
        self,
        token: Callable[[], str | None],
        *,
        host: str | None = None,
        timeout: float = 15.0,
        clock: Callable[[], datetime],
    ) -> None:
        self._token = token
        self._host = host
        self._timeout = timeout
        self._clock = clock

    def wants(self, incident: Incident) -> bool:
        return incident.spec.source is IncidentSource.DATABRICKS_JOB and bool(
            self._host or incident.spec.resource.workspace_url
        )

    def _client(self, incident: Incident) -> Any:
        return databricks_client(self._host or incident.spec.resource.workspace_url or "", self._token(), self._timeout,
                                 self._timeout * 2)

    def _fetch(self, incident: Incident) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        client = self._client(incident)
        run = client.jobs.get_run(run_id=int(incident.spec.run_id)).as_dict()
        outputs: dict[str, dict[str, Any]] = {}
        targets = failed_tasks(run) or [run]
        for task in targets:
            task_run = task.get("run_id")
            if task_run is None:
                continue
            try:
                outputs[str(task_run)] = client.jobs.get_run_output(run_id=int(task_run)).as_dict()
            except Exception:  # noqa: S112 - one task's missing output must not lose the others
                continue
        return run, outputs

    async def enrich(self, incident: Incident) -> Enrichment:
        now = self._clock()
        try:
            run, outputs = await asyncio.to_thread(self._fetch, incident)
        except ValueError:
            return Enrichment(failed_reason=f"run id {incident.spec.run_id!r} is not a Databricks run id",
                              enriched_time=now)
        except Exception as exc:
            return Enrichment(failed_reason=_describe(exc), enriched_time=now)
        text, code, task = build_error_text(run, outputs)
        return Enrichment(
            error_message=clean_text(text, MAX_MESSAGE_CHARS) if text else None,
            error_code=code[:128] if code else None,
            activity=task[:260] if task else None,
            enriched_time=now,
            references=to_recorded(references(run)),  # the cluster it ran on, its pool, ...
        )


def _describe(exc: Exception) -> str:
    return clean_text(f"Databricks: {type(exc).__name__}: {exc}", 512)
