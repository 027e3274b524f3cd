"""The vendor catalogs: complete against the databricks-sdk enums, and every row decides the type it names."""

from __future__ import annotations

import json
from enum import Enum

import pytest
from aiops_operator.analysis import catalogs
from aiops_operator.analysis.request import AnalysisRequest
from aiops_operator.analysis.rules import classify
from aiops_operator.api import ErrorType, IncidentSource
from databricks.sdk.service import compute, jobs

E = ErrorType
CLUSTER = IncidentSource.DATABRICKS_CLUSTER
GENERIC = IncidentSource.GENERIC
ADF = IncidentSource.AZURE_DATA_FACTORY

SDK_ENUMS = [
    compute.TerminationReasonCode,
    jobs.TerminationCodeCode,
    jobs.RunResultState,
    jobs.RunLifeCycleState,
]


def _type(source: IncidentSource, message: str, code: str | None = None) -> ErrorType:
    return classify(AnalysisRequest(source=source, error_message=message, error_code=code)).error_type


@pytest.mark.parametrize("enum", SDK_ENUMS, ids=lambda e: e.__name__)
def test_every_databricks_sdk_code_has_a_row(enum: type[Enum]) -> None:
    missing = sorted(member.value for member in enum if member.value not in catalogs.DATABRICKS_CODES)
    assert missing == [], f"{enum.__name__} values without a row in catalogs.DATABRICKS_CODES: {missing}"


@pytest.mark.parametrize("code", sorted(catalogs.DATABRICKS_CODES))
def test_a_databricks_code_alone_decides_its_row(code: str) -> None:
    """The code as the alert's error code, with no message: the row's type, or UnknownError for a state."""
    assert _type(CLUSTER, "", code) is catalogs.DATABRICKS_CODES[code]


@pytest.mark.parametrize("code", sorted(catalogs.DATABRICKS_CODES))
def test_a_databricks_code_inside_a_termination_reason_decides_its_row(code: str) -> None:
    message = json.dumps({"termination_reason": {"code": code, "type": "SERVICE_FAULT", "parameters": {}}})
    assert _type(CLUSTER, message) is catalogs.DATABRICKS_CODES[code]


@pytest.mark.parametrize("name", sorted(catalogs.SPARK_ERROR_CLASSES))
def test_spark_error_classes(name: str) -> None:
    assert _type(GENERIC, f"[{name}] something went wrong. SQLSTATE: XXKD0") is catalogs.SPARK_ERROR_CLASSES[name]


@pytest.mark.parametrize("name", sorted(catalogs.DATABRICKS_API_ERRORS))
def test_databricks_api_error_codes(name: str) -> None:
    message = json.dumps({"error_code": name, "message": "x"})
    assert _type(GENERIC, message) is catalogs.DATABRICKS_API_ERRORS[name]


@pytest.mark.parametrize(
    ("sqlstate", "expected"),
    [
        *[pytest.param(f"{cls}000", t, id=f"class-{cls}") for cls, t in catalogs.SQLSTATE_CLASSES.items()],
        *[pytest.param(code, t, id=f"exact-{code}") for code, t in catalogs.SQLSTATE_EXACT.items()],
    ],
)
def test_sqlstates_by_exact_code_then_class(sqlstate: str, expected: ErrorType) -> None:
    assert _type(GENERIC, f"java.sql.SQLException: query failed. SQLSTATE: {sqlstate}") is expected
    assert _type(GENERIC, f"ERROR [{sqlstate}] [Microsoft][ODBC Driver] query failed") is expected


def test_an_error_class_beats_its_sqlstate_class() -> None:
    text = "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column `x` cannot be resolved. SQLSTATE: 42703"
    assert _type(GENERIC, text) is E.SCHEMA_MISMATCH
    text = "[TABLE_OR_VIEW_NOT_FOUND] The table or view `t` cannot be found. SQLSTATE: 42P01"
    assert _type(GENERIC, text) is E.DATABRICKS_JOB_EXECUTION_ERROR


@pytest.mark.parametrize("code", sorted(catalogs.ADF_ACTIVITY_CODES))
def test_adf_activity_codes(code: str) -> None:
    expected = catalogs.ADF_ACTIVITY_CODES[code]
    assert _type(GENERIC, "Activity failed.", code) is expected
    assert _type(GENERIC, json.dumps({"errorCode": code, "message": "", "failureType": "UserError"})) is expected


@pytest.mark.parametrize("code", sorted(catalogs.ADF_NAMED_CODES))
def test_adf_named_codes(code: str) -> None:
    message = f"Failure happened on 'Sink' side. ErrorCode={code},'Type=Microsoft.DataTransfer.X,Message=,'"
    assert _type(GENERIC, message) is catalogs.ADF_NAMED_CODES[code]


@pytest.mark.parametrize("code", sorted(catalogs.ADF_NAMED_WRAPPERS))
def test_adf_wrappers_decide_only_when_nothing_inside_does(code: str) -> None:
    bare = f"ErrorCode={code},'Type=Microsoft.DataTransfer.X,Message=Operation failed.,'"
    assert _type(GENERIC, bare) is catalogs.ADF_NAMED_WRAPPERS[code]
    inner = f"ErrorCode={code},'Type=X,Message=Failed.,''Type=System.Exception,Message=x,ErrorCode=BlobNotFound'"
    assert _type(GENERIC, inner) is E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS


@pytest.mark.parametrize("number", sorted(catalogs.AZURE_SQL_ERRORS))
def test_azure_sql_error_numbers(number: int) -> None:
    expected = catalogs.AZURE_SQL_ERRORS[number]
    assert _type(ADF, f"Type=System.Data.SqlClient.SqlException,Message=x,SqlErrorNumber={number},Class=16") is expected
    assert _type(ADF, f"Errors=[{{Class=16,Number={number},State=1,Message=x,}},]") is expected


@pytest.mark.parametrize("code", sorted(catalogs.STORAGE_CODES))
def test_storage_error_codes(code: str) -> None:
    message = f"Operation returned an invalid status code 'BadRequest'. ErrorCode: '{code}'. Message: 'x'."
    assert _type(ADF, message) is catalogs.STORAGE_CODES[code]


@pytest.mark.parametrize("code", sorted(catalogs.AADSTS_CODES))
def test_entra_id_codes(code: str) -> None:
    assert _type(ADF, f"Failed to get access token. AADSTS{code}: message. Trace ID: 1") is catalogs.AADSTS_CODES[code]


def test_an_unlisted_aadsts_code_is_still_an_authentication_failure() -> None:
    assert _type(ADF, "AADSTS1234567: something about the sign-in.") is E.AUTHENTICATION_ERROR


@pytest.mark.parametrize("status", sorted(catalogs.HTTP_STATUS))
def test_http_statuses(status: int) -> None:
    assert _type(ADF, f"Response status code does not indicate success: {status}.") is catalogs.HTTP_STATUS[status]
    assert _type(ADF, f"Operation failed: \"x\", {status}, GET, https://a.dfs.core.windows.net/f") is (
        catalogs.HTTP_STATUS[status]
    )


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param("Response status code does not indicate success: 429 (Too Many Requests); Substatus: 3200",
                     E.THROTTLING_ERROR, id="cosmos-429-3200"),
        pytest.param("Response status code does not indicate success: Forbidden (403); Substatus: 5301",
                     E.PERMISSION_DENIED, id="cosmos-rbac"),
        pytest.param("Response status code does not indicate success: RetryWith (449)", E.INTERNAL_SERVER_ERROR,
                     id="cosmos-449"),
        pytest.param("StatusCode: 412, the precondition failed", E.INTERNAL_SERVER_ERROR, id="cosmos-412"),
    ],
)
def test_cosmos_status_and_substatus(message: str, expected: ErrorType) -> None:
    assert _type(ADF, message) is expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param("Zeitüberschreitung bei der Ausführung.", E.GATEWAY_TIMEOUT, id="de-timeout"),
        pytest.param('Fehler bei der Anmeldung für den Benutzer "etl".', E.AUTHENTICATION_ERROR, id="de-login"),
        pytest.param("Anmeldung für Benutzer 'etl' fehlgeschlagen.", E.AUTHENTICATION_ERROR, id="de-login-2"),
        pytest.param("Der Zugriff auf den Pfad 'C:\\x' wurde verweigert.", E.PERMISSION_DENIED, id="de-access"),
        pytest.param("Le délai d'attente a expiré.", E.GATEWAY_TIMEOUT, id="fr-timeout"),
        pytest.param("Échec de la connexion de l'utilisateur 'etl'.", E.AUTHENTICATION_ERROR, id="fr-login"),
        pytest.param("Échec de la connexion au serveur.", E.HTTP_CONNECTION_FAILED, id="fr-connect"),
        pytest.param("Tiempo de espera de la operación agotado.", E.GATEWAY_TIMEOUT, id="es-timeout"),
        pytest.param("Falha de logon do usuário 'etl'.", E.AUTHENTICATION_ERROR, id="pt-login"),
        pytest.param("操作がタイムアウトしました。", E.GATEWAY_TIMEOUT, id="ja-timeout"),
        pytest.param("操作超时。", E.GATEWAY_TIMEOUT, id="zh-timeout"),
        pytest.param("拒绝访问。", E.PERMISSION_DENIED, id="zh-access"),
        pytest.param("系统找不到指定的文件。", E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS, id="zh-file"),
    ],
)
def test_localized_dotnet_messages(message: str, expected: ErrorType) -> None:
    assert _type(ADF, f"ErrorCode=UserErrorOdbcOperationFailed,'Message={message}'") is expected


@pytest.mark.parametrize(
    "code",
    sorted(c for c, t in catalogs.DATABRICKS_CODES.items()
           if "_" in c and t is not E.UNKNOWN_ERROR and c not in catalogs.GENERIC_DATABRICKS_CODES),
)
def test_a_databricks_code_spelled_out_after_reason_decides_its_row(code: str) -> None:
    """The UI and state messages spell codes out: "Cluster terminated. Reason: Spot Instance Termination"."""
    spelled = code.replace("_", " ").title()
    assert _type(CLUSTER, f"Cluster terminated. Reason: {spelled}") is catalogs.DATABRICKS_CODES[code]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param('"{\\"errorCode\\": \\"2200\\", \\"message\\": \\"ErrorCode=BlobNotFound\\"}"',
                     E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS, id="double-encoded-json"),
        pytest.param("Operation on target ForEach_Tables failed: Operation on target Copy_T failed: "
                     "ErrorCode=SqlFailedToConnect,'Message=Cannot connect to SQL Database.,''Type=System.Data."
                     "SqlClient.SqlException,Message=Login failed for user 'x'.,SqlErrorNumber=18456,'",
                     E.AUTHENTICATION_ERROR, id="nested-operation-on-target-and-chain"),
        pytest.param("ErrorCode=SqlFailedToConnect,'Message=Cannot connect to SQL Database: 's', Database: 'd'.,'",
                     E.HTTP_CONNECTION_FAILED, id="bare-wrapper-decides-alone"),
        pytest.param('{"errorCode": "2200", "message": "", "failureType": "UserError", "target": "Copy"}',
                     E.UNKNOWN_ERROR, id="empty-activity-error"),
        pytest.param("Operation on target Copy_Orders failed: ", E.UNKNOWN_ERROR, id="bare-operation-on-target"),
    ],
)
def test_unwrapping(message: str, expected: ErrorType) -> None:
    assert _type(ADF, message) is expected
