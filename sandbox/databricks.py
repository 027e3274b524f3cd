"""Databricks REST (jobs 2.x, clusters 2.1, libraries 2.0): the slice `databricks-sdk` calls.

A job run is a list of executions: the original one, then one per repair.
Each execution runs some tasks and ends, after its duration, with the next
scripted outcome of the job. Clusters move PENDING -> RUNNING (or TERMINATED
when a start is scripted to fail), RUNNING -> RESTARTING/RESIZING -> RUNNING;
every transition is a due time, applied when someone looks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.routing import Route

from sandbox.clock import millis
from sandbox.endpoint import ApiError, Exchange, endpoint, json_response, retry_after_header
from sandbox.scenario import DatabricksCluster, DatabricksJob, DatabricksOutcome, LibraryOutcome, Scenario

if TYPE_CHECKING:
    from sandbox.world import World

WORKSPACE_ID = 1234567890123456
RERUNNABLE = frozenset({"FAILED", "TIMEDOUT", "CANCELED", "UPSTREAM_FAILED", "INTERNAL_ERROR"})


def _invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)


@dataclass
class Execution:
    """The original run or one repair: which tasks ran, their task-run ids and how it ended."""

    outcome: DatabricksOutcome
    start: float
    duration: float
    task_run_ids: dict[str, int]
    repair_id: int | None = None
    cancelled_at: float | None = None

    def end(self, now: float) -> float | None:
        if self.cancelled_at is not None:
            return self.cancelled_at
        finish = self.start + self.duration
        return finish if now >= finish else None

    def failed_task(self) -> str:
        keys = list(self.task_run_ids)
        return self.outcome.failed_task if self.outcome.failed_task in keys else keys[0]

    def task_result(self, task: str, now: float) -> tuple[str, str | None, str]:
        """(life_cycle_state, result_state, state_message) of one task of this execution."""
        if self.cancelled_at is not None:
            return "TERMINATED", "CANCELED", "Run cancelled."
        keys = list(self.task_run_ids)
        if self.end(now) is None:
            return ("RUNNING", None, "") if task == keys[0] else ("BLOCKED", None, "")
        if self.outcome.result == "SUCCESS":
            return "TERMINATED", "SUCCESS", ""
        failed = self.failed_task()
        if keys.index(task) < keys.index(failed):
            return "TERMINATED", "SUCCESS", ""
        if task == failed:
            if self.outcome.result == "INTERNAL_ERROR":
                return "INTERNAL_ERROR", "FAILED", self.outcome.error
            return "TERMINATED", self.outcome.result, self.outcome.error
        return "TERMINATED", "UPSTREAM_FAILED", "Upstream task failed."


@dataclass
class JobRun:
    run_id: int
    job_id: int
    job_name: str
    tasks: list[str]
    executions: list[Execution]
    number_in_job: int
    idempotency_token: str | None = None
    job_parameters: dict[str, Any] = field(default_factory=dict)
    cluster_id: str = "sandbox-job-cluster"

    def latest_for(self, task: str) -> Execution:
        return next(e for e in reversed(self.executions) if task in e.task_run_ids)

    def task_states(self, now: float) -> dict[str, tuple[str, str | None, str]]:
        return {t: self.latest_for(t).task_result(t, now) for t in self.tasks}

    def end(self, now: float) -> float | None:
        return self.executions[-1].end(now)

    def latest_repair_id(self) -> int | None:
        return self.executions[-1].repair_id

    def state(self, now: float) -> dict[str, Any]:
        if self.end(now) is None:
            return {"life_cycle_state": "RUNNING", "state_message": "In run", "user_cancelled_or_timedout": False}
        states = self.task_states(now)
        if self.executions[-1].cancelled_at is not None:
            return {"life_cycle_state": "TERMINATED", "result_state": "CANCELED",
                    "state_message": "Run cancelled.", "user_cancelled_or_timedout": True}
        failed = [(t, s) for t, s in states.items() if s[1] not in ("SUCCESS", "UPSTREAM_FAILED")]
        if not failed:
            return {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS", "state_message": "",
                    "user_cancelled_or_timedout": False}
        task, (life, result, message) = failed[0]
        if life == "INTERNAL_ERROR":
            return {"life_cycle_state": "INTERNAL_ERROR", "result_state": "FAILED", "state_message": message,
                    "user_cancelled_or_timedout": False}
        return {
            "life_cycle_state": "TERMINATED", "result_state": result or "FAILED",
            "state_message": f"Task {task} failed with message: {message}. This caused all downstream tasks"
                             " to get skipped.",
            "user_cancelled_or_timedout": result == "TIMEDOUT",
        }


def _status(state: dict[str, Any]) -> dict[str, Any]:
    """The newer `status` object the Jobs API returns next to `state`."""
    life = state["life_cycle_state"]
    if life in ("RUNNING", "BLOCKED", "PENDING"):
        return {"state": life if life != "BLOCKED" else "BLOCKED"}
    result = state.get("result_state")
    code = {"SUCCESS": "SUCCESS", "CANCELED": "USER_CANCELED", "TIMEDOUT": "RUN_EXECUTION_ERROR",
            "UPSTREAM_FAILED": "UPSTREAM_FAILED"}.get(str(result), "RUN_EXECUTION_ERROR")
    kind = "SUCCESS" if result == "SUCCESS" else ("INTERNAL_ERROR" if life == "INTERNAL_ERROR" else "CLIENT_ERROR")
    return {"state": "TERMINATED", "termination_details": {"code": code, "type": kind,
                                                            "message": state.get("state_message", "")}}


@dataclass
class Transition:
    due: float
    state: str
    message: str = ""
    num_workers: int | None = None
    autoscale: tuple[int, int] | None = None
    termination: tuple[str, str] | None = None


@dataclass
class Library:
    spec: dict[str, Any]
    coordinate: str
    outcome: LibraryOutcome
    ready_at: float | None
    """When installation finishes; None while the cluster is not running."""


@dataclass
class Cluster:
    cluster_id: str
    spec: DatabricksCluster
    state: str
    num_workers: int
    autoscale: tuple[int, int] | None
    transition_seconds: float
    state_message: str = ""
    start_time: float = 0.0
    terminated_time: float | None = None
    termination: tuple[str, str] | None = None
    pending: Transition | None = None
    starts: int = 0
    libraries: list[Library] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def settle(self, now: float) -> None:
        """Apply a due transition (and start libraries waiting for a running cluster)."""
        if self.pending is not None and now >= self.pending.due:
            t, self.pending = self.pending, None
            self._event(t.due, t.state)
            self.state, self.state_message = t.state, t.message
            if t.num_workers is not None:
                self.num_workers = t.num_workers
            if t.autoscale is not None:
                self.autoscale = t.autoscale
            if t.state == "TERMINATED":
                self.terminated_time = t.due
                self.termination = t.termination
        if self.state == "RUNNING":
            for lib in self.libraries:
                if lib.ready_at is None:
                    lib.ready_at = now + self.transition_seconds

    def _event(self, when: float, kind: str) -> None:
        self.events.append({"cluster_id": self.cluster_id, "timestamp": millis(when), "type": kind})

    def _busy(self, action: str) -> ApiError:
        pretty = self.state.capitalize()
        return ApiError(400, "INVALID_STATE", f"Cluster {self.cluster_id} is in unexpected state {pretty}.")

    def start(self, now: float) -> None:
        self.settle(now)
        if self.state not in ("TERMINATED", "ERROR"):
            raise self._busy("start")
        outcomes = self.spec.start_outcomes or ["RUNNING"]
        result = outcomes[min(self.starts, len(outcomes) - 1)]
        self.starts += 1
        self.state, self.state_message, self.start_time = "PENDING", "Starting Spark", now
        self.termination = None
        self._event(now, "STARTING")
        if result == "RUNNING":
            self.pending = Transition(now + self.transition_seconds, "RUNNING")
        else:
            self.pending = Transition(now + self.transition_seconds, "TERMINATED", self.spec.start_failure_message,
                                      termination=(self.spec.start_failure_code, self.spec.start_failure_message))

    def restart(self, now: float) -> None:
        self.settle(now)
        if self.state != "RUNNING":
            raise self._busy("restart")
        self.state, self.state_message = "RESTARTING", "Restarting Spark"
        self._event(now, "RESTARTING")
        self.pending = Transition(now + self.transition_seconds, "RUNNING")

    def resize(self, now: float, num_workers: int | None, autoscale: tuple[int, int] | None) -> None:
        self.settle(now)
        if self.state != "RUNNING":
            raise self._busy("resize")
        self.state, self.state_message = "RESIZING", "Resizing cluster"
        self._event(now, "RESIZING")
        self.pending = Transition(now + self.transition_seconds, "RUNNING", num_workers=num_workers,
                                  autoscale=autoscale)

    def edit(self, now: float, body: dict[str, Any]) -> None:
        self.settle(now)
        if self.state not in ("RUNNING", "TERMINATED"):
            raise self._busy("edit")
        num_workers, autoscale = _size(body)
        updates: dict[str, Any] = {}
        for key, attr in (("spark_version", "spark_version"), ("node_type_id", "node_type_id"),
                          ("cluster_name", "name")):
            if key in body:
                updates[attr] = body[key]
        self.spec = self.spec.model_copy(update=updates)
        self._event(now, "EDITED")
        if self.state == "TERMINATED":
            if num_workers is not None:
                self.num_workers, self.autoscale = num_workers, None
            if autoscale is not None:
                self.autoscale = autoscale
            return
        self.state, self.state_message = "RESTARTING", "Applying new configuration"
        self.pending = Transition(now + self.transition_seconds, "RUNNING", num_workers=num_workers,
                                  autoscale=autoscale)

    def as_wire(self, now: float, base_url: str) -> dict[str, Any]:
        self.settle(now)
        body: dict[str, Any] = {
            "cluster_id": self.cluster_id,
            "cluster_name": self.spec.name or self.cluster_id,
            "spark_version": self.spec.spark_version,
            "node_type_id": self.spec.node_type_id,
            "driver_node_type_id": self.spec.node_type_id,
            "state": self.state,
            "state_message": self.state_message,
            "start_time": millis(self.start_time),
            "cluster_source": "UI",
            "creator_user_name": "aiops-rca@example.com",
            "spark_conf": {},
            "custom_tags": {},
            "default_tags": {"Vendor": "Databricks", "Creator": "aiops-rca@example.com",
                             "ClusterName": self.spec.name or self.cluster_id, "ClusterId": self.cluster_id},
            "autotermination_minutes": 60,
            "enable_elastic_disk": True,
            "data_security_mode": "SINGLE_USER",
            "spark_context_id": 4242,
            "cluster_memory_mb": 14336 * (self.num_workers + 1),
            "cluster_cores": 4.0 * (self.num_workers + 1),
        }
        if self.autoscale is not None:
            body["autoscale"] = {"min_workers": self.autoscale[0], "max_workers": self.autoscale[1]}
            body["num_workers"] = self.autoscale[0]
        else:
            body["num_workers"] = self.num_workers
        if self.terminated_time is not None and self.state in ("TERMINATED", "ERROR"):
            body["terminated_time"] = millis(self.terminated_time)
        if self.termination is not None:
            code, message = self.termination
            kind = "CLOUD_FAILURE" if code.startswith("CLOUD") else "SERVICE_FAULT"
            if code in ("USER_REQUEST", "INACTIVITY", "JOB_FINISHED"):
                kind = "SUCCESS"
            body["termination_reason"] = {"code": code, "type": kind,
                                          "parameters": {"databricks_error_message": message}}
        return body


def _size(body: dict[str, Any]) -> tuple[int | None, tuple[int, int] | None]:
    autoscale = body.get("autoscale")
    if isinstance(autoscale, dict):
        return None, (int(autoscale.get("min_workers", 0)), int(autoscale.get("max_workers", 0)))
    if body.get("num_workers") is not None:
        return int(body["num_workers"]), None
    return None, None


def library_coordinate(spec: dict[str, Any]) -> str:
    """A readable key for a library spec: `pypi:pandas==2.2.0`, `maven:g:a:v`, `jar:dbfs:/x.jar`."""
    if isinstance(spec.get("pypi"), dict):
        return f"pypi:{spec['pypi'].get('package', '')}"
    if isinstance(spec.get("maven"), dict):
        return f"maven:{spec['maven'].get('coordinates', '')}"
    if isinstance(spec.get("cran"), dict):
        return f"cran:{spec['cran'].get('package', '')}"
    for kind in ("jar", "whl", "egg", "requirements"):
        if kind in spec:
            return f"{kind}:{spec[kind]}"
    return str(sorted(spec.items()))


class DatabricksState:
    def __init__(self, scenario: Scenario, now: float) -> None:
        self.default_duration = scenario.defaults.run_duration_seconds
        self.transition_seconds = scenario.defaults.cluster_transition_seconds
        self.jobs: dict[int, DatabricksJob] = {}
        self.executions_started: dict[int, int] = {}
        self.runs: dict[int, JobRun] = {}
        self.task_runs: dict[int, tuple[int, str]] = {}
        self.tokens: dict[str, int] = {}
        self.clusters: dict[str, Cluster] = {}
        self._next_id = 1000
        self._next_repair = 500
        self.apply(scenario, now)

    def apply(self, scenario: Scenario, now: float) -> None:
        self.jobs.update(scenario.databricks.jobs)
        for cluster_id, spec in scenario.databricks.clusters.items():
            autoscale = None
            if spec.autoscale_min_workers is not None or spec.autoscale_max_workers is not None:
                autoscale = (spec.autoscale_min_workers or 1, spec.autoscale_max_workers or spec.num_workers)
            termination = None
            if spec.state in ("TERMINATED", "ERROR"):
                termination = (spec.termination_code or "USER_REQUEST",
                               spec.termination_message or "Terminated by the user.")
            self.clusters[cluster_id] = Cluster(
                cluster_id=cluster_id, spec=spec, state=spec.state, num_workers=spec.num_workers,
                autoscale=autoscale,
                transition_seconds=spec.start_seconds if spec.start_seconds is not None else self.transition_seconds,
                start_time=now - 3600, terminated_time=now - 60 if termination else None, termination=termination,
            )
            if spec.state in ("PENDING", "RESTARTING", "RESIZING"):
                self.clusters[cluster_id].pending = Transition(now + self.clusters[cluster_id].transition_seconds,
                                                               "RUNNING")
        # Runs and task runs share one id space: the seeded runs' own ids are taken before their tasks get theirs.
        self._next_id = max([self._next_id, *(seed.run_id for seed in scenario.databricks.seeded_runs)])
        for seed in scenario.databricks.seeded_runs:
            outcome = DatabricksOutcome.model_validate(seed.model_dump(include=set(DatabricksOutcome.model_fields)))
            duration = seed.duration_seconds if seed.duration_seconds is not None else 0.0
            self._new_run(seed.job_id, outcome, now - seed.started_seconds_ago, duration, run_id=seed.run_id)

    def job(self, job_id: int) -> DatabricksJob:
        return self.jobs.get(job_id) or DatabricksJob()

    def _allocate(self) -> int:
        used = set(self.runs) | set(self.task_runs)
        self._next_id = max([self._next_id, *used]) + 1
        return self._next_id

    def next_outcome(self, job_id: int) -> DatabricksOutcome:
        count = self.executions_started.get(job_id, 0)
        self.executions_started[job_id] = count + 1
        script = self.job(job_id).runs
        return script[min(count, len(script) - 1)] if script else DatabricksOutcome()

    def _duration(self, outcome: DatabricksOutcome) -> float:
        return outcome.duration_seconds if outcome.duration_seconds is not None else self.default_duration

    def _new_run(self, job_id: int, outcome: DatabricksOutcome, start: float, duration: float,
                 run_id: int | None = None, token: str | None = None,
                 job_parameters: dict[str, Any] | None = None) -> JobRun:
        job = self.job(job_id)
        run_id = run_id if run_id is not None else self._allocate()
        self.runs[run_id] = JobRun(run_id=run_id, job_id=job_id, job_name=job.name or f"job-{job_id}",
                                   tasks=list(job.tasks), executions=[], idempotency_token=token,
                                   number_in_job=run_id, job_parameters=dict(job_parameters or {}),
                                   cluster_id=job.cluster_id)
        task_ids = {}
        for task in job.tasks:
            task_ids[task] = self._allocate()
            self.task_runs[task_ids[task]] = (run_id, task)
        self.runs[run_id].executions.append(Execution(outcome, start, duration, task_ids))
        return self.runs[run_id]

    def run_now(self, job_id: int, token: str | None, job_parameters: dict[str, Any], now: float) -> JobRun:
        """Start a run, or return the run already started with this idempotency token."""
        if token and token in self.tokens:
            return self.runs[self.tokens[token]]
        outcome = self.next_outcome(job_id)
        run = self._new_run(job_id, outcome, now, self._duration(outcome), token=token, job_parameters=job_parameters)
        if token:
            self.tokens[token] = run.run_id
        return run

    def get_run(self, run_id: int) -> JobRun:
        run = self.runs.get(run_id)
        if run is None:
            raise _invalid(f"Run {run_id} does not exist.")
        return run

    def repair(self, run_id: int, *, rerun_tasks: list[str] | None, rerun_all_failed: bool,
               latest_repair_id: int | None, now: float) -> int:
        run = self.get_run(run_id)
        if run.end(now) is None:
            raise _invalid(f"Run {run_id} is still active and cannot be repaired.")
        current = run.latest_repair_id()
        if current is not None and latest_repair_id != current:
            raise _invalid(
                f"Run {run_id} has been repaired before: latest_repair_id must be {current} (the latest repair),"
                f" got {latest_repair_id}.")
        if current is None and latest_repair_id is not None:
            raise _invalid(f"Run {run_id} has not been repaired; latest_repair_id {latest_repair_id} is invalid.")
        states = run.task_states(now)
        if rerun_tasks:
            unknown = [t for t in rerun_tasks if t not in run.tasks]
            if unknown:
                raise _invalid(f"Task keys {unknown} do not exist in run {run_id}.")
            tasks = [t for t in run.tasks if t in rerun_tasks]
        elif rerun_all_failed:
            tasks = [t for t in run.tasks if states[t][1] in RERUNNABLE]
        else:
            raise _invalid("One of rerun_tasks or rerun_all_failed_tasks must be given.")
        if not tasks:
            raise _invalid(f"Run {run_id} has no failed tasks to repair.")
        outcome = self.next_outcome(run.job_id)
        task_ids = {}
        for task in tasks:
            task_ids[task] = self._allocate()
            self.task_runs[task_ids[task]] = (run_id, task)
        self._next_repair += 1
        run.executions.append(Execution(outcome, now, self._duration(outcome), task_ids,
                                        repair_id=self._next_repair))
        return self._next_repair

    def cancel(self, run_id: int, now: float) -> None:
        run = self.get_run(run_id)
        last = run.executions[-1]
        if last.end(now) is None:
            last.cancelled_at = now

    def cluster(self, cluster_id: str) -> Cluster:
        cluster = self.clusters.get(cluster_id)
        if cluster is None:
            raise _invalid(f"Cluster {cluster_id} does not exist")
        return cluster

    def install(self, cluster_id: str, specs: list[dict[str, Any]], now: float) -> None:
        cluster = self.cluster(cluster_id)
        cluster.settle(now)
        for spec in specs:
            coordinate = library_coordinate(spec)
            outcome = cluster.spec.libraries.get(coordinate) or LibraryOutcome()
            cluster.libraries = [lib for lib in cluster.libraries if lib.coordinate != coordinate]
            ready = now + cluster.transition_seconds if cluster.state == "RUNNING" else None
            cluster.libraries.append(Library(spec, coordinate, outcome, ready))

    def uninstall(self, cluster_id: str, coordinates: list[str]) -> None:
        """Forget these libraries (Databricks marks them UNINSTALL_ON_RESTART; the sandbox drops them at once)."""
        cluster = self.cluster(cluster_id)
        cluster.libraries = [lib for lib in cluster.libraries if lib.coordinate not in coordinates]


def run_wire(run: JobRun, now: float, base_url: str, include_history: bool) -> dict[str, Any]:
    first, last = run.executions[0], run.executions[-1]
    end = run.end(now)
    state = run.state(now)
    url = f"{base_url}/?o={WORKSPACE_ID}#job/{run.job_id}/run/{run.run_id}"
    tasks = []
    for task in run.tasks:
        execution = run.latest_for(task)
        life, result, message = execution.task_result(task, now)
        t_state: dict[str, Any] = {"life_cycle_state": life, "state_message": message,
                                   "user_cancelled_or_timedout": False}
        if result is not None:
            t_state["result_state"] = result
        t_end = execution.end(now)
        task_run_id = execution.task_run_ids[task]
        tasks.append({
            "run_id": task_run_id, "task_key": task,
            "state": t_state, "status": _status(t_state),
            "start_time": millis(execution.start), "end_time": millis(t_end) if t_end else 0,
            "setup_duration": 0, "cleanup_duration": 0,
            "execution_duration": millis((t_end or now) - execution.start),
            "run_page_url": f"{base_url}/?o={WORKSPACE_ID}#job/{run.job_id}/run/{task_run_id}",
            "attempt_number": 0,
            "notebook_task": {"notebook_path": f"/Repos/etl/{task}", "source": "WORKSPACE"},
            "existing_cluster_id": run.cluster_id,
            "cluster_instance": {"cluster_id": run.cluster_id, "spark_context_id": f"{run.run_id}0"},
            "depends_on": [] if task == run.tasks[0] else [{"task_key": run.tasks[run.tasks.index(task) - 1]}],
        })
    body: dict[str, Any] = {
        "job_id": run.job_id, "run_id": run.run_id, "number_in_job": run.number_in_job,
        "original_attempt_run_id": run.run_id, "run_name": run.job_name,
        "creator_user_name": "aiops-rca@example.com",
        "state": state, "status": _status(state),
        "tasks": tasks,
        "cluster_instance": {"cluster_id": run.cluster_id, "spark_context_id": f"{run.run_id}0"},
        "start_time": millis(first.start), "end_time": millis(end) if end else 0,
        "setup_duration": 0, "cleanup_duration": 0, "execution_duration": 0,
        "run_duration": millis((end or now) - first.start),
        "run_page_url": url, "run_type": "JOB_RUN", "trigger": "ONE_TIME",
        "format": "MULTI_TASK", "attempt_number": 0,
        "job_parameters": [{"name": k, "value": str(v)} for k, v in run.job_parameters.items()],
    }
    if include_history:
        history = []
        for execution in run.executions:
            e_end = execution.end(now)
            e_state = {"life_cycle_state": "TERMINATED" if e_end else "RUNNING"}
            history.append({
                "type": "ORIGINAL" if execution.repair_id is None else "REPAIR",
                **({"id": execution.repair_id} if execution.repair_id is not None else {}),
                "start_time": millis(execution.start), "end_time": millis(e_end) if e_end else 0,
                "state": e_state, "status": _status(e_state),
                "task_run_ids": list(execution.task_run_ids.values()),
            })
        body["repair_history"] = history
    if last.repair_id is not None:
        body["latest_repair_id"] = last.repair_id
    return body


def databricks_error(err: ApiError) -> Response:
    code = err.code or {400: "INVALID_PARAMETER_VALUE", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                        404: "RESOURCE_DOES_NOT_EXIST", 429: "REQUEST_LIMIT_EXCEEDED", 500: "INTERNAL_ERROR",
                        503: "TEMPORARILY_UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}.get(err.status, "INTERNAL_ERROR")
    message = err.message or f"The request failed with status {err.status}."
    return json_response({"error_code": code, "message": message}, err.status, retry_after_header(err))


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _invalid(f"{name} must be an integer, got {value!r}") from None


class DatabricksApi:
    """The Databricks REST API slice: one method per endpoint."""

    def __init__(self, world: World) -> None:
        self.world = world

    def check(self, ex: Exchange) -> None:
        token = ex.bearer()
        if token is None:
            raise ApiError(401, "UNAUTHENTICATED",
                           "Credential was not sent or was of an unsupported type for this API.")
        if token != self.world.credentials.databricks_token:
            raise ApiError(401, "UNAUTHENTICATED", "Invalid access token.")

    def body(self, ex: Exchange) -> dict[str, Any]:
        return ex.body if isinstance(ex.body, dict) else {}

    async def run_now(self, ex: Exchange) -> Response:
        self.check(ex)
        b = self.body(ex)
        job_id = _int(b.get("job_id"), "job_id")
        params = b.get("job_parameters") or b.get("notebook_params") or {}
        run = self.world.databricks.run_now(job_id, b.get("idempotency_token"), params, ex.now)
        ex.call.target.update({"job_id": job_id, "run_id": run.run_id,
                               "idempotency_token": b.get("idempotency_token")})
        return json_response({"run_id": run.run_id, "number_in_job": run.number_in_job})

    async def get_run(self, ex: Exchange) -> Response:
        self.check(ex)
        run_id = _int(ex.query.get("run_id"), "run_id")
        ex.call.target["run_id"] = run_id
        run = self.world.databricks.get_run(run_id)
        history = (ex.query.get("include_history") or "").lower() == "true"
        return json_response(run_wire(run, ex.now, ex.base_url, history))

    async def get_output(self, ex: Exchange) -> Response:
        self.check(ex)
        run_id = _int(ex.query.get("run_id"), "run_id")
        ex.call.target["run_id"] = run_id
        state = self.world.databricks
        if run_id in state.runs:
            run = state.runs[run_id]
            if len(run.tasks) != 1:
                raise _invalid("Retrieving the output of runs with multiple tasks is not supported. Please retrieve"
                               " the output of each individual task run instead.")
            task_run_id = run.latest_for(run.tasks[0]).task_run_ids[run.tasks[0]]
        elif run_id in state.task_runs:
            task_run_id = run_id
        else:
            raise _invalid(f"Run {run_id} does not exist.")
        parent_id, task = state.task_runs[task_run_id]
        run = state.runs[parent_id]
        execution = next(e for e in run.executions if e.task_run_ids.get(task) == task_run_id)
        whole = run_wire(run, ex.now, ex.base_url, False)
        metadata = {**next(t for t in whole["tasks"] if t["task_key"] == task), "job_id": run.job_id,
                    "run_name": run.job_name}
        metadata["run_id"] = task_run_id
        metadata["state"] = {**metadata["state"]}
        # A task of an older execution that a repair replaced keeps its own result.
        life, result, message = execution.task_result(task, ex.now)
        metadata["state"].update({"life_cycle_state": life, "state_message": message,
                                  **({"result_state": result} if result else {})})
        out: dict[str, Any] = {"metadata": metadata}
        if result in ("FAILED", "TIMEDOUT") or life == "INTERNAL_ERROR":
            out["error"] = execution.outcome.error
            if execution.outcome.error_trace:
                out["error_trace"] = execution.outcome.error_trace
        elif result == "SUCCESS":
            out["notebook_output"] = {"result": "", "truncated": False}
        return json_response(out)

    async def repair(self, ex: Exchange) -> Response:
        self.check(ex)
        b = self.body(ex)
        run_id = _int(b.get("run_id"), "run_id")
        latest = b.get("latest_repair_id")
        repair_id = self.world.databricks.repair(
            run_id, rerun_tasks=b.get("rerun_tasks"), rerun_all_failed=bool(b.get("rerun_all_failed_tasks")),
            latest_repair_id=_int(latest, "latest_repair_id") if latest is not None else None, now=ex.now)
        ex.call.target.update({"run_id": run_id, "repair_id": repair_id})
        return json_response({"repair_id": repair_id})

    async def list_runs(self, ex: Exchange) -> Response:
        self.check(ex)
        q = ex.query
        runs = list(self.world.databricks.runs.values())
        if q.get("job_id"):
            runs = [r for r in runs if r.job_id == _int(q["job_id"], "job_id")]
        if (q.get("active_only") or "").lower() == "true":
            runs = [r for r in runs if r.end(ex.now) is None]
        if (q.get("completed_only") or "").lower() == "true":
            runs = [r for r in runs if r.end(ex.now) is not None]
        if q.get("start_time_from"):
            runs = [r for r in runs if millis(r.executions[0].start) >= int(q["start_time_from"])]
        if q.get("start_time_to"):
            runs = [r for r in runs if millis(r.executions[0].start) <= int(q["start_time_to"])]
        runs.sort(key=lambda r: (r.executions[0].start, r.run_id), reverse=True)
        offset = int(q.get("page_token") or q.get("offset") or 0)
        limit = int(q.get("limit") or 25)
        page = runs[offset: offset + limit]
        expand = (q.get("expand_tasks") or "").lower() == "true"
        wires = []
        for run in page:
            wire = run_wire(run, ex.now, ex.base_url, False)
            if not expand:
                wire.pop("tasks")
            wires.append(wire)
        more = offset + limit < len(runs)
        out: dict[str, Any] = {"runs": wires, "has_more": more}
        if more:
            out["next_page_token"] = str(offset + limit)
        return json_response(out)

    async def cancel_run(self, ex: Exchange) -> Response:
        self.check(ex)
        run_id = _int(self.body(ex).get("run_id"), "run_id")
        ex.call.target["run_id"] = run_id
        self.world.databricks.cancel(run_id, ex.now)
        return json_response({})

    def cluster_id(self, ex: Exchange) -> str:
        value = self.body(ex).get("cluster_id") or ex.query.get("cluster_id")
        if not value:
            raise _invalid("Missing required field: cluster_id")
        ex.call.target["cluster_id"] = str(value)
        return str(value)

    async def cluster_get(self, ex: Exchange) -> Response:
        self.check(ex)
        return json_response(self.world.databricks.cluster(self.cluster_id(ex)).as_wire(ex.now, ex.base_url))

    async def cluster_list(self, ex: Exchange) -> Response:
        self.check(ex)
        return json_response({"clusters": [c.as_wire(ex.now, ex.base_url)
                                           for c in self.world.databricks.clusters.values()]})

    async def cluster_start(self, ex: Exchange) -> Response:
        self.check(ex)
        self.world.databricks.cluster(self.cluster_id(ex)).start(ex.now)
        return json_response({})

    async def cluster_restart(self, ex: Exchange) -> Response:
        self.check(ex)
        self.world.databricks.cluster(self.cluster_id(ex)).restart(ex.now)
        return json_response({})

    async def cluster_resize(self, ex: Exchange) -> Response:
        self.check(ex)
        cluster = self.world.databricks.cluster(self.cluster_id(ex))
        num_workers, autoscale = _size(self.body(ex))
        if num_workers is None and autoscale is None:
            raise _invalid("One of num_workers or autoscale must be given.")
        ex.call.target.update({"num_workers": num_workers, "autoscale": autoscale})
        cluster.resize(ex.now, num_workers, autoscale)
        return json_response({})

    async def cluster_edit(self, ex: Exchange) -> Response:
        self.check(ex)
        self.world.databricks.cluster(self.cluster_id(ex)).edit(ex.now, self.body(ex))
        return json_response({})

    async def cluster_events(self, ex: Exchange) -> Response:
        self.check(ex)
        cluster = self.world.databricks.cluster(self.cluster_id(ex))
        cluster.settle(ex.now)
        return json_response({"events": list(reversed(cluster.events)), "total_count": len(cluster.events)})

    async def libraries_install(self, ex: Exchange) -> Response:
        self.check(ex)
        libs = self.body(ex).get("libraries") or []
        if not isinstance(libs, list) or not libs:
            raise _invalid("libraries must be a non-empty list")
        ex.call.target["libraries"] = [library_coordinate(lib) for lib in libs]
        self.world.databricks.install(self.cluster_id(ex), libs, ex.now)
        return json_response({})

    async def libraries_uninstall(self, ex: Exchange) -> Response:
        self.check(ex)
        libs = self.body(ex).get("libraries") or []
        if not isinstance(libs, list) or not libs:
            raise _invalid("libraries must be a non-empty list")
        coordinates = [library_coordinate(lib) for lib in libs]
        ex.call.target["libraries"] = coordinates
        self.world.databricks.uninstall(self.cluster_id(ex), coordinates)
        return json_response({})

    async def libraries_status(self, ex: Exchange) -> Response:
        self.check(ex)
        cluster = self.world.databricks.cluster(self.cluster_id(ex))
        cluster.settle(ex.now)
        statuses: list[dict[str, Any]] = []
        for lib in cluster.libraries:
            messages: list[str] = []
            if lib.ready_at is None:
                status = "PENDING"
            elif ex.now < lib.ready_at:
                status = "INSTALLING"
            else:
                status = lib.outcome.status
                messages = [lib.outcome.message] if lib.outcome.message else []
                if status == "FAILED" and not messages:
                    messages = [f"Library installation failed for library due to user error for {lib.coordinate}."]
            statuses.append({"library": lib.spec, "status": status, "messages": messages,
                             "is_library_for_all_clusters": False})
        return json_response({"cluster_id": cluster.cluster_id, "library_statuses": statuses})

    async def host_metadata(self, ex: Exchange) -> Response:
        return json_response({"workspace_id": str(WORKSPACE_ID)})

    def route(self, path: str, op: str, handler: Any, method: str) -> Route:
        return Route(path, endpoint(self.world.plumbing, "databricks", op, handler, databricks_error), methods=[method])

    jobs = "/api/{version:str}/jobs"
    clusters = "/api/{version:str}/clusters"
    libraries = "/api/{version:str}/libraries"

    def routes(self) -> list[Route]:
        return [
            self.route("/.well-known/databricks-config", "host-metadata", self.host_metadata, "GET"),
            self.route(self.jobs + "/run-now", "jobs/run-now", self.run_now, "POST"),
            self.route(self.jobs + "/runs/get", "jobs/runs/get", self.get_run, "GET"),
            self.route(self.jobs + "/runs/get-output", "jobs/runs/get-output", self.get_output, "GET"),
            self.route(self.jobs + "/runs/repair", "jobs/runs/repair", self.repair, "POST"),
            self.route(self.jobs + "/runs/list", "jobs/runs/list", self.list_runs, "GET"),
            self.route(self.jobs + "/runs/cancel", "jobs/runs/cancel", self.cancel_run, "POST"),
            self.route(self.clusters + "/get", "clusters/get", self.cluster_get, "GET"),
            self.route(self.clusters + "/list", "clusters/list", self.cluster_list, "GET"),
            self.route(self.clusters + "/start", "clusters/start", self.cluster_start, "POST"),
            self.route(self.clusters + "/restart", "clusters/restart", self.cluster_restart, "POST"),
            self.route(self.clusters + "/resize", "clusters/resize", self.cluster_resize, "POST"),
            self.route(self.clusters + "/edit", "clusters/edit", self.cluster_edit, "POST"),
            self.route(self.clusters + "/events", "clusters/events", self.cluster_events, "POST"),
            self.route(self.libraries + "/install", "libraries/install", self.libraries_install, "POST"),
            self.route(self.libraries + "/uninstall", "libraries/uninstall", self.libraries_uninstall, "POST"),
            self.route(self.libraries + "/cluster-status", "libraries/cluster-status", self.libraries_status, "GET"),
        ]


def routes(world: World) -> list[Route]:
    return DatabricksApi(world).routes()
