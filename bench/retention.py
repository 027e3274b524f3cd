"""Retention sizing benchmark: what one incident keeps in etcd, and what retention leaves of it.

    .venv/bin/python bench/retention.py [--incidents 300] [--per-day 1000] [--retention-days 14]

On the local control plane, in a fresh namespace (deleted at the end): the
sandbox as ADF, Slack and Jira, a RemediationPolicy that re-runs GatewayTimeout
failures, and the operator as a real subprocess. `--incidents` ADF incidents
over 20 pipelines go through their whole lifecycle (analysis, Slack message,
Jira issue, one re-run, Resolved). Then the bench reads every object back as
the API server stores it (custom resources are kept in etcd as their JSON,
managedFields included) and reports objects and bytes per incident: the
Incident, its RemediationAttempts, its Events (which the API server expires
after an hour).

Then the operator is stopped and retention runs: the operator's own
`RetentionSweeper`, fed from a listing of the Incidents, with its clock set
past the retention time (the only thing injected). It records each incident's
summary in the recurrence record and deletes it; the garbage collector deletes
the attempts. Reported: the sweep's rate, how long the garbage collector took,
what is left (recurrence-record ConfigMaps, bytes per summary).

From those figures, the steady state at `--per-day` incidents a day: objects
and bytes in etcd with `--retention-days` of retention, and without retention
after a year. Progress goes to stderr; the last line on stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _world import (
    GATEWAY_TIMEOUT,
    REPO,
    adf_incident,
    adf_run_id,
    adf_scenario,
    create_namespace,
    gateway_timeout_policy,
    operator_command,
    operator_env,
    print_figures,
    reporter,
    wait_until,
)
from aiops_operator.api.labels import RECURRENCE_RECORD_LABEL
from aiops_operator.kube import ATTEMPTS, CONFIGMAPS, EVENTS, INCIDENTS, NAMESPACES, POLICIES, KubeClient, load_config
from aiops_operator.kube.crds import install_crds
from aiops_operator.recurrence.index import RecurrenceIndex
from aiops_operator.recurrence.record import MAX_ENTRIES, RecordStore
from aiops_operator.retention.sweeper import RetentionSweeper

from devtools.localcluster import controlplane
from sandbox.testing import start as start_sandbox

PIPELINES = 20
RECURRENCE_DAYS = 30
TARGETS = {"etcd_mib_at_1000_per_day_with_retention": 1024.0}
"""etcd's default quota is 2 GiB (8 GiB at most recommended): the incidents should take at most half of the default."""


progress = reporter("bench")


def run_id(i: int) -> str:
    return adf_run_id("4e7e0000", i)


def pipeline(i: int) -> str:
    return f"pl_retention_{i % PIPELINES:02d}"


def incident(i: int, subscription: str) -> dict[str, Any]:
    return adf_incident(pipeline(i), run_id(i), subscription, severity="Sev2", signalType="Log")


def size(obj: dict[str, Any]) -> int:
    """Bytes of the object as etcd keeps a custom resource: its JSON (compact, managedFields included)."""
    return len(json.dumps(obj, separators=(",", ":")).encode())


async def listed(kube: KubeClient, rt: Any, namespace: str, selector: str | None = None) -> list[dict[str, Any]]:
    items, _ = await kube.list_all(rt, namespace, label_selector=selector)
    return items


async def lifecycle(kube: KubeClient, namespace: str, n: int, subscription: str,
                    proc: subprocess.Popen[bytes], limit: float) -> float:
    """Create `n` incidents and wait until every one is Resolved; the seconds it took."""
    started = time.perf_counter()
    queue = list(range(n))

    async def worker() -> None:
        while queue:
            await kube.create(INCIDENTS, namespace, incident(queue.pop(), subscription))

    await asyncio.gather(*(worker() for _ in range(8)))

    async def all_resolved() -> bool:
        items = await listed(kube, INCIDENTS, namespace)
        phases = [(i.get("status") or {}).get("phase") for i in items]
        return len(items) == n and all(p in ("Resolved", "Escalated") for p in phases)

    await wait_until(f"{n} incidents resolved", all_resolved, limit, proc)
    return time.perf_counter() - started


async def measure(kube: KubeClient, namespace: str, n: int) -> dict[str, Any]:
    incidents = await listed(kube, INCIDENTS, namespace)
    attempts = await listed(kube, ATTEMPTS, namespace)
    events = await listed(kube, EVENTS, namespace)
    phases: dict[str, int] = {}
    for item in incidents:
        phase = str((item.get("status") or {}).get("phase"))
        phases[phase] = phases.get(phase, 0) + 1
    incident_bytes = sorted(size(i) for i in incidents)
    return {
        "phases": phases,
        "incident_bytes_avg": round(sum(incident_bytes) / n),
        "incident_bytes_max": incident_bytes[-1],
        "attempts_per_incident": round(len(attempts) / n, 2),
        "attempt_bytes_avg": round(sum(size(a) for a in attempts) / max(1, len(attempts))),
        "events_per_incident": round(len(events) / n, 2),
        "event_bytes_avg": round(sum(size(e) for e in events) / max(1, len(events))),
        "kept_bytes_per_incident": round((sum(incident_bytes) + sum(size(a) for a in attempts)) / n),
    }


async def sweep(kube: KubeClient, namespace: str, n: int, retention_days: int) -> dict[str, Any]:
    """The product's retention sweep with its clock past the retention time; then what is left."""
    index = RecurrenceIndex()
    for item in await listed(kube, INCIDENTS, namespace):
        index.observe("ADDED", item)
    later = datetime.now(UTC) + timedelta(days=retention_days, hours=1)
    sweeper = RetentionSweeper(kube, index, RecordStore(kube), retention_seconds=retention_days * 86400,
                               clock=lambda: later, batch=n)
    started = time.perf_counter()
    deleted = await sweeper.sweep_once()
    sweep_seconds = time.perf_counter() - started

    async def no_attempts() -> bool:
        return not await listed(kube, ATTEMPTS, namespace)

    gc_seconds = await wait_until("the garbage collector deleting the attempts", no_attempts, 300)
    records = await listed(kube, CONFIGMAPS, namespace, RECURRENCE_RECORD_LABEL)
    entries = sum(len(json.loads((r.get("data") or {}).get("entries") or "[]")) for r in records)
    record_bytes = sum(size(r) for r in records)
    return {
        "deleted": deleted,
        "incidents_left": len(await listed(kube, INCIDENTS, namespace)),
        "sweep_seconds": round(sweep_seconds, 2),
        "deletes_per_second": round(deleted / sweep_seconds, 1) if sweep_seconds else None,
        "attempts_collected_within_seconds": round(gc_seconds, 1),
        "recurrence_records": len(records),
        "summaries_kept": entries,
        "record_bytes_total": record_bytes,
        "record_bytes_per_summary": round(record_bytes / max(1, entries)),
    }


def steady_state(figures: dict[str, Any], kept: dict[str, Any], per_day: int, retention_days: int) -> dict[str, Any]:
    """Objects and bytes in etcd at `per_day` incidents a day (Events: one hour's worth, their TTL)."""
    per_incident_objects = 1 + figures["attempts_per_incident"]
    event_bytes_hour = per_day / 24 * figures["events_per_incident"] * figures["event_bytes_avg"]
    summaries = per_day * RECURRENCE_DAYS
    record_bytes = summaries * kept["record_bytes_per_summary"]

    def at(days: int) -> dict[str, Any]:
        incidents = per_day * days
        total = incidents * figures["kept_bytes_per_incident"] + event_bytes_hour + (record_bytes if days < 365
                                                                                     else 0)
        return {"incidents": incidents, "objects": round(incidents * per_incident_objects),
                "mib": round(total / 2**20, 1)}

    return {
        "per_day": per_day,
        "with_retention": {"retention_days": retention_days, **at(retention_days),
                           "recurrence_summaries": summaries, "recurrence_record_mib": round(record_bytes / 2**20, 1)},
        "without_retention_after_a_year": at(365),
        "events_mib_one_hour": round(event_bytes_hour / 2**20, 2),
        "record_entries_bound_per_target_and_type": MAX_ENTRIES,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    kubeconfig = controlplane.resolve_kubeconfig(progress)
    kube = KubeClient(load_config(kubeconfig), max_connections=16)
    namespace = f"bench-retention-{secrets.token_hex(3)}"
    workdir = Path(tempfile.mkdtemp(prefix="aiops-rca-bench-retention-"))
    sandbox = start_sandbox(adf_scenario([(run_id(i), pipeline(i), GATEWAY_TIMEOUT) for i in range(args.incidents)]))
    proc: subprocess.Popen[bytes] | None = None
    try:
        await install_crds(kube)
        await create_namespace(kube, namespace)
        await kube.create(POLICIES, namespace, gateway_timeout_policy(
            "bench", {"team": "bench", "slackChannel": "#bench", "jiraProject": "BENCH"}))
        with (workdir / "operator.log").open("wb") as out:
            proc = subprocess.Popen(  # noqa: ASYNC220 - started once, before the incidents
                operator_command(namespace), env=operator_env(kubeconfig, sandbox.endpoints,
                                                              INCIDENT_RETENTION_SECONDS="0"),
                stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        await asyncio.sleep(3.0)
        subscription = sandbox.endpoints.credentials.azure_subscription_id
        seconds = await lifecycle(kube, namespace, args.incidents, subscription, proc, args.timeout)
        progress(f"{args.incidents} incidents through their lifecycle in {seconds:.1f} s")
        await asyncio.sleep(3.0)  # trailing Events
        figures = await measure(kube, namespace, args.incidents)
        progress(f"per incident: {figures}")
        proc.terminate()
        proc.wait(timeout=15)  # the operator must be gone before the injected sweep
        kept = await sweep(kube, namespace, args.incidents, args.retention_days)
        progress(f"retention: {kept}")
        sizing = steady_state(figures, kept, args.per_day, args.retention_days)
        return {
            "bench": "retention",
            "incidents": args.incidents,
            "lifecycle_seconds": round(seconds, 1),
            "per_incident": figures,
            "retention": kept,
            "sizing": sizing,
            "targets_met": {"etcd_mib_at_1000_per_day_with_retention":
                            sizing["with_retention"]["mib"] * 1000 / args.per_day
                            <= TARGETS["etcd_mib_at_1000_per_day_with_retention"]},
        }
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        with contextlib.suppress(Exception):
            await kube.delete(NAMESPACES, None, namespace)
        await kube.close()
        sandbox.stop()
        progress(f"operator log: {workdir / 'operator.log'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=300, help="incidents taken through their lifecycle")
    parser.add_argument("--per-day", type=int, default=1000, help="incidents a day the sizing is computed for")
    parser.add_argument("--retention-days", type=int, default=14, help="INCIDENT_RETENTION_SECONDS, in days")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds")
    args = parser.parse_args()
    print_figures(asyncio.run(main_async(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
