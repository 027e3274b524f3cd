"""A long API-server outage while alerts keep arriving: nothing lost, nothing duplicated, bounds held.

    .venv/bin/python bench/outage.py                      # 20-minute cut, 2,000 alerts (about 22 minutes)
    .venv/bin/python bench/outage.py --quick              # 45-second cut, 300 alerts (about 1.5 minutes)
    .venv/bin/python bench/outage.py --outage-seconds 300 --alerts 1000

The receiver runs as a real process whose kubeconfig points at a TCP proxy in
front of the local control plane's API server. After a short warm-up the proxy
is cut for `--outage-seconds` while alerts arrive at an even pace (every
`--duplicate-every`-th one a resend of an earlier alert, as Azure Monitor
retries do). The sender behaves like Azure Monitor: a 503 is retried after its
Retry-After. The spool is made smaller than the outage's unique alerts
(`--spool-max-files`), so its bound is reached and shown to hold. The proxy
comes back; the bench waits until the spool is empty and every alert accepted,
then compares the Incidents in the namespace with the alerts sent.

Figures (the last line on stdout, JSON): answers by status, 503s without
Retry-After (must be 0), Incidents lost and duplicated (must be 0), spool and
memory peaks from the receiver's /metrics against their bounds, time to drain.
Exit status 1 when an invariant fails. The run is bounded by
`--max-runtime-seconds` (default: outage + 10 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _world import REPO, print_figures, receiver_command, reporter, wait_healthy

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))

from aiops_operator.kube import INCIDENTS, NAMESPACES, KubeClient, KubeUnavailable, load_config  # noqa: E402

from devtools.localcluster import controlplane  # noqa: E402
from tests.e2e.receiver.tcp_proxy import TcpProxy, free_port, kubeconfig_via_proxy  # noqa: E402

API_KEY = secrets.token_hex(16)
METRICS = ("aiops_rca_receiver_spool_depth", "aiops_rca_receiver_spool_bytes", "process_resident_memory_bytes")


progress = reporter("outage")


def alert(run: int, tag: str) -> dict[str, Any]:
    return {"event_type": "jobs.on_failure", "workspace_id": "1234567890123456",
            "run": {"run_id": f"{tag}{run:08d}"}, "job": {"job_id": str(1000 + run % 50), "name": f"outage-{run % 50}"}}


def scrape(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in METRICS or name.startswith("aiops_rca_receiver_spool_limit{"):
            out[name] = float(value)
    return out


class Sender:
    """Posts alerts like Azure Monitor: a 503 is retried after its Retry-After, until accepted."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.answers: dict[str, int] = {}
        self.without_retry_after = 0
        self.pending: set[asyncio.Task[None]] = set()
        self.failed_for_good = 0

    def send(self, body: dict[str, Any]) -> None:
        task = asyncio.create_task(self._deliver(body))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _deliver(self, body: dict[str, Any]) -> None:
        for _ in range(1000):
            try:
                answer = await self.http.post("/databricks-monitor", json=body)
            except httpx.TransportError:
                self.answers["transport-error"] = self.answers.get("transport-error", 0) + 1
                await asyncio.sleep(1)
                continue
            self.answers[str(answer.status_code)] = self.answers.get(str(answer.status_code), 0) + 1
            if answer.status_code < 300:
                return
            if answer.status_code != 503:
                self.failed_for_good += 1
                return
            retry_after = answer.headers.get("retry-after")
            if retry_after is None:
                self.without_retry_after += 1
            await asyncio.sleep(float(retry_after or 5))
        self.failed_for_good += 1


async def run(args: argparse.Namespace) -> dict[str, Any]:
    kubeconfig = controlplane.resolve_kubeconfig(progress)
    namespace = f"bench-outage-{secrets.token_hex(3)}"
    workdir = Path(tempfile.mkdtemp(prefix="aiops-rca-outage-"))
    kube = KubeClient(load_config(kubeconfig))
    await kube.create(NAMESPACES, None, {"metadata": {"name": namespace}})
    via_proxy, proxy = kubeconfig_via_proxy(kubeconfig, workdir)
    proxy.start()
    port = free_port()
    (workdir / "keys").write_text(API_KEY + "\n")
    log = workdir / "receiver.log"
    env = {**os.environ, "AIOPS_RCA_RECEIVER_SPOOL_REPLAY_INTERVAL_SECONDS": "0.5",
           "AIOPS_RCA_RECEIVER_API_TIMEOUT_SECONDS": "3",
           "AIOPS_RCA_RECEIVER_SPOOL_MAX_FILES": str(args.spool_max_files),
           "AIOPS_RCA_RECEIVER_RETRY_AFTER_SECONDS": str(args.retry_after_seconds)}
    proc = start_receiver(port, via_proxy, namespace, workdir, env)
    tag = secrets.token_hex(2)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"x-api-key": API_KEY},
                                     timeout=30) as http:
            await wait_healthy(http, proc, log)
            return await _drill(args, http, proxy, kube, namespace, tag)
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()
        proxy.close()
        with contextlib.suppress(Exception):
            await kube.delete(NAMESPACES, None, namespace)
        await kube.close()


def start_receiver(port: int, kubeconfig: Path, namespace: str, workdir: Path,
                   env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(receiver_command(port, kubeconfig, namespace, workdir, workdir / "keys"),
                            stdout=(workdir / "receiver.log").open("w"), stderr=subprocess.STDOUT, env=env)


async def _drill(args: argparse.Namespace, http: httpx.AsyncClient, proxy: TcpProxy, kube: KubeClient,
                 namespace: str, tag: str) -> dict[str, Any]:
    sender = Sender(http)
    peaks: dict[str, float] = {}
    sampling = True

    async def sample() -> None:
        while sampling:
            with contextlib.suppress(httpx.TransportError):
                for name, value in scrape((await http.get("/metrics")).text).items():
                    peaks[name] = max(peaks.get(name, 0.0), value)
            await asyncio.sleep(1)

    sampler = asyncio.create_task(sample())
    sent: list[int] = []
    warmup = min(50, args.alerts // 10)
    for run_no in range(warmup):
        sender.send(alert(run_no, tag))
        sent.append(run_no)
    await asyncio.gather(*list(sender.pending))
    progress(f"warm-up: {warmup} alerts; cutting the API server for {args.outage_seconds:g} s")
    proxy.stop()
    cut = time.monotonic()
    during = args.alerts - warmup
    pace = args.outage_seconds * 0.9 / max(1, during)
    next_run = warmup
    for i in range(during):
        if i % args.duplicate_every == args.duplicate_every - 1 and sent:
            sender.send(alert(sent[(i * 7919) % len(sent)], tag))  # a resend of an earlier alert
        else:
            sender.send(alert(next_run, tag))
            sent.append(next_run)
            next_run += 1
        if i % 200 == 0:
            progress(f"outage: {i}/{during} alerts sent, spool peak {peaks.get(METRICS[0], 0):.0f}")
        await asyncio.sleep(max(0.0, cut + (i + 1) * pace - time.monotonic()))
    await asyncio.sleep(max(0.0, cut + args.outage_seconds - time.monotonic()))
    progress("the API server is back")
    proxy.start()
    back = time.monotonic()
    while sender.pending or await _spool_depth(http):
        if time.monotonic() - back > args.drain_timeout_seconds:
            break
        if int(time.monotonic() - back) % 15 == 0:
            progress(f"draining: {len(sender.pending)} alerts still retried; answers so far {sender.answers}")
        await asyncio.sleep(0.5)
    drained = time.monotonic() - back
    sampling = False
    await sampler
    unique = set(sent)
    runs = await _incident_runs(kube, namespace)
    expected = {f"{tag}{r:08d}" for r in unique}
    return {
        "outage_seconds": args.outage_seconds, "alerts_sent": len(sent) + (during - (next_run - warmup)),
        "unique_alerts": len(unique), "resends": during - (next_run - warmup), "answers": sender.answers,
        "answers_503_without_retry_after": sender.without_retry_after, "rejected_for_good": sender.failed_for_good,
        "still_pending": len(sender.pending), "incidents": len(runs),
        "lost": len(expected - set(runs)), "duplicated": len(runs) - len(set(runs)),
        "unexpected": len(set(runs) - expected), "drain_seconds": round(drained, 1),
        "spool_peak_depth": peaks.get("aiops_rca_receiver_spool_depth", 0),
        "spool_limit_files": peaks.get('aiops_rca_receiver_spool_limit{unit="files"}', 0),
        "spool_peak_bytes": peaks.get("aiops_rca_receiver_spool_bytes", 0),
        "spool_limit_bytes": peaks.get('aiops_rca_receiver_spool_limit{unit="bytes"}', 0),
        "rss_peak_mib": round(peaks.get("process_resident_memory_bytes", 0) / 2**20, 1),
        "rss_limit_mib": args.rss_limit_mib,
    }


async def _incident_runs(kube: KubeClient, namespace: str) -> list[str]:
    """The run ids of the namespace's Incidents; a busy shared API server gets a few tries."""
    for attempt in range(10):
        try:
            items, _ = await kube.list_all(INCIDENTS, namespace)
            return [str(i["spec"]["runId"]) for i in items]
        except KubeUnavailable:
            progress(f"listing Incidents timed out (try {attempt + 1}); the API server is busy")
            await asyncio.sleep(5)
    raise SystemExit("the API server did not list the Incidents in 10 tries")


async def _spool_depth(http: httpx.AsyncClient) -> int:
    with contextlib.suppress(httpx.TransportError, ValueError):
        return int((await http.get("/readyz")).json()["spoolDepth"])
    return 1


def verdict(figures: dict[str, Any]) -> list[str]:
    """The invariants the run must show; empty when all hold."""
    bad = []
    for key in ("lost", "duplicated", "unexpected", "answers_503_without_retry_after", "rejected_for_good",
                "still_pending"):
        if figures[key]:
            bad.append(f"{key}={figures[key]}")
    if not set(figures["answers"]) <= {"200", "201", "202", "503"}:
        bad.append(f"answers outside 2xx/503: {figures['answers']}")
    if figures["spool_peak_depth"] > figures["spool_limit_files"]:
        bad.append("spool above its file bound")
    if figures["spool_peak_bytes"] > figures["spool_limit_bytes"]:
        bad.append("spool above its byte bound")
    if figures["rss_peak_mib"] > figures["rss_limit_mib"]:
        bad.append(f"receiver memory {figures['rss_peak_mib']} MiB above {figures['rss_limit_mib']} MiB")
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outage-seconds", type=float, default=1200, help="how long the API server is cut")
    parser.add_argument("--alerts", type=int, default=2000, help="alerts sent in all (warm-up + outage)")
    parser.add_argument("--duplicate-every", type=int, default=5, help="every n-th alert resends an earlier one")
    parser.add_argument("--spool-max-files", type=int, default=1000, help="the receiver's spool bound (files)")
    parser.add_argument("--retry-after-seconds", type=int, default=10, help="the receiver's Retry-After on 503")
    parser.add_argument("--rss-limit-mib", type=float, default=400, help="the receiver memory bound asserted")
    parser.add_argument("--drain-timeout-seconds", type=float, default=300, help="most time to replay after")
    parser.add_argument("--max-runtime-seconds", type=float, default=None,
                        help="hard bound on the whole run (default: outage + 10 minutes)")
    parser.add_argument("--quick", action="store_true",
                        help="a 45 s cut with 300 alerts and a 150-file spool (what the e2e suite runs)")
    args = parser.parse_args()
    if args.quick:
        args.outage_seconds, args.alerts, args.spool_max_files, args.retry_after_seconds = 45, 300, 150, 2
    budget = args.max_runtime_seconds or args.outage_seconds + 600

    async def bounded() -> dict[str, Any]:
        return await asyncio.wait_for(run(args), timeout=budget)

    figures = asyncio.run(bounded())
    figures["violations"] = verdict(figures)
    print_figures(figures)
    return 1 if figures["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
