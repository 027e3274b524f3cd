"""The signals that identify each taxonomy type in ADF and Databricks error text.

Each signal is a regular expression with a tier. The tiers encode the
precedence rules of docs/TAXONOMY.md: an explicit vendor code or a specific
exception class (CODE) beats wording (WORDING), which beats a bare HTTP status
or a generic exception class (GENERIC). Wrappers (ADF 2200 and 3204,
"Operation on target X failed", SqlFailedToConnect, Databricks
RUN_EXECUTION_ERROR and CLUSTER_ERROR...) are not causes: they only decide the
type when nothing inside them does (WRAPPER).

Patterns are case-insensitive; vendor codes written in capitals are matched
case-sensitively with `(?-i:...)` so ordinary words do not trip them.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from aiops_operator.analysis import catalogs
from aiops_operator.api import ErrorType


class Tier(IntEnum):
    WRAPPER = 0
    GENERIC = 1
    WORDING = 2
    CODE = 3


@dataclass(frozen=True)
class Signal:
    error_type: ErrorType
    tier: Tier
    pattern: re.Pattern[str]
    anchors: frozenset[str] | None = None
    """Lower-case literals of which at least one must occur for the pattern to match (None: always try).

    A substring test is far cheaper than a case-insensitive regex scan, and most
    signals have no chance on a given message.
    """


def _status(*codes: int) -> str:
    """An HTTP status written the ways ADF, .NET, Java, Python and the ABFS driver print it."""
    alt = "|".join(str(c) for c in codes)
    return (
        rf"(?:status(?:\s*code)?|http(?:/\d(?:\.\d)?)?|error|code|response)\W{{0,4}}(?:{alt})\b|\((?:{alt})\)"
        rf"|indicate success\W{{0,3}}(?:{alt})\b|\b(?:{alt}),\s*(?:GET|PUT|POST|HEAD|DELETE|PATCH)\b"
    )


def _code(*codes: str) -> str:
    """A vendor code that is plain digits (ADF activity codes), found as `ErrorCode=NNNN` or `Error code: NNNN`."""
    return rf"(?:error\s*code|errorcode|code)\W{{0,4}}(?:{'|'.join(codes)})\b"


def _sql(*numbers: int) -> str:
    """A SQL Server error number as SqlClient, ADF (`Errors=[{Number=...}]`), sqlcmd (`Msg N`) and JDBC print it."""
    alt = "|".join(str(n) for n in numbers)
    long_alt = "|".join(str(n) for n in numbers if n >= 10000)
    pattern = (
        rf"\bSqlErrorNumber=(?:{alt})(?!\d)|\bError Number:\s*(?:{alt})(?!\d)|\bNumber=(?:{alt})(?!\d)"
        rf"|\bMsg (?:{alt}),|\bSQL error(?: number)?:?\s*(?:{alt})(?!\d)"
    )
    # Five-digit Azure SQL numbers are unambiguous enough to trust in "Error 40613" or "error code 40613".
    return pattern + (rf"|\berror(?: code| number)?:?\s*(?:{long_alt})\b" if long_alt else "")


E = ErrorType
C, W, G, X = Tier.CODE, Tier.WORDING, Tier.GENERIC, Tier.WRAPPER

_TABLE: list[tuple[ErrorType, Tier, list[str]]] = [
    # ── wrappers: never a cause while anything inside says more ──────────────
    (
        E.UNKNOWN_ERROR,
        X,
        [
            _code("2200", "2011"),
            r"operation on target .{1,200}? failed",
            r"\bSqlOperationFailed\b",
            r"\b(?:UserError)?(?:AzureBlob|AdlsGen2|AzureFile|AzureDataLake(?:Store)?|Odbc)OperationFailed\b",
            r"failure happened on '(?:source|sink)' side",
            r"(?-i:\bCLUSTER_ERROR\b)",
            r"an unexpected error (?:has )?occurred",
            r"(?-i:\bUNKNOWN\b)",
        ],
    ),
    (E.HTTP_CONNECTION_FAILED, X, [r"\bSqlFailedToConnect\b", r"error calling the endpoint"]),
    (E.UNKNOWN_ERROR, X, [r"(?-i:\bRUN_EXECUTION_ERROR\b)"]),
    (E.DATABRICKS_JOB_EXECUTION_ERROR, X, [r"completed with task failures"]),
    (E.DATABRICKS_JOB_EXECUTION_ERROR, X, [_code("3204")]),
    # ── memory and capacity (named memory wins over driver and launch failures) ──
    (
        E.DATABRICKS_RESOURCE_EXHAUSTED,
        C,
        [
            r"\b(?:java\.lang\.)?OutOfMemory(?:Error|Exception)\b",
            r"\bSparkOutOfMemoryError\b",
            r"MemoryError\b",
            r"GC overhead limit exceeded",
            r"java heap space",
            r"\bspark\.driver\.maxResultSize\b",
            r"(?-i:\b(?:QuotaExceeded|SkuNotAvailable|ZonalAllocationFailed|AllocationFailed|"
            r"Overconstrained(?:Zonal)?AllocationRequest)\b)",
            r"(?-i:\b\w*(?:INSUFFICIENT_INSTANCE_CAPACITY|QUOTA_EXCEEDED|INSUFFICIENT_FREE_ADDRESSES|RESOURCE_STOCKOUT)\w*\b)",
            r"(?-i:\b(?:SUBNET_EXHAUSTED_FAILURE|IP_EXHAUSTION_FAILURE|INSTANCE_POOL_MAX_CAPACITY_REACHED|"
            r"DRIVER_OUT_OF_MEMORY|EXECUTOR_OUT_OF_MEMORY|OUT_OF_MEMORY)\b)",
            r"exit(?:ed)?(?: with)? (?:code|status)\W{0,3}137\b",
            r"no space left on device",
            r"(?-i:\bENOSPC\b)",
        ],
    ),
    (
        E.DATABRICKS_RESOURCE_EXHAUSTED,
        W,
        [
            r"out of memory",
            r"unable to allocate [\d.]+ ?[KMGT]i?B",
            r"cannot allocate memory",
            r"exceed(?:ed|ing|s)? (?:the )?(?:physical )?memory limits?",
            r"container killed .{0,80}memory",
            r"memory limit exceeded",
            r"exceeding approved .{0,80}quota",
            r"(?:cores?|vcpus?) quota",
            r"quota (?:was |has been )?exceeded",
            r"(?:insufficient|not enough) (?:\w+ )?capacity",
            r"(?:insufficient|not enough) (?:memory|disk space)",
            r"out of (?:capacity|stock)",
            r"\bstockout\b",
            r"disk (?:is )?full",
            r"(?:ip address(?:es)?|subnet) .{0,60}(?:exhausted|insufficient)",
            r"killed by (?:the )?oom",
            r"(?-i:\bOOM\b)",
            r"requested vm size .{0,80}not available",
            r"maximum number of (?:execution )?contexts",
            r"too many execution contexts",
        ],
    ),
    # ── Databricks cluster lifecycle ─────────────────────────────────────────
    (
        E.DATABRICKS_CLUSTER_START_FAILURE,
        C,
        [
            r"(?-i:\b(?:CLOUD_PROVIDER_LAUNCH_FAILURE|SPARK_STARTUP_FAILURE|BOOTSTRAP_TIMEOUT\w*|"
            r"(?:GLOBAL_)?INIT_SCRIPT_FAILURE|DOCKER_IMAGE_PULL_FAILURE|CONTAINER_LAUNCH_FAILURE|"
            r"NPIP_TUNNEL_SETUP_FAILURE|SELF_BOOTSTRAP_FAILURE|UNEXPECTED_LAUNCH_FAILURE|AZURE_VM_EXTENSION_FAILURE|"
            r"INSTANCE_POOL_CLUSTER_FAILURE|WORKER_SETUP_FAILURE|STORAGE_DOWNLOAD_FAILURE|"
            r"AZURE_UNEXPECTED_DEPLOYMENT_TEMPLATE_FAILURE|CLUSTER_START_FAILURE)\b)",
        ],
    ),
    (
        E.DATABRICKS_CLUSTER_START_FAILURE,
        W,
        [
            r"init[ _-]?scripts? .{0,100}?(?:fail|exited with)",
            r"failed to (?:launch|start) (?:the )?(?:cluster|spark|driver|instances?)",
            r"cluster .{0,100}?failed to (?:launch|start)",
            r"(?:cluster )?launch failed",
            r"spark (?:failed|did not) (?:to )?start",
            r"could not launch",
            r"unable to start (?:the )?cluster",
            r"error while (?:launching|starting) (?:the )?cluster",
            r"cloud provider launch failure",
            r"bootstrap timeout",
            r"failed to pull (?:the )?(?:docker |container )?image",
            r"unexpected failure while waiting for the cluster .{0,60}?to be ready",
            r"timed out waiting for (?:the )?cluster to (?:start|be ready)",
        ],
    ),
    (
        E.CLUSTER_UNEXPECTED_TERMINATION,
        C,
        [
            r"(?-i:\b(?:CLOUD_PROVIDER_SHUTDOWN|SPOT_INSTANCE_TERMINATION|COMMUNICATION_LOST|INSTANCE_UNREACHABLE|"
            r"METASTORE_COMPONENT_UNHEALTHY|DBFS_COMPONENT_UNHEALTHY|EXECUTION_COMPONENT_UNHEALTHY|NODES_LOST|"
            r"SPOT_INSTANCE_PREEMPTION|UNEXPECTED_POD_RECREATION|NODE_LOST)\b)",
        ],
    ),
    (
        E.CLUSTER_UNEXPECTED_TERMINATION,
        W,
        [
            r"terminated unexpectedly",
            r"unexpectedly terminated",
            r"terminated by the cloud provider",
            r"spot (?:instances?|vms?|nodes?) (?:was |were |has been |have been )?"
            r"(?:preempted|evicted|reclaimed|terminated)",
            r"lost communication with",
            r"instances? (?:became |is |are )?unreachable",
            r"cloud provider shutdown",
            r"spot instance termination",
            r"component (?:is |became )?unhealthy",
            r"(?:vm|instance) was (?:preempted|evicted)",
        ],
    ),
    (
        E.CLUSTER_UNEXPECTED_TERMINATION,
        G,
        [
            r"(?-i:\bCLOUD_FAILURE\b)",
            r"cluster .{0,60}?(?:was |has been |is in )?terminated",
        ],
    ),
    (
        E.DATABRICKS_DRIVER_NOT_RESPONDING,
        C,
        [
            r"(?-i:\b(?:DRIVER_UNREACHABLE|DRIVER_UNRESPONSIVE|DRIVER_NOT_RESPONDING|DRIVER_ERROR)\b)",
        ],
    ),
    (
        E.DATABRICKS_DRIVER_NOT_RESPONDING,
        W,
        [
            r"driver (?:has )?stopped unexpectedly",
            r"could not reach (?:the )?driver",
            r"kernel (?:is |became )?unresponsive",
            r"driver is (?:up but is )?not responsive",
            r"driver (?:is )?(?:temporarily )?unavailable",
            r"lost connection to (?:the )?driver",
            r"driver .{0,80}?is not responding",
            r"driver (?:is )?(?:hung|unresponsive|restarting)",
            r"spark context has stopped and the driver is restarting",
            r"answer from java side is empty",
            r"error while communicating with the spark driver",
        ],
    ),
    (
        E.DATABRICKS_TIMEOUT_ERROR,
        C,
        [
            r"(?-i:\bTIMEDOUT\b)",
            r"futures timed out",
            r"\bjava\.util\.concurrent\.TimeoutException\b",
        ],
    ),
    (
        E.DATABRICKS_TIMEOUT_ERROR,
        W,
        [
            r"\brun (?:has |was )?timed out",
            r"\b(?:notebook|task|job)(?: run)?(?: '[^']{1,120}'| \S+)? (?:has |was )?timed out",
            r"timed out after .{0,40}(?:timeout_seconds|as configured)",
            r"timeout_seconds",
            r"exceeded (?:its|the) (?:maximum|max|configured) (?:run )?(?:duration|time)",
            r"exceeded its (?:configured )?timeout",
            r"maximum run duration",
            r"could not execute broadcast in \d+ secs",
        ],
    ),
    (
        E.DATABRICKS_LIBRARY_INSTALLATION_ERROR,
        C,
        [
            r"(?-i:\b(?:LIBRARY_INSTALLATION_ERROR|LIBRARY_INSTALL_FAILED|DRIVER_LIBRARY_INSTALLATION_FAILURE)\b)",
            r"\bModuleNotFoundError\b",
            r"\bNoClassDefFoundError\b",
            r"\bClassNotFoundException\b",
            r"no matching distribution found",
            r"could not find a version that satisfies the requirement",
            r"library installation (?:has )?(?:failed|failure)",
            r"\bunresolved dependency\b",
        ],
    ),
    (
        E.DATABRICKS_LIBRARY_INSTALLATION_ERROR,
        W,
        [
            r"(?:failed|unable) to install (?:the )?(?:librar(?:y|ies)|packages?)",
            r"librar(?:y|ies) .{0,100}?failed to install",
            r"librar(?:y|ies) .{0,80}?(?:could not|cannot|was not) be (?:installed|resolved)",
            r"could not resolve (?:dependencies|maven|artifacts?)",
            r"failed to resolve (?:the )?(?:maven )?(?:coordinates|artifacts?|dependenc)",
            r"failed to find data source",
            r"could not install packages",
            r"failed while installing the user-requested library",
            r"no module named",
            r"cannot import name .{1,120}? \(unknown location\)",
        ],
    ),
    # ── data and definitions ─────────────────────────────────────────────────
    (
        E.SCHEMA_MISMATCH,
        C,
        [
            r"\bSqlInvalidColumnName\b",
            _sql(207),
            r"(?-i:\b(?:DELTA_)?FAILED_TO_MERGE_FIELDS\b|\bUNRESOLVED_COLUMN\b|\bDELTA_SCHEMA_MISMATCH\b|"
            r"\b_LEGACY_ERROR_TEMP_DELTA_0007\b|\bINCOMPATIBLE_DATA_FOR_TABLE\b|\bDELTA_COLUMN_NOT_FOUND\b|"
            r"\bCANNOT_UP_CAST_DATATYPE\b|\bDELTA_MISSING_COLUMN\b|\b(?:DELTA_)?INSERT_COLUMN_ARITY_MISMATCH\b|"
            r"\bUNRESOLVED_FIELD\b|\bNUM_COLUMNS_MISMATCH\b|\bDELTA_MERGE_INCOMPATIBLE_DATATYPE\b)",
            r"\bSchemaColumnConvertNotSupportedException\b",
            r"\bSqlAutoCreateTableTypeMapFailed\b",
            r"\bUserErrorSchemaMappingCannotInferSinkColumnType\b",
            r"\bUserErrorInvalidColumnMapping\w*\b",
            r"\bDelimitedTextMoreColumnsThanDefined\b",
            r"\bParquetColumnNotFound\b",
        ],
    ),
    (
        E.SCHEMA_MISMATCH,
        W,
        [
            r"invalid column name",
            r"schema mismatch",
            r"failed to merge (?:fields|incompatible data types)",
            r"column (?:count|number) (?:mismatch|does not match)",
            r"does not match up with any column",
            r"(?:column|field) .{0,100}?(?:does not exist|not found|cannot be found|cannot be resolved|is missing)",
            r"no enum constant org\.apache\.parquet\.schema",
            r"column name or number of supplied values does not match",
            r"operand type clash",
            r"cannot resolve .{1,160}? given input columns",
            r"found duplicate column\(?s?\)? in the (?:data )?schema",
            r"more columns than expected",
            r"cannot be converted in file",
            r"type mismatch",
            r"cannot (?:safely |up )?cast .{0,80}? (?:from|to) ",
            r"expected (?:column|field)s?.{0,60}?but (?:found|got)",
            r"schema of (?:the )?(?:source|table|data|input) (?:has )?changed",
            r"different (?:number of )?columns",
        ],
    ),
    (
        E.DATA_QUALITY_ERROR,
        C,
        [
            r"(?-i:\b(?:CAST_INVALID_INPUT|DELTA_NOT_NULL_CONSTRAINT_VIOLATED|DELTA_VIOLATE_CONSTRAINT_WITH_VALUES|"
            r"MALFORMED_RECORD_IN_PARSING|NOT_NULL_CONSTRAINT_VIOLATION|CHECK_CONSTRAINT_VIOLATION|DELTA_DUPLICATE_KEYS?|"
            r"ARITHMETIC_OVERFLOW|NUMERIC_VALUE_OUT_OF_RANGE|DATETIME_OVERFLOW|CANNOT_PARSE_TIMESTAMP|"
            r"DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE)\b)",
            _sql(515, 2627, 2601, 547, 8152, 2628, 245, 8114, 242, 8115, 241, 517),
            r"\bSqlBulkCopyInvalidColumnLength\b",
            r"\bSqlDataTypeNotSupported\b",
        ],
    ),
    (
        E.DATA_QUALITY_ERROR,
        W,
        [
            r"cannot insert the value null into column",
            r"violation of (?:primary key|unique key) constraint",
            r"cannot insert duplicate key",
            r"conflicted with the (?:foreign key|check|reference) constraint",
            r"would be truncated",
            r"conversion failed when converting",
            r"error converting data type",
            r"malformed records? (?:are|is|were|was) detected",
            r"not ?null constraint violated",
            r"violates? (?:the )?(?:check|not-null|unique|foreign key) constraint",
            r"duplicate key value violates",
            r"null value in column .{0,80}?violates",
            r"out[- ]of[- ]range value",
            r"invalid input syntax for (?:type|integer)",
            r"(?:data ?quality|data validation|validation) (?:check |rule )?failed",
            r"expectations? (?:failed|violated|not met)",
            r"\bbad records?\b",
            r"sqldatetime overflow",
            r"arithmetic overflow",
            r"\b\d+ (?:rows?|records?) (?:with|have|has|contain(?:s|ing)?|violat\w+) "
            r"(?:null|invalid|duplicate|negative|missing)",
            r"\bduplicate (?:rows|records|keys) (?:found|detected)",
            r"multiple source rows matched",
            r"unique index constraint violation",
            r"maximum reject threshold .{0,40}?was reached",
            r"\boffending value\b",
            r"un-?representable datetime",
            r"divide by zero error encountered",
        ],
    ),
    (
        E.CONFIGURATION_ERROR,
        C,
        [
            r"(?-i:\b(?:INVALID_PARAMETER_VALUE|INVALID_RUN_CONFIGURATION|INVALID_CLUSTER_REQUEST|RESOURCE_DOES_NOT_EXIST|"
            r"FEATURE_DISABLED|SECRET_DOES_NOT_EXIST)\b)",
            r"\bInvalidTemplate\b",
            r"\bInputWidgetNotDefined\b",
            r"\bJreNotFound\b",
            r"\bSqlServerInvalidLinkedServiceCredentialMissing\b",
            r"\bSqlInvalidDb(?:StoredProcedure|QueryString)\b",
            _sql(208, 2812, 4060),
            _code("3201", "3602", "3603", "3606", "3607", "3609", "3611", "3612", "4101", "4110", "4111", "4112"),
            r"\bSecretNotFound\b",
            r"\bInvalidParameterValue\b",
        ],
    ),
    (
        E.CONFIGURATION_ERROR,
        W,
        [
            r"missing required (?:field|property|parameter)",
            r"node type .{0,60}?is not supported",
            r"(?:spark|runtime) version .{0,60}?(?:is not supported|is invalid|not found|does not exist)",
            r"invalid spark version",
            r"cluster .{0,80}?does not exist",
            r"no input widget named",
            r"secret .{0,80}?does not exist",
            r"secret scope .{0,60}?(?:does not exist|not found)",
            r"format of the initialization string does not conform",
            r"keyword not supported",
            r"expression .{0,200}?cannot be evaluated",
            r"no value provided for (?:the )?parameter",
            r"(?:parameter|property) .{0,80}?(?:is|was) not (?:provided|defined|found|specified|set)",
            r"should have .{0,80}?as required propert",
            r"should specify either",
            r"invalid (?:python file )?uri",
            r"is not a valid (?:value|url|uri|path|format|json)",
            r"linked ?service .{0,80}?(?:is invalid|not found|is missing)",
            r"invalid object name",
            r"could not find stored procedure",
            r"integration runtime .{0,80}?(?:not found|is not supported)",
            r"unsupported (?:node type|runtime|file format|compression)",
            r"invalid (?:configuration|config)\b",
            r"misconfigur",
            r"notebook .{0,120}?(?:not found|does not exist)",
            r"\bmissing (?:linked service|function key|property)\b",
            r"(?:activity|dataset|pipeline) .{0,80}?has (?:an )?invalid",
            r"could not parse request object",
            r"issued an invalid request to start the cluster",
            r"access a feature unavailable for the workspace",
            r"failed to complete the checkout",
            r"resource necessary for run execution does not exist",
            r"failed due to an invalid configuration",
            r"failure to initialize configuration",
            r"cannot open database .{1,120}? requested by the login",
            r"cannot resolve the account of",
            r"cannot access user (?:batch|storage) account",
            r"request size is too large",
            r"guidrepresentation for the reader",
            r"(?:file|folder) path should not be null or empty",
        ],
    ),
    (E.CONFIGURATION_ERROR, G, [r"\bBadRequest\b", _status(400)]),
    # ── identity ─────────────────────────────────────────────────────────────
    (
        E.PERMISSION_DENIED,
        C,
        [
            r"\bAuthorizationPermissionMismatch\b",
            r"\bAuthorizationFailure\b",
            r"\bAuthorizationFailed\b",
            r"(?-i:\b(?:PERMISSION_DENIED|INSUFFICIENT_PERMISSIONS|INSUFFICIENT_PRIVILEGES)\b)",
            _sql(229, 230, 262, 297, 300, 916, 40615, 47073),
            r"\bAccessDeniedException\b",
            r"\bPermissionError\b",
            r"\bForbiddenBy(?:Policy|Firewall|Rbac)\b",
            r"\bAADSTS(?:65001|50105|53003|50020)\b",
        ],
    ),
    (
        E.PERMISSION_DENIED,
        W,
        [
            r"not authorized to perform",
            r"permission (?:was |is )?denied",
            r"(?:do|does) not have (?:the )?(?:required |sufficient |necessary )?"
            r"(?:permissions?|privileges?|authorization|access)",
            r"insufficient (?:privileges|permissions)",
            r"(?:is|are) not authorized to (?:access|use|read|write|view|run|manage)",
            r"access (?:is |was )?denied",
            r"caller was not found on any access policy",
            r"acl verification failed",
            r"is not allowed to access the server",
            r"deny public network access",
            r"(?:blocked|denied) by (?:the )?(?:firewall|network)",
            r"not permitted",
            r"lacks? the required permissions?",
            r"user is not authorized",
            r"is not authorized\.",
            r"does not have secrets? (?:get|list) permission",
            r"because it does not exist or you do not have permissions?",
            r"permission issue while accessing a resource",
            r"is not able to access the database .{0,120}?under the current security context",
            r"error when accessing the customer blob storage",
        ],
    ),
    (E.PERMISSION_DENIED, G, [_status(403), r"\bForbidden\b", r"(?-i:\bUNAUTHORIZED_ERROR\b)"]),
    (
        E.AUTHENTICATION_ERROR,
        C,
        [
            r"\bAADSTS(?:7000215|7000222|700016|50126|50034|700024|90002|700027|50173|7000112|500011|70002|7000216|50055|50057)\b",
            r"\binvalid_client\b",
            r"\binvalid_grant\b",
            r"\bAuthenticationFailed\b",
            r"\bInvalidAuthenticationInfo\b",
            r"\bExpiredAuthenticationToken\b",
            r"\bInvalidAuthenticationToken\b",
            r"(?-i:\bUNAUTHENTICATED\b)",
            _sql(18456, 18452, 18470, 18487, 18488),
            r"\bCredentialUnavailableError\b",
            r"\bClientAuthenticationError\b",
            _code("3200"),
            # SSH/SFTP print a rejected password or key as "Permission denied (password)".
            r"permission denied \((?:password|publickey|keyboard-interactive)",
        ],
    ),
    (
        E.AUTHENTICATION_ERROR,
        W,
        [
            r"\bAADSTS\d{5,7}\b",
            r"login failed for user",
            r"server failed to authenticate",
            r"(?:access |sas |bearer |personal access |the )?token (?:has |is )?expired",
            r"expired (?:access |sas )?token",
            r"invalid (?:access |bearer |personal access |api |sas )?(?:token|key)\b",
            r"invalid client secret",
            r"client secret .{0,80}?(?:expired|invalid)",
            r"signature did not match",
            r"signature (?:fields )?not well formed",
            r"signed expiry time",
            r"authentication (?:has )?failed",
            r"failed to authenticate",
            r"unable to authenticate",
            r"(?:user ?name|password)(?: or password)? is incorrect",
            r"invalid (?:username or password|credentials?)",
            r"credentials? (?:are|is|were|was) (?:invalid|incorrect|expired|rejected)",
            r"\bunauthenticated\b",
            r"could not be authenticated",
            r"password (?:has )?expired",
            r"secret (?:has )?expired",
            r"access token is from the wrong tenant",
            r"input authorization token can.t serve the request",
            r"could not find adls gen2 token",
            r"user name or password is incorrect",
            r"is locked out",
        ],
    ),
    (E.AUTHENTICATION_ERROR, G, [_status(401), r"\bUnauthorized\b"]),
    # ── transport and service health ─────────────────────────────────────────
    (
        E.THROTTLING_ERROR,
        C,
        [
            r"\bTooManyRequestsException\b",
            r"\bServerBusy\b",
            r"(?-i:\b(?:REQUEST_LIMIT_EXCEEDED|WORKSPACE_RUN_LIMIT_EXCEEDED|MAX_CONCURRENT_RUNS_EXCEEDED|"
            r"MAX_JOB_QUEUE_SIZE_EXCEEDED|CLUSTER_REQUEST_LIMIT_EXCEEDED|AZURE_RESOURCE_PROVIDER_THROTTLING)\b)",
            _sql(40501, 10928, 10929, 49918, 49919, 49920),
            r"\bRequestRateTooLarge\b",
            r"\bSubscriptionRequestsThrottled\b",
            r"\bThrottl(?:ed|ing)Exception\b",
            _status(429),
        ],
    ),
    (
        E.THROTTLING_ERROR,
        W,
        [
            r"request rate is (?:too )?large",
            r"session has been terminated because of excessive",
            r"too many requests",
            r"\bTooManyRequests\b",
            r"rate[- ]limit",
            r"\bthrottl",
            r"(?:service|server) is (?:currently )?busy",
            r"request limit for the database",
            r"resource id : \d+",
            r"exceeding rate limit",
            r"please retry after",
            r"maximum number of (?:concurrent|queued) (?:active )?(?:runs|jobs)",
            r"cannot accept your job at this moment",
            r"quota for the maximum number of concurrent active runs",
            r"exceeds the limit of maximum concurrent runs",
            r"job level queue size limit",
            r"administrator-defined policy prevents a job from using more than",
            r"busy with too many submit job requests",
            r"cannot accept submission of application",
            r"server response does not contain ssh protocol identification",
        ],
    ),
    (
        E.INTERNAL_SERVER_ERROR,
        C,
        [
            r"(?-i:\bInternalError\b)",
            _sql(40613, 40197, 40540),
            r"(?-i:\bTEMPORARILY_UNAVAILABLE\b)",
        ],
    ),
    (
        E.INTERNAL_SERVER_ERROR,
        W,
        [
            r"internal server error",
            r"service (?:is )?(?:temporarily )?unavailable",
            r"temporarily unavailable",
            r"an internal error (?:has )?occurred",
            r"server encountered an internal error",
            r"bad gateway",
            r"is not currently available",
            r"under maintenance",
            r"internal error occurred in the service",
            r"service has encountered an error processing your request",
            r"was deadlocked on .{0,40}?resources",
        ],
    ),
    (E.INTERNAL_SERVER_ERROR, G, [_status(500, 502, 503), r"\b(?:InternalServerError|ServiceUnavailable|BadGateway)\b",
        # Databricks uses INTERNAL_ERROR both as a termination code and as the life-cycle state of runs whose
        # cluster failed: a status, not a cause.
        r"(?-i:\bINTERNAL_ERROR\b)",
        r"\b50[023] (?:error|server error)"]),
    (
        E.GATEWAY_TIMEOUT,
        C,
        [
            r"\bSqlBatchWriteTimeout\b",
            r"\bUserErrorReadHttpFileTimeout\b",
            r"\bOperationTimedOut\b",
            r"\bSQLTimeoutException\b",
            _sql(-2),
            r"\bHttpClient\.Timeout\b",
            r"\bSystem\.TimeoutException\b",
            r"\bReadTimeout(?:Error|Exception)?\b",
        ],
    ),
    (
        E.GATEWAY_TIMEOUT,
        W,
        [
            # Win32's "The wait operation timed out" sits under query timeouts and handshakes alike: not decisive.
            r"(?<!wait )operation (?:has )?timed out",
            r"could not be completed within the specified time",
            r"timeout period elapsed prior to completion",
            r"execution timeout expired",
            r"read timed out",
            r"query (?:has )?timed out",
            r"statement (?:or warehouse )?timeout",
            r"timeouts? in sql write",
            r"gateway time-?out",
            r"request (?:has )?timed out",
            r"timed out waiting for (?:a |the )?(?:response|reply)",
            r"did not (?:respond|complete) (?:with)?in (?:the )?(?:allotted |configured |expected )?time",
            r"a task was cancell?ed",
        ],
    ),
    (E.GATEWAY_TIMEOUT, G, [_status(504, 408), r"\b(?:GatewayTimeout|RequestTimeout)\b"]),
    (
        E.HTTP_CONNECTION_FAILED,
        C,
        [
            r"\bSqlOpenConnectionTimeout\b",
            _sql(10060, 10061, 10054, 10053, 53, 40, 11001, 121, 233),
            r"\bUnknownHostException\b",
            r"\bjava\.net\.ConnectException\b",
            r"\bNoRouteToHostException\b",
            r"\bSSLHandshakeException\b",
            r"\bConnectTimeout(?:Error|Exception)?\b",
            r"\bConnectionRefusedError\b",
            r"\bConnectionResetError\b",
            r"\bNewConnectionError\b",
            r"\bSqlConnectionIsClosed\b",
            r"\bNameResolutionError\b",
            r"\bsocket\.gaierror\b",
            r"(?-i:\b(?:ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN)\b)",
        ],
    ),
    (
        E.HTTP_CONNECTION_FAILED,
        W,
        [
            r"no such host is known",
            r"could not resolve host",
            r"name or service not known",
            r"temporary failure in name resolution",
            r"(?:remote name|host ?name) could not be resolved",
            r"failed to resolve (?:host|hostname|address|name)",
            r"connection (?:was )?refused",
            r"connection (?:was )?reset",
            r"forcibly closed by the remote host",
            r"underlying connection was closed",
            r"network-related or instance-specific error",
            r"error occurred while sending the request",
            r"\bconnect(?:ion)? timed out",
            r"connection timeout expired",
            r"timeout period elapsed while attempting to",
            r"unable to connect to",
            r"failed to establish (?:a )?(?:new )?connection",
            r"could not establish (?:a )?(?:secure )?(?:connection|trust relationship)",
            r"certificate verify failed",
            r"remote certificate is invalid",
            r"network is unreachable",
            r"broken pipe",
            r"the connection is closed",
            r"server was not found or was not accessible",
            r"remote end closed connection",
            r"connection (?:was )?(?:aborted|dropped)",
            r"cannot connect to",
            r"could not connect to",
            r"requires an open and available connection",
            r"error occurred during the pre-login handshake",
        ],
    ),
    # ── inputs ───────────────────────────────────────────────────────────────
    (
        E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS,
        C,
        [
            r"\bUserErrorSourceBlobNotExists\b",
            r"\bBlobNotFound\b",
            r"\bPathNotFound\b",
            r"\bContainerNotFound\b",
            r"\bFilesystemNotFound\b",
            r"\bFileNotFoundException\b",
            r"\bFileNotFoundError\b",
            r"(?-i:\bPATH_NOT_FOUND\b)",
            r"\bUserErrorFileNotFound\b",
            r"\bNoSuchKey\b",
        ],
    ),
    (
        E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS,
        W,
        [
            r"required blob is missing",
            r"path does not exist",
            r"specified (?:blob|path|container|file(?:system)?) does not exist",
            r"no such file or directory",
            r"file (?:was )?not found",
            r"cannot find the .{0,60}?file or folder",
            r"could not find (?:the )?file",
            r"blobcount: 0\b",
            r"(?:file|path|blob|folder) .{0,120}?does not exist",
        ],
    ),
    # ── user code (Databricks) ───────────────────────────────────────────────
    (
        E.DATABRICKS_JOB_EXECUTION_ERROR,
        C,
        [
            r"(?-i:\b(?:TABLE_OR_VIEW_NOT_FOUND|PARSE_SYNTAX_ERROR|DELTA_CONCURRENT_\w+|DELTA_METADATA_CHANGED|"
            r"DELTA_PROTOCOL_CHANGED|UNRESOLVED_ROUTINE|SCHEMA_NOT_FOUND|DELTA_TABLE_NOT_FOUND|WRONG_NUM_ARGS)\b)",
            r"\bConcurrent(?:Append|DeleteRead|DeleteDelete|Transaction)Exception\b",
            r"\bMetadataChangedException\b",
            r"\bProtocolChangedException\b",
            r"\bParseException\b",
            r"\bSyntaxError\b",
            r"\bIndentationError\b",
            r"\bNameError\b",
            r"table or view not found",
            r"\bNoSuchTableException\b",
        ],
    ),
    (
        E.DATABRICKS_JOB_EXECUTION_ERROR,
        W,
        [
            r"table or view .{0,100}?cannot be found",
            r"syntax error at or near",
            r"exception was thrown from (?:the |a )?(?:python worker|udf)",
            r"job execution failed",
            r"workload failed",
            r"(?:notebook|command|cell) (?:execution )?failed",
        ],
    ),
    (
        E.DATABRICKS_JOB_EXECUTION_ERROR,
        G,
        [
            r"\b(?:ValueError|KeyError|TypeError|AttributeError|IndexError|AssertionError|RuntimeError|ZeroDivisionError|"
            r"NotImplementedError|UnboundLocalError|RecursionError|ImportError|Exception|NullPointerException|"
            r"IllegalArgumentException|IllegalStateException|UnsupportedOperationException|ArithmeticException|"
            r"ArrayIndexOutOfBoundsException|NumberFormatException|SparkException|AnalysisException|Py4JJavaError|"
            r"PythonException|WorkflowException|NotebookException|StreamingQueryException|SparkRuntimeException)\b",
        ],
    ),
]

def _anchors(pattern: str) -> frozenset[str] | None:
    """Literals one of which every match of `pattern` contains, read from the regex parse tree.

    Uses the standard library's regex parser (`re._parser`, private); if its shape
    ever changes the signal simply has no anchors and is always tried.
    """
    try:
        parser: Any = importlib.import_module("re._parser")
        constants: Any = importlib.import_module("re._constants")
        return _sequence_anchors(parser.parse(pattern, re.IGNORECASE), constants)
    except Exception:  # a prefilter must never break classification
        return None


def _sequence_anchors(sequence: Any, constants: Any) -> frozenset[str] | None:
    best, run = "", ""
    nested: list[frozenset[str]] = []
    for op, arg in sequence:
        if op is constants.LITERAL:
            run += chr(arg)
            continue
        best, run = max(best, run, key=len), ""
        if op is constants.SUBPATTERN:
            inner = _sequence_anchors(arg[-1], constants)
            if inner:
                nested.append(inner)
        elif op is constants.BRANCH:
            branches = [_sequence_anchors(branch, constants) for branch in arg[1]]
            if all(branches):
                nested.append(frozenset().union(*(b for b in branches if b)))
    best = max(best, run, key=len)
    if len(best.strip()) >= 3:
        return frozenset({best.lower()})
    return min(nested, key=len) if nested else None


# ── signals generated from the vendor catalogs (analysis/catalogs.py) ─────────

Row = tuple[ErrorType, Tier, list[str]]


def _by_type(table: Mapping[Any, ErrorType], skip: Collection[Any] = ()) -> dict[ErrorType, list[str]]:
    """Catalog keys grouped by type, longest first (so an alternation prefers the longer code); causes only."""
    grouped: dict[ErrorType, list[str]] = {}
    for key in sorted(table, key=lambda k: (-len(str(k)), str(k))):
        if table[key] is not E.UNKNOWN_ERROR and key not in skip:
            grouped.setdefault(table[key], []).append(str(key))
    return grouped


def _rows(table: Mapping[Any, ErrorType], tier: Tier, template: str, skip: Collection[Any] = ()) -> list[Row]:
    """One signal per type: `template` with `{alt}` replaced by the alternation of that type's codes."""
    grouped = _by_type(table, skip)
    return [(t, tier, [template.replace("{alt}", "|".join(map(re.escape, keys)))]) for t, keys in grouped.items()]


# SQLSTATE as JDBC/Spark ("SQLSTATE: 42P01", "SQLState = HY008") and ODBC ("ERROR [28000]") print it.
_SQLSTATE = r"(?:sql ?state\W{0,4}|(?-i:\bERROR \[))"


def _humanized(table: Mapping[str, ErrorType], skip: Collection[str]) -> dict[str, ErrorType]:
    """Multi-word codes as the UI and state messages spell them ("Cloud Provider Launch Failure")."""
    return {code.replace("_", " "): t for code, t in table.items() if "_" in code and code not in skip}


def _catalog_rows() -> list[Row]:
    word = r"(?-i:\b(?:{alt})\b)"
    generic = {k: v for k, v in catalogs.DATABRICKS_CODES.items() if k in catalogs.GENERIC_DATABRICKS_CODES}
    sql_numbers = _by_type(catalogs.AZURE_SQL_ERRORS)
    return [
        *_rows(catalogs.DATABRICKS_CODES, C, word, skip=catalogs.GENERIC_DATABRICKS_CODES),
        *_rows(generic, G, word),
        *_rows(
            _humanized(catalogs.DATABRICKS_CODES, catalogs.GENERIC_DATABRICKS_CODES),
            C,
            r"(?:reason|termination(?: code)?|terminated(?: due to)?)\W{1,5}(?:{alt})\b",
        ),
        # API error codes are ordinary words (NOT_FOUND, ABORTED): trusted only as a value or a prefix.
        *_rows(catalogs.DATABRICKS_API_ERRORS, C, r"(?-i:(?:error_code\W{1,4}|ErrorClass=)(?:{alt})\b|\b(?:{alt}):\s)"),
        *_rows(catalogs.SPARK_ERROR_CLASSES, C, r"(?-i:\b(?:{alt})(?:\.[A-Z0-9_]+)?\b)"),
        *_rows(catalogs.SQLSTATE_EXACT, W, _SQLSTATE + r"(?:{alt})\b"),
        *_rows(catalogs.SQLSTATE_CLASSES, G, _SQLSTATE + r"(?:{alt})[0-9A-Z]{3}\b"),
        *_rows(catalogs.ADF_ACTIVITY_CODES, C, _code("{alt}")),
        *_rows(catalogs.ADF_NAMED_CODES, C, word),
        *_rows(catalogs.ADF_NAMED_WRAPPERS, X, word),
        *[(t, C, [_sql(*(int(n) for n in numbers))]) for t, numbers in sql_numbers.items()],
        *_rows(catalogs.COSMOS_SUBSTATUS, C, r"sub-?status(?:\s*code)?\W{0,4}(?:{alt})\b"),
        *_rows(catalogs.COSMOS_STATUS, G, r"(?:status(?:\s*code)?\W{0,4}|\()(?:{alt})\b"),
        *_rows(catalogs.STORAGE_CODES, C, word),
        *_rows(catalogs.AADSTS_CODES, C, r"\bAADSTS(?:{alt})\b"),
        *[(t, G, [_status(*(int(code) for code in codes))]) for t, codes in _by_type(catalogs.HTTP_STATUS).items()],
        *[(t, W, [pattern]) for t, pattern in catalogs.LOCALIZED],
    ]


SIGNALS: tuple[Signal, ...] = tuple(
    Signal(error_type, tier, re.compile(pattern, re.IGNORECASE), _anchors(pattern))
    # Catalog rows first: on a tie (same tier, same place) the exact vendor code wins over a hand-written pattern.
    for error_type, tier, patterns in [*_catalog_rows(), *_TABLE]
    for pattern in patterns
)
