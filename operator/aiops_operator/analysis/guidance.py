"""What follows from an error type: impact, urgency, whether a retry can help, and what a human should do.

One row per taxonomy type. The rule-based analyzer takes all of it from here;
the LLM analyzer takes `auto_heal_possible` from here too (the model only
classifies) and these recommendations when the model gives none.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiops_operator.api import ErrorType, Priority, Severity


@dataclass(frozen=True)
class TypeGuidance:
    cause: str
    """Completes the sentence 'X failed because ...'."""
    severity: Severity
    priority: Priority
    auto_heal_possible: bool
    """Transient or repairable types: a retry or repair can plausibly fix it. The policy still decides."""
    strategy: str
    recommendations: tuple[str, ...]
    """Ordered, actionable; `{entity}` is replaced by the affected entity."""


E = ErrorType
S = Severity
P = Priority

GUIDANCE: dict[ErrorType, TypeGuidance] = {
    E.GATEWAY_TIMEOUT: TypeGuidance(
        cause="the remote side did not answer or finish in time",
        severity=S.MEDIUM, priority=P.P3, auto_heal_possible=True,
        strategy="Re-run the failed step after a short backoff; raise the timeout if it recurs.",
        recommendations=(
            "Re-run the failed activity or task; timeouts are usually transient.",
            "Check load and long-running queries on {entity} at the time of failure.",
            "If it recurs, raise the query/write timeout or split the work into smaller batches.",
        ),
    ),
    E.HTTP_CONNECTION_FAILED: TypeGuidance(
        cause="no connection could be made to the remote endpoint, or it was dropped",
        severity=S.HIGH, priority=P.P2, auto_heal_possible=True,
        strategy="Re-run after a backoff; if it keeps failing, check DNS, firewall and the runtime network.",
        recommendations=(
            "Re-run once: dropped connections are often transient.",
            "Check that {entity} resolves and accepts connections from the integration runtime or cluster"
            " (DNS, firewall, private endpoint, port).",
            "Check TLS certificates and proxy settings if the handshake failed.",
        ),
    ),
    E.THROTTLING_ERROR: TypeGuidance(
        cause="the service rate- or quota-limited the requests",
        severity=S.MEDIUM, priority=P.P3, auto_heal_possible=True,
        strategy="Re-run after the service's retry-after interval with exponential backoff.",
        recommendations=(
            "Re-run after a backoff; the limit resets over time.",
            "Reduce parallelism or concurrent runs against {entity}.",
            "If it happens regularly, raise the tier, quota or throughput of {entity} or spread the schedule.",
        ),
    ),
    E.INTERNAL_SERVER_ERROR: TypeGuidance(
        cause="the remote service had an internal fault",
        severity=S.MEDIUM, priority=P.P3, auto_heal_possible=True,
        strategy="Re-run after a backoff; check the service health page if it persists.",
        recommendations=(
            "Re-run the failed step after a backoff.",
            "Check Azure / Databricks service health for {entity} around the failure time.",
            "Open a support case with the request id if it persists.",
        ),
    ),
    E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS: TypeGuidance(
        cause="an input file, blob or path did not exist when it was read",
        severity=S.HIGH, priority=P.P2, auto_heal_possible=True,
        strategy="Check that the upstream producer has delivered the input, then re-run.",
        recommendations=(
            "Check whether {entity} exists and the upstream pipeline or job that writes it succeeded.",
            "If the file arrives late, add a Get Metadata / file-arrival check or trigger before the read.",
            "Verify the dataset path, wildcard and date parameters resolve to the expected location.",
        ),
    ),
    E.AUTHENTICATION_ERROR: TypeGuidance(
        cause="the credential was rejected (invalid, expired or unknown)",
        severity=S.HIGH, priority=P.P2, auto_heal_possible=False,
        strategy="A human must renew or fix the credential; retrying will not help.",
        recommendations=(
            "Check the credential used for {entity}: secret, key, SAS or token expiry and value.",
            "Rotate the secret in Key Vault and update the linked service or secret scope.",
            "Test the connection, then re-run the pipeline or job.",
        ),
    ),
    E.PERMISSION_DENIED: TypeGuidance(
        cause="the identity was authenticated but is not allowed to perform the operation",
        severity=S.HIGH, priority=P.P2, auto_heal_possible=False,
        strategy="A human must grant the missing role, ACL or firewall rule; retrying will not help.",
        recommendations=(
            "Identify the identity (managed identity, service principal or user) used to access {entity}.",
            "Grant the missing RBAC role, ACL, Unity Catalog privilege or Key Vault access policy.",
            "Check firewall and network rules if the denial came from the network layer, then re-run.",
        ),
    ),
    E.SCHEMA_MISMATCH: TypeGuidance(
        cause="the structure of the data does not match what the sink, mapping or code expects",
        severity=S.HIGH, priority=P.P2, auto_heal_possible=False,
        strategy="A human must reconcile the schema or mapping; retrying will not help.",
        recommendations=(
            "Compare the source schema with the schema expected for {entity} (columns, names, types).",
            "Update the column mapping, table definition or enable schema evolution where appropriate.",
            "Coordinate with the upstream owner if the source changed, then re-run.",
        ),
    ),
    E.DATA_QUALITY_ERROR: TypeGuidance(
        cause="data values violated a constraint or rule",
        severity=S.HIGH, priority=P.P2, auto_heal_possible=False,
        strategy="A human must fix or quarantine the offending rows; retrying the same data will fail again.",
        recommendations=(
            "Find the offending rows in {entity} (enable fault tolerance / bad-record logging to capture them).",
            "Fix the data at the source or route bad rows to a quarantine table.",
            "Add validation upstream so the rule is checked before the load, then re-run.",
        ),
    ),
    E.CONFIGURATION_ERROR: TypeGuidance(
        cause="the pipeline, linked service, job or cluster definition is wrong or incomplete",
        severity=S.HIGH, priority=P.P2, auto_heal_possible=False,
        strategy="A human must correct the definition; retrying will not help.",
        recommendations=(
            "Review the definition of {entity} named in the error (property, parameter, expression or id).",
            "Fix it in source control and redeploy the pipeline, job or linked service.",
            "Validate with a debug or test run before re-running the production schedule.",
        ),
    ),
    E.DATABRICKS_CLUSTER_START_FAILURE: TypeGuidance(
        cause="the Databricks cluster could not launch or start",
        severity=S.HIGH, priority=P.P2, auto_heal_possible=True,
        strategy="Retry the cluster start after a backoff; check init scripts and the cloud provider if it repeats.",
        recommendations=(
            "Retry starting {entity}; cloud launch failures are often transient.",
            "Check the cluster event log and init script logs for the failing step.",
            "Check the VNet/subnet, image and cloud provider status if launches keep failing.",
        ),
    ),
    E.DATABRICKS_TIMEOUT_ERROR: TypeGuidance(
        cause="the Databricks run exceeded its configured time limit",
        severity=S.MEDIUM, priority=P.P3, auto_heal_possible=True,
        strategy="Re-run once; if it times out again, raise the limit or resize the cluster.",
        recommendations=(
            "Compare this run's duration with previous runs of {entity} to see whether data volume grew.",
            "Re-run, or repair the run, if the slowdown was transient.",
            "Raise the task timeout, tune the slow stage (skew, broadcast) or add workers.",
        ),
    ),
    E.DATABRICKS_DRIVER_NOT_RESPONDING: TypeGuidance(
        cause="the Databricks driver was hung, unreachable or restarting",
        severity=S.HIGH, priority=P.P2, auto_heal_possible=True,
        strategy="Restart the cluster and repair the run.",
        recommendations=(
            "Restart {entity} and repair the failed run.",
            "Check the driver logs for long GC pauses or collect() of large results.",
            "Use a larger driver node type if the driver is regularly overloaded.",
        ),
    ),
    E.DATABRICKS_RESOURCE_EXHAUSTED: TypeGuidance(
        cause="a capacity limit was hit (memory, disk or cloud capacity)",
        severity=S.HIGH, priority=P.P2, auto_heal_possible=True,
        strategy="Resize the cluster (or pick another node type/zone) and re-run.",
        recommendations=(
            "Resize {entity}: more or larger workers, or a memory-optimized node type.",
            "Reduce memory pressure: avoid collect()/toPandas() on large data, repartition skewed data.",
            "For cloud capacity or quota errors, request more quota or use another VM size or region.",
        ),
    ),
    E.CLUSTER_UNEXPECTED_TERMINATION: TypeGuidance(
        cause="the cluster was terminated by the cloud provider or platform while running",
        severity=S.MEDIUM, priority=P.P3, auto_heal_possible=True,
        strategy="Restart the cluster and repair the run; prefer on-demand nodes for critical jobs.",
        recommendations=(
            "Restart {entity} and repair the failed run.",
            "Use on-demand instances (or spot with fallback) for the driver of critical jobs.",
            "Check the cloud provider's status if terminations repeat.",
        ),
    ),
    E.DATABRICKS_LIBRARY_INSTALLATION_ERROR: TypeGuidance(
        cause="a library could not be installed or resolved",
        severity=S.MEDIUM, priority=P.P3, auto_heal_possible=True,
        strategy="Reinstall the library, falling back to the last known good version.",
        recommendations=(
            "Check that {entity} exists in the package repository with the pinned version.",
            "Pin a known-good version, or reinstall with the previous version.",
            "Check that the cluster can reach the package repository (proxy, private mirror).",
        ),
    ),
    E.DATABRICKS_JOB_EXECUTION_ERROR: TypeGuidance(
        cause="the job's code or SQL failed at run time",
        severity=S.HIGH, priority=P.P2, auto_heal_possible=False,
        strategy="A human must fix the code or query; retrying the same code will fail again.",
        recommendations=(
            "Open the failed run's output and read the innermost exception and the line that raised it.",
            "Reproduce in a notebook with the same inputs and fix the code or query for {entity}.",
            "Add a test for the case and redeploy before re-running.",
        ),
    ),
    E.UNKNOWN_ERROR: TypeGuidance(
        cause="the error text does not identify a cause",
        severity=S.MEDIUM, priority=P.P3, auto_heal_possible=False,
        strategy="A human must look at the run's full output; the alert carried no usable error text.",
        recommendations=(
            "Open the failed run in the source system and read the full error and activity output.",
            "Check whether the same run failed before with a clearer message.",
            "Re-run manually once the cause is understood.",
        ),
    ),
}


def recommendations_for(error_type: ErrorType, entity: str) -> list[str]:
    """The type's recommendations with the affected entity filled in."""
    name = f"'{entity}'" if entity else "the affected resource"
    return [r.replace("{entity}", name) for r in GUIDANCE[error_type].recommendations]
