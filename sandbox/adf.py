"""Azure Data Factory management API (Microsoft.DataFactory, api-version 2018-06-01), the run slice.

State first (pure, clock-driven: a run is InProgress until its start plus
duration, then takes its outcome), then the ARM routes that
`azure-mgmt-datafactory` calls: pipelines createRun, pipelineruns get / cancel,
queryPipelineRuns and queryActivityruns, plus pipeline get.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.routing import Route

from sandbox.clock import iso, parse_iso
from sandbox.endpoint import ApiError, Exchange, endpoint, json_response, retry_after_header
from sandbox.scenario import AdfOutcome, AdfPipeline, AdfSeededRun, Scenario

if TYPE_CHECKING:
    from sandbox.world import World

API_VERSION = "2018-06-01"
TERMINAL = frozenset({"Succeeded", "Failed", "Cancelled"})


@dataclass
class AdfRun:
    run_id: str
    pipeline: str
    factory: str | None
    resource_group: str | None
    outcome: AdfOutcome
    duration: float
    activities: list[str]
    activity_type: str
    start: float
    parameters: dict[str, Any] = field(default_factory=dict)
    run_group_id: str = ""
    reference_run_id: str | None = None
    is_recovery: bool = False
    start_activity: str | None = None
    cancelled_at: float | None = None
    is_latest: bool = True

    def end(self, now: float) -> float | None:
        if self.cancelled_at is not None:
            return self.cancelled_at
        finish = self.start + self.duration
        return finish if now >= finish else None

    def status(self, now: float) -> str:
        if self.cancelled_at is not None:
            return "Cancelled"
        return self.outcome.status if self.end(now) is not None else "InProgress"

    def executed_activities(self) -> list[str]:
        """Activities this run executes: all, or from the start activity in a recovery run."""
        if self.start_activity and self.start_activity in self.activities:
            return self.activities[self.activities.index(self.start_activity):]
        return list(self.activities)

    def failed_activity(self) -> str:
        executed = self.executed_activities() or ["Copy data"]
        wanted = self.outcome.failed_activity
        return wanted if wanted in executed else executed[0]

    def last_updated(self, now: float) -> float:
        end = self.end(now)
        return end if end is not None else self.start

    def message(self, now: float) -> str:
        status = self.status(now)
        if status == "Failed":
            return f"Operation on target {self.failed_activity()} failed: {self.outcome.message}"
        if status == "Cancelled":
            return "Pipeline run was cancelled."
        return ""

    def as_wire(self, now: float) -> dict[str, Any]:
        end = self.end(now)
        return {
            "id": f"/pipelineruns/{self.run_id}",
            "runId": self.run_id,
            "debugRunId": None,
            "runGroupId": self.run_group_id,
            "isLatest": self.is_latest,
            "pipelineName": self.pipeline,
            "parameters": {k: str(v) for k, v in self.parameters.items()},
            "runDimensions": {},
            "invokedBy": {
                "id": uuid.uuid5(uuid.NAMESPACE_URL, self.run_id).hex,
                "name": "Manual",
                "invokedByType": "Manual",
            },
            "runStart": iso(self.start),
            "runEnd": iso(end) if end is not None else None,
            "durationInMs": round((end - self.start) * 1000) if end is not None else None,
            "status": self.status(now),
            "message": self.message(now),
            "lastUpdated": iso(self.last_updated(now)),
            "annotations": [],
            "runDimension": {},
        }

    def activity_runs(self, now: float) -> list[dict[str, Any]]:
        status = self.status(now)
        executed = self.executed_activities()
        end = self.end(now)
        if status == "InProgress":
            reached, final = executed[:1], "InProgress"
        elif status == "Failed":
            failed = self.failed_activity()
            reached, final = executed[: executed.index(failed) + 1], "Failed"
        elif status == "Cancelled":
            reached, final = executed[:1], "Cancelled"
        else:
            reached, final = executed, "Succeeded"
        share = (self.duration / len(reached)) if reached and self.duration else 0.0
        runs: list[dict[str, Any]] = []
        for index, name in enumerate(reached):
            last = index == len(reached) - 1
            a_start = self.start + index * share
            a_status = final if last else "Succeeded"
            a_end = (end if last else a_start + share) if a_status != "InProgress" else None
            error: dict[str, Any] = {"errorCode": "", "message": "", "failureType": "", "target": name,
                                     "details": ""}
            if a_status == "Failed":
                error = {"errorCode": self.outcome.error_code, "message": self.outcome.message,
                         "failureType": self.outcome.failure_type, "target": name, "details": ""}
            runs.append({
                "pipelineName": self.pipeline,
                "pipelineRunId": self.run_id,
                "activityName": name,
                "activityType": self.activity_type,
                "activityRunId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.run_id}/{name}")),
                "linkedServiceName": "",
                "status": a_status,
                "activityRunStart": iso(a_start),
                "activityRunEnd": iso(a_end) if a_end is not None else None,
                "durationInMs": round((a_end - a_start) * 1000) if a_end is not None else None,
                "input": {},
                "output": self.outcome.failed_activity_output if a_status == "Failed" else {},
                "error": error,
                "retryAttempt": None,
                "userProperties": {},
            })
        return runs


class AdfState:
    """Pipelines, their scripted outcomes and every run, in memory."""

    def __init__(self, scenario: Scenario, now: float) -> None:
        self.default_duration = scenario.defaults.run_duration_seconds
        self.pipelines: dict[str, AdfPipeline] = dict(scenario.adf.pipelines)
        self.created: dict[str, int] = {}
        self.runs: dict[str, AdfRun] = {}
        self.apply(scenario, now)

    def apply(self, scenario: Scenario, now: float) -> None:
        """Add a scenario's pipelines and seeded runs to the current state."""
        self.pipelines.update(scenario.adf.pipelines)
        for seed in scenario.adf.seeded_runs:
            self._seed(seed, now)

    def _pipeline(self, name: str) -> AdfPipeline:
        return self.pipelines.get(name) or AdfPipeline()

    def _seed(self, seed: AdfSeededRun, now: float) -> None:
        pipeline = self._pipeline(seed.pipeline)
        outcome = AdfOutcome.model_validate(seed.model_dump(include=set(AdfOutcome.model_fields)))
        self.runs[seed.run_id] = AdfRun(
            run_id=seed.run_id, pipeline=seed.pipeline, factory=seed.factory,
            resource_group=seed.resource_group, outcome=outcome,
            duration=seed.duration_seconds if seed.duration_seconds is not None else 0.0,
            activities=pipeline.activities, activity_type=pipeline.activity_type,
            start=now - seed.started_seconds_ago, parameters=dict(seed.parameters), run_group_id=seed.run_id,
        )

    def next_outcome(self, pipeline: str) -> AdfOutcome:
        """The outcome of the next run of this pipeline: the scripted list in order, the last repeating."""
        count = self.created.get(pipeline, 0)
        self.created[pipeline] = count + 1
        script = self._pipeline(pipeline).runs
        if not script:
            return AdfOutcome()
        return script[min(count, len(script) - 1)]

    def create_run(self, *, pipeline: str, factory: str, resource_group: str, parameters: dict[str, Any],
                   reference_run_id: str | None, is_recovery: bool, start_activity: str | None,
                   start_from_failure: bool, now: float) -> AdfRun:
        reference = None
        if reference_run_id:
            reference = self.runs.get(reference_run_id)
            if reference is None:
                raise ApiError(400, "BadRequest",
                               f"The reference pipeline run id '{reference_run_id}' was not found.")
        if (is_recovery or start_from_failure) and reference is None:
            raise ApiError(400, "BadRequest", "Recovery mode needs a referencePipelineRunId.")
        if is_recovery and reference is not None and start_activity is None and start_from_failure \
                and reference.status(now) == "Failed":
            start_activity = reference.failed_activity()
        outcome = self.next_outcome(pipeline)
        pipeline_def = self._pipeline(pipeline)
        if start_activity is not None and start_activity not in pipeline_def.activities:
            raise ApiError(400, "BadRequest",
                           f"Activity '{start_activity}' not found in pipeline '{pipeline}'.")
        run_id = str(uuid.uuid4())
        if reference is not None and not parameters and is_recovery:
            parameters = dict(reference.parameters)
        run = AdfRun(
            run_id=run_id, pipeline=pipeline, factory=factory, resource_group=resource_group,
            outcome=outcome,
            duration=outcome.duration_seconds if outcome.duration_seconds is not None else self.default_duration,
            activities=pipeline_def.activities, activity_type=pipeline_def.activity_type, start=now,
            parameters=parameters, run_group_id=reference.run_group_id if (reference and is_recovery) else run_id,
            reference_run_id=reference_run_id, is_recovery=is_recovery, start_activity=start_activity,
        )
        if reference is not None and is_recovery:
            for other in self.runs.values():
                if other.run_group_id == run.run_group_id:
                    other.is_latest = False
        self.runs[run_id] = run
        return run

    def visible(self, run: AdfRun, factory: str) -> bool:
        return run.factory is None or run.factory.lower() == factory.lower()

    def get(self, run_id: str, factory: str) -> AdfRun:
        run = self.runs.get(run_id)
        if run is None or not self.visible(run, factory):
            raise ApiError(404, "PipelineRunNotFound", f"Pipeline run '{run_id}' was not found.")
        return run

    def cancel(self, run_id: str, factory: str, now: float) -> AdfRun:
        run = self.get(run_id, factory)
        if run.status(now) not in TERMINAL:
            run.cancelled_at = now
        return run

    def query_runs(self, factory: str, filters: dict[str, Any], now: float) -> list[AdfRun]:
        after, before = _window(filters)
        found = [
            r for r in self.runs.values()
            if self.visible(r, factory) and after <= r.last_updated(now) <= before
            and all(_matches(_run_operand(r, f.get("operand", ""), now), f) for f in filters.get("filters") or [])
        ]
        return _order(found, filters.get("orderBy") or [], lambda r, key: _run_operand(r, key, now))


def _window(filters: dict[str, Any]) -> tuple[float, float]:
    try:
        return parse_iso(str(filters["lastUpdatedAfter"])), parse_iso(str(filters["lastUpdatedBefore"]))
    except KeyError as missing:
        raise ApiError(400, "BadRequest", f"The parameter {missing.args[0]} is required.") from None
    except ValueError as exc:
        raise ApiError(400, "BadRequest", f"Invalid time window: {exc}") from None


def _run_operand(run: AdfRun, operand: str, now: float) -> Any:
    key = operand.lower()
    if key == "pipelinename":
        return run.pipeline
    if key == "status":
        return run.status(now)
    if key == "rungroupid":
        return run.run_group_id
    if key == "runstart":
        return run.start
    if key == "runend":
        return run.end(now) or 0.0
    if key == "latestonly":
        return str(run.is_latest).lower()
    raise ApiError(400, "BadRequest", f"The filter operand '{operand}' is not supported by the sandbox.")


def _matches(value: Any, condition: dict[str, Any]) -> bool:
    operator = str(condition.get("operator", "Equals")).lower()
    values = [str(v).lower() for v in condition.get("values") or []]
    have = str(value).lower()
    if operator in ("equals", "in"):
        return have in values
    if operator in ("notequals", "notin"):
        return have not in values
    raise ApiError(400, "BadRequest", f"The filter operator '{condition.get('operator')}' is not supported.")


def _order(items: list[Any], order_by: list[dict[str, Any]], key_of: Callable[[Any, str], Any]) -> list[Any]:
    result = list(items)
    for clause in reversed(order_by):
        field_name = str(clause.get("orderBy", "RunStart"))

        def sort_key(item: Any, name: str = field_name) -> Any:
            return key_of(item, name)

        result.sort(key=sort_key, reverse=str(clause.get("order", "ASC")).upper() == "DESC")
    return result


# --- HTTP -------------------------------------------------------------------------------------

FACTORY = ("/subscriptions/{subscription}/resourceGroups/{resource_group}"
           "/providers/Microsoft.DataFactory/factories/{factory}")


def arm_error(err: ApiError) -> Response:
    """ARM's error envelope: {"error": {"code", "message"}}."""
    code = err.code or {400: "BadRequest", 401: "AuthenticationFailed", 404: "NotFound", 429: "TooManyRequests",
                        500: "InternalServerError", 503: "ServiceUnavailable", 504: "GatewayTimeout"}.get(
        err.status, "InternalServerError")
    message = err.message or f"The request failed with status {err.status}."
    return json_response({"error": {"code": code, "message": message}}, err.status, retry_after_header(err))


def _truthy(value: str | None) -> bool:
    return (value or "").lower() == "true"


class AdfApi:
    """The Azure Data Factory (ARM) API slice: one method per endpoint."""

    def __init__(self, world: World) -> None:
        self.world = world

    def check(self, ex: Exchange) -> None:
        if ex.query.get("api-version") is None:
            raise ApiError(400, "MissingApiVersionParameter",
                           "The api-version query parameter (?api-version=) is required for all requests.")
        token = ex.bearer()
        if token is None:
            raise ApiError(401, "AuthenticationFailed",
                           "Authentication failed. The 'Authorization' header is missing.")
        if not self.world.aad.knows(token):
            raise ApiError(401, "InvalidAuthenticationToken",
                           "The access token is invalid (not issued by this sandbox's token endpoint).")
        ex.call.target.update({k: v for k, v in ex.path_params.items() if k != "subscription"})

    async def create_run(self, ex: Exchange) -> Response:
        self.check(ex)
        p = ex.path_params
        parameters = ex.body if isinstance(ex.body, dict) else {}
        run = self.world.adf.create_run(
            pipeline=p["pipeline"], factory=p["factory"], resource_group=p["resource_group"],
            parameters=parameters, reference_run_id=ex.query.get("referencePipelineRunId"),
            is_recovery=_truthy(ex.query.get("isRecovery")), start_activity=ex.query.get("startActivityName"),
            start_from_failure=_truthy(ex.query.get("startFromFailure")), now=ex.now,
        )
        ex.call.target.update({"run_id": run.run_id, "reference_run_id": run.reference_run_id,
                               "is_recovery": run.is_recovery, "start_activity": run.start_activity})
        return json_response({"runId": run.run_id})

    async def get_run(self, ex: Exchange) -> Response:
        self.check(ex)
        run = self.world.adf.get(ex.path_params["run_id"], ex.path_params["factory"])
        return json_response(run.as_wire(ex.now))

    async def cancel_run(self, ex: Exchange) -> Response:
        self.check(ex)
        self.world.adf.cancel(ex.path_params["run_id"], ex.path_params["factory"], ex.now)
        return Response(status_code=200)

    async def query_runs(self, ex: Exchange) -> Response:
        self.check(ex)
        body = ex.body if isinstance(ex.body, dict) else {}
        runs = self.world.adf.query_runs(ex.path_params["factory"], body, ex.now)
        return json_response({"value": [r.as_wire(ex.now) for r in runs], "continuationToken": None})

    async def query_activity_runs(self, ex: Exchange) -> Response:
        self.check(ex)
        body = ex.body if isinstance(ex.body, dict) else {}
        run = self.world.adf.get(ex.path_params["run_id"], ex.path_params["factory"])
        after, before = _window(body)
        activities = [
            a for a in run.activity_runs(ex.now)
            if after <= parse_iso(a["activityRunEnd"] or a["activityRunStart"]) <= before
            and all(_matches(_activity_operand(a, f.get("operand", "")), f) for f in body.get("filters") or [])
        ]
        activities = _order(activities, body.get("orderBy") or [],
                            lambda a, key: _activity_operand(a, key))
        return json_response({"value": activities, "continuationToken": None})

    async def get_pipeline(self, ex: Exchange) -> Response:
        self.check(ex)
        p = ex.path_params
        definition = self.world.adf.pipelines.get(p["pipeline"]) or AdfPipeline()
        return json_response({
            "id": FACTORY.format(**p) + f"/pipelines/{p['pipeline']}",
            "name": p["pipeline"],
            "type": "Microsoft.DataFactory/factories/pipelines",
            "properties": {"activities": [{"name": a, "type": definition.activity_type, "dependsOn": []}
                                          for a in definition.activities]},
            "etag": uuid.uuid5(uuid.NAMESPACE_URL, p["pipeline"]).hex,
        })

    def route(self, path: str, op: str, handler: Any, method: str) -> Route:
        return Route(FACTORY + path, endpoint(self.world.plumbing, "adf", op, handler, arm_error), methods=[method])


    def routes(self) -> list[Route]:
        # The SDK percent-encodes the pipeline name as one path segment (a "/" in it becomes %2F), but the
        # server hands routing the decoded path, so the name is matched up to the operation's last segment.
        return [
            self.route("/pipelines/{pipeline:path}/createRun", "createRun", self.create_run, "POST"),
            self.route("/pipelines/{pipeline:path}", "getPipeline", self.get_pipeline, "GET"),
            self.route("/pipelineruns/{run_id}", "getPipelineRun", self.get_run, "GET"),
            self.route("/pipelineruns/{run_id}/cancel", "cancelPipelineRun", self.cancel_run, "POST"),
            self.route("/pipelineruns/{run_id}/queryActivityruns", "queryActivityruns", self.query_activity_runs,
                       "POST"),
            self.route("/queryPipelineRuns", "queryPipelineRuns", self.query_runs, "POST"),
        ]


def routes(world: World) -> list[Route]:
    return AdfApi(world).routes()


def _activity_operand(activity: dict[str, Any], operand: str) -> Any:
    key = operand.lower()
    names = {"activityname": "activityName", "activitytype": "activityType", "status": "status",
             "activityrunstart": "activityRunStart", "activityrunend": "activityRunEnd"}
    if key not in names:
        raise ApiError(400, "BadRequest", f"The filter operand '{operand}' is not supported by the sandbox.")
    return activity.get(names[key]) or ""
