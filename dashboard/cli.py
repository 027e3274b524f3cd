"""`aiops-rca dashboard`: serve the read-only live dashboard."""

from __future__ import annotations

import argparse
import logging
import os
import sys

import uvicorn
from aiops_operator.kube import KubeConfigError, load_config

from dashboard import settings as dashboard_settings
from dashboard.settings import SettingsError, from_args

DESCRIPTION = """\
Read-only live web UI for on-call engineers: lists then watches Incidents,
RemediationAttempts and RemediationPolicies (get/list/watch only, it never
writes) and pushes every change to open browsers over Server-Sent Events.
Every flag can also be set by the environment variable named in its help.
Endpoints: / (UI), /api/events (SSE), /api/incidents.csv, /api/audit(.csv),
/healthz (503 until every watch has listed), /metrics (Prometheus).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    dashboard_settings.add_arguments(parser, os.environ)


def run(args: argparse.Namespace) -> int:
    from dashboard.app import create_app  # imported here so `--help` stays fast

    try:
        settings = from_args(args, os.environ)
        load_config(settings.kubeconfig)  # fail now, with the reason, rather than in the first watch
    except (SettingsError, KubeConfigError) as exc:
        print(f"aiops-rca dashboard: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per watch request is noise
    scope = ", ".join(settings.namespaces) or "all namespaces"
    logging.getLogger("aiops_rca.dashboard").info(
        "serving http://%s:%d/ (auth %s) for %s", settings.host, settings.port, settings.auth, scope
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        timeout_graceful_shutdown=2,
    )
    return 0
