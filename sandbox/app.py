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


def control_routes(world: World) -> list[BaseRoute]:
    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def reset(request: Request) -> Response:
        world.reset()
        return JSONResponse({"ok": True})

    async def scenario(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(world.scenario.model_dump(mode="json", exclude_defaults=True))
        try:
            parsed = await _scenario_body(request)
        except ScenarioError as exc:
            return _bad_request(exc)
        if request.method == "PUT":
            world.load(parsed)
        else:
            world.apply(parsed)
        return JSONResponse({"ok": True})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            try:
                data = yaml.safe_load((await request.body()).decode("utf-8"))
                fault = parse_scenario({"faults": [data]}).faults[0]
            except (ScenarioError, yaml.YAMLError) as exc:
                return _bad_request(exc)
            world.plumbing.faults.add(fault)
        elif request.method == "DELETE":
            world.plumbing.faults.clear()
        return JSONResponse(world.plumbing.faults.describe())

    async def calls(request: Request) -> Response:
        q = request.query_params
        found = world.plumbing.calls.query(q.get("service"), q.get("op"), int(q.get("since") or 0))
        return JSONResponse([c.as_dict() for c in found])

    async def slack_channel(request: Request) -> Response:
        try:
            return JSONResponse(world.slack.view(request.path_params["channel"]))
        except ApiError:
            return JSONResponse({"error": "channel_not_found"}, status_code=404)

    async def jira_issues(request: Request) -> Response:
        project = request.query_params.get("project")
        keys = [i.key for i in world.jira.issues.values() if project is None or i.project == project.upper()]
        return JSONResponse([world.jira.view(k) for k in keys])

    async def jira_issue(request: Request) -> Response:
        try:
            return JSONResponse(world.jira.view(request.path_params["key"]))
        except ApiError as exc:
            return JSONResponse({"error": exc.message}, status_code=404)

    async def adf_runs(request: Request) -> Response:
        now = world.clock.now()
        return JSONResponse([{**r.as_wire(now), "factory": r.factory, "referencePipelineRunId": r.reference_run_id,
                              "isRecovery": r.is_recovery, "startActivityName": r.start_activity,
                              "activityRuns": r.activity_runs(now)} for r in world.adf.runs.values()])

    async def databricks_runs(request: Request) -> Response:
        now, base = world.clock.now(), str(request.base_url).rstrip("/")
        return JSONResponse([run_wire(r, now, base, True) for r in world.databricks.runs.values()])

    async def databricks_clusters(request: Request) -> Response:
        now, base = world.clock.now(), str(request.base_url).rstrip("/")
        return JSONResponse([c.as_wire(now, base) for c in world.databricks.clusters.values()])

    async def overview(request: Request) -> Response:
        return PlainTextResponse(render_overview(world))

    def route(path: str, handler: Any, methods: list[str]) -> Route:
        return Route(f"/_sandbox{path}", handler, methods=methods)

    return [
        route("/", overview, ["GET"]),
        route("/health", health, ["GET"]),
        route("/reset", reset, ["POST"]),
        route("/scenario", scenario, ["GET", "PUT", "POST"]),
        route("/faults", faults, ["GET", "POST", "DELETE"]),
        route("/calls", calls, ["GET"]),
        route("/slack/channels/{channel}", slack_channel, ["GET"]),
        route("/jira/issues", jira_issues, ["GET"]),
        route("/jira/issues/{key}", jira_issue, ["GET"]),
        route("/adf/runs", adf_runs, ["GET"]),
        route("/databricks/runs", databricks_runs, ["GET"]),
        route("/databricks/clusters", databricks_clusters, ["GET"]),
    ]


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
