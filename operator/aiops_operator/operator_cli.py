"""`aiops-rca operator`: run the Kopf operator.

Standalone as far as Kopf is concerned (no Kopf peering: it pauses operators
by priority and freezes all of them when priorities are equal). Several
replicas elect one leader on a Lease (`kube.lease`); the standbys watch
and cache but act on nothing (README "High availability"). Scale out by
running one operator release per set of namespaces (`--namespace`), each
with its own Lease.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiops_operator.settings import OperatorSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--namespace", "-n", action="append", default=[], metavar="NS",
                       help="namespace to watch (repeatable); default: all namespaces")
    scope.add_argument("--all-namespaces", "-A", action="store_true",
                       help="watch all namespaces (the default without --namespace)")
    parser.add_argument("--standalone", action="store_true", default=True,
                        help="run without Kopf peering (always on: replicas elect a leader on a Lease instead)")
    parser.add_argument("--port", type=int, default=None,
                        help="port of /metrics and /healthz (default: $METRICS_PORT or 8080; 0: off)")
    parser.add_argument("--kubeconfig", default=None, help="kubeconfig path (default: $KUBECONFIG, in-cluster)")


def run(args: argparse.Namespace, *, crash_hook: Callable[..., None] | None = None) -> int:
    """`crash_hook`: only the chaos tests pass one (tests/support/crashing_operator.py)."""
    import kopf

    from aiops_operator import handlers
    from aiops_operator.kube import load_config
    from aiops_operator.runtime import Runtime

    settings = OperatorSettings()
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Per-request INFO logs of the HTTP clients would drown what the operator says.
    for noisy in ("httpx", "azure", "urllib3", "databricks.sdk", "slack_sdk"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    kube_config = load_config(args.kubeconfig or settings.kubeconfig)
    namespaces: list[str] = list(args.namespace or [])
    port = args.port if args.port is not None else settings.metrics_port

    async def main() -> None:
        runtime = Runtime(settings, kube_config, watched_namespaces=namespaces) if crash_hook is None else Runtime(
            settings, kube_config, watched_namespaces=namespaces, crash_hook=crash_hook)
        registry = kopf.OperatorRegistry()
        handlers.register(registry, runtime, metrics_port=port)
        kopf_settings = kopf.OperatorSettings()
        handlers.configure(kopf_settings)
        await kopf.operator(
            registry=registry,
            settings=kopf_settings,
            standalone=True,
            clusterwide=not namespaces,
            namespaces=namespaces,
        )

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0
