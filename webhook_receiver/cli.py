"""`aiops-rca receiver`: run the webhook receiver under uvicorn."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from typing import Any

from webhook_receiver.settings import ENV_PREFIX, ReceiverSettings

# Command-line flags for the settings one usually sets per deployment; every setting also has an env var.
_FLAGS: dict[str, str] = {
    "host": "--host",
    "port": "--port",
    "kubeconfig": "--kubeconfig",
    "namespace": "--namespace",
    "spool_dir": "--spool-dir",
    "api_keys_file": "--api-keys-file",
    "basic_auth_file": "--basic-auth-file",
    "jira_webhook_secret_file": "--jira-webhook-secret-file",
    "log_level": "--log-level",
}


def _settings_epilog() -> str:
    lines = ["settings (environment variables; flags above override them):"]
    for name, field in ReceiverSettings.model_fields.items():
        default = field.default
        shown = "unset" if default is None else str(default)
        lines.append(f"  {ENV_PREFIX}{name.upper()}  (default: {shown})\n      {field.description or ''}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = (
        "Turn alert webhooks (Azure Monitor, Databricks, Jira, Logic App callbacks) into Incident objects. "
        "Endpoints: POST /azure-monitor, /databricks-monitor, /azure-monitor-alert, /api/remediation-callback, "
        "/webhook/jira; GET /api/check-ticket-exists/{run_id}, /healthz, /readyz, /metrics."
    )
    parser.epilog = _settings_epilog()
    for name, flag in _FLAGS.items():
        field = ReceiverSettings.model_fields[name]
        parser.add_argument(flag, dest=name, default=None, help=f"{field.description} [{ENV_PREFIX}{name.upper()}]")
    parser.add_argument(
        "--allow-unauthenticated", dest="allow_unauthenticated", action="store_true", default=None,
        help=f"{ReceiverSettings.model_fields['allow_unauthenticated'].description} "
        f"[{ENV_PREFIX}ALLOW_UNAUTHENTICATED]",
    )


def settings_from(args: argparse.Namespace) -> ReceiverSettings:
    names = (*_FLAGS, "allow_unauthenticated")
    overrides: dict[str, Any] = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    return ReceiverSettings(**overrides)


def run(args: argparse.Namespace) -> int:
    import uvicorn
    from aiops_operator.kube import KubeClient, KubeConfigError, load_config

    from webhook_receiver.app import build_app, make_receiver

    settings = settings_from(args)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        config = load_config(settings.kubeconfig)
    except KubeConfigError as exc:
        print(f"aiops-rca receiver: {exc}", file=sys.stderr)
        return 2
    namespace = settings.namespace or config.namespace
    kube = KubeClient(config, timeout=settings.api_timeout_seconds, field_manager="aiops-rca-receiver")
    receiver = make_receiver(settings, kube, namespace)
    if not receiver.auth.api_keys.configured() and not receiver.auth.basic.configured():
        if not settings.allow_unauthenticated:
            print(
                "aiops-rca receiver: no API key configured; set "
                f"{ENV_PREFIX}API_KEYS_FILE (or --allow-unauthenticated for a local demo)",
                file=sys.stderr,
            )
            return 2
        logging.getLogger(__name__).warning("running WITHOUT authentication")
    if receiver.auth.slack_configured():
        approvers = settings.slack_approver_ids()
        if approvers:
            logging.getLogger(__name__).info("Slack Approve/Deny clicks count from %d approver(s)", len(approvers))
        else:
            logging.getLogger(__name__).warning(
                "Slack Approve/Deny clicks count from ANYONE in the channel; set %sSLACK_APPROVERS", ENV_PREFIX)
    logging.getLogger(__name__).info(
        "receiver on %s:%d, Incidents in namespace %s, spool %s", settings.host, settings.port, namespace,
        settings.spool_dir,
    )
    uvicorn.run(
        build_app(receiver),
        host=settings.host,
        port=settings.port,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        # The access log would print query strings, and ?api_key= carries a secret.
        access_log=False,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
    )
    return 0
