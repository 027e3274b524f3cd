"""Databricks executors: run a job now, repair a failed run, start/restart/resize a cluster, reinstall a library.

Through databricks-sdk (`jobs`, `clusters`, `libraries`; `clusters/edit` via
the SDK's API client so the cluster's own definition passes through intact).
Launch never waits: it starts the operation and returns; `poll` reports.

Idempotency per action:

- **RunJobNow**: `run-now` with `idempotency_token` = the attempt's
  idempotency key; Databricks returns the existing run for a repeated token.
- **RepairRun**: repairs carry no token, so before repairing, the run's
  `repair_history` is read: a repair that started at or after the attempt's
  creation is this attempt's and is returned. The repair chains
  `latest_repair_id` (the newest repair, required by Databricks once a run
  was repaired), which also makes two racing repairs fail instead of both
  running.
- **StartCluster / RestartCluster / ResizeCluster**: the cluster's events
  since the attempt's creation are read first; a STARTING / RESTARTING /
  RESIZING / EDITED event there means this attempt already acted, and it is
  adopted. A cluster already in transition is adopted too.
- **ReinstallLibrary**: the version for attempt n is deterministic
  (`databricks_libraries`); if the cluster already lists that exact requirement,
  it is adopted (installing it again would be a no-op anyway).

Cluster: the rule's `clusterId`, else the incident's cluster, else the cluster
the failed job run used (`cluster_instance`, then its tasks' existing cluster).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from aiops_operator.api import (
    ExternalRun,
    ExternalSystem,
    Incident,
    RemediationAction,
    RemediationAttempt,
    ResourceKind,
)
from aiops_operator.api.actions import parameter
from aiops_operator.remediation.attempt_status import Progress
from aiops_operator.remediation.executors.base import (
    CannotRemediate,
    ExecutorError,
    NotReady,
    TransientExecutorError,
    failed,
    launch_marker,
    running,
    succeeded,
    transient,
)
from aiops_operator.remediation.executors.databricks_libraries import (
    LibraryStatus,
    find_failing_library,
    normalize,
    parse_versions,
    split_requirement,
    version_for_attempt,
)
from aiops_operator.remediation.executors.databricks_resize import (
    DEFAULT_MAX_WORKERS,
    DEFAULT_SCALE_PERCENT,
    ClusterSize,
    ResizeNotPossible,
    edited_definition,
    size_of,
    target_size,
)

DatabricksClientFor = Callable[[str], Any]
"""workspace URL → a WorkspaceClient (cached by the factory)."""

ACTIVE_RUN_STATES = frozenset({"QUEUED", "PENDING", "RUNNING", "TERMINATING", "BLOCKED", "WAITING_FOR_RETRY"})
TRANSITION_STATES = frozenset({"PENDING", "RESTARTING", "RESIZING"})
ACTED_EVENTS = frozenset({"STARTING", "RESTARTING", "RESIZING", "EDITED"})
DONE_EVENTS = frozenset({"RUNNING", "UPSIZE_COMPLETED"})
INSTALLING = frozenset({"PENDING", "RESOLVING", "INSTALLING"})
_TARGET = re.compile(r"to (?:(\d+) workers|autoscale (\d+)-(\d+) workers)")


def is_transient(exc: BaseException) -> bool:
    from databricks.sdk import errors
    from databricks.sdk.errors.base import DatabricksError

    transient_types = (errors.TooManyRequests, errors.InternalError, errors.TemporarilyUnavailable,
                       errors.DeadlineExceeded, errors.RequestLimitExceeded, errors.Unknown, errors.Aborted)
    if isinstance(exc, transient_types):
        return True
    if isinstance(exc, DatabricksError):
        return False
    return isinstance(exc, OSError | TimeoutError) or type(exc).__module__.startswith(("requests", "urllib3"))


def _error(action: str, exc: Exception) -> Exception:
    message = f"Databricks {action}: {type(exc).__name__}: {exc}"
    return TransientExecutorError(message) if is_transient(exc) else ExecutorError(message)


def _value(enum_or_str: Any) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str) or "")


def _millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class DatabricksExecutor:
    """RunJobNow, RepairRun, StartCluster, RestartCluster, ResizeCluster, ReinstallLibrary."""

    def __init__(self, client_for: DatabricksClientFor, host: str | None,
                 fallback_versions: Mapping[str, Sequence[str]]) -> None:
        self._client_for = client_for
        self._host = host
        self._versions = fallback_versions

    def _client(self, incident: Incident) -> Any:
        host = self._host or incident.spec.resource.workspace_url
        if not host:
            raise CannotRemediate("No Databricks workspace: set DATABRICKS_HOST or send the workspace URL in the alert")
        return self._client_for(host)

    # --- launch ---------------------------------------------------------------------------

    def launch(self, incident: Incident, attempt: RemediationAttempt) -> ExternalRun:
        w = self._client(incident)
        action = attempt.spec.action
        try:
            if action is RemediationAction.RUN_JOB_NOW:
                return self._run_now(w, incident, attempt)
            if action is RemediationAction.REPAIR_RUN:
                return self._repair(w, incident, attempt)
            if action in (RemediationAction.START_CLUSTER, RemediationAction.RESTART_CLUSTER):
                return self._start(w, incident, attempt)
            if action is RemediationAction.RESIZE_CLUSTER:
                return self._resize(w, incident, attempt)
            if action is RemediationAction.REINSTALL_LIBRARY:
                return self._reinstall(w, incident, attempt)
        except (ExecutorError, TransientExecutorError):
            raise
        except Exception as exc:
            raise _error(f"{action}", exc) from exc
        raise ExecutorError(f"{action} is not a Databricks action")

    def _job_id(self, incident: Incident, attempt: RemediationAttempt) -> int:
        raw = parameter(attempt.spec.parameters, "jobId") or incident.spec.resource.id
        if not raw or not raw.isdigit():
            raise CannotRemediate("RunJobNow needs the job id (rule parameter jobId or the incident's resource id)")
        return int(raw)

    def _run_id(self, incident: Incident) -> int:
        if not incident.spec.run_id.isdigit():
            raise ExecutorError(f"run id {incident.spec.run_id!r} is not a Databricks run id")
        return int(incident.spec.run_id)

    def _run_now(self, w: Any, incident: Incident, attempt: RemediationAttempt) -> ExternalRun:
        job_id = self._job_id(incident, attempt)
        waiter = w.jobs.run_now(job_id, idempotency_token=attempt.spec.idempotency_key)
        run_id = waiter.response.run_id if waiter.response is not None else waiter.run_id
        return ExternalRun(system=ExternalSystem.DATABRICKS, run_id=str(run_id), url=self._run_url(w, run_id),
                           state="PENDING", detail=f"Started job {job_id} (run {run_id}).")

    def _run_url(self, w: Any, run_id: int) -> str | None:
        try:
            return str(w.jobs.get_run(run_id).run_page_url or "") or None
        except Exception:
            return None

    def _repair(self, w: Any, incident: Incident, attempt: RemediationAttempt) -> ExternalRun:
        run_id = self._run_id(incident)
        run = w.jobs.get_run(run_id, include_history=True)
        repairs = [h for h in (run.repair_history or []) if _value(h.type) == "REPAIR" and h.id is not None]
        marker = _millis(launch_marker(attempt))
        mine = [h for h in repairs if (h.start_time or 0) >= marker]
        if mine:
            repair_id = mine[-1].id
            detail = f"Found repair {repair_id} of run {run_id} this attempt already started."
        else:
            if _value(run.state.life_cycle_state if run.state else "") in ACTIVE_RUN_STATES:
                raise NotReady(f"Run {run_id} is still active; it can be repaired once it ends.", 30.0)
            latest = repairs[-1].id if repairs else None
            tasks = parameter(attempt.spec.parameters, "rerunTasks")
            kwargs: dict[str, Any] = {"latest_repair_id": latest}
            if tasks:
                kwargs["rerun_tasks"] = [t.strip() for t in tasks.split(",") if t.strip()]
            else:
                kwargs["rerun_all_failed_tasks"] = True
            waiter = w.jobs.repair_run(run_id, **kwargs)
            repair_id = waiter.response.repair_id if waiter.response is not None else None
            after = f" after repair {latest}" if latest is not None else ""
            detail = f"Repaired run {run_id}{after}: repair {repair_id}."
        return ExternalRun(system=ExternalSystem.DATABRICKS, run_id=str(repair_id), url=run.run_page_url,
                           state="PENDING", detail=detail)

    def _cluster_id(self, w: Any, incident: Incident, attempt: RemediationAttempt) -> str:
        explicit = parameter(attempt.spec.parameters, "clusterId")
        if explicit:
            return explicit
        r = incident.spec.resource
        if r.kind is ResourceKind.CLUSTER and r.id:
            return r.id
        if incident.spec.run_id.isdigit():
            run = w.jobs.get_run(int(incident.spec.run_id))
            if run.cluster_instance is not None and run.cluster_instance.cluster_id:
                return str(run.cluster_instance.cluster_id)
            failing = incident.spec.error.activity
            tasks = sorted(run.tasks or [], key=lambda t: t.task_key != failing)
            for task in tasks:
                if task.existing_cluster_id:
                    return str(task.existing_cluster_id)
        raise CannotRemediate("No cluster to act on: set the rule parameter clusterId")

    def _acted_since(self, w: Any, cluster_id: str, attempt: RemediationAttempt, kinds: Iterable[str]) -> bool:
        marker = _millis(launch_marker(attempt))
        wanted = set(kinds)
        for event in w.clusters.events(cluster_id, start_time=marker):
            if (event.timestamp or 0) >= marker and _value(event.type) in wanted:
                return True
        return False

    def _cluster_run(self, cluster_id: str, state: str, detail: str) -> ExternalRun:
        return ExternalRun(system=ExternalSystem.DATABRICKS, run_id=cluster_id, state=state, detail=detail)

    def _start(self, w: Any, incident: Incident, attempt: RemediationAttempt) -> ExternalRun:
        cluster_id = self._cluster_id(w, incident, attempt)
        if self._acted_since(w, cluster_id, attempt, ("STARTING", "RESTARTING")):
            return self._cluster_run(cluster_id, "PENDING", f"Cluster {cluster_id} was already (re)started by this"
                                                            " attempt.")
        state = _value(w.clusters.get(cluster_id).state)
        if state in ("TERMINATED", "ERROR"):
            w.clusters.start(cluster_id)
            return self._cluster_run(cluster_id, "PENDING", f"Started cluster {cluster_id} (was {state}).")
        if state == "RUNNING" and attempt.spec.action is RemediationAction.RESTART_CLUSTER:
            w.clusters.restart(cluster_id)
            return self._cluster_run(cluster_id, "RESTARTING", f"Restarted cluster {cluster_id}.")
        if state == "TERMINATING":
            raise NotReady(f"Cluster {cluster_id} is terminating; it can be started once terminated.", 15.0)
        return self._cluster_run(cluster_id, state, f"Cluster {cluster_id} was already {state}.")

    def _resize(self, w: Any, incident: Incident, attempt: RemediationAttempt) -> ExternalRun:
        cluster_id = self._cluster_id(w, incident, attempt)
        cluster = w.clusters.get(cluster_id).as_dict()
        current = size_of(cluster)
        if self._acted_since(w, cluster_id, attempt, ("RESIZING", "EDITED")):
            return self._cluster_run(cluster_id, _value(cluster.get("state")),
                                     f"Cluster {cluster_id} was already resized by this attempt (now"
                                     f" {current.describe()}).")
        percent = int(parameter(attempt.spec.parameters, "scalePercent") or DEFAULT_SCALE_PERCENT)
        cap = int(parameter(attempt.spec.parameters, "maxWorkers") or DEFAULT_MAX_WORKERS)
        try:
            target = target_size(current, percent, cap)
        except ResizeNotPossible as exc:
            raise ExecutorError(f"Cannot resize cluster {cluster_id}: {exc}") from exc
        state = str(cluster.get("state") or "")
        if state == "RUNNING":
            from databricks.sdk.service.compute import AutoScale

            if target.autoscale:
                w.clusters.resize(cluster_id, autoscale=AutoScale(min_workers=target.min_workers,
                                                                  max_workers=target.max_workers))
            else:
                w.clusters.resize(cluster_id, num_workers=target.num_workers)
        elif state in ("TERMINATED", "ERROR"):
            w.api_client.do("POST", "/api/2.1/clusters/edit", body=edited_definition(cluster, target))
        else:
            raise NotReady(f"Cluster {cluster_id} is {state}; it can be resized once it settles.", 15.0)
        return self._cluster_run(cluster_id, "RESIZING" if state == "RUNNING" else state,
                                 f"Resized cluster {cluster_id} from {current.describe()} to {target.describe()}.")

    def _library_statuses(self, w: Any, cluster_id: str) -> list[LibraryStatus]:
        out = []
        for full in w.libraries.cluster_status(cluster_id):
            lib = full.library
            if lib is None or lib.pypi is None or not lib.pypi.package:
                continue
            out.append(LibraryStatus(str(lib.pypi.package), _value(full.status), tuple(full.messages or ())))
        return out

    def _reinstall(self, w: Any, incident: Incident, attempt: RemediationAttempt) -> ExternalRun:
        from databricks.sdk.service.compute import Library, PythonPyPiLibrary

        cluster_id = self._cluster_id(w, incident, attempt)
        statuses = self._library_statuses(w, cluster_id)
        enrichment = incident.status.enrichment
        text = " ".join(filter(None, [incident.spec.error.message, enrichment.error_message if enrichment else None]))
        table: Mapping[str, Sequence[str]] = self._versions
        override = parameter(attempt.spec.parameters, "versions")
        wanted = parameter(attempt.spec.parameters, "library")
        if override and wanted:
            table = {**table, wanted: parse_versions(override)}
        failing = find_failing_library(table, text, statuses, wanted)
        if failing is None:
            raise ExecutorError("Could not tell which library failed: set the rule parameter library")
        version = version_for_attempt(table, failing, attempt.spec.attempt)
        if version is None:
            raise ExecutorError(f"No older version of {failing.name} left to try (after {failing.version or '?'})")
        requirement = f"{failing.name}=={version}"
        if any(s.package == requirement for s in statuses):
            return self._cluster_run(cluster_id, "INSTALLING", f"{requirement} was already being installed on"
                                                               f" cluster {cluster_id}.")
        stale = [s for s in statuses if split_requirement(s.package)[0] == normalize(failing.name)]
        if stale:
            w.libraries.uninstall(cluster_id, [Library(pypi=PythonPyPiLibrary(package=s.package)) for s in stale])
        w.libraries.install(cluster_id, [Library(pypi=PythonPyPiLibrary(package=requirement))])
        if _value(w.clusters.get(cluster_id).state) in ("TERMINATED", "ERROR"):
            w.clusters.start(cluster_id)
        was = f" (replacing {', '.join(s.package for s in stale)})" if stale else ""
        return self._cluster_run(cluster_id, "INSTALLING", f"Installing {requirement} on cluster {cluster_id}{was}.")

    # --- poll ---------------------------------------------------------------------------

    def poll(self, incident: Incident, attempt: RemediationAttempt) -> Progress:
        run = attempt.status.external_run
        if run is None:
            return failed("Nothing was launched to poll.")
        try:
            w = self._client(incident)
            action = attempt.spec.action
            if action is RemediationAction.RUN_JOB_NOW:
                return self._poll_run(w.jobs.get_run(int(run.run_id)), f"Run {run.run_id}")
            if action is RemediationAction.REPAIR_RUN:
                return self._poll_run(w.jobs.get_run(self._run_id(incident)), f"Repair {run.run_id}")
            if action is RemediationAction.REINSTALL_LIBRARY:
                return self._poll_library(w, run)
            return self._poll_cluster(w, attempt, run)
        except ExecutorError as exc:
            return failed(str(exc))
        except Exception as exc:
            return transient(f"Databricks poll: {type(exc).__name__}: {exc}")

    def _poll_run(self, got: Any, what: str) -> Progress:
        life = _value(got.state.life_cycle_state) if got.state else ""
        result = _value(got.state.result_state) if got.state else ""
        message = (got.state.state_message if got.state else "") or ""
        if life in ACTIVE_RUN_STATES or not life:
            return running(f"{what} is {life or 'starting'}.", life)
        if life == "TERMINATED" and result == "SUCCESS":
            return succeeded(f"{what} succeeded.", f"{life}/{result}")
        return failed(f"{what} ended {life}/{result or '-'}: {message}", f"{life}/{result}")

    def _poll_cluster(self, w: Any, attempt: RemediationAttempt, run: ExternalRun) -> Progress:
        cluster = w.clusters.get(run.run_id)
        state = _value(cluster.state)
        if attempt.spec.action is RemediationAction.RESIZE_CLUSTER:
            target = _target_of(run.detail or "")
            if target is not None and size_of(cluster.as_dict()) == target and state not in TRANSITION_STATES:
                return succeeded(f"Cluster {run.run_id} is {state} with {target.describe()}.", state)
            if state in ("RUNNING", "TERMINATED") and target is None:
                return succeeded(f"Cluster {run.run_id} is {state}.", state)
        elif state == "RUNNING":
            if self._acted_since(w, run.run_id, attempt, DONE_EVENTS) or run.state == "RUNNING":
                return succeeded(f"Cluster {run.run_id} is RUNNING.", state)
            return running(f"Cluster {run.run_id} has not restarted yet.", state)
        if state in ("TERMINATED", "ERROR"):
            reason = cluster.termination_reason
            code = _value(reason.code) if reason is not None else ""
            return failed(f"Cluster {run.run_id} is {state}" + (f" ({code})" if code else "") + ".", state)
        return running(f"Cluster {run.run_id} is {state}.", state)

    def _poll_library(self, w: Any, run: ExternalRun) -> Progress:
        match = re.search(r"([A-Za-z0-9_.-]+==[A-Za-z0-9.+!-]+)", run.detail or "")
        if match is None:
            return failed("The launched requirement is unknown.")
        requirement = match.group(1)
        for status in self._library_statuses(w, run.run_id):
            if status.package != requirement:
                continue
            if status.status == "INSTALLED":
                return succeeded(f"{requirement} is installed on cluster {run.run_id}.", status.status)
            if status.status in INSTALLING:
                return running(f"{requirement} is {status.status}.", status.status)
            why = "; ".join(status.messages) or status.status
            return failed(f"Installing {requirement} failed: {why}", status.status)
        return running(f"{requirement} is not listed on cluster {run.run_id} yet.", "PENDING")


def _target_of(detail: str) -> ClusterSize | None:
    match = _TARGET.search(detail)
    if match is None:
        return None
    if match.group(1):
        return ClusterSize(num_workers=int(match.group(1)))
    return ClusterSize(min_workers=int(match.group(2)), max_workers=int(match.group(3)))
