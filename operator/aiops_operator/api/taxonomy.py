"""The error-type taxonomy every analysis uses.

The names are part of the API (policies match on them), so they never change
spelling. What each means and its precedence rules are documented in
docs/TAXONOMY.md.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorType(StrEnum):
    GATEWAY_TIMEOUT = "GatewayTimeout"
    HTTP_CONNECTION_FAILED = "HttpConnectionFailed"
    THROTTLING_ERROR = "ThrottlingError"
    INTERNAL_SERVER_ERROR = "InternalServerError"
    USER_ERROR_SOURCE_BLOB_NOT_EXISTS = "UserErrorSourceBlobNotExists"
    AUTHENTICATION_ERROR = "AuthenticationError"
    PERMISSION_DENIED = "PermissionDenied"
    SCHEMA_MISMATCH = "SchemaMismatch"
    DATA_QUALITY_ERROR = "DataQualityError"
    CONFIGURATION_ERROR = "ConfigurationError"
    DATABRICKS_CLUSTER_START_FAILURE = "DatabricksClusterStartFailure"
    DATABRICKS_TIMEOUT_ERROR = "DatabricksTimeoutError"
    DATABRICKS_DRIVER_NOT_RESPONDING = "DatabricksDriverNotResponding"
    DATABRICKS_RESOURCE_EXHAUSTED = "DatabricksResourceExhausted"
    CLUSTER_UNEXPECTED_TERMINATION = "ClusterUnexpectedTermination"
    DATABRICKS_LIBRARY_INSTALLATION_ERROR = "DatabricksLibraryInstallationError"
    DATABRICKS_JOB_EXECUTION_ERROR = "DatabricksJobExecutionError"
    UNKNOWN_ERROR = "UnknownError"


ERROR_TYPE_DESCRIPTIONS: dict[ErrorType, str] = {
    ErrorType.GATEWAY_TIMEOUT: (
        "The request reached the remote side but no answer or completion came in time."
    ),
    ErrorType.HTTP_CONNECTION_FAILED: "No connection could be made, or it was dropped.",
    ErrorType.THROTTLING_ERROR: "Explicitly rate- or quota-limited; a later retry works.",
    ErrorType.INTERNAL_SERVER_ERROR: "A server-side fault without a throttling signal.",
    ErrorType.USER_ERROR_SOURCE_BLOB_NOT_EXISTS: (
        "An input file, blob, path or container does not exist when read."
    ),
    ErrorType.AUTHENTICATION_ERROR: (
        "Who you are could not be verified: credential invalid, expired or unknown."
    ),
    ErrorType.PERMISSION_DENIED: "Identity known but not allowed.",
    ErrorType.SCHEMA_MISMATCH: (
        "The structure of data disagrees with what the sink, mapping or code expects."
    ),
    ErrorType.DATA_QUALITY_ERROR: "Structure fine, values violate a rule.",
    ErrorType.CONFIGURATION_ERROR: (
        "The pipeline, linked service, job, cluster or runtime definition is wrong or"
        " incomplete (not credentials, not permissions)."
    ),
    ErrorType.DATABRICKS_CLUSTER_START_FAILURE: (
        "A cluster could not launch or start, for a non-capacity reason."
    ),
    ErrorType.DATABRICKS_TIMEOUT_ERROR: (
        "A Databricks run, task or notebook exceeded its own configured limit."
    ),
    ErrorType.DATABRICKS_DRIVER_NOT_RESPONDING: (
        "The driver is hung, unreachable or restarting, and memory is not named."
    ),
    ErrorType.DATABRICKS_RESOURCE_EXHAUSTED: (
        "A capacity limit was hit: memory, disk, or cloud capacity."
    ),
    ErrorType.CLUSTER_UNEXPECTED_TERMINATION: (
        "A running cluster was terminated by the cloud or platform"
        " (not a user, inactivity or job end)."
    ),
    ErrorType.DATABRICKS_LIBRARY_INSTALLATION_ERROR: (
        "A library could not be installed or resolved."
    ),
    ErrorType.DATABRICKS_JOB_EXECUTION_ERROR: (
        "User code or SQL failed at run time for a reason not above."
    ),
    ErrorType.UNKNOWN_ERROR: "Nothing in the text identifies a cause.",
}
