"""Shared pieces of the remediation e2e tests: incidents, policies, a Logic App stand-in, waiting on the API."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from aiops_operator.api import GROUP, VERSION, IncidentSource
from kubernetes import client

from tests.e2e.conftest import Kubectl
from tests.e2e.operator.conftest import OperatorProcess, wait_for
from tests.support.builders import incident_body
from tests.support.kube_objects import as_object
from tests.support.logic_app import LogicApp, serve_logic_app

RG, FACTORY = "rg-data-platform-prod", "adf-contoso-prod-weu"

GATEWAY_TIMEOUT = ("Failure happened on 'Source' side. ErrorCode=SqlFailedToConnect,Message=Cannot connect to SQL"
                   " Database. Execution Timeout Expired. The timeout period elapsed prior to completion of the"
                   " operation or the server is not responding.")
THROTTLED = ("ErrorCode=UserErrorTooManyRequests, Message=The request was throttled: 429 Too Many Requests."
             " Rate limit exceeded, retry later.")
INTERNAL = "Operation on target Copy failed: ErrorCode=InternalServerError, Message=An internal server error occurred"
SCHEMA = ("AnalysisException: A schema mismatch detected when writing to the Delta table. Table schema: id long;"
          " Data schema: id string")
DRIVER = "The spark driver has stopped unexpectedly and is restarting. Your notebook will be automatically reattached."
LIBRARY = ("Library installation failed for library due to user error for pypi {package: \"pandas==2.1.4\"}. Error"
           " messages: ERROR: No matching distribution found for pandas==2.1.4")
OOM = "java.lang.OutOfMemoryError: Java heap space. Executor lost: Container killed for exceeding memory limits."


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def adf_incident(pipeline: str, run_id: str, message: str, subscription: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return incident_body(
        IncidentSource.AZURE_DATA_FACTORY,
        {"kind": "Pipeline", "name": pipeline, "factory": FACTORY, "resourceGroup": RG, "subscriptionId": subscription},
        run_id, received=iso(now - timedelta(seconds=30)),
        alert={"rule": "adf-pipeline-failed-runs", "severity": "Sev2", "firedTime": iso(now - timedelta(seconds=60)),
               "signalType": "Log"},
        error={"code": "2200", "activity": "Copy_Data", "message": message},
    )


def cluster_incident(cluster_id: str, cluster_name: str, message: str, code: str = "DRIVER_NOT_RESPONDING",
                     ) -> dict[str, Any]:
    now = datetime.now(UTC)
    return incident_body(
        IncidentSource.DATABRICKS_CLUSTER, {"kind": "Cluster", "name": cluster_name, "id": cluster_id},
        f"{cluster_id}-{code}", received=iso(now - timedelta(seconds=30)),
        alert={"rule": "databricks-cluster-log-alert", "signalType": "Log",
               "firedTime": iso(now - timedelta(seconds=60))},
        error={"code": code, "message": message}, runIdOrigin="Fingerprint",
    )


def rule(name: str, error_type: str, action: str, backoff: list[int], max_attempts: int,
         **extra: Any) -> dict[str, Any]:
    return {"name": name, "errorType": error_type, "action": action, "maxAttempts": max_attempts,
            "backoff": {"seconds": backoff}, **extra}


def policy(name: str, rules: list[dict[str, Any]], *, priority: int = 0, patterns: list[str] | None = None,
           sources: list[str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "RemediationPolicy",
        "metadata": {"name": name},
        "spec": {
            "priority": priority,
            "selector": {"namePatterns": patterns or [], "sources": sources or []},
            "routing": {"team": "data-platform", "slackChannel": "#data-incidents", "jiraProject": "DATA"},
            "rules": rules,
        },
    }


class Api:
    """Reading the namespace's objects as a user would."""

    def __init__(self, custom: client.CustomObjectsApi, namespace: str) -> None:
        self.custom = custom
        self.namespace = namespace

    def create(self, plural: str, body: dict[str, Any]) -> str:
        as_object(self.custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, body))
        return str(body["metadata"]["name"])

    def get(self, plural: str, name: str) -> dict[str, Any]:
        return as_object(self.custom.get_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name))

    def incident(self, name: str) -> dict[str, Any]:
        return self.get("incidents", name)

    def attempts(self, incident: str) -> list[dict[str, Any]]:
        items = as_object(self.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "remediationattempts",
            label_selector=f"aiops-rca.io/incident={incident}"))["items"]
        return sorted(items, key=lambda a: a["spec"]["attempt"])

    def wait_phase(self, name: str, phases: set[str], op: OperatorProcess | None, timeout: float = 90,
                   ) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            inc = self.incident(name)
            return inc if inc.get("status", {}).get("phase") in phases else None

        result: dict[str, Any] = wait_for(reached, timeout, f"{name} in {sorted(phases)}", op)
        return result

    def wait_settled(self, name: str, op: OperatorProcess | None, timeout: float = 90,
                     phases: tuple[str, ...] = ("Resolved", "Escalated")) -> dict[str, Any]:
        """Terminal, and the Slack message and Jira issue brought up to date with it."""
        def settled() -> dict[str, Any] | None:
            inc = self.incident(name)
            status = inc.get("status", {})
            notes = status.get("notifications", {})
            phase = status.get("phase")
            if phase in phases and notes.get("slackUpdatedPhase") == phase \
                    and notes.get("jiraUpdatedPhase") == phase:
                return inc
            return None

        result: dict[str, Any] = wait_for(settled, timeout, f"{name} settled", op)
        return result


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == type_), {})


def history(obj: dict[str, Any]) -> list[str]:
    return [h["action"] for h in obj.get("status", {}).get("history", [])]


@contextmanager
def logic_app() -> Iterator[LogicApp]:
    with serve_logic_app(LogicApp()) as app:
        yield app


def wait_for_events(kubectl: Kubectl, namespace: str, name: str, patterns: list[str],
                    op: OperatorProcess) -> str:
    """The Events section of `kubectl describe inc <name>` once it shows all `patterns`.

    Events are posted off the reconcile's path, so they may trail the status a little.
    """
    def shown() -> str | None:
        events = kubectl("describe", "inc", name, "-n", namespace).stdout.split("Events:")[-1]
        return events if all(re.search(p, events) for p in patterns) else None

    found: str = wait_for(shown, 30, f"Events {patterns} on {name}", op)
    return found


def reply_key(body: dict[str, Any]) -> str | None:
    """The key a Slack thread reply carries in its metadata (one reply per key, however often we restart)."""
    metadata = body.get("metadata") or {}
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    key = (metadata.get("event_payload") or {}).get("key")
    return str(key) if key else None


class CrashRestarts:
    """Waits while the crash hook kills the operator, restarting it each time."""

    def __init__(self, op: OperatorProcess, deadline_seconds: float) -> None:
        self.op = op
        self.restarts = 0
        self.deadline = time.monotonic() + deadline_seconds

    def until(self, done: Callable[[], bool]) -> bool:
        while time.monotonic() < self.deadline:
            code = self.op.proc.poll() if self.op.proc is not None else None
            if code is not None:
                assert code == -9, f"the operator exited with {code}, not by the crash hook\n{self.op.log_tail()}"
                self.restarts += 1
                self.op.start()
            if done():
                return True
            time.sleep(0.3)
        return bool(done())
