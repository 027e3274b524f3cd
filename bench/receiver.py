"""Webhook receiver benchmark against the local control plane.

    .venv/bin/python bench/receiver.py [--alerts 1500] [--concurrency 32]

Measures, in one run and one fresh namespace (deleted at the end):
1. raw Incident-create throughput of the API server from a plain async client
   (the physical limit on this machine);
2. the receiver's sustained unique-alert throughput (closed loop) with latency
   p50/p99; a request is answered only after its Incident exists (or is spooled);
3. latency p50/p99 at half that rate (open loop, measured from the scheduled
   send time, so a stall cannot hide queued requests);
4. a 50x duplicate storm: every alert sent 50 times concurrently; requests/s and
   how many Incidents it made beyond one per distinct alert (must be zero).

The receiver runs as a real process (`aiops-rca receiver`, uvicorn + uvloop). The
load generator is a minimal keep-alive HTTP/1.1 client on raw asyncio streams so
that it costs the shared 2 cores as little as possible. Progress goes to stderr;
the last line on stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _world import free_port, percentile, print_figures, receiver_command, reporter, tail
from aiops_operator.api import IncidentSource
from aiops_operator.kube import INCIDENTS, KubeClient, load_config

from devtools.localcluster import controlplane

API_KEY = secrets.token_hex(16)


progress = reporter("bench")


# -- payloads ----------------------------------------------------------------------------------


def databricks_alert(i: int, tag: str) -> bytes:
    return json.dumps({
        "event_type": "jobs.on_failure",
        "workspace_id": "1234567890123456",
        "run": {"run_id": f"{tag}{i:08d}"},
        "job": {"job_id": str(1000 + i % 50), "name": f"bench-job-{i % 50}"},
    }).encode()


def incident_body(i: int, tag: str) -> dict[str, Any]:
    from datetime import UTC, datetime

    from webhook_receiver.labels import incident_object
    from webhook_receiver.parsing import ParseOptions, databricks

    spec = databricks.parse(json.loads(databricks_alert(i, tag)), datetime.now(UTC), ParseOptions()).incidents[0]
    assert spec.source is IncidentSource.DATABRICKS_JOB
    return incident_object(spec)


# -- a minimal keep-alive HTTP/1.1 client (the load generator) -------------------------------


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"x-api-key: {API_KEY}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()


async def closed_loop(
    port: int, bodies: list[bytes], concurrency: int, path: str = "/databricks-monitor"
) -> tuple[float, list[float], dict[int, int]]:
    """Send every body with `concurrency` connections as fast as answers come; (seconds, latencies, statuses)."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def worker() -> None:
        conn = Connection("127.0.0.1", port)
        try:
            while True:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                status = await conn.post(path, body)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, statuses


async def open_loop(
    port: int, bodies: list[bytes], rate: float, connections: int
) -> tuple[list[float], dict[int, int]]:
    """Send at a fixed rate; latency counts from each request's scheduled time."""
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection("127.0.0.1", port))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = time.perf_counter() + 0.05

    async def one(i: int, body: bytes) -> None:
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        conn = await pool.get()
        try:
            status = await conn.post("/databricks-monitor", body)
        finally:
            pool.put_nowait(conn)
        latencies.append(time.perf_counter() - scheduled)
        statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))
    await spool_drained(port)
    while not pool.empty():
        await pool.get_nowait().close()
    return latencies, statuses


# -- phases ------------------------------------------------------------------------------------


async def raw_creates(kube: KubeClient, namespace: str, count: int, concurrency: int) -> float:
    bodies = [incident_body(i, "raw") for i in range(count)]
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker() -> None:
        while not queue.empty():
            await kube.create(INCIDENTS, namespace, queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def spool_drained(port: int, within: float = 120) -> None:
    """Until the receiver's /readyz reports an empty spool."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw = await reader.read()
        writer.close()
        if b'"spoolDepth":0' in raw:
            return
        await asyncio.sleep(0.05)
    raise SystemExit("spool did not drain")


async def count_incidents(kube: KubeClient, namespace: str) -> int:
    items, _ = await kube.list_all(INCIDENTS, namespace)
    return len(items)


def start_receiver(
    port: int, kubeconfig: Path, namespace: str, workdir: Path, keys: Path, log: Path
) -> subprocess.Popen[bytes]:
    """`aiops-rca receiver` as its own process, as in production."""
    return subprocess.Popen(receiver_command(port, kubeconfig, namespace, workdir, keys), stdout=log.open("w"),
                            stderr=subprocess.STDOUT)


async def wait_healthy(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"receiver exited: {tail(log)}")
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            line = await reader.readline()
            writer.close()
            if b" 200 " in line:
                return
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("receiver did not become healthy")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    kubeconfig = controlplane.resolve_kubeconfig(progress)
    namespace = f"bench-receiver-{secrets.token_hex(3)}"
    kube = KubeClient(load_config(kubeconfig), max_connections=max(64, args.concurrency))
    await ensure_namespace(kubeconfig, namespace)
    workdir = Path(tempfile.mkdtemp(prefix="aiops-rca-bench-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        await kube.list_page(INCIDENTS, namespace, limit=1)  # warm the connection and the CRD
        progress(f"namespace {namespace}; raw creates: {args.raw} Incidents, {args.concurrency} concurrent")
        raw = await raw_creates(kube, namespace, args.raw, args.concurrency)
        progress(f"raw API server create throughput: {raw:.0f}/s")

        port = free_port()
        keys = workdir / "api-keys"
        keys.write_text(API_KEY + "\n")
        log = workdir / "receiver.log"
        proc = start_receiver(port, kubeconfig, namespace, workdir, keys, log)
        await wait_healthy(port, proc, log)
        warm = [databricks_alert(i, "warm") for i in range(200)]
        await closed_loop(port, warm, args.concurrency)

        progress(f"sustained: {args.alerts} unique alerts, {args.concurrency} connections")
        unique = [databricks_alert(i, "uniq") for i in range(args.alerts)]
        started = time.perf_counter()
        seconds, latencies, statuses = await closed_loop(port, unique, args.concurrency)
        acked = len(unique) / seconds
        # Alerts answered 202 (made durable while their create finished) count once their Incident exists.
        await spool_drained(port)
        sustained = len(unique) / (time.perf_counter() - started)
        progress(f"acknowledged {acked:.0f}/s; all Incidents existed at {sustained:.0f}/s")
        progress(f"sustained {sustained:.0f}/s, p50 {percentile(latencies, 50) * 1000:.1f} ms, "
                 f"p99 {percentile(latencies, 99) * 1000:.1f} ms, statuses {statuses}")

        half = sustained / 2
        count = max(200, int(half * args.half_rate_seconds))
        progress(f"half rate: {half:.0f}/s for {count} alerts (open loop)")
        half_bodies = [databricks_alert(i, "half") for i in range(count)]
        half_latencies, half_statuses = await open_loop(port, half_bodies, half, args.concurrency)
        progress(f"half rate p50 {percentile(half_latencies, 50) * 1000:.1f} ms, "
                 f"p99 {percentile(half_latencies, 99) * 1000:.1f} ms, statuses {half_statuses}")

        before = await count_incidents(kube, namespace)
        distinct = args.storm_distinct
        storm = [databricks_alert(i, "storm") for i in range(distinct) for _ in range(50)]
        # Interleave so each alert's 50 copies arrive together, as a storm does.
        storm = [storm[j * 50 + k] for k in range(50) for j in range(distinct)]
        progress(f"duplicate storm: {distinct} alerts x 50 = {len(storm)} requests")
        storm_seconds, _, storm_statuses = await closed_loop(port, storm, args.storm_concurrency)
        storm_rate = len(storm) / storm_seconds
        # Send it all again: every one is now an old duplicate.
        again_seconds, _, again_statuses = await closed_loop(port, storm, args.storm_concurrency)
        after = await count_incidents(kube, namespace)
        extra = after - before - distinct
        progress(f"storm {storm_rate:.0f} req/s (repeat {len(storm) / again_seconds:.0f} req/s), "
                 f"extra Incidents {extra}, statuses {storm_statuses} / {again_statuses}")
        expected = args.raw + len(warm) + args.alerts + count + distinct
        lost = expected - after
        return {
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "raw_create_per_s": round(raw, 1),
            "receiver_sustained_per_s": round(sustained, 1),
            "receiver_acked_per_s": round(acked, 1),
            "receiver_vs_raw": round(sustained / raw, 3),
            "sustained_p50_ms": round(percentile(latencies, 50) * 1000, 2),
            "sustained_p99_ms": round(percentile(latencies, 99) * 1000, 2),
            "half_rate_per_s": round(half, 1),
            "half_rate_p50_ms": round(percentile(half_latencies, 50) * 1000, 2),
            "half_rate_p99_ms": round(percentile(half_latencies, 99) * 1000, 2),
            "storm_requests": len(storm),
            "storm_req_per_s": round(storm_rate, 1),
            "storm_repeat_req_per_s": round(len(storm) / again_seconds, 1),
            "storm_extra_incidents": extra,
            "incidents_missing": lost,
            "non_2xx": sum(v for s in (statuses, half_statuses, storm_statuses, again_statuses)
                           for k, v in s.items() if k >= 300),
            "targets": {
                "receiver_ge_60pct_raw": sustained / raw >= 0.6,
                "half_rate_p99_le_100ms": percentile(half_latencies, 99) <= 0.1,
                "storm_ge_1000_req_per_s": storm_rate >= 1000,
                "storm_zero_extra": extra == 0,
            },
        }
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        await kube.close()
        await delete_namespace(kubeconfig, namespace)
        progress(f"deleted namespace {namespace}")


async def ensure_namespace(kubeconfig: Path, namespace: str) -> None:
    await _core(kubeconfig, lambda core: core.create_namespace({"metadata": {"name": namespace}}))


async def delete_namespace(kubeconfig: Path, namespace: str) -> None:
    await _core(kubeconfig, lambda core: core.delete_namespace(namespace))


async def _core(kubeconfig: Path, call: Callable[[Any], Any]) -> None:
    from kubernetes import client, config

    def run() -> None:
        api = config.new_client_from_config(config_file=str(kubeconfig))
        try:
            call(client.CoreV1Api(api))
        finally:
            api.close()

    await asyncio.to_thread(run)


def _run(coro: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    try:
        import uvloop

        return uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw", type=int, default=1500, help="Incidents created directly for the raw figure")
    parser.add_argument("--alerts", type=int, default=1500, help="unique alerts for the sustained figure")
    parser.add_argument("--concurrency", type=int, default=32, help="connections for raw and sustained load")
    parser.add_argument("--half-rate-seconds", type=float, default=8.0, help="duration of the half-rate phase")
    parser.add_argument("--storm-distinct", type=int, default=40, help="distinct alerts in the 50x storm")
    parser.add_argument("--storm-concurrency", type=int, default=64, help="connections during the storm")
    args = parser.parse_args()
    print_figures(_run(main_async(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
