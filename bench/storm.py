"""Storm benchmark: one integration runtime goes down and hundreds of pipelines fail at once.

    .venv/bin/python bench/storm.py                          # 300 storm alerts over 30 s + 20 unrelated
    .venv/bin/python bench/storm.py --storm 500 --spread 60 --unrelated 50   # issue 16's full size

Everything real and local: the local control plane (a fresh namespace, deleted
at the end), the sandbox as ADF, Slack and Jira with their documented rate
limits on (the default), the receiver and the operator as processes. A
RemediationPolicy re-runs GatewayTimeout failures (one attempt) and routes
them to one Slack channel and one Jira project. `--storm` ADF failures whose
error names the self-hosted integration runtime `shir-weu-01` are posted to
the receiver as Azure Monitor alerts, spread evenly over `--spread` seconds
and interleaved with `--unrelated` failures of other pipelines that name no
shared dependency. Every re-run in the sandbox succeeds.

The bench then watches the namespace and the sandbox's call log until the
system settles: every alert is an Incident, none is still Analyzing, no
RemediationAttempt is pending or running, and no Slack, Jira or ADF call came
for `--quiet` seconds (or `--timeout` passed: `settled` is then false). It
reports what it saw, not what it expects:

- incidents, roots (status.correlation.role Root; `storm_roots` those the
  operator created for the storm) and members, storm incidents left ungrouped,
  unrelated incidents that were grouped, and the seconds from the last alert
  until every storm incident was grouped (null if that never happened);
- Slack posts (top-level messages), thread replies and edits, in total and
  for the storm's roots; Jira issues, comments and transitions;
- 429s the sandbox answered (by service and by what ran out), requests sent
  before their Retry-After had elapsed (must be 0), and side effects done twice
  (a second message, reply, issue, comment, transition or re-run of the same
  thing: must be 0);
- re-runs: storm runs re-run, storm runs re-run more than once, end phases;
- API writes per alert (the API server's own counters: creates, patches,
  updates and deletes of Incidents, RemediationAttempts and Events), and the
  seconds from the last alert until the last notification or re-run.

Grouping is the operator's correlation (README "Correlation"); on a build
without it, roots and members are 0 and every storm incident notifies on its
own — the figures show that too. Progress goes to stderr; the last line on
stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from _world import (
    GATEWAY_TIMEOUT,
    REPO,
    adf_scenario,
    apiserver_requests,
    create_namespace,
    free_port,
    gateway_timeout_policy,
    once_key,
    operator_command,
    operator_env,
    print_figures,
    receiver_command,
    reporter,
    slack_metadata,
    wait_healthy,
)
from aiops_operator.api.labels import STORM_ROOT_LABEL
from aiops_operator.kube import ATTEMPTS, INCIDENTS, NAMESPACES, POLICIES, KubeClient, load_config
from aiops_operator.kube.crds import install_crds

from devtools.localcluster import controlplane
from sandbox.ratelimits import early_retries
from sandbox.testing import RunningSandbox
from sandbox.testing import start as start_sandbox

API_KEY = secrets.token_hex(16)
CHANNEL, PROJECT = "#storm-bench", "STORM"
RUNTIME = "shir-weu-01"
STORM_MESSAGE = f"{GATEWAY_TIMEOUT} The copy ran on the self-hosted integration runtime '{RUNTIME}'."
STORM_PIPELINES = 50
UNRELATED_PIPELINES = 50
SIDE_EFFECTS = ("chat.postMessage", "chat.update", "createIssue", "addComment", "doTransition", "createRun")
WRITE_VERBS = ("POST", "PATCH", "PUT", "DELETE")
WRITTEN = ("incidents", "incidents/status", "remediationattempts", "remediationattempts/status", "events")
BUSY_ATTEMPTS = ("Pending", "AwaitingApproval", "Running")
TARGETS = {"storm_roots": 1, "storm_root_slack_posts_max": 2, "grouped_within_seconds": 10.0, "duplicates": 0,
           "early_retries": 0}


progress = reporter("storm")


# -- the world -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    pipeline: str
    run_id: str
    message: str
    storm: bool


def failures(storm: int, unrelated: int, tag: str) -> list[Failure]:
    """The storm's failures with the unrelated ones spread evenly among them (send order)."""
    storm_f = [Failure(f"pl_storm_{i % STORM_PIPELINES:03d}", f"5702{tag}-0000-4000-8000-{i:012d}", STORM_MESSAGE,
                       True) for i in range(storm)]
    other = [Failure(f"pl_other_{i % UNRELATED_PIPELINES:03d}", f"0723{tag}-0000-4000-8000-{i:012d}",
                     GATEWAY_TIMEOUT, False) for i in range(unrelated)]
    out: list[Failure] = []
    every = max(1, (storm + 1) // (unrelated + 1)) if unrelated else 0
    for i, f in enumerate(storm_f):
        out.append(f)
        if every and (i + 1) % every == 0 and other:
            out.append(other.pop(0))
    return out + other


def scenario(all_failures: list[Failure]) -> dict[str, Any]:
    """ADF holds each failed run (its activity error names the runtime or not); every re-run succeeds."""
    return adf_scenario([(f.run_id, f.pipeline, f.message) for f in all_failures])


def policy() -> dict[str, Any]:
    return gateway_timeout_policy("storm-bench",
                                  {"team": "data-platform", "slackChannel": CHANNEL, "jiraProject": PROJECT})


def alert(f: Failure, subscription: str) -> dict[str, Any]:
    """An Azure Monitor common-schema log alert for one failed ADF run, as an action group posts it."""
    factory = (f"/subscriptions/{subscription}/resourceGroups/rg-data/providers/Microsoft.DataFactory/"
               "factories/adf-storm")
    dims = {"PipelineName": f.pipeline, "PipelineRunId": f.run_id, "ActivityName": "Copy_Data", "ErrorCode": "2200",
            "FailureType": "UserError", "ErrorMessage": f.message, "_ResourceId": factory}
    fired = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"schemaId": "azureMonitorCommonAlertSchema", "data": {
        "essentials": {"alertId": f"/alerts/{f.run_id}", "alertRule": "adf-failed", "severity": "Sev2",
                       "signalType": "Log", "monitorCondition": "Fired", "alertTargetIDs": [factory.lower()],
                       "firedDateTime": fired, "essentialsVersion": "1.0"},
        "alertContext": {"conditionType": "LogQueryCriteria", "condition": {"allOf": [{
            "searchQuery": "ADFPipelineRun", "dimensions": [{"name": k, "value": v} for k, v in dims.items()]}]}},
    }}


# -- processes ---------------------------------------------------------------------------------


@dataclass
class Processes:
    workdir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.workdir / f"{name}.log").open("wb") as out:
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def start_operator(procs: Processes, sandbox: RunningSandbox, kubeconfig: Path, namespace: str) -> None:
    procs.start("operator", operator_command(namespace), operator_env(kubeconfig, sandbox.endpoints))


def start_receiver(procs: Processes, kubeconfig: Path, namespace: str, port: int) -> None:
    (procs.workdir / "keys").write_text(API_KEY + "\n")
    procs.start("receiver", receiver_command(port, kubeconfig, namespace, procs.workdir, procs.workdir / "keys"),
                dict(os.environ))


async def send_all(http: httpx.AsyncClient, bodies: list[dict[str, Any]], spread: float) -> tuple[float, Counter[int]]:
    """Post every alert at an even pace over `spread` seconds; a 503 is retried after its Retry-After, as
    Azure Monitor does. Returns when the last was accepted (monotonic) and the answers by status."""
    answers: Counter[int] = Counter()
    gap = spread / max(1, len(bodies) - 1)
    started = time.monotonic()

    async def deliver(body: dict[str, Any]) -> None:
        for _ in range(60):
            try:
                answer = await http.post("/azure-monitor", json=body)
            except httpx.TransportError:
                await asyncio.sleep(0.5)
                continue
            answers[answer.status_code] += 1
            if answer.status_code != 503:
                return
            await asyncio.sleep(float(answer.headers.get("retry-after", "1")))

    tasks = []
    for i, body in enumerate(bodies):
        await asyncio.sleep(max(0.0, started + i * gap - time.monotonic()))
        tasks.append(asyncio.create_task(deliver(body)))
    await asyncio.gather(*tasks)
    return time.monotonic(), answers


# -- watching ----------------------------------------------------------------------------------


def _group(inc: dict[str, Any]) -> dict[str, Any]:
    return (inc.get("status") or {}).get("correlation") or {}


@dataclass
class Watch:
    """What the bench saw while waiting: when every storm incident was grouped, and when it settled."""

    storm_runs: set[str]
    all_runs: set[str]
    grouped_at: float | None = None
    last_side_effect: float = 0.0
    last_seq: int = 0
    incidents: list[dict[str, Any]] = field(default_factory=list)

    def observe(self, incidents: list[dict[str, Any]], now: float) -> None:
        self.incidents = incidents
        storm = [i for i in incidents if i["spec"]["runId"] in self.storm_runs]
        if self.grouped_at is None and len(storm) == len(self.storm_runs) and all(_group(i) for i in storm):
            self.grouped_at = now

    def side_effects(self, calls: list[dict[str, Any]], now: float) -> None:
        if any(c["op"] in SIDE_EFFECTS for c in calls):
            self.last_side_effect = now
        self.last_seq = max([self.last_seq, *(int(c["seq"]) for c in calls)])

    def quiet_for(self, now: float) -> float:
        return now - self.last_side_effect

    def all_in(self) -> bool:
        runs = {i["spec"]["runId"] for i in self.incidents}
        return self.all_runs <= runs and not [i for i in self.incidents
                                              if (i.get("status") or {}).get("phase") in (None, "Analyzing")]


async def wait_settled(kube: KubeClient, sandbox: RunningSandbox, namespace: str, watch: Watch,
                       quiet: float, limit: float) -> bool:
    deadline = time.monotonic() + limit
    watch.last_side_effect = time.monotonic()
    next_report = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = time.monotonic()
        watch.observe((await kube.list_all(INCIDENTS, namespace))[0], now)
        watch.side_effects(sandbox.control.calls(since=watch.last_seq), now)
        attempts = (await kube.list_all(ATTEMPTS, namespace))[0]
        busy = [a for a in attempts if (a.get("status") or {}).get("phase", "Pending") in BUSY_ATTEMPTS]
        if watch.all_in() and not busy and watch.quiet_for(now) >= quiet:
            return True
        if now >= next_report:
            phases = Counter((i.get("status") or {}).get("phase") for i in watch.incidents)
            progress(f"{len(watch.incidents)} incidents {dict(phases)}; {len(busy)} attempts busy; "
                     f"{watch.last_seq} sandbox calls")
            next_report = now + 10
        await asyncio.sleep(1.0)
    return False


# -- figures -----------------------------------------------------------------------------------


async def apiserver_writes(kube: KubeClient) -> int:
    """Writes the API server answered so far (its `apiserver_request_total`) on the resources the system writes."""
    return sum(n for key, n in (await apiserver_requests(kube)).items()
               if key.split(" ")[0] in WRITE_VERBS and key.split(" ")[1] in WRITTEN)


def _limit_kind(call: dict[str, Any]) -> str:
    """The kind of bucket a 429 came from: per channel and per issue buckets are summed over channels and issues."""
    key = str(call.get("limit_key") or call.get("fault") or "?")
    parts = key.split(":")
    if parts[:2] == ["jira", "issue"] or parts[1:2] == ["chat.postMessage"]:
        return ":".join(parts[:2])
    return key


def _uid(call: dict[str, Any]) -> str:
    return str((slack_metadata(call).get("event_payload") or {}).get("incident_uid") or "")


def notification_figures(calls: list[dict[str, Any]], root_uids: set[str]) -> dict[str, Any]:
    ok = [c for c in calls if 200 <= c["status"] < 300]
    posts = [c for c in ok if c["op"] == "chat.postMessage" and not (c.get("target") or {}).get("thread_ts")]
    replies = [c for c in ok if c["op"] == "chat.postMessage" and (c.get("target") or {}).get("thread_ts")]
    refused = [c for c in calls if c["status"] == 429]
    done = Counter(k for c in ok if (k := once_key(c)) is not None)
    twice = {k: n for k, n in done.items() if n > 1}
    return {
        "slack_posts": len(posts), "slack_replies": len(replies),
        "slack_edits": sum(1 for c in ok if c["op"] == "chat.update"),
        "storm_root_slack_posts": sum(1 for c in posts if _uid(c) in root_uids),
        "storm_root_slack_replies": sum(1 for c in replies if _uid(c) in root_uids),
        "jira_issues": sum(1 for c in ok if c["op"] == "createIssue"),
        "jira_comments": sum(1 for c in ok if c["op"] == "addComment"),
        "jira_transitions": sum(1 for c in ok if c["op"] == "doTransition"),
        "received_429": dict(Counter(c["service"] for c in refused)),
        "received_429_by_limit": dict(Counter(_limit_kind(c) for c in refused).most_common(8)),
        "early_retries": len(early_retries(calls)),
        "duplicates": sum(n - 1 for n in twice.values()), "duplicate_examples": list(twice)[:5],
    }


def group_figures(incidents: list[dict[str, Any]], storm_runs: set[str]) -> dict[str, Any]:
    roles = Counter(_group(i).get("role") or "none" for i in incidents)
    storm = [i for i in incidents if i["spec"]["runId"] in storm_runs]
    unrelated = [i for i in incidents if i["spec"]["runId"] not in storm_runs and i["spec"]["runId"] in
                 {x["spec"]["runId"] for x in incidents if x["spec"]["source"] == "AzureDataFactory"}]
    storm_roots = [i for i in incidents if (i["metadata"].get("labels") or {}).get(STORM_ROOT_LABEL) == "true"]
    return {
        "incidents": len(incidents),
        "roots": roles.get("Root", 0), "members": roles.get("Member", 0),
        "storm_roots": len(storm_roots),
        "storm_root_member_counts": [_group(r).get("memberCount", 0) for r in storm_roots],
        "storm_incidents_ungrouped": sum(1 for i in storm if not _group(i)),
        "unrelated_incidents_grouped": sum(1 for i in unrelated if _group(i)),
        "phases": dict(Counter((i.get("status") or {}).get("phase") for i in incidents)),
    }


def rerun_figures(calls: list[dict[str, Any]], storm_runs: set[str]) -> dict[str, Any]:
    runs = Counter((c.get("target") or {}).get("reference_run_id") for c in calls
                   if c["op"] == "createRun" and 200 <= c["status"] < 300)
    return {"reruns": sum(runs.values()),
            "storm_runs_rerun": sum(1 for r in storm_runs if runs.get(r)),
            "storm_runs_rerun_more_than_once": sum(1 for r in storm_runs if runs.get(r, 0) > 1)}


# -- the run -----------------------------------------------------------------------------------


async def setup(kube: KubeClient, namespace: str) -> None:
    await install_crds(kube)
    await create_namespace(kube, namespace)
    await kube.create(POLICIES, namespace, policy())


async def run(args: argparse.Namespace) -> dict[str, Any]:
    kubeconfig = controlplane.resolve_kubeconfig(progress)
    kube = KubeClient(load_config(kubeconfig), max_connections=16)
    namespace = f"bench-storm-{secrets.token_hex(3)}"
    procs = Processes(Path(tempfile.mkdtemp(prefix="aiops-rca-bench-storm-")))
    sent = failures(args.storm, args.unrelated, secrets.token_hex(2))
    sandbox = start_sandbox(scenario(sent))
    try:
        await setup(kube, namespace)
        start_operator(procs, sandbox, kubeconfig, namespace)
        port = free_port()
        start_receiver(procs, kubeconfig, namespace, port)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"x-api-key": API_KEY},
                                     timeout=30) as http:
            await wait_healthy(http)
            await asyncio.sleep(3.0)  # the operator's startup, not part of the storm
            writes_before = await apiserver_writes(kube)
            subscription = sandbox.endpoints.credentials.azure_subscription_id
            progress(f"sending {len(sent)} alerts over {args.spread:.0f} s to the receiver ({namespace})")
            last_alert, answers = await send_all(http, [alert(f, subscription) for f in sent], args.spread)
        storm_runs = {f.run_id for f in sent if f.storm}
        watch = Watch(storm_runs, {f.run_id for f in sent})
        settled = await wait_settled(kube, sandbox, namespace, watch, args.quiet, args.timeout)
        writes = await apiserver_writes(kube) - writes_before
        calls = sandbox.control.calls()
        incidents = watch.incidents
        root_uids = {i["metadata"]["uid"] for i in incidents if _group(i).get("role") == "Root"}
        figures: dict[str, Any] = {
            "bench": "storm", "storm_alerts": args.storm, "unrelated_alerts": args.unrelated,
            "spread_seconds": args.spread, "receiver_answers": dict(answers), "settled": settled,
            **group_figures(incidents, storm_runs),
            "grouped_seconds_after_last_alert": (None if watch.grouped_at is None
                                                 else round(max(0.0, watch.grouped_at - last_alert), 1)),
            **notification_figures(calls, root_uids),
            **rerun_figures(calls, storm_runs),
            "settle_seconds_after_last_alert": round(max(0.0, watch.last_side_effect - last_alert), 1),
            "api_writes": writes, "api_writes_per_alert": round(writes / max(1, len(sent)), 2),
        }
        figures["targets_met"] = targets_met(figures)
        return figures
    finally:
        procs.stop()
        with contextlib.suppress(Exception):
            await kube.delete(NAMESPACES, None, namespace)
        await kube.close()
        sandbox.stop()
        progress(f"logs: {procs.workdir}")


def targets_met(f: dict[str, Any]) -> dict[str, bool]:
    """Issue 16's targets, as far as this run can tell."""
    grouped = f["grouped_seconds_after_last_alert"]
    return {
        "one_storm_root": f["storm_roots"] == TARGETS["storm_roots"],
        "storm_root_slack_posts": 0 < f["storm_root_slack_posts"] <= TARGETS["storm_root_slack_posts_max"],
        "grouped_within_10_s": grouped is not None and grouped <= TARGETS["grouped_within_seconds"],
        "unrelated_stay_separate": f["unrelated_incidents_grouped"] == 0,
        "no_duplicates": f["duplicates"] == TARGETS["duplicates"],
        "no_early_retries": f["early_retries"] == TARGETS["early_retries"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storm", type=int, default=300, help="failures behind the runtime (default 300)")
    parser.add_argument("--unrelated", type=int, default=20, help="unrelated failures among them (default 20)")
    parser.add_argument("--spread", type=float, default=30.0, help="seconds the alerts are spread over (default 30)")
    parser.add_argument("--quiet", type=float, default=10.0,
                        help="settled once no Slack, Jira or ADF call came for this long (default 10 s)")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up waiting after this (default 600 s)")
    args = parser.parse_args()
    print_figures(asyncio.run(run(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
