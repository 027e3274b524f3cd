"""The demo's six failures: what the sandbox's cloud does, the alert that reports each, what should happen.

Each scenario is a realistic failure fired through the webhook receiver in the
shape its real alert source uses; the sandbox plays ADF and Databricks so the
operator's re-runs and repairs behave as scripted (fail twice, then succeed).
The default RemediationPolicy from crds/samples decides what is healed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiops_operator.api import ErrorType, IncidentPhase, IncidentSource, incident_name

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
RESOURCE_GROUP = "rg-data-platform-prod"
FACTORY = "adf-contoso-prod-weu"
WORKSPACE_ID = "1234567890123456"


@dataclass(frozen=True)
class Expected:
    """How the scenario ends (or waits) when everything works."""

    phase: IncidentPhase
    error_type: ErrorType
    attempts: int
    awaiting_approval: bool = False


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    source: IncidentSource
    resource: str
    run_id: str
    endpoint: str
    payload: dict[str, Any]
    expected: Expected

    @property
    def incident(self) -> str:
        return incident_name(self.source, self.run_id, self.resource)


def _adf_alert(pipeline: str, run_id: str, activity: str, code: str, message: str, fired: datetime) -> dict[str, Any]:
    """An Azure Monitor log-search (V2) alert over ADFPipelineRun, common alert schema."""
    factory_id = (
        f"/subscriptions/{SUBSCRIPTION}/resourcegroups/{RESOURCE_GROUP}"
        f"/providers/microsoft.datafactory/factories/{FACTORY}"
    )
    dimensions = {
        "PipelineName": pipeline, "PipelineRunId": run_id, "ActivityName": activity,
        "ErrorCode": code, "FailureType": "UserError", "ErrorMessage": message, "_ResourceId": factory_id,
    }
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "alertId": f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.AlertsManagement/alerts/{uuid.uuid4()}",
                "alertRule": "adf-pipeline-failed-runs",
                "severity": "Sev1",
                "signalType": "Log",
                "monitorCondition": "Fired",
                "monitoringService": "Log Alerts V2",
                "alertTargetIDs": [factory_id],
                "configurationItems": [FACTORY],
                "originAlertId": str(uuid.uuid4()),
                "firedDateTime": fired.isoformat().replace("+00:00", "Z"),
                "description": "ADF pipeline run failed",
                "essentialsVersion": "1.0",
                "alertContextVersion": "1.0",
            },
            "alertContext": {
                "properties": {},
                "conditionType": "LogQueryCriteria",
                "condition": {
                    "windowSize": "PT5M",
                    "allOf": [{
                        "searchQuery": "ADFPipelineRun | where Status == 'Failed'",
                        "metricMeasureColumn": None,
                        "targetResourceTypes": "['Microsoft.DataFactory/factories']",
                        "operator": "GreaterThan",
                        "threshold": "0",
                        "timeAggregation": "Count",
                        "dimensions": [{"name": k, "value": v} for k, v in dimensions.items()],
                        "metricValue": 1.0,
                        "failingPeriods": {"numberOfEvaluationPeriods": 1, "minFailingPeriodsToAlert": 1},
                    }],
                    "windowStartTime": fired.isoformat().replace("+00:00", "Z"),
                    "windowEndTime": fired.isoformat().replace("+00:00", "Z"),
                },
            },
        },
    }


def _databricks_alert(job_id: int, job_name: str, run_id: int) -> dict[str, Any]:
    """A Databricks job notification webhook (jobs.on_failure)."""
    return {
        "event_type": "jobs.on_failure",
        "workspace_id": WORKSPACE_ID,
        "run": {"run_id": str(run_id)},
        "job": {"job_id": str(job_id), "name": job_name},
    }


# Error texts as the services write them.
GATEWAY_TIMEOUT = (
    "Failure happened on 'Source' side. ErrorCode=SqlFailedToConnect,'Type=Microsoft.DataTransfer.Common.Shared."
    "HybridDeliveryException,Message=Cannot connect to SQL Database: 'sql-contoso-prod.database.windows.net', "
    "Database: 'sales'. Execution Timeout Expired. The timeout period elapsed prior to completion of the "
    "operation or the server is not responding."
)
THROTTLED = (
    "ErrorCode=UserErrorFailedToReadHttpFile,'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,"
    "Message=Failed to read data from http server. Status code: 429 (TooManyRequests). "
    "Request rate is large. More Request Units may be needed, so no changes were made. Please retry this request "
    "later."
)
SCHEMA_MISMATCH = (
    "ErrorCode=UserErrorInvalidColumnMappingColumnNotFound,'Type=Microsoft.DataTransfer.Common.Shared."
    "HybridDeliveryException,Message=Column 'customer_tier' specified in column mapping cannot be found in "
    "'Source' side.'"
)
DRIVER_LOST = (
    "The spark driver has stopped unexpectedly and is restarting. Your notebook will be automatically reattached."
)
LIBRARY_FAILED = (
    'Library installation failed for library due to user error for pypi {\n  package: "pandas==2.1.4"\n}\n'
    " Error messages:\nLibrary installation attempted on the driver node of cluster 0923-164208-libs and "
    "failed. Pip could not find a version that satisfies the requirement. Error code: ERROR_NO_MATCHING_"
    "DISTRIBUTION, error message: ERROR: No matching distribution found for pandas==2.1.4"
)
OUT_OF_MEMORY = (
    "org.apache.spark.SparkException: Job aborted due to stage failure: Task 12 in stage 41.0 failed 4 times, "
    "most recent failure: Lost task 12.3 in stage 41.0 (TID 1873) (10.139.64.12 executor 3): "
    "java.lang.OutOfMemoryError: Java heap space"
)

# Run ids of the failures that happened "before the demo" (the alerts point at them).
RUN_GATEWAY = "7d1b6f0a-3c2e-4d8b-9a51-2f6c8e4b1a90"
RUN_THROTTLE = "c0ffee00-1a2b-4c3d-8e9f-0123456789ab"
RUN_SCHEMA = "5a5a5a5a-0000-4000-8000-00000000c0de"
RUN_DRIVER, RUN_LIBRARY, RUN_OOM = 912873465501234, 912873465502345, 912873465503456
JOB_DRIVER, JOB_LIBRARY, JOB_OOM = 684537219483321, 684537219484432, 684537219485543
CLUSTER_DRIVER, CLUSTER_LIBRARY, CLUSTER_OOM = "0923-164208-drv1", "0923-164208-libs", "0923-164208-mem0"


def scenarios(now: datetime | None = None) -> list[Scenario]:
    fired = now or datetime.now(UTC)
    return [
        Scenario(
            "adf-gateway-timeout", "ADF gateway timeout, healed on attempt 1",
            IncidentSource.AZURE_DATA_FACTORY, "pl_copy_sales_daily", RUN_GATEWAY, "/azure-monitor",
            _adf_alert("pl_copy_sales_daily", RUN_GATEWAY, "Copy_SalesOrders", "2200", GATEWAY_TIMEOUT, fired),
            Expected(IncidentPhase.RESOLVED, ErrorType.GATEWAY_TIMEOUT, 1),
        ),
        Scenario(
            "adf-throttling", "ADF throttling, healed on attempt 3 after the policy's backoffs",
            IncidentSource.AZURE_DATA_FACTORY, "pl_ingest_clickstream", RUN_THROTTLE, "/azure-monitor",
            _adf_alert("pl_ingest_clickstream", RUN_THROTTLE, "Copy_Events", "2200", THROTTLED, fired),
            Expected(IncidentPhase.RESOLVED, ErrorType.THROTTLING_ERROR, 3),
        ),
        Scenario(
            "dbx-driver", "Databricks driver not responding, cluster restarted",
            IncidentSource.DATABRICKS_JOB, "nightly-customer-features", str(RUN_DRIVER), "/databricks-monitor",
            _databricks_alert(JOB_DRIVER, "nightly-customer-features", RUN_DRIVER),
            Expected(IncidentPhase.RESOLVED, ErrorType.DATABRICKS_DRIVER_NOT_RESPONDING, 1),
        ),
        Scenario(
            "dbx-library", "Databricks library install failure, reinstalled with a fallback version",
            IncidentSource.DATABRICKS_JOB, "feature-store-refresh", str(RUN_LIBRARY), "/databricks-monitor",
            _databricks_alert(JOB_LIBRARY, "feature-store-refresh", RUN_LIBRARY),
            Expected(IncidentPhase.RESOLVED, ErrorType.DATABRICKS_LIBRARY_INSTALLATION_ERROR, 1),
        ),
        Scenario(
            "dbx-scale-up", "Databricks out of memory, high-risk scale-up waiting for approval",
            IncidentSource.DATABRICKS_JOB, "daily-aggregates", str(RUN_OOM), "/databricks-monitor",
            _databricks_alert(JOB_OOM, "daily-aggregates", RUN_OOM),
            Expected(IncidentPhase.REMEDIATING, ErrorType.DATABRICKS_RESOURCE_EXHAUSTED, 1, awaiting_approval=True),
        ),
        Scenario(
            "adf-schema", "ADF schema mismatch, escalated to humans",
            IncidentSource.AZURE_DATA_FACTORY, "pl_load_customers", RUN_SCHEMA, "/azure-monitor",
            _adf_alert("pl_load_customers", RUN_SCHEMA, "Copy_Customers", "2200", SCHEMA_MISMATCH, fired),
            Expected(IncidentPhase.ESCALATED, ErrorType.SCHEMA_MISMATCH, 0),
        ),
    ]


def sandbox_scenario() -> dict[str, Any]:
    """What the sandbox's ADF and Databricks do: seeded failures, then scripted re-run outcomes."""
    return {
        "defaults": {"run_duration_seconds": 2, "cluster_transition_seconds": 2},
        "adf": {
            "pipelines": {
                "pl_copy_sales_daily": {"activities": ["Copy_SalesOrders", "Transform_Sales"],
                                        "runs": [{"status": "Succeeded", "duration_seconds": 3}]},
                "pl_ingest_clickstream": {"activities": ["Copy_Events"], "runs": [
                    {"status": "Failed", "duration_seconds": 2, "failed_activity": "Copy_Events",
                     "error_code": "2200", "message": THROTTLED},
                    {"status": "Failed", "duration_seconds": 2, "failed_activity": "Copy_Events",
                     "error_code": "2200", "message": THROTTLED},
                    {"status": "Succeeded", "duration_seconds": 3},
                ]},
                "pl_load_customers": {"activities": ["Copy_Customers"]},
            },
            "seeded_runs": [
                {"run_id": RUN_GATEWAY, "pipeline": "pl_copy_sales_daily", "status": "Failed",
                 "failed_activity": "Copy_SalesOrders", "error_code": "2200", "message": GATEWAY_TIMEOUT},
                {"run_id": RUN_THROTTLE, "pipeline": "pl_ingest_clickstream", "status": "Failed",
                 "failed_activity": "Copy_Events", "error_code": "2200", "message": THROTTLED},
                {"run_id": RUN_SCHEMA, "pipeline": "pl_load_customers", "status": "Failed",
                 "failed_activity": "Copy_Customers", "error_code": "2200", "message": SCHEMA_MISMATCH},
            ],
        },
        "databricks": {
            "jobs": {
                str(JOB_DRIVER): {"name": "nightly-customer-features", "cluster_id": CLUSTER_DRIVER,
                                  "tasks": ["ingest", "build_features"]},
                str(JOB_LIBRARY): {"name": "feature-store-refresh", "cluster_id": CLUSTER_LIBRARY,
                                   "tasks": ["refresh"]},
                str(JOB_OOM): {"name": "daily-aggregates", "cluster_id": CLUSTER_OOM, "tasks": ["aggregate"]},
            },
            "seeded_runs": [
                {"run_id": RUN_DRIVER, "job_id": JOB_DRIVER, "result": "FAILED", "failed_task": "build_features",
                 "error": DRIVER_LOST},
                {"run_id": RUN_LIBRARY, "job_id": JOB_LIBRARY, "result": "FAILED", "failed_task": "refresh",
                 "error": LIBRARY_FAILED},
                {"run_id": RUN_OOM, "job_id": JOB_OOM, "result": "FAILED", "failed_task": "aggregate",
                 "error": OUT_OF_MEMORY},
            ],
            "clusters": {
                CLUSTER_DRIVER: {"name": "features-cluster", "state": "RUNNING", "num_workers": 4},
                CLUSTER_LIBRARY: {"name": "feature-store", "state": "RUNNING", "num_workers": 2, "libraries": {
                    "pypi:pandas==2.1.4": {"status": "FAILED",
                                           "message": "No matching distribution found for pandas==2.1.4"},
                    "pypi:pandas==2.1.0": {"status": "INSTALLED"},
                }},
                CLUSTER_OOM: {"name": "aggregates", "state": "RUNNING", "autoscale_min_workers": 2,
                              "autoscale_max_workers": 8},
            },
        },
        "slack": {"channels": []},
    }
