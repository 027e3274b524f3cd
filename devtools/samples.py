"""Realistic Incidents and RemediationAttempts as the operator will write them, for the dashboard's
end-to-end tests, its benchmark and screenshots. Deterministic for a given index. No I/O.

Until the operator writes status, these are the only incidents with a status
to look at; they follow the API models (tests validate them against those).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiops_operator.api import API_VERSION, IncidentSource, attempt_name, incident_name
from aiops_operator.api.incident import MAX_GROUP_MEMBERS_LISTED
from aiops_operator.api.labels import INCIDENT_LABEL, ROOT_LABEL, SOURCE_LABEL, STORM_ROOT_LABEL

_PIPELINES: tuple[tuple[IncidentSource, str, str, str, str], ...] = (
    # (source, resource name, error type, action, root cause)
    (IncidentSource.AZURE_DATA_FACTORY, "pl_copy_sales_daily", "GatewayTimeout", "RerunPipeline",
     "The copy activity timed out connecting to sql-contoso-prod: the database was failing over."),
    (IncidentSource.AZURE_DATA_FACTORY, "pl_ingest_orders_hourly", "UserErrorSourceBlobNotExists",
     "CheckUpstreamThenRerun", "The upstream export had not written orders/2026/11/23/part-0001.parquet yet."),
    (IncidentSource.AZURE_DATA_FACTORY, "pl_load_finance_ledger", "ThrottlingError", "RerunPipeline",
     "Cosmos DB returned 429 TooManyRequests: the container's RU budget was exhausted by the backfill."),
    (IncidentSource.DATABRICKS_JOB, "nightly-customer-features", "DatabricksDriverNotResponding",
     "RestartCluster", "The Spark driver ran out of heap while collecting a 40 GB dataframe and restarted."),
    (IncidentSource.DATABRICKS_JOB, "ml-churn-scoring", "DatabricksLibraryInstallationError", "ReinstallLibrary",
     "pandas==2.3.0 is not compatible with the cluster's Python 3.9 runtime."),
    (IncidentSource.DATABRICKS_CLUSTER, "shared-etl-cluster", "ClusterUnexpectedTermination", "RestartCluster",
     "Azure reclaimed the spot instances backing the workers (SPOT_INSTANCE_TERMINATION)."),
    (IncidentSource.AZURE_DATA_FACTORY, "pl_sync_crm_accounts", "AuthenticationError", "",
     "The linked service's client secret expired on 2026-11-22; it must be rotated in Key Vault."),
    (IncidentSource.DATABRICKS_JOB, "dq-daily-revenue-checks", "DataQualityError", "",
     "412 rows in revenue_daily have negative amounts; the source system changed its sign convention."),
)  # fmt: skip
_TEAMS = ("data-platform", "analytics-eng", "ml-platform", "finance-data")
_SEVERITIES = ("Critical", "High", "Medium", "Low")
_PRIORITY_OF = {"Critical": "P1", "High": "P2", "Medium": "P3", "Low": "P4"}
_SLA_SECONDS = {"P1": 3600, "P2": 4 * 3600, "P3": 24 * 3600, "P4": 72 * 3600}
# Phase mix of a realistic day: most incidents end resolved.
_PHASES = ("Resolved", "Resolved", "Resolved", "Remediating", "Monitoring", "Escalated", "Analyzing", "Resolved",
           "Remediating", "Resolved")  # fmt: skip


def _ts(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SampleIncident:
    name: str
    body: dict[str, Any]
    status: dict[str, Any]
    attempts: list[tuple[dict[str, Any], dict[str, Any]]]
    """(body without ownerReferences, status) per attempt; add the owner reference once the incident has a uid."""


def sample_incident(
    i: int,
    now: datetime,
    *,
    phase: str | None = None,
    spread: timedelta = timedelta(hours=23),
    root_cause: str | None = None,
    error_message: str | None = None,
    awaiting_approval: bool | None = None,
) -> SampleIncident:
    """Incident number `i`: its body, a status as the operator would write it, and its attempts."""
    source, resource, error_type, action, cause = _PIPELINES[i % len(_PIPELINES)]
    phase = phase or _PHASES[(i // len(_PIPELINES)) % len(_PHASES)]
    severity = _SEVERITIES[(i * 7) % 4]
    priority = _PRIORITY_OF[severity]
    team = _TEAMS[(i * 3) % len(_TEAMS)]
    fired = now - timedelta(seconds=int(spread.total_seconds() * ((i * 7919) % 1000) / 1000) + 60)
    run_id = f"run-{i:06d}-{(i * 2654435761) % 10**9:09d}"
    name = incident_name(source, run_id, resource)
    remediable = bool(action)
    if not remediable and phase in ("Remediating", "Monitoring"):
        phase = "Escalated"
    resource_kind = {"AzureDataFactory": "Pipeline", "DatabricksJob": "Job"}.get(source.value, "Cluster")
    message = error_message or f"{error_type}: {cause}"
    body = {
        "apiVersion": API_VERSION,
        "kind": "Incident",
        "metadata": {"name": name, "labels": {SOURCE_LABEL: source.value}},
        "spec": {
            "source": source.value,
            "resource": {"kind": resource_kind, "name": resource},
            "runId": run_id,
            "runUrl": f"https://adf.example.invalid/runs/{run_id}",
            "alert": {"rule": "pipeline-failed", "severity": "Sev1", "firedTime": _ts(fired), "signalType": "Log"},
            "error": {"code": "2200", "message": message, "activity": "Copy_Data"},
            "receivedTime": _ts(fired + timedelta(seconds=2)),
        },
    }
    sla_seconds = _SLA_SECONDS[priority]
    deadline = fired + timedelta(seconds=sla_seconds)
    jira_key = f"DATA-{1000 + i}"
    max_attempts = 3 if remediable else 0
    attempts_made = {"Analyzing": 0, "Escalated": max_attempts, "Resolved": 1 + i % 2}.get(phase, 1)
    attempts_made = min(attempts_made, max_attempts)
    history = [
        {"time": _ts(fired + timedelta(seconds=2)), "action": "AlertReceived", "message": f"Alert for {resource}."},
        {"time": _ts(fired + timedelta(seconds=9)), "action": "Analyzed",
         "message": f"{error_type} ({severity}, {priority}) by Rules."},
        {"time": _ts(fired + timedelta(seconds=11)), "action": "SlackNotified",
         "message": "Posted to #data-incidents."},
        {"time": _ts(fired + timedelta(seconds=12)), "action": "JiraCreated", "message": f"Created {jira_key}."},
    ]  # fmt: skip
    status: dict[str, Any] = {
        "phase": phase,
        "analysis": {
            "rootCause": root_cause or cause,
            "errorType": error_type,
            "severity": severity,
            "priority": priority,
            "confidence": "High" if i % 3 else "Medium",
            "affectedEntity": resource,
            "recommendations": ["Check the source system's health.", "Re-run once it is back."],
            "autoHealPossible": remediable,
            "provider": "Rules",
            "durationSeconds": 0.01,
        },
        "sla": {"seconds": sla_seconds, "deadlineTime": _ts(deadline), "state": "Pending"},
        "ownership": {"team": team, "owner": f"{team}-oncall", "slackChannel": "#data-incidents"},
        "notifications": {
            "slack": {"channel": "C0123456", "ts": f"1700000000.{i:06d}",
                      "permalink": f"https://slack.example.invalid/archives/C0123456/p{i}"},
            "jira": {"key": jira_key, "url": f"https://jira.example.invalid/browse/{jira_key}", "status": "To Do"},
        },
        "history": history,
    }  # fmt: skip
    if phase == "Analyzing":
        for key in ("analysis", "sla", "ownership", "notifications"):
            status.pop(key)
        status["history"] = history[:1]
        return SampleIncident(name, body, status, [])
    if remediable:
        status["remediation"] = {
            "policy": "default",
            "rule": error_type.lower(),
            "action": action,
            "attemptsMade": attempts_made,
            "maxAttempts": max_attempts,
        }
    attempts: list[tuple[dict[str, Any], dict[str, Any]]] = []
    waiting = awaiting_approval if awaiting_approval is not None else (phase == "Remediating" and i % 3 == 0)
    for n in range(1, attempts_made + 1):
        last = n == attempts_made
        start = fired + timedelta(seconds=30 * n)
        if last and phase == "Remediating" and waiting:
            a_status: dict[str, Any] = {"phase": "AwaitingApproval"}
        elif last and phase in ("Remediating", "Monitoring"):
            a_status = {"phase": "Running", "startTime": _ts(start),
                        "externalRun": {"system": "AzureDataFactory", "runId": f"{run_id}-r{n}", "state": "InProgress",
                                        "url": f"https://adf.example.invalid/runs/{run_id}-r{n}"}}  # fmt: skip
        else:
            ok = last and phase == "Resolved"
            a_status = {
                "phase": "Succeeded" if ok else "Failed",
                "startTime": _ts(start),
                "completionTime": _ts(start + timedelta(seconds=95)),
                "durationSeconds": 95,
                "externalRun": {"system": "AzureDataFactory", "runId": f"{run_id}-r{n}", "state": "Succeeded" if ok
                                else "Failed", "url": f"https://adf.example.invalid/runs/{run_id}-r{n}"},
            }  # fmt: skip
            if not ok:
                a_status["failureReason"] = "The re-run failed with the same error."
        attempts.append(
            (
                {
                    "apiVersion": API_VERSION,
                    "kind": "RemediationAttempt",
                    "metadata": {"name": attempt_name(name, n), "labels": {INCIDENT_LABEL: name}},
                    "spec": {
                        "incidentRef": name,
                        "attempt": n,
                        "action": action,
                        "policy": "default",
                        "rule": error_type.lower(),
                        "notBeforeTime": _ts(start),
                        "approvalRequired": waiting and last,
                        "idempotencyKey": f"{i:08d}{n:04d}".ljust(16, "0"),
                    },
                },
                a_status,
            )
        )
        history.append({"time": _ts(start), "action": "AttemptCreated", "message": f"Attempt {n}: {action}."})
    if phase == "Resolved":
        resolved = fired + timedelta(seconds=60 + 140 * attempts_made + (i % 13) * 40)
        mttr = int((resolved - fired).total_seconds())
        status["resolution"] = {"resolvedTime": _ts(resolved), "mttrSeconds": mttr, "resolvedBy": "AutoHeal"}
        status["sla"]["state"] = "Met" if resolved <= deadline else "Breached"
        history.append({"time": _ts(resolved), "action": "Resolved", "message": f"Re-run succeeded; MTTR {mttr}s."})
    if phase == "Escalated":
        status["escalationReason"] = (
            "Attempts exhausted." if remediable else f"No remediation rule for {error_type}; a human must act."
        )
        history.append({"time": _ts(fired + timedelta(seconds=400)), "action": "Escalated",
                        "message": status["escalationReason"]})  # fmt: skip
    return SampleIncident(name, body, status, attempts)


def owned(attempt_body: dict[str, Any], incident_name_: str, incident_uid: str) -> dict[str, Any]:
    """The attempt body with the owner reference to its Incident (as the operator sets it)."""
    meta = dict(attempt_body["metadata"])
    meta["ownerReferences"] = [
        {"apiVersion": API_VERSION, "kind": "Incident", "name": incident_name_, "uid": incident_uid,
         "controller": True, "blockOwnerDeletion": True}
    ]  # fmt: skip
    return {**attempt_body, "metadata": meta}


def sample_storm(
    now: datetime, members: int, *, root: str = "storm-ir-shared-weu-0a1b2c3d4e", first: int = 0,
) -> list[SampleIncident]:
    """A storm as the operator groups it: its root (standing for integration runtime ir-shared-weu) and
    `members` ADF failures behind it (samples `first`.. with the root label and status.correlation)."""
    dependency = {"kind": "IntegrationRuntime", "name": "ir-shared-weu"}
    why = f"One of many UserErrorSourceBlobNotExists failures behind IntegrationRuntime {dependency['name']}."
    grouped: list[SampleIncident] = []
    for i in range(first, first + members):
        one = sample_incident(i * len(_PIPELINES) + 1, now, phase="Escalated", spread=timedelta(minutes=5))
        body = {**one.body, "metadata": {**one.body["metadata"],
                                         "labels": {**one.body["metadata"]["labels"], ROOT_LABEL: root}}}
        status = {**one.status, "correlation": {"role": "Member", "root": {"name": root, "reason": "Storm",
                                                                            "message": why}}}
        grouped.append(SampleIncident(one.name, body, status, []))
    listed = [{"name": m.name, "source": m.body["spec"]["source"], "target": m.body["spec"]["resource"]["name"],
               "phase": m.status["phase"]} for m in sorted(grouped, key=lambda m: m.name)]
    fired = now - timedelta(minutes=6)
    cause = f"Many UserErrorSourceBlobNotExists failures name IntegrationRuntime {dependency['name']}."
    storm = SampleIncident(root, {
        "apiVersion": API_VERSION, "kind": "Incident",
        "metadata": {"name": root, "labels": {STORM_ROOT_LABEL: "true", SOURCE_LABEL: IncidentSource.GENERIC.value}},
        "spec": {"source": IncidentSource.GENERIC.value,
                 "resource": {"kind": "Other", "name": dependency["name"], "id": dependency["kind"]},
                 "runId": root, "error": {"code": "UserErrorSourceBlobNotExists", "message": f"Storm: {cause}"},
                 "alert": {"rule": "aiops-rca correlation (storm)"}, "receivedTime": _ts(fired)},
    }, {
        "phase": "Remediating",
        "analysis": {"rootCause": f"{cause} It is failing or unreachable.", "errorType": "UserErrorSourceBlobNotExists",
                     "severity": "High", "priority": "P2", "confidence": "High", "provider": "Correlation",
                     "affectedEntity": f"{dependency['kind']} {dependency['name']}", "autoHealPossible": False},
        "ownership": {"team": "data-platform", "slackChannel": "#data-incidents"},
        "correlation": {"role": "Root", "members": listed[:MAX_GROUP_MEMBERS_LISTED], "memberCount": members,
                        "dependency": dependency},
        "history": [{"time": _ts(fired), "action": "AlertReceived", "message": cause}],
    }, [])  # fmt: skip
    return [storm, *grouped]
