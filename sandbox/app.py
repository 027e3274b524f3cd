"""The sandbox's Starlette application: every fake API plus the `/_sandbox` control API.

Control API (JSON unless noted):
  GET    /_sandbox/health
  POST   /_sandbox/reset                      back to the startup scenario; call log and faults cleared
  PUT    /_sandbox/scenario                   replace: reset, then load this scenario (YAML or JSON body)
  POST   /_sandbox/scenario                   add this scenario fragment (seeded runs, faults...) to the state
  GET    /_sandbox/scenario                   the scenario loaded last
  POST   /_sandbox/faults                     add one fault (same fields as a scenario `faults` entry)
  GET    /_sandbox/faults  | DELETE /_sandbox/faults
  GET    /_sandbox/calls?service=&op=&since=  the call log
  GET    /_sandbox/slack/channels/{channel}   a channel as a person sees it (edits, threads)
  GET    /_sandbox/jira/issues?project=       issues as a person sees them
  GET    /_sandbox/jira/issues/{key}
  GET    /_sandbox/adf/runs | /_sandbox/databricks/runs | /_sandbox/databricks/clusters
  GET    /_sandbox/                           plain-text overview for humans
"""

from __future__ import annotations

from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox import aad, adf, databricks, jira, llm, slack
from sandbox.databricks import run_wire
from sandbox.endpoint import ApiError, Exchange, endpoint, json_response
from sandbox.scenario import ScenarioError, parse_scenario, parse_scenario_text
from sandbox.world import World


async def _scenario_body(request: Request) -> Any:
    text = (await request.body()).decode("utf-8")
    return parse_scenario_text(text)


def _bad_request(exc: Exception) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=400)


class ControlApi:
    """The sandbox's own control endpoints (state, scenario, reset, clock): one method each."""

    def __init__(self, world: World) -> None:
        self.world = world

    async def health(self, request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def reset(self, request: Request) -> Response:
        self.world.reset()
        return JSONResponse({"ok": True})

    async def scenario(self, request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(self.world.scenario.model_dump(mode="json", exclude_defaults=True))
        try:
            parsed = await _scenario_body(request)
        except ScenarioError as exc:
            return _bad_request(exc)
        if request.method == "PUT":
            self.world.load(parsed)
        else:
            self.world.apply(parsed)
        return JSONResponse({"ok": True})

    async def faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                data = yaml.safe_load((await request.body()).decode("utf-8"))
                fault = parse_scenario({"faults": [data]}).faults[0]
            except (ScenarioError, yaml.YAMLError) as exc:
                return _bad_request(exc)
            self.world.plumbing.faults.add(fault)
        elif request.method == "DELETE":
            self.world.plumbing.faults.clear()
        return JSONResponse(self.world.plumbing.faults.describe())

    async def calls(self, request: Request) -> Response:
        q = request.query_params
        found = self.world.plumbing.calls.query(q.get("service"), q.get("op"), int(q.get("since") or 0))
        return JSONResponse([c.as_dict() for c in found])

    async def slack_channel(self, request: Request) -> Response:
        try:
            return JSONResponse(self.world.slack.view(request.path_params["channel"]))
        except ApiError:
            return JSONResponse({"error": "channel_not_found"}, status_code=404)

    async def jira_issues(self, request: Request) -> Response:
        project = request.query_params.get("project")
        keys = [i.key for i in self.world.jira.issues.values() if project is None or i.project == project.upper()]
        return JSONResponse([self.world.jira.view(k) for k in keys])

    async def jira_issue(self, request: Request) -> Response:
        try:
            return JSONResponse(self.world.jira.view(request.path_params["key"]))
        except ApiError as exc:
            return JSONResponse({"error": exc.message}, status_code=404)

    async def adf_runs(self, request: Request) -> Response:
        now = self.world.clock.now()
        return JSONResponse([{**r.as_wire(now), "factory": r.factory, "referencePipelineRunId": r.reference_run_id,
                              "isRecovery": r.is_recovery, "startActivityName": r.start_activity,
                              "activityRuns": r.activity_runs(now)} for r in self.world.adf.runs.values()])

    async def databricks_runs(self, request: Request) -> Response:
        now, base = self.world.clock.now(), str(request.base_url).rstrip("/")
        return JSONResponse([run_wire(r, now, base, True) for r in self.world.databricks.runs.values()])

    async def databricks_clusters(self, request: Request) -> Response:
        now, base = self.world.clock.now(), str(request.base_url).rstrip("/")
        return JSONResponse([c.as_wire(now, base) for c in self.world.databricks.clusters.values()])

    async def overview(self, request: Request) -> Response:
        return PlainTextResponse(render_overview(self.world))

    def route(self, path: str, handler: Any, methods: list[str]) -> Route:
        return Route(f"/_sandbox{path}", handler, methods=methods)


    def routes(self) -> list[BaseRoute]:
        return [
            self.route("/", self.overview, ["GET"]),
            self.route("/health", self.health, ["GET"]),
            self.route("/reset", self.reset, ["POST"]),
            self.route("/scenario", self.scenario, ["GET", "PUT", "POST"]),
            self.route("/faults", self.faults, ["GET", "POST", "DELETE"]),
            self.route("/calls", self.calls, ["GET"]),
            self.route("/slack/channels/{channel}", self.slack_channel, ["GET"]),
            self.route("/jira/issues", self.jira_issues, ["GET"]),
            self.route("/jira/issues/{key}", self.jira_issue, ["GET"]),
            self.route("/adf/runs", self.adf_runs, ["GET"]),
            self.route("/databricks/runs", self.databricks_runs, ["GET"]),
            self.route("/databricks/clusters", self.databricks_clusters, ["GET"]),
        ]


def control_routes(world: World) -> list[BaseRoute]:
    return ControlApi(world).routes()


def render_overview(world: World) -> str:
    """What is in the sandbox right now, for a person with curl."""
    now = world.clock.now()
    lines = ["aiops-rca sandbox", ""]
    lines.append(f"ADF runs ({len(world.adf.runs)}):")
    lines += [f"  {r.run_id}  {r.pipeline:<30} {r.status(now)}" for r in world.adf.runs.values()]
    lines.append(f"Databricks runs ({len(world.databricks.runs)}):")
    lines += [f"  {r.run_id:<8} job {r.job_id:<8} {r.state(now).get('result_state', r.state(now)['life_cycle_state'])}"
              for r in world.databricks.runs.values()]
    lines.append(f"Databricks clusters ({len(world.databricks.clusters)}):")
    for c in world.databricks.clusters.values():
        c.settle(now)
        lines.append(f"  {c.cluster_id:<24} {c.state:<11} workers={c.num_workers}")
    lines.append("Slack:")
    for channel in world.slack.channels.values():
        lines.append(f"  #{channel.name} ({channel.id})")
        for m in channel.top_level():
            edited = f" (edited {len(m.edits)}x)" if m.edits else ""
            lines.append(f"    [{m.ts}] {m.text[:100]}{edited}")
            lines += [f"      ↳ [{r.ts}] {r.text[:96]}" for r in channel.replies_to(m.ts)]
    lines.append("Jira:")
    for issue in world.jira.issues.values():
        lines.append(f"  {issue.key:<10} {issue.status:<12} {issue.fields.get('summary', '')}"
                     f"  ({len(issue.comments)} comments)")
    lines.append(f"Calls logged: {len(world.plumbing.calls.query())}")
    return "\n".join(lines) + "\n"


def _not_found(world: World) -> Any:
    async def handler(ex: Exchange) -> Response:
        raise ApiError(404, None, f"The sandbox does not serve {ex.request.method} {ex.request.url.path}.")

    def shaper(err: ApiError) -> Response:
        return json_response({"error": {"code": "NotFound", "message": err.message}}, err.status)

    return endpoint(world.plumbing, "unknown", "unknown", handler, shaper)


def build_app(world: World) -> Starlette:
    routes: list[BaseRoute] = [
        *control_routes(world),
        *adf.routes(world),
        *databricks.routes(world),
        *slack.routes(world),
        *jira.routes(world),
        *llm.routes(world),
        *aad.routes(world),
        Route("/{path:path}", _not_found(world), methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    return Starlette(routes=routes)
