"""`aiops-rca sandbox`: run the local stand-in for Azure AD, ADF, Databricks, Slack, Jira and an LLM."""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path

from sandbox.ratelimits import RateLimits
from sandbox.scenario import SCENARIO_REFERENCE, Scenario, ScenarioError, load_scenario_file
from sandbox.server import Endpoints, SandboxServer
from sandbox.tls import ensure_tls
from sandbox.world import World

DESCRIPTION = """\
Serve the slices of Azure AD, Azure Data Factory, Databricks, Slack, Jira and an
OpenAI-compatible LLM that aiops-rca uses, on one local server, speaking their
real wire protocols so the vendors' SDKs work against it unchanged. State is in
memory; POST /_sandbox/reset starts over. The same app listens on an HTTPS port
(required by the Azure SDKs; trust the generated CA) and a plain HTTP port.

paths on either port:
  /{tenant}/oauth2/v2.0/token, /{tenant}/v2.0/.well-known/openid-configuration   Azure AD
  /subscriptions/.../providers/Microsoft.DataFactory/factories/...               ADF (ARM)
  /api/2.x/jobs/..., /api/2.1/clusters/..., /api/2.0/libraries/...              Databricks
  /slack/api/<method>                                                            Slack Web API
  /jira/rest/api/{2,3}/...                                                       Jira
  /v1/chat/completions, /openai/deployments/{d}/chat/completions                 LLM
  /_sandbox/...                                  control API (reset, scenario, faults, calls, views)
"""


def default_state_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "aiops-rca" / "sandbox"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = SCENARIO_REFERENCE
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--scenario", type=Path, metavar="FILE",
                        help="YAML scenario loaded at start and on every reset (format below)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 to serve a cluster)")
    parser.add_argument("--https-port", type=int, default=8443, help="HTTPS port (default 8443; 0 = any free)")
    parser.add_argument("--http-port", type=int, default=8080, help="plain HTTP port (default 8080; 0 = any free)")
    parser.add_argument("--state-dir", type=Path, default=None,
                        help="where the CA and server certificate are written (default ~/.cache/aiops-rca/sandbox)")
    parser.add_argument("--tls-hostname", action="append", default=[], metavar="NAME",
                        help="extra host name or IP for the server certificate (repeatable), e.g. a Service name")
    parser.add_argument("--no-rate-limits", action="store_true",
                        help="never answer 429 for Slack's and Jira's rate limits (scenario `rate_limits: "
                             "{enabled: false}` does the same; both are on by default)")
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"],
                        help="uvicorn log level (debug also logs every request)")


def banner(endpoints: Endpoints) -> str:
    env = "\n".join(f"  export {k}={v}" for k, v in endpoints.env().items())
    return f"""\
aiops-rca sandbox listening
  HTTPS  {endpoints.https_url}   (Azure AD + ADF must use this one)
  HTTP   {endpoints.http_url}    (Databricks, Slack, Jira, LLM, control API)
  CA     {endpoints.ca_file}
  control  {endpoints.control_url}/   (reset, scenario, faults, calls, slack/jira views)

operator settings (proposed names):
{env}

SDK settings:
  ClientSecretCredential(tenant, client_id, secret, authority="{endpoints.azure_authority_host}",
                         disable_instance_discovery=True, connection_verify="{endpoints.ca_file}")
  DataFactoryManagementClient(cred, subscription_id, base_url="{endpoints.resource_manager_url}",
                         connection_verify="{endpoints.ca_file}")
  WorkspaceClient(host="{endpoints.databricks_host}", token=...)
  WebClient(token=..., base_url="{endpoints.slack_api_url}")
  JIRA(server="{endpoints.jira_url}", basic_auth=(user, api_token))
  OpenAI(base_url="{endpoints.llm_base_url}", api_key=...)
  AzureOpenAI(azure_endpoint="{endpoints.azure_openai_endpoint}", api_key=..., api_version="2024-10-21")
"""


def run(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario_file(args.scenario) if args.scenario else Scenario()
    except (OSError, ScenarioError) as exc:
        print(f"aiops-rca sandbox: {exc}")
        return 2
    if args.no_rate_limits:
        scenario = scenario.model_copy(update={"rate_limits": RateLimits(enabled=False)})
    state_dir = args.state_dir or default_state_dir()
    tls = ensure_tls(state_dir / "tls", args.tls_hostname)
    server = SandboxServer(World(scenario), tls, host=args.host, https_port=args.https_port,
                           http_port=args.http_port, log_level=args.log_level)
    print(banner(server.endpoints), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0
