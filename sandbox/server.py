"""Serve the sandbox app on two ports: HTTPS (required by the Azure SDKs) and plain HTTP.

Both ports serve the same app and state. The Azure endpoints (token and ARM)
must be used over HTTPS; everything else may use either. Sockets are bound
before uvicorn starts, so port 0 picks free ports and the caller knows them
immediately.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from sandbox.app import build_app
from sandbox.tls import TlsFiles
from sandbox.world import Credentials, World


@dataclass(frozen=True)
class Endpoints:
    """Where each fake service listens and how a client authenticates to it."""

    https_url: str
    http_url: str
    ca_file: Path
    credentials: Credentials = field(default_factory=Credentials)

    @property
    def azure_authority_host(self) -> str:
        return self.https_url

    @property
    def resource_manager_url(self) -> str:
        return self.https_url

    @property
    def databricks_host(self) -> str:
        return self.http_url

    @property
    def slack_api_url(self) -> str:
        return f"{self.http_url}/slack/api/"

    @property
    def jira_url(self) -> str:
        return f"{self.http_url}/jira"

    @property
    def llm_base_url(self) -> str:
        return f"{self.http_url}/v1"

    @property
    def azure_openai_endpoint(self) -> str:
        return self.http_url

    @property
    def control_url(self) -> str:
        return f"{self.http_url}/_sandbox"

    def env(self, *, llm: bool = False) -> dict[str, str]:
        """The operator's settings that point it at this sandbox; the LLM only when asked (else rules only)."""
        c = self.credentials
        settings = {
            "AZURE_AUTHORITY_HOST": self.azure_authority_host,
            "AZURE_RESOURCE_MANAGER_URL": self.resource_manager_url,
            "AZURE_TENANT_ID": c.azure_tenant_id,
            "AZURE_CLIENT_ID": c.azure_client_id,
            "AZURE_CLIENT_SECRET": c.azure_client_secret,
            "AZURE_SUBSCRIPTION_ID": c.azure_subscription_id,
            "REQUESTS_CA_BUNDLE": str(self.ca_file),
            "DATABRICKS_HOST": self.databricks_host,
            "DATABRICKS_TOKEN": c.databricks_token,
            "SLACK_API_URL": self.slack_api_url,
            "SLACK_BOT_TOKEN": c.slack_bot_token,
            "JIRA_URL": self.jira_url,
            "JIRA_USER": c.jira_user,
            "JIRA_API_TOKEN": c.jira_api_token,
        }
        if llm:
            settings.update({
                "AIOPS_LLM_PROVIDER": "OpenAICompatible",
                "AIOPS_LLM_BASE_URL": self.llm_base_url,
                "AIOPS_LLM_API_KEY": c.llm_api_key,
                "AIOPS_LLM_MODEL": "sandbox-rca-1",
            })
        return settings


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _url(scheme: str, host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else (f"[{host}]" if ":" in host else host)  # noqa: S104
    return f"{scheme}://{shown}:{port}"


class SandboxServer:
    """One World served by two uvicorn servers sharing an event loop."""

    def __init__(self, world: World, tls: TlsFiles, host: str = "127.0.0.1", https_port: int = 0,
                 http_port: int = 0, log_level: str = "warning") -> None:
        self.world = world
        self.tls = tls
        self._https_sock = bind(host, https_port)
        self._http_sock = bind(host, http_port)
        self.endpoints = Endpoints(_url("https", host, self._https_sock), _url("http", host, self._http_sock),
                                   tls.ca_cert, world.credentials)
        app = build_app(world)
        common = {"lifespan": "off", "log_level": log_level, "access_log": log_level == "debug",
                  "timeout_graceful_shutdown": 1}
        self._servers = [
            uvicorn.Server(uvicorn.Config(app, ssl_certfile=str(tls.server_cert), ssl_keyfile=str(tls.server_key),
                                          **common)),  # type: ignore[arg-type]
            uvicorn.Server(uvicorn.Config(app, **common)),  # type: ignore[arg-type]
        ]
        self._thread: threading.Thread | None = None

    async def serve(self) -> None:
        https, http = self._servers
        await asyncio.gather(https.serve(sockets=[self._https_sock]), http.serve(sockets=[self._http_sock]))

    def run(self) -> None:
        """Serve in this thread until interrupted (the CLI)."""
        asyncio.run(self.serve())

    def start_in_thread(self, timeout: float = 10.0) -> Endpoints:
        self._thread = threading.Thread(target=self.run, name="aiops-rca-sandbox", daemon=True)
        self._thread.start()
        deadline = threading.Event()
        for _ in range(int(timeout / 0.02)):
            if all(s.started for s in self._servers):
                return self.endpoints
            deadline.wait(0.02)
        raise TimeoutError("the sandbox did not start in time")

    def stop(self, timeout: float = 10.0) -> None:
        for server in self._servers:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        for sock in (self._https_sock, self._http_sock):
            sock.close()
