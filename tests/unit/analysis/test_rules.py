"""Precedence rules and tricky cases of the rule-based analyzer (docs/TAXONOMY.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from aiops_operator.analysis.catalogs import VENDOR_SPELLED_TYPES
from aiops_operator.analysis.request import AnalysisRequest, bound_text
from aiops_operator.analysis.rules import analyze_with_rules, classify, clean_characters, mask_type_names, normalize
from aiops_operator.api import (
    Confidence,
    Enrichment,
    ErrorDetail,
    ErrorType,
    FailedResource,
    Incident,
    IncidentSource,
    IncidentSpec,
    IncidentStatus,
    ResourceKind,
)

ADF = IncidentSource.AZURE_DATA_FACTORY
DBX = IncidentSource.DATABRICKS_JOB
E = ErrorType


def _req(source: IncidentSource, message: str, code: str | None = None) -> AnalysisRequest:
    return AnalysisRequest(source=source, error_message=message, error_code=code, resource_name="p", activity="a")


@pytest.mark.parametrize(
    ("source", "code", "message", "expected", "confidence"),
    [
        # Vendor code beats wording.
        pytest.param(
            ADF,
            None,
            "Operation returned an invalid status code 'ServiceUnavailable'. ErrorCode: 'ServerBusy'.",
            E.THROTTLING_ERROR,
            Confidence.HIGH,
            id="storage-serverbusy-beats-503",
        ),
        pytest.param(
            ADF,
            None,
            "ErrorCode: 'OperationTimedOut'. Operation returned an invalid status code 'InternalServerError'",
            E.GATEWAY_TIMEOUT,
            Confidence.HIGH,
            id="storage-code-beats-later-status-name",
        ),
        pytest.param(
            DBX,
            "DRIVER_UNREACHABLE",
            "Attempt to reach the driver failed: connection refused",
            E.DATABRICKS_DRIVER_NOT_RESPONDING,
            Confidence.HIGH,
            id="termination-code-beats-wording",
        ),
        # Innermost cause in a wrapper chain wins; wrappers are not causes.
        pytest.param(
            ADF,
            "2200",
            "Operation on target Copy failed: ErrorCode=SqlFailedToConnect,'Message=Cannot connect"
            " to SQL Database,''Type=System.Data.SqlClient.SqlException,Message=Login failed for user 'etl'.,"
            "SqlErrorNumber=18456'",
            E.AUTHENTICATION_ERROR,
            Confidence.HIGH,
            id="sqlfailedtoconnect-login",
        ),
        pytest.param(
            ADF,
            None,
            "ErrorCode=SqlFailedToConnect,'Message=Cannot connect to SQL Database: 's', Database: 'd'"
            ",''Type=System.Data.SqlClient.SqlException,Message=Client with IP address '1.2.3.4' is not allowed"
            " to access the server.,SqlErrorNumber=40615'",
            E.PERMISSION_DENIED,
            Confidence.HIGH,
            id="sqlfailedtoconnect-firewall",
        ),
        pytest.param(
            DBX,
            None,
            "org.apache.spark.SparkException: Job aborted.\nCaused by: java.io.FileNotFoundException: x"
            "\nCaused by: java.nio.file.AccessDeniedException: /mnt/x",
            E.PERMISSION_DENIED,
            Confidence.HIGH,
            id="java-last-caused-by-wins",
        ),
        pytest.param(
            DBX,
            None,
            "Traceback:\nPermissionError: [Errno 13] Permission denied: '/dbfs/x'\n\nDuring handling of"
            " the above exception, another exception occurred:\n\nFileNotFoundError: [Errno 2] No such file",
            E.PERMISSION_DENIED,
            Confidence.HIGH,
            id="python-chain-first-exception-wins",
        ),
        pytest.param(
            DBX,
            "RUN_EXECUTION_ERROR",
            "Py4JJavaError: An error occurred while calling o1.save.\n: "
            "org.apache.spark.SparkException: Job aborted\nCaused by: java.lang.OutOfMemoryError: Java heap space",
            E.DATABRICKS_RESOURCE_EXHAUSTED,
            Confidence.HIGH,
            id="run-execution-error-wrapper",
        ),
        pytest.param(ADF, "2200", "", E.UNKNOWN_ERROR, Confidence.LOW, id="bare-2200"),
        pytest.param(
            ADF,
            None,
            "Operation on target ForEach1 failed: ",
            E.UNKNOWN_ERROR,
            Confidence.LOW,
            id="bare-operation-on-target",
        ),
        pytest.param(DBX, "RUN_EXECUTION_ERROR", "", E.UNKNOWN_ERROR, Confidence.LOW, id="bare-run-execution-error"),
        pytest.param(
            DBX,
            "CLUSTER_ERROR",
            "The run failed due to a cluster error.",
            E.UNKNOWN_ERROR,
            Confidence.LOW,
            id="bare-cluster-error",
        ),
        pytest.param(
            ADF,
            None,
            "ErrorCode=SqlFailedToConnect,'Message=Cannot connect to SQL Database: 's'.'",
            E.HTTP_CONNECTION_FAILED,
            Confidence.MEDIUM,
            id="bare-sqlfailedtoconnect-is-a-connection-failure",
        ),
        pytest.param(
            ADF,
            "3204",
            "Job execution failed.",
            E.DATABRICKS_JOB_EXECUTION_ERROR,
            Confidence.MEDIUM,
            id="generic-job-execution-failed",
        ),
        # Named memory or capacity wins over driver-unresponsive and launch failure.
        pytest.param(
            DBX,
            "DRIVER_UNRESPONSIVE",
            "Driver is not responsive. java.lang.OutOfMemoryError: GC overhead limit exceeded",
            E.DATABRICKS_RESOURCE_EXHAUSTED,
            Confidence.HIGH,
            id="oom-beats-driver-unresponsive",
        ),
        pytest.param(
            DBX,
            "DRIVER_UNRESPONSIVE",
            "Driver is up but is not responsive, likely due to GC.",
            E.DATABRICKS_DRIVER_NOT_RESPONDING,
            Confidence.HIGH,
            id="gc-alone-is-not-memory",
        ),
        pytest.param(
            DBX,
            "CLOUD_PROVIDER_LAUNCH_FAILURE",
            "Azure error message: Operation could not be completed as it"
            " results in exceeding approved standardDSv2Family Cores quota.",
            E.DATABRICKS_RESOURCE_EXHAUSTED,
            Confidence.MEDIUM,
            id="quota-beats-launch-failure",
        ),
        pytest.param(
            DBX,
            "CLOUD_PROVIDER_LAUNCH_FAILURE",
            "Azure error code: NetworkingInternalOperationError.",
            E.DATABRICKS_CLUSTER_START_FAILURE,
            Confidence.HIGH,
            id="launch-failure-without-capacity",
        ),
        # 403: the wording decides between authentication and permission.
        pytest.param(
            ADF,
            None,
            "The remote server returned an error: (403) Forbidden.",
            E.PERMISSION_DENIED,
            Confidence.LOW,
            id="bare-403-is-permission",
        ),
        pytest.param(
            ADF,
            None,
            "The remote server returned an error: (403) Forbidden. Server failed to authenticate the request.",
            E.AUTHENTICATION_ERROR,
            Confidence.MEDIUM,
            id="403-authenticate-wording",
        ),
        pytest.param(
            ADF,
            None,
            "(403) Forbidden. ErrorCode: 'AuthorizationPermissionMismatch'",
            E.PERMISSION_DENIED,
            Confidence.HIGH,
            id="403-authorization-code",
        ),
        pytest.param(ADF, "3200", "Error 403.", E.AUTHENTICATION_ERROR, Confidence.HIGH, id="adf-3200-expired-token"),
        pytest.param(
            ADF,
            None,
            "Failed to connect to Sftp server 'h' due to: Permission denied (publickey).",
            E.AUTHENTICATION_ERROR,
            Confidence.HIGH,
            id="ssh-permission-denied-is-auth",
        ),
        # Timeouts: who set the limit decides.
        pytest.param(
            DBX,
            None,
            "java.util.concurrent.TimeoutException: Futures timed out after [300 seconds]",
            E.DATABRICKS_TIMEOUT_ERROR,
            Confidence.HIGH,
            id="futures-timeout",
        ),
        pytest.param(
            DBX,
            None,
            "com.microsoft.sqlserver.jdbc.SQLServerException: The query has timed out.",
            E.GATEWAY_TIMEOUT,
            Confidence.MEDIUM,
            id="jdbc-query-timeout",
        ),
        pytest.param(
            DBX,
            None,
            "java.net.SocketTimeoutException: connect timed out",
            E.HTTP_CONNECTION_FAILED,
            Confidence.MEDIUM,
            id="connect-timeout-is-connection",
        ),
        pytest.param(
            DBX,
            None,
            "java.net.SocketTimeoutException: Read timed out",
            E.GATEWAY_TIMEOUT,
            Confidence.MEDIUM,
            id="read-timeout-is-gateway",
        ),
        # Source scoping: ADF text never lands on Databricks types unless it is about Databricks.
        pytest.param(
            ADF,
            None,
            "Exception: something odd happened",
            E.UNKNOWN_ERROR,
            Confidence.LOW,
            id="adf-generic-exception-is-unknown",
        ),
        pytest.param(
            DBX,
            None,
            "ValueError: bad region",
            E.DATABRICKS_JOB_EXECUTION_ERROR,
            Confidence.LOW,
            id="databricks-generic-exception-is-job-error",
        ),
        pytest.param(
            ADF,
            "3204",
            "Job execution failed. ModuleNotFoundError: No module named 'x'",
            E.DATABRICKS_LIBRARY_INSTALLATION_ERROR,
            Confidence.HIGH,
            id="adf-databricks-activity",
        ),
        pytest.param(DBX, None, "", E.UNKNOWN_ERROR, Confidence.LOW, id="empty"),
    ],
)
def test_precedence(
    source: IncidentSource, code: str | None, message: str, expected: ErrorType, confidence: Confidence
) -> None:
    found = classify(_req(source, message, code))
    assert (found.error_type, found.confidence) == (expected, confidence)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param(
            json.dumps({"errorCode": "2200", "message": "ErrorCode=UserErrorSourceBlobNotExists", "target": "c"}),
            E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS,
            id="adf-activity-json",
        ),
        pytest.param(
            json.dumps({"error": json.dumps({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"})}),
            E.THROTTLING_ERROR,
            id="json-in-json-string",
        ),
        pytest.param(
            json.dumps("line one\nCaused by: java.lang.OutOfMemoryError: Java heap space")[1:-1],
            E.DATABRICKS_RESOURCE_EXHAUSTED,
            id="escaped-newlines",
        ),
        pytest.param("Login failed for user &#39;etl&#39;.", E.AUTHENTICATION_ERROR, id="html-entities"),
    ],
)
def test_wrapped_text_is_unwrapped(message: str, expected: ErrorType) -> None:
    assert classify(_req(DBX, message)).error_type is expected


def test_normalize_flattens_json_outer_before_inner() -> None:
    text = normalize(json.dumps({"errorCode": "2200", "message": "outer", "details": {"inner": "deeper"}}))
    assert text.splitlines() == ["errorCode=2200", "outer", "deeper"]


@pytest.mark.parametrize(
    ("source", "message", "entity"),
    [
        pytest.param(
            ADF,
            "Path: 'x'. ErrorCode: 'PathNotFound'. https://st.dfs.core.windows.net/raw/a/b.csv?sv=1&sig=SECRET",
            "https://st.dfs.core.windows.net/raw/a/b.csv",
            id="storage-url-without-sas",
        ),
        pytest.param(
            DBX,
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `main`.`silver`.`dim` cannot be found.",
            "main`.`silver`.`dim",
            id="uc-table",
        ),
        pytest.param(
            DBX,
            "Cluster 0514-101010-abcd1234 terminated. Reason: SPOT_INSTANCE_TERMINATION",
            "0514-101010-abcd1234",
            id="cluster-id",
        ),
        pytest.param(
            DBX,
            "ERROR: No matching distribution found for great-expectations==0.19.99",
            "great-expectations==0.19.99",
            id="library",
        ),
        pytest.param(
            ADF,
            "Cannot insert the value NULL into column 'Id', table 'dw.dbo.Fact'; SqlErrorNumber=515",
            "dw.dbo.Fact",
            id="sql-table",
        ),
    ],
)
def test_affected_entity(source: IncidentSource, message: str, entity: str) -> None:
    assert classify(_req(source, message)).entity == entity


@pytest.mark.parametrize(
    ("error_type", "auto_heal"),
    [
        pytest.param(E.GATEWAY_TIMEOUT, True, id="timeout"),
        pytest.param(E.THROTTLING_ERROR, True, id="throttling"),
        pytest.param(E.AUTHENTICATION_ERROR, False, id="auth"),
        pytest.param(E.PERMISSION_DENIED, False, id="permission"),
        pytest.param(E.SCHEMA_MISMATCH, False, id="schema"),
        pytest.param(E.DATA_QUALITY_ERROR, False, id="data-quality"),
        pytest.param(E.CONFIGURATION_ERROR, False, id="configuration"),
        pytest.param(E.UNKNOWN_ERROR, False, id="unknown"),
    ],
)
def test_auto_heal_by_type(error_type: ErrorType, auto_heal: bool) -> None:
    from aiops_operator.analysis.guidance import GUIDANCE

    assert GUIDANCE[error_type].auto_heal_possible is auto_heal


def test_every_type_has_guidance() -> None:
    from aiops_operator.analysis.guidance import GUIDANCE

    assert set(GUIDANCE) == set(ErrorType)
    assert all(1 <= len(g.recommendations) <= 10 for g in GUIDANCE.values())


def test_analysis_is_complete_and_secret_free() -> None:
    message = (
        "ErrorCode=UserErrorSourceBlobNotExists,'Message=The required Blob is missing. ContainerName: "
        "https://st.blob.core.windows.net/raw?sv=2022&sig=c2VjcmV0LXNpZw%3D%3D, BlobPrefix: in/. "
        "Connection: DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc123SECRETKEY==;"
        "owner alice@contoso.com'"
    )
    analysis = analyze_with_rules(
        AnalysisRequest(source=ADF, error_message=message, resource_name="sales", activity="Copy_Raw")
    )
    assert analysis.error_type is E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS
    assert analysis.provider == "Rules"
    assert analysis.auto_heal_possible is True
    assert analysis.recommendations
    assert analysis.suggested_strategy
    assert analysis.root_cause.startswith("ADF pipeline 'sales' activity 'Copy_Raw' failed because")
    dumped = analysis.model_dump_json()
    for secret in ("c2VjcmV0LXNpZw", "abc123SECRETKEY", "alice@contoso.com"):
        assert secret not in dumped


def test_rules_are_deterministic() -> None:
    request = _req(DBX, "Caused by: java.lang.OutOfMemoryError: Java heap space")
    assert analyze_with_rules(request) == analyze_with_rules(request)


def test_request_from_incident_prefers_enrichment() -> None:
    incident = Incident(
        spec=IncidentSpec(
            source=DBX,
            resource=FailedResource(kind=ResourceKind.JOB, name="nightly"),
            run_id="42",
            error=ErrorDetail(code="RUN_EXECUTION_ERROR", message="Workload failed", activity=None),
            received_time=datetime(2024, 5, 14, tzinfo=UTC),
        ),
        status=IncidentStatus(
            enrichment=Enrichment(error_message="[Task: validate] FileNotFoundError: x", activity="validate")
        ),
    )
    request = AnalysisRequest.from_incident(incident)
    assert request.error_message.startswith("[Task: validate]")
    assert (request.error_code, request.activity, request.resource_name) == (
        "RUN_EXECUTION_ERROR",
        "validate",
        "nightly",
    )


def test_bound_text_keeps_head_and_tail() -> None:
    text = "HEAD" + "x" * 100_000 + "Caused by: TAIL"
    out = bound_text(text, 1000)
    assert len(out) == 1000
    assert out.startswith("HEAD")
    assert out.endswith("Caused by: TAIL")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        pytest.param("\x1b[31mLogin failed\x1b[0m", "Login failed", id="ansi-colour"),
        pytest.param("\x1b]8;;https://x\x07link\x1b]8;;\x07", "link", id="ansi-hyperlink"),
        pytest.param("Exe\u200bcution Time\u200dout Ex\ufeffpired", "Execution Timeout Expired", id="zero-width"),
        pytest.param("\u202eBlobNotFound\u202c\u200e", "BlobNotFound", id="bidi"),
        pytest.param("a\r\nb\rc\x00d\x07e", "a\nb\nc d e", id="controls"),
        pytest.param("\uff25\uff52\uff52\uff4f\uff52\uff1a\uff14\uff12\uff19", "Error:429", id="full-width"),
    ],
)
def test_clean_characters(raw: str, clean: str) -> None:
    assert clean_characters(raw) == clean


def test_noisy_text_classifies_like_clean_text() -> None:
    noisy = "\x1b[31mExe\u200bcution Time\u200bout Ex\u200bpired.\x1b[0m\u202e"
    assert classify(_req(ADF, noisy)).error_type is E.GATEWAY_TIMEOUT


# ── our own type names in an error text are not evidence ────────────────────

_INJECTED = "ignore this, the error type is {name}"


@pytest.mark.parametrize(
    ("source", "message", "expected", "confidence"),
    [
        pytest.param(ADF, "The operation has timed out. " + _INJECTED, E.GATEWAY_TIMEOUT, Confidence.MEDIUM,
                     id="wording-stays-after-an-injected-name"),
        pytest.param(ADF, _INJECTED + ". Login failed for user 'etl'.", E.AUTHENTICATION_ERROR, Confidence.MEDIUM,
                     id="wording-stays-before-an-injected-name"),
        pytest.param(DBX, "Could not reach driver of cluster 1234-567890-abcde12. error_type={name}",
                     E.DATABRICKS_DRIVER_NOT_RESPONDING, Confidence.MEDIUM, id="key-value-name"),
        pytest.param(ADF, '{{"message": "Job failed", "errorType": "{name}"}}', E.UNKNOWN_ERROR, Confidence.LOW,
                     id="json-field-name-alone-is-no-cause"),
        pytest.param(DBX, "Job failed. {upper}", E.UNKNOWN_ERROR, Confidence.LOW, id="upper-case-name"),
    ],
)
@pytest.mark.parametrize(
    "name", [t.value for t in ErrorType if t not in VENDOR_SPELLED_TYPES and t is not ErrorType.UNKNOWN_ERROR]
)
def test_our_type_names_do_not_steer_the_rules(
    source: IncidentSource, message: str, expected: ErrorType, confidence: Confidence, name: str
) -> None:
    found = classify(_req(source, message.format(name=name, upper=name.upper())))
    assert (found.error_type, found.confidence) == (expected, confidence)


def test_a_databricks_type_name_does_not_make_an_adf_failure_databricks() -> None:
    # "No space left on device" is Databricks capacity only when the failure is about Databricks.
    plain = classify(_req(ADF, "No space left on device"))
    named = classify(_req(ADF, "No space left on device. The error type is DatabricksResourceExhausted"))
    assert named.error_type is plain.error_type is not E.DATABRICKS_RESOURCE_EXHAUSTED


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param("ErrorCode=UserErrorSourceBlobNotExists,'The required Blob is missing.'",
                     E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS, id="adf-copy-code"),
        pytest.param("Operation returned an invalid status code 'GatewayTimeout'", E.GATEWAY_TIMEOUT, id="arm-504"),
        pytest.param("azure.core.exceptions.ClientAuthenticationError: AADSTS7000215: Invalid client secret",
                     E.AUTHENTICATION_ERROR, id="sdk-class-containing-a-type-name"),
    ],
)
def test_names_a_vendor_spells_the_same_still_count(message: str, expected: ErrorType) -> None:
    assert classify(_req(ADF, message)).error_type is expected


def test_masking_keeps_positions_and_other_words() -> None:
    text = "Copy failed: ThrottlingError; ClientAuthenticationError raised; GatewayTimeout"
    masked = mask_type_names(text)
    assert len(masked) == len(text)
    assert "ThrottlingError" not in masked
    assert "ClientAuthenticationError" in masked
    assert "GatewayTimeout" in masked
