"""Failover benchmark: two operator replicas on one Lease, the leader killed again and again.

    .venv/bin/python bench/failover.py [--kills 20] [--terms 5] [--rest-seconds 60] [--max-seconds 480]

On the local control plane, in a fresh namespace (deleted at the end): two
`aiops-rca operator --namespace ...` processes with client-go's timing (lease
15 s, renew deadline 10 s, retry period 2 s), rule-based analysis, no Slack,
Jira or cloud configured, and `--incidents` Incidents for their watches and
caches to hold. It reports:

- **at rest**, over `--rest-seconds`: the API requests each replica's own
  clients sent per minute, by client (`operator`: everything the reconciles,
  Events and policy controller send; `election`: the Lease) and verb, from the
  replicas' `aiops_rca_operator_api_requests_total`. Kopf's watches are not in
  it: one long request per kind, re-opened every 300 s;
- **SIGKILL failover** (`--kills` times): the leader is SIGKILLed and started
  again at once with a new identity (a restarted container); the time from
  the kill until another identity holds the Lease (polled every 0.1 s; usually
  the standby, sometimes the restarted process, which competes too), median
  and max;
- **SIGTERM handover** (`--terms` times): the same with SIGTERM, the leader
  releasing the Lease on its way out.

Bounded: every wait has a limit and the whole run stops after
`--max-seconds` (reporting what it measured so far). Progress goes to stderr;
the last line on stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _world import CLI, REPO, adf_incident, adf_run_id, create_namespace, free_port, print_figures, reporter
from aiops_operator.kube import INCIDENTS, LEASES, NAMESPACES, KubeClient, NotFound, load_config
from aiops_operator.kube.crds import install_crds

from devtools.localcluster import controlplane

LEASE = "aiops-rca-operator"
TIMING = {"LEADER_ELECTION_LEASE_DURATION_SECONDS": "15", "LEADER_ELECTION_RENEW_DEADLINE_SECONDS": "10",
          "LEADER_ELECTION_RETRY_PERIOD_SECONDS": "2"}
TAKEOVER_LIMIT = 30.0


progress = reporter("failover")


def incident(i: int) -> dict[str, Any]:
    return adf_incident(f"pl_failover_{i:02d}", adf_run_id("fa11be00", i), "00000000-0000-0000-0000-000000000000",
                        message="Execution Timeout Expired.", fired_ago=0)


@dataclass
class Replica:
    name: str
    env: dict[str, str]
    args: list[str]
    log: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.port = free_port()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([*self.args, "--port", str(self.port)], env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT, cwd=REPO)

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout: float = 20.0) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def requests(self) -> Counter[str]:
        """This replica's `aiops_rca_operator_api_requests_total`, by `client verb`."""
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5).read().decode()
        out: Counter[str] = Counter()
        for line in text.splitlines():
            if line.startswith("aiops_rca_operator_api_requests_total{"):
                labels = dict(part.split("=", 1) for part in line[line.index("{") + 1:line.index("}")].split(","))
                out[f"{labels['client'].strip(chr(34))} {labels['verb'].strip(chr(34))}"] = \
                    int(float(line.rsplit(" ", 1)[1]))
        return out


async def holder(kube: KubeClient, namespace: str) -> str:
    try:
        body = await kube.get(LEASES, namespace, LEASE)
    except NotFound:
        return ""
    return str((body.get("spec") or {}).get("holderIdentity") or "")


async def wait_holder(kube: KubeClient, namespace: str, replica: Replica, limit: float) -> float:
    """Seconds until `replica` holds the Lease (polled every 0.1 s)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if (await holder(kube, namespace)).startswith(f"{replica.name}_"):
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{replica.name} did not take the Lease within {limit:.0f} s (see {replica.log})")


async def wait_new_holder(kube: KubeClient, namespace: str, old: str, limit: float) -> str:
    """The first holder other than `old` (and not nobody), polled every 0.1 s."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        current = await holder(kube, namespace)
        if current and current != old:
            return current
        await asyncio.sleep(0.1)
    raise TimeoutError(f"nobody took the Lease from {old} within {limit:.0f} s")


async def wait_metrics(replica: Replica, limit: float = 60.0) -> None:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(replica.requests)
            return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{replica.name} serves no /metrics (see {replica.log})")


async def at_rest(replicas: dict[str, Replica], leader: str, seconds: float) -> dict[str, dict[str, float]]:
    before = {name: await asyncio.to_thread(r.requests) for name, r in replicas.items()}
    await asyncio.sleep(seconds)
    after = {name: await asyncio.to_thread(r.requests) for name, r in replicas.items()}
    out = {}
    for name in replicas:
        role = "leader" if name == leader else "standby"
        delta = after[name] - before[name]
        out[role] = {key: round(n * 60.0 / seconds, 1) for key, n in sorted(delta.items())}
        out[role]["writes_per_minute"] = round(
            sum(n for key, n in delta.items() if not key.endswith(" GET")) * 60.0 / seconds, 1)
    return out


async def failovers(kube: KubeClient, namespace: str, replicas: dict[str, Replica], sig: signal.Signals,
                    count: int, deadline: float) -> list[float]:
    times: list[float] = []
    for i in range(count):
        if time.monotonic() > deadline:
            progress(f"time is up after {len(times)} {sig.name}s")
            break
        current = await holder(kube, namespace)
        leader = next(r for r in replicas.values() if current.startswith(f"{r.name}_"))
        killed = time.monotonic()
        leader.signal(sig)
        if sig is signal.SIGKILL:
            leader.wait()
            leader.start()  # back at once with a new identity, like a restarted container: it competes too
        new = await wait_new_holder(kube, namespace, current, TAKEOVER_LIMIT)
        took = time.monotonic() - killed
        times.append(took)
        progress(f"{sig.name} {i + 1}/{count}: {new} leads after {took:.1f} s")
        if sig is not signal.SIGKILL:
            leader.wait()
            leader.start()
            await wait_metrics(leader)
            await asyncio.sleep(2.5)  # the new standby reads the Lease once before the leader is stopped
        else:
            await wait_metrics(leader)  # restarted at the kill: up and watching long since
    return times


def summary(times: list[float]) -> dict[str, Any]:
    if not times:
        return {"count": 0}
    return {"count": len(times), "median_seconds": round(statistics.median(times), 2),
            "max_seconds": round(max(times), 2), "min_seconds": round(min(times), 2)}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    deadline = time.monotonic() + args.max_seconds
    kubeconfig = controlplane.resolve_kubeconfig(progress)
    kube = KubeClient(load_config(kubeconfig))
    namespace = f"bench-failover-{secrets.token_hex(3)}"
    workdir = Path(tempfile.mkdtemp(prefix="aiops-rca-bench-failover-"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "JIRA_", "AIOPS_LLM_", "AZURE_", "DATABRICKS_", "LEADER_ELECTION"))}
    env.update({"KUBECONFIG": str(kubeconfig), "LOG_LEVEL": "INFO", **TIMING})
    args_ = [str(CLI), "operator", "--namespace", namespace]
    replicas = {name: Replica(name, {**env, "POD_NAME": name}, args_, workdir / f"{name}.log")
                for name in ("bench-a", "bench-b")}
    try:
        await install_crds(kube)
        await create_namespace(kube, namespace)
        replicas["bench-a"].start()
        await wait_holder(kube, namespace, replicas["bench-a"], 60)
        replicas["bench-b"].start()
        await wait_metrics(replicas["bench-b"])
        for i in range(args.incidents):
            await kube.create(INCIDENTS, namespace, incident(i))
        await asyncio.sleep(10)  # analyzed and escalated (no policy): then nothing is left to do
        progress(f"two replicas up, {args.incidents} incidents in {namespace}; {args.rest_seconds:.0f} s at rest")
        rest = await at_rest(replicas, "bench-a", args.rest_seconds)
        progress(f"at rest, requests per minute: {rest}")
        kills = await failovers(kube, namespace, replicas, signal.SIGKILL, args.kills, deadline)
        terms = await failovers(kube, namespace, replicas, signal.SIGTERM, args.terms, deadline)
        lease = await kube.get(LEASES, namespace, LEASE)
        return {
            "bench": "failover",
            "timing_seconds": {"lease_duration": 15, "renew_deadline": 10, "retry_period": 2},
            "incidents": args.incidents,
            "at_rest_requests_per_minute": rest,
            "sigkill_failover": summary(kills),
            "sigkill_failover_seconds": [round(t, 2) for t in kills],
            "sigterm_handover": summary(terms),
            "sigterm_handover_seconds": [round(t, 2) for t in terms],
            "lease_transitions": (lease.get("spec") or {}).get("leaseTransitions"),
        }
    finally:
        for replica in replicas.values():
            replica.signal(signal.SIGTERM)
        for replica in replicas.values():
            replica.wait()
        with contextlib.suppress(Exception):
            await kube.delete(NAMESPACES, None, namespace)
        await kube.close()
        progress(f"operator logs: {workdir}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs of the leader (default 20)")
    parser.add_argument("--terms", type=int, default=5, help="SIGTERMs of the leader (default 5)")
    parser.add_argument("--incidents", type=int, default=20, help="incidents the replicas watch (default 20)")
    parser.add_argument("--rest-seconds", type=float, default=60.0, help="at-rest window (default 60)")
    parser.add_argument("--max-seconds", type=float, default=480.0,
                        help="stop starting new kills after this many seconds (default 480)")
    args = parser.parse_args()
    print_figures(asyncio.run(main_async(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
