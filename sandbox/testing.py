"""A handle for tests and other components: start a sandbox on free ports, drive it, read it.

    with start_sandbox() as sb:
        sb.control.load({"databricks": {"jobs": {123: {"runs": [{"result": "FAILED"}]}}}})
        ...point an SDK at sb.endpoints...
        assert len(sb.control.calls(service="databricks", op="jobs/run-now")) == 1

The server runs in a daemon thread of the calling process; the control client
talks to it over HTTP like any other process would (`SandboxControl(url)`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sandbox.scenario import Scenario, load_scenario_file, parse_scenario, parse_scenario_text
from sandbox.server import Endpoints, SandboxServer
from sandbox.tls import ensure_tls
from sandbox.world import World

ScenarioLike = Scenario | dict[str, Any] | str | Path


def _scenario_text(scenario: ScenarioLike) -> str:
    if isinstance(scenario, Path):
        return scenario.read_text(encoding="utf-8")
    if isinstance(scenario, str):
        return scenario
    if isinstance(scenario, Scenario):
        return scenario.model_dump_json(exclude_defaults=True)
    return json.dumps(scenario)


class SandboxControl:
    """Client of the `/_sandbox` control API."""

    def __init__(self, control_url: str, timeout: float = 10.0) -> None:
        self._http = httpx.Client(base_url=control_url.rstrip("/"), timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"sandbox {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def reset(self) -> None:
        """Back to the startup scenario: runs, messages, issues, call log and faults forgotten."""
        self._call("POST", "/reset")

    def load(self, scenario: ScenarioLike) -> None:
        """Reset, then load this scenario (a dict, YAML/JSON text, a Scenario or a file path)."""
        self._call("PUT", "/scenario", content=_scenario_text(scenario))

    def apply(self, fragment: ScenarioLike) -> None:
        """Add seeded runs, pipelines, jobs, clusters, faults... without forgetting anything."""
        self._call("POST", "/scenario", content=_scenario_text(fragment))

    def add_fault(self, **fault: Any) -> None:
        """One fault: service, op, kind, seconds, status, error, message, retry_after, times, error_type."""
        self._call("POST", "/faults", content=json.dumps(fault))

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def calls(self, service: str | None = None, op: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"service": service, "op": op, "since": since}.items() if v}
        result: list[dict[str, Any]] = self._call("GET", "/calls", params=params)
        return result

    def slack_channel(self, channel: str) -> dict[str, Any]:
        """{"id", "name", "messages": [{"ts", "text", "blocks", "edits", "edit_count", "replies": [...]}]}."""
        result: dict[str, Any] = self._call("GET", f"/slack/channels/{channel.lstrip('#')}")
        return result

    def jira_issue(self, key: str) -> dict[str, Any]:
        """{"key", "summary", "status", "description" (plain text), "comments" (plain text), "transitions"...}."""
        result: dict[str, Any] = self._call("GET", f"/jira/issues/{key}")
        return result

    def jira_issues(self, project: str | None = None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/jira/issues",
                                                  params={"project": project} if project else {})
        return result

    def adf_runs(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/adf/runs")
        return result

    def databricks_runs(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/databricks/runs")
        return result

    def databricks_clusters(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/databricks/clusters")
        return result


@dataclass
class RunningSandbox:
    endpoints: Endpoints
    control: SandboxControl
    server: SandboxServer

    def stop(self) -> None:
        self.control.close()
        self.server.stop()


def start(scenario: ScenarioLike | None = None, state_dir: Path | None = None) -> RunningSandbox:
    """Start a sandbox on free loopback ports in a background thread; call `.stop()` when done."""
    if isinstance(scenario, Path):
        parsed = load_scenario_file(scenario)
    elif isinstance(scenario, str):
        parsed = parse_scenario_text(scenario)
    elif isinstance(scenario, dict):
        parsed = parse_scenario(scenario)
    else:
        parsed = scenario or Scenario()
    directory = state_dir or Path(tempfile.mkdtemp(prefix="aiops-rca-sandbox-"))
    server = SandboxServer(World(parsed), ensure_tls(directory / "tls"))
    endpoints = server.start_in_thread()
    return RunningSandbox(endpoints, SandboxControl(endpoints.control_url), server)


@contextmanager
def start_sandbox(scenario: ScenarioLike | None = None, state_dir: Path | None = None) -> Iterator[RunningSandbox]:
    running = start(scenario, state_dir)
    try:
        yield running
    finally:
        running.stop()
