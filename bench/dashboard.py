"""Dashboard benchmark: 5,000 incidents and 10,000 attempts, a real dashboard process, headless Chromium.

Measures what a viewer feels and what the server costs:
- first meaningful page (overview tiles and the first cards drawn) in a fresh browser context;
- the dashboard process's resident memory (current and peak) with everything loaded;
- latency from a status patch on the API server to the browser's DOM showing it, over 50 changes
  (timestamped in the page by a MutationObserver, against the wall clock the patch was sent at).

Run: .venv/bin/python bench/dashboard.py   (prints progress; the last line is one JSON object)
Uses the local control plane (started if needed, left running) and deletes its namespace at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

from _world import free_port, rss_mib

# This file is bench/dashboard.py: drop its folder from the import path, or `import dashboard`
# would import this script instead of the dashboard package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from dataclasses import replace  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
from aiops_operator.crdgen import KINDS, crd  # noqa: E402
from aiops_operator.kube import NAMESPACES, Conflict, KubeClient, ResourceType, load_config  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from devtools.localcluster import controlplane  # noqa: E402
from devtools.samples import SampleIncident, sample_incident  # noqa: E402
from devtools.seeding import create_samples  # noqa: E402

INCIDENTS_N = int(os.environ.get("BENCH_INCIDENTS", "5000"))
ATTEMPTS_N = int(os.environ.get("BENCH_ATTEMPTS", "10000"))
CHANGES = int(os.environ.get("BENCH_CHANGES", "50"))
CHROMIUM = os.environ.get("AIOPS_RCA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TARGETS = {"first_page_seconds": 1.0, "server_rss_mib": 300.0, "change_to_dom_p95_seconds": 1.0}
CRDS = ResourceType("apiextensions.k8s.io", "v1", "customresourcedefinitions")
PHASE_CYCLE = ("Analyzing", "Remediating", "Monitoring", "Escalated", "Resolved")


def progress(message: str) -> None:
    print(f"[bench/dashboard] {message}", flush=True)


def with_attempts(samples: list[SampleIncident], total: int) -> list[SampleIncident]:
    """Trim or top up the samples' attempts so that exactly `total` exist (extra ones failed, as retries do)."""
    out: list[SampleIncident] = []
    left = total
    per_incident = -(-total // max(1, len(samples)))
    for sample in samples:
        attempts = list(sample.attempts[: min(left, per_incident)])
        template = sample_incident(1, datetime.now(UTC), phase="Resolved").attempts[0]
        while len(attempts) < min(left, per_incident):
            n = len(attempts) + 1
            body = json.loads(json.dumps(template[0]))
            body["metadata"] = {"name": f"{sample.name}-{n}", "labels": {"aiops-rca.io/incident": sample.name}}
            key = f"{sample.name}-{n}"[-48:]
            body["spec"].update({"incidentRef": sample.name, "attempt": n, "idempotencyKey": key})
            attempts.append((body, template[1]))
        left -= len(attempts)
        out.append(replace(sample, attempts=attempts))
    return out


async def install_crds(kube: KubeClient) -> None:
    for info in KINDS:
        body = crd(info)
        try:
            await kube.create(CRDS, None, body)
        except Conflict:
            await kube.patch(CRDS, None, info.crd_name, {"spec": body["spec"]})
    for info in KINDS:
        for _ in range(100):
            got = await kube.get(CRDS, None, info.crd_name)
            if any(c["type"] == "Established" and c["status"] == "True" for c in got["status"].get("conditions", [])):
                break
            await asyncio.sleep(0.1)


async def load(kubeconfig: Path, namespace: str) -> float:
    now = datetime.now(UTC)
    samples = with_attempts([sample_incident(i, now) for i in range(INCIDENTS_N)], ATTEMPTS_N)
    async with KubeClient(load_config(kubeconfig), max_connections=64) as kube:
        await install_crds(kube)
        await kube.create(NAMESPACES, None, {"metadata": {"name": namespace}})
        started = time.monotonic()
        done = 0
        batch = 500
        for first in range(0, len(samples), batch):
            done += await create_samples(kube, namespace, samples[first : first + batch], concurrency=64)
            progress(f"created {done}/{len(samples)} incidents ({time.monotonic() - started:.0f}s)")
        return time.monotonic() - started


def wait_synced(url: str, timeout: float = 180) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:  # noqa: S310  (loopback)
                body = json.loads(response.read())
                if body["objects"]["Incident"] >= INCIDENTS_N and body["objects"]["RemediationAttempt"] >= ATTEMPTS_N:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError("the dashboard did not load every object in time")


def kube_http(kubeconfig: Path) -> httpx.Client:
    cfg = load_config(kubeconfig)
    token = cfg.bearer_token()
    return httpx.Client(
        base_url=cfg.server, verify=cfg.ssl_context(), headers={"Authorization": f"Bearer {token}"} if token else {}
    )


# Navigation start to the first card and the overview tiles in the DOM, timed by the page itself.
FIRST_CARD = """
new MutationObserver((_, obs) => {
  if (document.querySelector(".card") && document.querySelector(".tile .tile-value")) {
    window.__firstCard = performance.now();
    obs.disconnect();
  }
}).observe(document, { subtree: true, childList: true });
"""

OBSERVE = """([key, phase]) => {
  window.__seen = new Promise((resolve) => {
    const sel = `.card[data-key="${key}"][data-phase="${phase}"]`;
    if (document.querySelector(sel)) return resolve(Date.now());
    const obs = new MutationObserver(() => {
      if (document.querySelector(sel)) { obs.disconnect(); resolve(Date.now()); }
    });
    obs.observe(document.getElementById("list"), { subtree: true, childList: true, attributes: true });
  });
}"""


def measure_browser(url: str, kubeconfig: Path, namespace: str, names: list[tuple[str, str]]) -> dict[str, Any]:
    first_pages: list[float] = []
    latencies: list[float] = []
    with sync_playwright() as pw, kube_http(kubeconfig) as api:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        walls: list[float] = []
        for run in range(3):
            context = browser.new_context(viewport={"width": 1440, "height": 960})
            page = context.new_page()
            page.add_init_script(FIRST_CARD)
            started = time.monotonic()
            page.goto(url)
            page.wait_for_selector(".card", timeout=30_000)
            page.wait_for_selector(".tile .tile-value", timeout=30_000)
            walls.append(time.monotonic() - started)
            first_pages.append(page.evaluate("window.__firstCard") / 1000)
            progress(
                f"first meaningful page, fresh browser context {run + 1}: {first_pages[-1]:.3f}s from navigation"
                f" start ({walls[-1]:.3f}s as Playwright saw it)"
            )
            if run < 2:
                context.close()
        page.screenshot(path=str(Path("test-artifacts").resolve() / "bench-dashboard.png"))
        page.click('.tab[data-tab="All"]')
        for i, (name, phase) in enumerate(names[:CHANGES]):
            page.fill("#search", name)
            page.wait_for_selector(f'.card[data-key="{namespace}/{name}"]')
            target = PHASE_CYCLE[(PHASE_CYCLE.index(phase) + 1) % len(PHASE_CYCLE)]
            page.evaluate(OBSERVE, [f"{namespace}/{name}", target])
            sent = time.time()
            response = api.patch(
                f"/apis/aiops-rca.io/v1alpha1/namespaces/{namespace}/incidents/{name}/status",
                content=json.dumps({"status": {"phase": target}}),
                headers={"Content-Type": "application/merge-patch+json"},
            )
            response.raise_for_status()
            seen_ms = page.evaluate("window.__seen")
            latencies.append(seen_ms / 1000 - sent)
            if (i + 1) % 10 == 0:
                progress(f"{i + 1}/{CHANGES} status changes; last took {latencies[-1] * 1000:.0f} ms to reach the DOM")
        browser.close()
    latencies.sort()
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    return {
        "first_page_seconds": round(max(first_pages), 3),
        "first_page_seconds_runs": [round(x, 3) for x in first_pages],
        "first_page_wall_seconds_runs": [round(x, 3) for x in walls],
        "change_to_dom_p50_seconds": round(statistics.median(latencies), 3),
        "change_to_dom_p95_seconds": round(p95, 3),
        "change_to_dom_max_seconds": round(latencies[-1], 3),
        "changes": len(latencies),
    }


def main() -> int:
    progress("starting the local control plane (if not running)")
    kubeconfig = controlplane.start(progress=progress)
    namespace = f"bench-dashboard-{secrets.token_hex(3)}"
    proc: subprocess.Popen[bytes] | None = None
    try:
        progress(f"loading {INCIDENTS_N} incidents and {ATTEMPTS_N} attempts into {namespace}")
        load_seconds = asyncio.run(load(kubeconfig, namespace))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "aiops_operator.cli", "dashboard", "--kubeconfig", str(kubeconfig),
               "--namespaces", namespace, "--port", str(port), "--log-level", "warning"]  # fmt: skip
        progress("starting the dashboard: " + " ".join(cmd[1:]))
        proc = subprocess.Popen(cmd)
        sync_seconds = wait_synced(url)
        progress(f"dashboard holds every object after {sync_seconds:.2f}s")
        rss_loaded, _ = rss_mib(proc.pid)
        with urllib.request.urlopen(f"{url}/api/overview") as response:  # noqa: S310  (loopback)
            json.loads(response.read())
        names: list[tuple[str, str]] = []
        now = datetime.now(UTC)
        for i in range(0, INCIDENTS_N, max(1, INCIDENTS_N // CHANGES)):
            sample = sample_incident(i, now)
            names.append((sample.name, sample.status["phase"]))
        browser = measure_browser(url, kubeconfig, namespace, names)
        rss_now, rss_peak = rss_mib(proc.pid)
        result: dict[str, Any] = {
            "benchmark": "dashboard",
            "incidents": INCIDENTS_N,
            "attempts": ATTEMPTS_N,
            "load_seconds": round(load_seconds, 1),
            "dashboard_sync_seconds": round(sync_seconds, 2),
            **browser,
            "server_rss_mib": round(max(rss_now, rss_peak), 1),
            "server_rss_loaded_mib": round(rss_loaded, 1),
            "server_rss_end_mib": round(rss_now, 1),
        }
        result["targets_met"] = all(result[k] <= v for k, v in TARGETS.items())
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        progress(f"deleting namespace {namespace}")
        try:
            with kube_http(kubeconfig) as api:
                api.delete(f"/api/v1/namespaces/{namespace}")
        except httpx.HTTPError as exc:
            progress(f"could not delete namespace {namespace} ({exc}); delete it by hand")
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
