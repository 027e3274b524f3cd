"""Incident lifecycle benchmark: a burst of Incidents through analysis, remediation and resolution.

    .venv/bin/python bench/lifecycle.py [--incidents 1000] [--more 1000]

On the local control plane, in a fresh namespace (deleted at the end): a bench
RemediationPolicy (RerunPipeline, one attempt, zero backoff), the sandbox as
ADF (every re-run succeeds instantly), the operator as a real subprocess
(`aiops-rca operator --namespace ...`, rule-based analysis, Slack and Jira not
configured). A burst of `--incidents` ADF GatewayTimeout Incidents is created
at once; the bench watches Incidents, RemediationAttempts and Events in the
namespace and reports:

- total time until every Incident is Resolved, incidents/s, p50/p99 time from
  the Incident's creation (as the client saw it) to Resolved (first watch event
  showing it);
- API writes per incident, counted from the watch: every ADDED or MODIFIED
  event of an Incident or RemediationAttempt is one create or patch (Events
  counted separately);
- what the API server answered during the burst (its `apiserver_request_total`
  counters by verb, resource and code: reads, conflicts, Events included; on
  Kubernetes 1.20 a GET of one custom resource is counted as a LIST) and the
  CPU seconds the operator, the control plane and the bench itself used;
- the operator's peak RSS during the burst; then `--more` Incidents are added
  (so 2,000 are present), taken through their lifecycle as well, and the RSS is
  read again.

With `--fault-rate R` (0.1-0.3) the run proves the operator on a faulty
cloud: Slack, Jira and the LLM are configured too, and the incidents are a
mix, in turn: ADF re-runs, Databricks job runs run again (RunJobNow) or
repaired (RepairRun), and Databricks clusters restarted (RestartCluster; a
second policy for the Databricks sources). 20 warm-up incidents go first, the
first burst runs on a healthy sandbox (the baseline), then every sandbox
service (AAD, ADF, Databricks, Slack, Jira, LLM) answers a share R of its
requests with 429 + Retry-After, 503 or a held request ending in 504, and the
`--more` burst runs through that. Added to the figures: the faults injected,
the added time (faulty burst vs baseline), how every Incident of the faulty
burst ended per kind (`ended_wrong`: not Resolved by exactly one Succeeded
attempt of its action, must be 0), duplicates sent (successful re-runs,
run-nows starting a new run, repairs, cluster starts, restarts and resizes,
top-level Slack messages, thread replies, Jira issues, comments, transitions
per incident beyond one: must be 0; counted once every Slack message and Jira
issue of the burst says Resolved) and Retry-After violations (an identical
request repeated sooner than its 429 said: must be 0):

    .venv/bin/python bench/lifecycle.py --incidents 100 --more 100 --fault-rate 0.2

Progress goes to stderr; the last line on stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _world import (
    GATEWAY_TIMEOUT,
    REPO,
    adf_incident,
    adf_run_id,
    adf_scenario,
    apiserver_requests,
    create_namespace,
    gateway_timeout_policy,
    iso,
    once_key,
    operator_command,
    operator_env,
    percentile,
    print_figures,
    reporter,
    rss_mib,
    stop,
)
from aiops_operator.api import GROUP, VERSION, IncidentSource
from aiops_operator.api.labels import INCIDENT_LABEL
from aiops_operator.kube import ATTEMPTS, EVENTS, INCIDENTS, NAMESPACES, POLICIES, KubeClient, load_config
from aiops_operator.kube.crds import install_crds

from devtools.localcluster import controlplane
from sandbox.testing import start as start_sandbox
from tests.support.builders import incident_body

TARGETS = {"resolved_within_seconds": 60.0, "writes_per_incident": 8.0, "rss_mib_with_2000": 200.0}
PIPELINES = 20
progress = reporter("bench")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_process(operator_pid: int) -> dict[str, float]:
    """CPU seconds so far of the operator, this process (bench and sandbox), and the control plane's etcd
    and kube-apiserver (found by name; absent when the cluster runs elsewhere)."""
    pids = {"operator": operator_pid, "bench+sandbox": os.getpid()}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                name = (entry / "comm").read_text().strip()
                if name in ("kube-apiserver", "etcd"):
                    pids[name] = int(entry.name)
    result = {}
    for name, pid in pids.items():
        with contextlib.suppress(OSError):
            result[name] = cpu_seconds(pid)
    return result


def run_id(i: int) -> str:
    return adf_run_id("be7c0000", i)


def pipeline(i: int) -> str:
    return f"pl_bench_{i % PIPELINES:02d}"


# -- the mixed world of a faulty-cloud run: ADF and Databricks jobs and clusters ----------------------

KINDS = ("adf", "job-run-now", "job-repair", "cluster")
"""What the `i`-th incident of a faulty-cloud run is, in turn: an ADF re-run, a Databricks job run that is run
again (RunJobNow) or repaired (RepairRun), a cluster whose driver hangs (RestartCluster). A healthy run is ADF
only: its targets were set for that."""
JDBC_TIMEOUT = ("java.sql.SQLTimeoutException: Execution Timeout Expired. The timeout period elapsed prior to"
                " completion of the operation or the server is not responding.")
RUN_TIMED_OUT = ("Task transform timed out: result state TIMEDOUT (the run exceeded its maximum run duration of"
                 " 3600 seconds).")
DRIVER = ("The spark driver has stopped unexpectedly and is restarting. Your notebook will be automatically"
          " reattached.")


def kind(i: int, mixed: bool) -> str:
    return KINDS[i % len(KINDS)] if mixed else "adf"


def job_id(i: int) -> int:
    return 100000 + i  # one job per incident: each re-run or repair is then one run of its own job


def job_run(i: int) -> int:
    return 7000000 + i


def cluster_id(i: int) -> str:
    return f"1207-120000-b{i:07d}"  # the shape of a Databricks cluster id, which correlation recognizes


def incident(i: int, subscription: str, mixed: bool) -> dict[str, Any]:
    now = datetime.now(UTC)
    fired = iso(now - timedelta(seconds=5))
    match kind(i, mixed):
        case "adf":
            return adf_incident(pipeline(i), run_id(i), subscription)
        case "cluster":
            return incident_body(
                IncidentSource.DATABRICKS_CLUSTER, {"kind": "Cluster", "name": f"etl-bench-{i}", "id": cluster_id(i)},
                f"{cluster_id(i)}-DRIVER_NOT_RESPONDING", received=iso(now), runIdOrigin="Fingerprint",
                alert={"rule": "databricks-cluster-log-alert", "signalType": "Log", "firedTime": fired},
                error={"code": "DRIVER_NOT_RESPONDING", "message": DRIVER})
        case job:
            code, message = ("FAILED", JDBC_TIMEOUT) if job == "job-run-now" else ("TIMEDOUT", RUN_TIMED_OUT)
            return incident_body(
                IncidentSource.DATABRICKS_JOB, {"kind": "Job", "name": f"job_bench_{i}", "id": str(job_id(i))},
                str(job_run(i)), received=iso(now),
                alert={"rule": "jobs.on_failure", "signalType": "Webhook", "firedTime": fired},
                error={"code": code, "message": message})


def scenario(indexes: range, mixed: bool) -> dict[str, Any]:
    """The sandbox holding every failed run (ADF; with `mixed`, Databricks runs and running clusters too);
    every re-run, repair and restart succeeds."""
    world = adf_scenario([(run_id(i), pipeline(i), GATEWAY_TIMEOUT) for i in indexes if kind(i, mixed) == "adf"])
    jobs = [i for i in indexes if kind(i, mixed).startswith("job")]
    world["defaults"]["cluster_transition_seconds"] = 1
    world["databricks"] = {
        "jobs": {job_id(i): {"name": f"job_bench_{i}", "tasks": ["transform"],
                             "runs": [{"result": "SUCCESS", "duration_seconds": 0}]} for i in jobs},
        "seeded_runs": [{"run_id": job_run(i), "job_id": job_id(i), "failed_task": "transform",
                         **({"result": "FAILED", "error": JDBC_TIMEOUT} if kind(i, mixed) == "job-run-now"
                            else {"result": "TIMEDOUT", "error": RUN_TIMED_OUT})} for i in jobs],
        "clusters": {cluster_id(i): {"name": f"etl-bench-{i}", "state": "RUNNING", "num_workers": 2}
                     for i in indexes if kind(i, mixed) == "cluster"},
    }
    return world


ACTION = {"adf": "RerunPipeline", "job-run-now": "RunJobNow", "job-repair": "RepairRun", "cluster": "RestartCluster"}
"""The one attempt each kind of incident ends correctly with: Succeeded, and the incident Resolved."""


async def end_states(kube: KubeClient, namespace: str, kinds: dict[str, str]) -> dict[str, Any]:
    """How the incidents named in `kinds` (name: kind) ended, per kind: their phases and their attempts'
    actions and phases; `ended_wrong` counts those not Resolved by exactly one Succeeded attempt of their action."""
    incidents, _ = await kube.list_all(INCIDENTS, namespace)
    attempts, _ = await kube.list_all(ATTEMPTS, namespace)
    phase = {i["metadata"]["name"]: (i.get("status") or {}).get("phase") for i in incidents}
    found = {i["metadata"]["name"]: ((i.get("status") or {}).get("analysis") or {}) for i in incidents}
    tried: dict[str, list[str]] = {name: [] for name in kinds}
    for attempt in attempts:
        owner = (attempt["metadata"].get("labels") or {}).get(INCIDENT_LABEL)
        if owner in tried:
            tried[owner].append(f"{attempt['spec']['action']} {(attempt.get('status') or {}).get('phase')}")
    by_kind: dict[str, Counter[str]] = {}
    wrong = []
    for name, k in sorted(kinds.items()):
        by_kind.setdefault(k, Counter())[f"incident {phase.get(name)}"] += 1
        by_kind[k].update(tried[name])
        if phase.get(name) != "Resolved" or tried[name] != [f"{ACTION[k]} Succeeded"]:
            how = found.get(name) or {}
            wrong.append(f"{name}: {phase.get(name)} {tried[name]}, analysed {how.get('errorType')} by"
                         f" {how.get('provider')} ({how.get('fallbackReason') or 'no fallback'})")
    return {"end_states": {k: dict(v) for k, v in sorted(by_kind.items())}, "ended_wrong": len(wrong),
            "ended_wrong_examples": wrong[:5]}


def databricks_policy(routing: dict[str, str]) -> dict[str, Any]:
    """Run the job again on a timeout, repair a run that hit its own limit, restart a hung driver's cluster."""
    rules = [("gateway-timeout", "GatewayTimeout", "RunJobNow"), ("run-timed-out", "DatabricksTimeoutError",
                                                                   "RepairRun"),
             ("driver-hung", "DatabricksDriverNotResponding", "RestartCluster")]
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "RemediationPolicy", "metadata": {"name": "bench-databricks"},
            "spec": {"priority": 10, "selector": {"sources": ["DatabricksJob", "DatabricksCluster"]},
                     "routing": routing,
                     "rules": [{"name": n, "errorType": t, "action": a, "maxAttempts": 1, "backoff": {"seconds": [0]}}
                               for n, t, a in rules]}}


class Watcher:
    """Counts writes (watch events) per kind and records when each Incident was first seen Resolved."""

    def __init__(self, kube: KubeClient, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.writes: Counter[str] = Counter()
        self.resolved: dict[str, float] = {}
        self.phases: dict[str, str] = {}
        self.notified: dict[str, tuple[str | None, str | None]] = {}
        """The phase the Slack message and the Jira issue were last brought up to, per Incident."""
        self.events = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for rt in (INCIDENTS, ATTEMPTS):
            _, rv = await self.kube.list_all(rt, self.namespace)
            self._tasks.append(asyncio.create_task(self._watch(rt, rv)))

    async def _watch(self, rt: Any, rv: str) -> None:
        while True:
            try:
                async for event in self.kube.watch(rt, self.namespace, rv, timeout_seconds=600):
                    if event.type == "BOOKMARK":
                        rv = event.resource_version or rv
                        continue
                    rv = event.resource_version or rv
                    self._seen(rt, event.type, event.object)
            except Exception as exc:
                progress(f"watch {rt.plural} ended ({type(exc).__name__}); relisting")
                _, rv = await self.kube.list_all(rt, self.namespace)

    def _seen(self, rt: Any, kind: str, obj: dict[str, Any]) -> None:
        if rt is EVENTS:
            if kind == "ADDED":
                self.events += 1
            return
        if kind in ("ADDED", "MODIFIED"):
            self.writes[f"{rt.plural}/{'create' if kind == 'ADDED' else 'patch'}"] += 1
        if rt is INCIDENTS:
            name = obj["metadata"]["name"]
            phase = (obj.get("status") or {}).get("phase") or ""
            self.phases[name] = phase
            notes = (obj.get("status") or {}).get("notifications") or {}
            self.notified[name] = (notes.get("slackUpdatedPhase"), notes.get("jiraUpdatedPhase"))
            if phase == "Resolved" and name not in self.resolved:
                self.resolved[name] = time.perf_counter()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def count_events(kube: KubeClient, namespace: str, expected: int, wait: float = 180.0) -> int:
    """Events in the namespace once `expected` are there or they stopped growing (they are posted off the
    reconcile's path, and mostly after a burst: lifecycle writes go first)."""
    deadline = time.perf_counter() + wait
    last, unchanged = -1, 0
    while True:
        items, _ = await kube.list_all(EVENTS, namespace)
        count = len([e for e in items if e.get("reportingComponent") == "aiops-rca-operator"])
        unchanged = unchanged + 1 if count == last else 0
        if count >= expected or unchanged >= 3 or time.perf_counter() > deadline:
            return count
        last = count
        await asyncio.sleep(2.0)


def request_delta(before: Counter[str], after: Counter[str]) -> dict[str, int]:
    """Requests the API server answered between two snapshots (largest first, the few-off ones left out)."""
    delta = {key: after[key] - before.get(key, 0) for key in after}
    return dict(sorted(((k, v) for k, v in delta.items() if v >= 10), key=lambda kv: -kv[1]))


async def create_all(kube: KubeClient, namespace: str, indexes: range, make: Callable[[int], dict[str, Any]],
                     created: dict[str, float], concurrency: int = 48) -> None:
    queue = list(indexes)

    async def worker() -> None:
        while queue:
            i = queue.pop()
            body = make(i)
            await kube.create(INCIDENTS, namespace, body)
            created[body["metadata"]["name"]] = time.perf_counter()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def wait_resolved(watcher: Watcher, names: set[str], started: float, limit: float,
                        proc: subprocess.Popen[bytes], peak: list[float]) -> None:
    deadline = time.perf_counter() + limit
    last = -1
    while time.perf_counter() < deadline:
        done = len(names & watcher.resolved.keys())
        with contextlib.suppress(OSError):
            peak.append(rss_mib(proc.pid)[0])
        if done != last:
            phases = Counter(watcher.phases.get(n, "") or "New" for n in names)
            progress(f"{time.perf_counter() - started:6.1f} s: {done}/{len(names)} Resolved {dict(phases)}")
            last = done
        if done == len(names):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"the operator exited with {proc.returncode}")
        await asyncio.sleep(1.0)
    raise TimeoutError(f"{len(names - watcher.resolved.keys())} incidents not Resolved after {limit} s")


async def wait_notified(watcher: Watcher, names: set[str], limit: float) -> float | None:
    """When (perf_counter) the Slack message and the Jira issue of every Incident in `names` said Resolved;
    None if they did not within `limit` seconds."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if all(watcher.notified.get(n) == ("Resolved", "Resolved") for n in names):
            return time.perf_counter()
        await asyncio.sleep(1.0)
    return None


async def wait_bench_namespaces_gone(kube: KubeClient, limit: float = 900.0) -> None:
    """Wait until no earlier run's namespace is still being deleted: the garbage collector and the namespace
    controller deleting thousands of objects would share the 2 cores with this run."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        items, _ = await kube.list_all(NAMESPACES)
        left = [n["metadata"]["name"] for n in items if n["metadata"]["name"].startswith("bench-lifecycle-")]
        if not left:
            return
        progress(f"waiting until {', '.join(left)} is deleted (the namespace controller deletes its objects)")
        await asyncio.sleep(10.0)
    raise TimeoutError("earlier bench namespaces are still being deleted")


RETRY_AFTER_SECONDS = 1.0
WARMUP = 20
FAULTY_SERVICES = ("aad", "adf", "databricks", "slack", "jira", "llm")
SHARED_OPS = frozenset({"conversations.history", "conversations.list", "search", "token", "chat.completions",
                        "auth.test", "serverInfo", "myself", "host-metadata"})
"""Requests that are byte-identical across incidents here (one channel, one prompt per pipeline, one token, the
Databricks SDK's probe of the workspace that every new client makes):
a repeat sooner than Retry-After may come from another incident's independent call, so these are counted
apart from the per-incident requests whose early repeat can only be a retry that ignored Retry-After."""


def cloud_faults(rate: float) -> list[dict[str, Any]]:
    """Each service fails a share `rate` of its requests: a third each 429 (Retry-After), 503, timeout (504)."""
    share = rate / 3
    out: list[dict[str, Any]] = []
    for service in FAULTY_SERVICES:
        out += [
            {"service": service, "kind": "status", "status": 429, "retry_after": RETRY_AFTER_SECONDS,
             "error": "ratelimited" if service == "slack" else None, "probability": share},
            {"service": service, "kind": "status", "status": 503, "probability": share},
            {"service": service, "kind": "timeout", "seconds": 1, "probability": share},
        ]
    return [{k: v for k, v in f.items() if v is not None} for f in out]


def fault_findings(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Faults injected, side effects done twice, and requests repeated before their Retry-After."""
    injected = Counter(f"{c['service']} {c['fault']}" for c in calls if c.get("fault"))
    runs_started: set[Any] = set()

    def starts_something(call: dict[str, Any]) -> bool:
        """False for a run-now the sandbox answered with the run its idempotency token had started already:
        Databricks starts no second run then."""
        if call["op"] != "jobs/run-now":
            return True
        run = (call.get("target") or {}).get("run_id")
        fresh = run not in runs_started
        runs_started.add(run)
        return fresh

    ok = [c for c in sorted(calls, key=lambda c: c["seq"]) if 200 <= c["status"] < 300]
    done = Counter(k for c in ok if (k := once_key(c)) is not None and starts_something(c))
    twice = {k: n for k, n in done.items() if n > 1}
    last_429: dict[str, float] = {}
    refused: Counter[str] = Counter()  # 429s in a row of one request: an SDK gives up after its retry budget
    early: list[str] = []
    shared: list[str] = []
    for call in sorted(calls, key=lambda c: c["seq"]):
        same = json.dumps([call["service"], call["op"], call["path"], call.get("query"), call.get("body")],
                          sort_keys=True, default=str)
        told = last_429.pop(same, None)
        if told is not None and call["time"] < told + RETRY_AFTER_SECONDS - 0.1:
            bucket = shared if call["op"] in SHARED_OPS else early
            bucket.append(f"{call['service']} {call['op']} {call['path']} after {call['time'] - told:.2f} s,"
                          f" {refused[same]} 429s in a row before it")
        if call["status"] == 429:
            last_429[same] = call["time"]
            refused[same] += 1
        else:
            refused.pop(same, None)
    return {"faults_injected": dict(injected), "faults_total": sum(injected.values()),
            "side_effects": dict(Counter(c["op"] for c in ok if once_key(c) is not None)),
            "duplicates_sent": len(twice), "duplicate_examples": list(twice)[:5],
            "retry_after_violations": len(early), "retry_after_examples": early[:5],
            "shared_requests_repeated_early": len(shared), "shared_examples": shared[:5]}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    kubeconfig = controlplane.resolve_kubeconfig(progress)
    kube = KubeClient(load_config(kubeconfig), max_connections=64)
    namespace = f"bench-lifecycle-{secrets.token_hex(3)}"
    workdir = Path(tempfile.mkdtemp(prefix="aiops-rca-bench-lifecycle-"))
    total = args.incidents + args.more
    warmup = WARMUP if args.fault_rate > 0 else 0  # a fair baseline: not the operator's first minute
    mixed = args.fault_rate > 0  # a faulty cloud is shown on ADF and Databricks alike
    sandbox = start_sandbox(scenario(range(total + warmup), mixed))
    proc: subprocess.Popen[bytes] | None = None
    watcher = Watcher(kube, namespace)
    try:
        await wait_bench_namespaces_gone(kube)
        await install_crds(kube)
        await create_namespace(kube, namespace)
        faulty = args.fault_rate > 0  # the whole cloud (notifications and LLM too), first healthy, then faulty
        routing = {"team": "bench", "slackChannel": "#bench", "jiraProject": "BENCH"} if faulty else None
        await kube.create(POLICIES, namespace, gateway_timeout_policy("bench", routing))
        if routing is not None:
            await kube.create(POLICIES, namespace, databricks_policy(routing))
        env = operator_env(kubeconfig, sandbox.endpoints, llm=faulty, notifications=faulty,
                           POLICY_STATS_SECONDS="60")
        log = workdir / "operator.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(  # noqa: ASYNC220 - started once, before the burst
                operator_command(namespace), env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        await watcher.start()
        await asyncio.sleep(3.0)  # the operator's startup (imports, Kopf's scans), not part of the burst
        rss_idle, _ = rss_mib(proc.pid)
        progress(f"operator up (RSS {rss_idle:.0f} MiB); burst of {args.incidents} incidents in {namespace}")
        subscription = sandbox.endpoints.credentials.azure_subscription_id

        kinds: dict[str, str] = {}

        def make(i: int) -> dict[str, Any]:
            body = incident(i, subscription, mixed)
            kinds[body["metadata"]["name"]] = kind(i, mixed)
            return body

        created: dict[str, float] = {}
        peak: list[float] = []
        if warmup:
            warm: dict[str, float] = {}
            await create_all(kube, namespace, range(total, total + warmup), make, warm)
            await wait_resolved(watcher, set(warm), time.perf_counter(), args.timeout, proc, peak)
            # Slack's per-channel limit paces the bursts: each starts once the one before has told its end.
            await wait_notified(watcher, set(warm), args.timeout)
            progress(f"warm-up: {warmup} incidents resolved and notified")
        requests_before = await apiserver_requests(kube)
        cpu_before = cpu_by_process(proc.pid)
        started = time.perf_counter()
        await create_all(kube, namespace, range(args.incidents), make, created)
        progress(f"{args.incidents} Incidents created in {time.perf_counter() - started:.1f} s")
        first = set(created)
        await wait_resolved(watcher, first, started, args.timeout, proc, peak)
        total_seconds = max(watcher.resolved[n] for n in first) - started
        latencies = [watcher.resolved[n] - created[n] for n in first]
        cpu_after = cpu_by_process(proc.pid)
        cpu = {k: round(cpu_after[k] - cpu_before[k], 1) for k in cpu_after if k in cpu_before}
        requests = request_delta(requests_before, await apiserver_requests(kube))
        progress(f"API server requests during the burst: {requests}")
        progress(f"CPU seconds during the burst: {cpu}")
        await asyncio.sleep(2.0)  # trailing writes (none expected)
        writes = dict(watcher.writes)
        events = await count_events(kube, namespace, 7 * args.incidents)
        events_seconds = time.perf_counter() - started - total_seconds
        rss_after_burst, hwm = rss_mib(proc.pid)
        peak_burst = max([*peak, hwm])
        progress(f"all {args.incidents} Resolved in {total_seconds:.1f} s; writes {writes}; "
                 f"{events} Events, the last {events_seconds:.0f} s after the last Resolved")

        more: dict[str, float] = {}
        if args.fault_rate > 0:
            await wait_notified(watcher, first, args.timeout)
        calls_before = len(sandbox.control.calls())
        if args.fault_rate > 0:
            sandbox.control.apply({"faults": cloud_faults(args.fault_rate)})
            progress(f"the cloud now fails {args.fault_rate:.0%} of requests; burst of {args.more} incidents")
        started_more = time.perf_counter()
        await create_all(kube, namespace, range(args.incidents, total), make, more)
        await wait_resolved(watcher, set(more), started_more, args.timeout, proc, peak)
        more_seconds = max([watcher.resolved[n] for n in more] or [started_more]) - started_more
        await asyncio.sleep(5.0)
        rss_2000, hwm_2000 = rss_mib(proc.pid)
        progress(f"{total} incidents present: RSS {rss_2000:.0f} MiB (peak {hwm_2000:.0f} MiB)")

        n = args.incidents
        result: dict[str, Any] = {
            "bench": "lifecycle",
            "incidents": n,
            "total_seconds": round(total_seconds, 2),
            "incidents_per_second": round(n / total_seconds, 1),
            "p50_seconds": round(percentile(latencies, 50), 2),
            "p99_seconds": round(percentile(latencies, 99), 2),
            "writes_per_incident": round(sum(writes.values()) / n, 2),
            "writes": writes,
            "events_per_incident": round(events / n, 2),
            "events_posted_within_seconds_after_burst": round(events_seconds, 1),
            "apiserver_requests": requests,
            "cpu_seconds": cpu,
            "rss_idle_mib": round(rss_idle, 1),
            "rss_peak_mib": round(peak_burst, 1),
            "rss_after_burst_mib": round(rss_after_burst, 1),
            "incidents_present": total,
            "rss_mib_with_2000": round(rss_2000, 1),
            "rss_peak_mib_with_2000": round(hwm_2000, 1),
        }
        if args.fault_rate > 0:
            notified = await wait_notified(watcher, set(more), args.timeout)
            last_resolved = started_more + more_seconds
            result["faulty_cloud"] = {
                "fault_rate": args.fault_rate, "baseline_seconds": round(total_seconds, 2),
                "faulty_seconds": round(more_seconds, 2), "added_seconds": round(more_seconds - total_seconds, 2),
                "resolved": len(set(more) & watcher.resolved.keys()), "incidents": len(more),
                "notified_resolved": sum(1 for n in more if watcher.notified.get(n) == ("Resolved", "Resolved")),
                "notified_seconds_after_last_resolved": None if notified is None else round(
                    notified - last_resolved, 1),
                "incidents_by_kind": dict(Counter(kinds[n] for n in more)),
                "baseline_ended_wrong": (await end_states(kube, namespace, {n: kinds[n] for n in first}))[
                    "ended_wrong"],
                **await end_states(kube, namespace, {n: kinds[n] for n in more}),
                **fault_findings(sandbox.control.calls(since=calls_before)),
            }
        result["targets_met"] = {
            "resolved_within_seconds": total_seconds <= TARGETS["resolved_within_seconds"],
            "writes_per_incident": result["writes_per_incident"] <= TARGETS["writes_per_incident"],
            "rss_mib_with_2000": rss_2000 <= TARGETS["rss_mib_with_2000"],
        }
        return result
    finally:
        await watcher.stop()
        if proc is not None:
            stop(proc)
        with contextlib.suppress(Exception):
            await kube.delete(NAMESPACES, None, namespace)
        if args.wait_cleanup:
            with contextlib.suppress(Exception):
                await wait_bench_namespaces_gone(kube)
        await kube.close()
        sandbox.stop()
        progress(f"operator log: {workdir / 'operator.log'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=1000, help="burst size (default 1000)")
    parser.add_argument("--more", type=int, default=1000, help="incidents added afterwards (default 1000)")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds per burst")
    parser.add_argument("--fault-rate", type=float, default=0.0,
                        help="share of requests every sandbox service fails during the --more burst (e.g. 0.2)")
    parser.add_argument("--no-wait-cleanup", dest="wait_cleanup", action="store_false",
                        help="return without waiting for the namespace's deletion (a next run waits for it)")
    args = parser.parse_args()
    print_figures(asyncio.run(main_async(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
