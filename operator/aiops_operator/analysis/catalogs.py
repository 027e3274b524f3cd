"""Vendor error catalogs mapped onto the taxonomy: complete tables, not guesses.

Each table holds plain strings (no SDK import at runtime) and says in one line
why its entries map the way they do. `signals` turns them into regular
expressions; `tests/unit/analysis/test_catalogs.py` iterates the databricks-sdk
enums so a code Databricks adds without a row here fails the build.

An entry mapped to UnknownError is a state or a wrapper, not a cause: it
never decides the type (the text around it does).
"""

from __future__ import annotations

from aiops_operator.api import ErrorType

E = ErrorType
_U = E.UNKNOWN_ERROR


def _rows(error_type: ErrorType, names: str) -> dict[str, ErrorType]:
    return dict.fromkeys(names.split(), error_type)


# ── Databricks ───────────────────────────────────────────────────────────────

DATABRICKS_CODES: dict[str, ErrorType] = {
    # Why: compute.TerminationReasonCode, jobs.TerminationCodeCode, RunResultState and RunLifeCycleState name
    # who ended a cluster or run; capacity names beat launch failures, *_DUE_TO_MISCONFIG is the user's setup,
    # states (RUNNING, FAILED, SUCCESS...) and user/inactivity endings are not causes.
    **_rows(E.DATABRICKS_RESOURCE_EXHAUSTED, """
        ALLOCATION_TIMEOUT ALLOCATION_TIMEOUT_NODE_DAEMON_NOT_READY
        ALLOCATION_TIMEOUT_NO_HEALTHY_AND_WARMED_UP_CLUSTERS ALLOCATION_TIMEOUT_NO_HEALTHY_CLUSTERS
        ALLOCATION_TIMEOUT_NO_MATCHED_CLUSTERS ALLOCATION_TIMEOUT_NO_READY_CLUSTERS
        ALLOCATION_TIMEOUT_NO_UNALLOCATED_CLUSTERS ALLOCATION_TIMEOUT_NO_WARMED_UP_CLUSTERS
        AWS_INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET_FAILURE AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE
        AWS_MAX_SPOT_INSTANCE_COUNT_EXCEEDED_FAILURE AWS_RESOURCE_QUOTA_EXCEEDED AZURE_QUOTA_EXCEEDED_EXCEPTION
        BUDGET_POLICY_LIMIT_ENFORCEMENT_ACTIVATED BUDGET_POLICY_LIMIT_EXCEEDED CLOUD_ACCOUNT_POD_QUOTA_EXCEEDED
        CLOUD_PROVIDER_RESOURCE_STOCKOUT CLOUD_PROVIDER_RESOURCE_STOCKOUT_DUE_TO_MISCONFIG
        DOCKER_IMAGE_TOO_LARGE_FOR_INSTANCE_EXCEPTION DRIVER_OUT_OF_DISK DRIVER_OUT_OF_MEMORY
        EXECUTOR_POD_UNSCHEDULED GCP_INSUFFICIENT_CAPACITY GCP_IP_SPACE_EXHAUSTED GCP_QUOTA_EXCEEDED
        GCP_RESOURCE_QUOTA_EXCEEDED INSTANCE_POOL_MAX_CAPACITY_REACHED INTERNAL_CAPACITY_FAILURE
        IP_EXHAUSTION_FAILURE K8S_ACTIVE_POD_QUOTA_EXCEEDED LAZY_ALLOCATION_TIMEOUT MAX_SPARK_CONTEXTS_EXCEEDED
        SUBNET_EXHAUSTED_FAILURE EXECUTOR_OUT_OF_MEMORY
    """),
    **_rows(E.THROTTLING_ERROR, """
        AWS_REQUEST_LIMIT_EXCEEDED AZURE_RESOURCE_MANAGER_THROTTLING AZURE_RESOURCE_PROVIDER_THROTTLING
        CLUSTER_OPERATION_THROTTLED GCP_API_RATE_QUOTA_EXCEEDED IN_PENALTY_BOX RATE_LIMITED REQUEST_THROTTLED
        SPARK_IMAGE_DOWNLOAD_THROTTLED STORAGE_DOWNLOAD_FAILURE_THROTTLED CLUSTER_REQUEST_LIMIT_EXCEEDED
        MAX_CONCURRENT_RUNS_EXCEEDED MAX_JOB_QUEUE_SIZE_EXCEEDED WORKSPACE_RUN_LIMIT_EXCEEDED
        MAXIMUM_CONCURRENT_RUNS_REACHED
    """),
    **_rows(E.DATABRICKS_CLUSTER_START_FAILURE, """
        ATTACH_PROJECT_FAILURE AZURE_EPHEMERAL_DISK_FAILURE AZURE_PACKED_DEPLOYMENT_PARTIAL_FAILURE
        AZURE_UNEXPECTED_DEPLOYMENT_TEMPLATE_FAILURE AZURE_VM_EXTENSION_FAILURE BOOTSTRAP_TIMEOUT
        BOOTSTRAP_TIMEOUT_CLOUD_PROVIDER_EXCEPTION CLOUD_OPERATION_CANCELLED CLOUD_PROVIDER_DISK_SETUP_FAILURE
        CLOUD_PROVIDER_INSTANCE_NOT_LAUNCHED CLOUD_PROVIDER_LAUNCH_FAILURE CLUSTER_OPERATION_TIMEOUT
        CONTAINER_LAUNCH_FAILURE DBR_IMAGE_RESOLUTION_FAILURE DOCKER_CONTAINER_CREATION_EXCEPTION
        DOCKER_IMAGE_PULL_FAILURE DRIVER_LAUNCH_TIMEOUT DRIVER_POD_CREATION_FAILURE GCP_IAM_TIMEOUT
        GLOBAL_INIT_SCRIPT_FAILURE HIVE_METASTORE_PROVISIONING_FAILURE INIT_CONTAINER_NOT_FINISHED
        INIT_SCRIPT_FAILURE INSTANCE_POOL_CLUSTER_FAILURE K8S_AUTOSCALING_FAILURE K8S_DBR_CLUSTER_LAUNCH_TIMEOUT
        NETVISOR_SETUP_TIMEOUT NETWORK_CHECK_CONTROL_PLANE_FAILURE NETWORK_CHECK_DNS_SERVER_FAILURE
        NETWORK_CHECK_METADATA_ENDPOINT_FAILURE NETWORK_CHECK_MULTIPLE_COMPONENTS_FAILURE
        NETWORK_CHECK_NIC_FAILURE NETWORK_CHECK_STORAGE_FAILURE NETWORK_CONFIGURATION_FAILURE NFS_MOUNT_FAILURE
        NPIP_TUNNEL_SETUP_FAILURE NPIP_TUNNEL_TOKEN_FAILURE POD_ASSIGNMENT_FAILURE POD_SCHEDULING_FAILURE
        SECURITY_DAEMON_REGISTRATION_EXCEPTION SELF_BOOTSTRAP_FAILURE SKIPPED_SLOW_NODES SLOW_IMAGE_DOWNLOAD
        SPARK_ERROR SPARK_IMAGE_DOWNLOAD_FAILURE SPARK_STARTUP_FAILURE SSH_BOOTSTRAP_FAILURE
        STORAGE_DOWNLOAD_FAILURE STORAGE_DOWNLOAD_FAILURE_SLOW STS_CLIENT_SETUP_FAILURE
        UNEXPECTED_LAUNCH_FAILURE WORKER_SETUP_FAILURE CLUSTER_START_FAILURE
    """),
    **_rows(E.CONFIGURATION_ERROR, """
        AWS_INSTANCE_PROFILE_UPDATE_FAILURE AWS_INVALID_KEY_PAIR AWS_INVALID_KMS_KEY_STATE
        AWS_UNSUPPORTED_FAILURE AZURE_INVALID_DEPLOYMENT_TEMPLATE AZURE_VNET_CONFIGURATION_FAILURE
        BOOTSTRAP_TIMEOUT_DUE_TO_MISCONFIG BUDGET_POLICY_RESOLUTION_FAILURE CLOUD_ACCOUNT_SETUP_FAILURE
        CLOUD_PROVIDER_LAUNCH_FAILURE_DUE_TO_MISCONFIG CONTROL_PLANE_CONNECTION_FAILURE_DUE_TO_MISCONFIG
        CONTROL_PLANE_REQUEST_FAILURE_DUE_TO_MISCONFIG DATA_ACCESS_CONFIG_CHANGED DOCKER_INVALID_OS_EXCEPTION
        DYNAMIC_SPARK_CONF_SIZE_EXCEEDED EOS_SPARK_IMAGE GCP_NOT_FOUND GCP_SERVICE_ACCOUNT_DELETED
        GCP_SERVICE_ACCOUNT_NOT_FOUND GCP_SUBNET_NOT_READY INSTANCE_POOL_NOT_FOUND
        INSTANCE_UNREACHABLE_DUE_TO_MISCONFIG INVALID_ARGUMENT INVALID_AWS_PARAMETER
        INVALID_INSTANCE_PLACEMENT_PROTOCOL INVALID_SPARK_IMAGE INVALID_WORKER_IMAGE_FAILURE
        NETWORK_CHECK_CONTROL_PLANE_FAILURE_DUE_TO_MISCONFIG NETWORK_CHECK_DNS_SERVER_FAILURE_DUE_TO_MISCONFIG
        NETWORK_CHECK_METADATA_ENDPOINT_FAILURE_DUE_TO_MISCONFIG
        NETWORK_CHECK_MULTIPLE_COMPONENTS_FAILURE_DUE_TO_MISCONFIG NETWORK_CHECK_NIC_FAILURE_DUE_TO_MISCONFIG
        NETWORK_CHECK_STORAGE_FAILURE_DUE_TO_MISCONFIG NO_MATCHED_K8S NO_MATCHED_K8S_TESTING_TAG
        SECRET_RESOLUTION_ERROR SPARK_IMAGE_NOT_FOUND STORAGE_DOWNLOAD_FAILURE_DUE_TO_MISCONFIG TRIAL_EXPIRED
        UNSUPPORTED_INSTANCE_TYPE UPDATE_INSTANCE_PROFILE_FAILURE WORKSPACE_CANCELLED_ERROR
        WORKSPACE_CONFIGURATION_ERROR BREAKING_CHANGE FEATURE_DISABLED INVALID_CLUSTER_REQUEST
        INVALID_RUN_CONFIGURATION REPOSITORY_CHECKOUT_FAILED RESOURCE_NOT_FOUND
    """),
    **_rows(E.PERMISSION_DENIED, """
        ABUSE_DETECTED AWS_AUTHORIZATION_FAILURE AWS_INACCESSIBLE_KMS_KEY_FAILURE
        AZURE_BYOK_KEY_PERMISSION_FAILURE AZURE_OPERATION_NOT_ALLOWED_EXCEPTION GCP_DENIED_BY_ORG_POLICY
        GCP_FORBIDDEN GCP_INACCESSIBLE_KMS_KEY_FAILURE GCP_KMS_KEY_PERMISSION_DENIED
        GCP_SERVICE_ACCOUNT_ACCESS_DENIED GCP_TRUSTED_IMAGE_PROJECTS_VIOLATED IMAGE_PULL_PERMISSION_DENIED
        RESOURCE_USAGE_BLOCKED SECRET_PERMISSION_DENIED USAGE_POLICY_ENTITLEMENT_DENIED STORAGE_ACCESS_ERROR
        UNAUTHORIZED_ERROR
    """),
    **_rows(E.AUTHENTICATION_ERROR, "ACCESS_TOKEN_FAILURE"),
    **_rows(E.HTTP_CONNECTION_FAILED, """
        CONTROL_PLANE_CONNECTION_FAILURE DATABASE_CONNECTION_FAILURE DNS_RESOLUTION_ERROR
        HIVEMETASTORE_CONNECTIVITY_FAILURE MTLS_PORT_CONNECTIVITY_FAILURE
    """),
    **_rows(E.CLUSTER_UNEXPECTED_TERMINATION, """
        CLOUD_PROVIDER_SHUTDOWN COMMUNICATION_LOST DBFS_COMPONENT_UNHEALTHY DISASTER_RECOVERY_REPLICATION
        DRIVER_EVICTION EXECUTION_COMPONENT_UNHEALTHY GKE_BASED_CLUSTER_TERMINATION INSTANCE_UNREACHABLE
        MAINTENANCE_MODE METASTORE_COMPONENT_UNHEALTHY NEPHOS_RESOURCE_MANAGEMENT
        SERVERLESS_LONG_RUNNING_TERMINATED SPOT_INSTANCE_TERMINATION UNEXPECTED_POD_RECREATION
        USER_INITIATED_VM_TERMINATION WORKSPACE_UPDATE SPOT_INSTANCE_PREEMPTION NODES_LOST NODE_LOST
    """),
    **_rows(E.DATABRICKS_DRIVER_NOT_RESPONDING, """
        DRIVER_NODE_UNREACHABLE DRIVER_UNEXPECTED_FAILURE DRIVER_UNHEALTHY DRIVER_UNREACHABLE
        DRIVER_UNRESPONSIVE DRIVER_ERROR DRIVER_NOT_RESPONDING
    """),
    **_rows(E.INTERNAL_SERVER_ERROR, """
        CONTROL_PLANE_REQUEST_FAILURE REQUEST_REJECTED SECRET_CREATION_FAILURE TEMPORARILY_UNAVAILABLE
    """),
    **_rows(E.DATABRICKS_LIBRARY_INSTALLATION_ERROR, "LIBRARY_INSTALLATION_ERROR DRIVER_LIBRARY_INSTALLATION_FAILURE"),
    **_rows(E.DATABRICKS_TIMEOUT_ERROR, "TIMEDOUT"),
    **_rows(_U, """
        INACTIVITY JOB_FINISHED USER_REQUEST UNKNOWN CANCELED USER_CANCELED SKIPPED SUCCESS
        SUCCESS_WITH_FAILURES RUN_EXECUTION_ERROR CLUSTER_ERROR DISABLED EXCLUDED FAILED UPSTREAM_CANCELED
        UPSTREAM_FAILED BLOCKED PENDING QUEUED RUNNING TERMINATED TERMINATING WAITING_FOR_RETRY
    """),
    # Generic: Databricks uses these both as a code and as a state; they decide only when nothing else does.
    "INTERNAL_ERROR": E.INTERNAL_SERVER_ERROR,
    "CLOUD_FAILURE": E.CLUSTER_UNEXPECTED_TERMINATION,
}
GENERIC_DATABRICKS_CODES = frozenset({"INTERNAL_ERROR", "CLOUD_FAILURE"})

DATABRICKS_API_ERRORS: dict[str, ErrorType] = {
    # Why: the REST API's `error_code` values (databricks-sdk `errors`) are gRPC-style statuses with fixed meanings.
    **_rows(E.CONFIGURATION_ERROR, """
        INVALID_PARAMETER_VALUE RESOURCE_DOES_NOT_EXIST RESOURCE_ALREADY_EXISTS MALFORMED_REQUEST INVALID_STATE
        BAD_REQUEST NOT_FOUND SECRET_DOES_NOT_EXIST ALREADY_EXISTS INVALID_REQUEST
    """),
    **_rows(E.PERMISSION_DENIED, "PERMISSION_DENIED"),
    **_rows(E.AUTHENTICATION_ERROR, "UNAUTHENTICATED CUSTOMER_UNAUTHORIZED"),
    **_rows(E.THROTTLING_ERROR, "REQUEST_LIMIT_EXCEEDED RESOURCE_EXHAUSTED TOO_MANY_REQUESTS"),
    **_rows(E.DATABRICKS_RESOURCE_EXHAUSTED, "QUOTA_EXCEEDED"),
    **_rows(E.INTERNAL_SERVER_ERROR, "UNAVAILABLE DATA_LOSS ABORTED"),
    **_rows(E.GATEWAY_TIMEOUT, "DEADLINE_EXCEEDED"),
}

SPARK_ERROR_CLASSES: dict[str, ErrorType] = {
    # Why: Spark's error-conditions catalog (and Databricks' additions) name the failing rule: values → data
    # quality, structure → schema, missing inputs → source missing, access → permission, code/SQL → job execution.
    **_rows(E.DATA_QUALITY_ERROR, """
        CAST_INVALID_INPUT CAST_OVERFLOW CAST_OVERFLOW_IN_TABLE_INSERT DIVIDE_BY_ZERO ARITHMETIC_OVERFLOW
        BINARY_ARITHMETIC_OVERFLOW NUMERIC_VALUE_OUT_OF_RANGE NUMERIC_OUT_OF_SUPPORTED_RANGE DATETIME_OVERFLOW
        CANNOT_PARSE_TIMESTAMP CANNOT_PARSE_DECIMAL CANNOT_PARSE_JSON_FIELD MALFORMED_RECORD_IN_PARSING
        MALFORMED_CSV_RECORD CONVERSION_INVALID_INPUT DELTA_NOT_NULL_CONSTRAINT_VIOLATED
        NOT_NULL_CONSTRAINT_VIOLATION DELTA_VIOLATE_CONSTRAINT_WITH_VALUES DELTA_VIOLATE_CONSTRAINT
        CHECK_CONSTRAINT_VIOLATION DELTA_DUPLICATE_KEY DELTA_DUPLICATE_KEYS
        DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE DUPLICATED_MAP_KEY NULL_MAP_KEY ROW_VALUE_IS_NULL
        INVALID_DATETIME_PATTERN DATETIME_FIELD_OUT_OF_BOUNDS INVALID_FRACTION_OF_SECOND EXPECTATION_VIOLATION
        DLT_EXPECTATIONS_VIOLATED
    """),
    **_rows(E.SCHEMA_MISMATCH, """
        UNRESOLVED_COLUMN UNRESOLVED_FIELD UNRESOLVED_MAP_KEY FIELD_NOT_FOUND COLUMN_ALREADY_EXISTS
        DELTA_FAILED_TO_MERGE_FIELDS FAILED_TO_MERGE_FIELDS DELTA_SCHEMA_MISMATCH DELTA_SCHEMA_CHANGED
        DELTA_SCHEMA_CHANGE_SINCE_ANALYSIS _LEGACY_ERROR_TEMP_DELTA_0007 DELTA_MERGE_INCOMPATIBLE_DATATYPE
        DELTA_COLUMN_NOT_FOUND DELTA_COLUMN_NOT_FOUND_IN_MERGE DELTA_MISSING_COLUMN
        DELTA_INSERT_COLUMN_ARITY_MISMATCH INSERT_COLUMN_ARITY_MISMATCH INCOMPATIBLE_DATA_FOR_TABLE
        CANNOT_UP_CAST_DATATYPE NUM_COLUMNS_MISMATCH DATATYPE_MISMATCH INCOMPATIBLE_COLUMN_TYPE
        CANNOT_MERGE_INCOMPATIBLE_DATA_TYPE CANNOT_MERGE_SCHEMAS AVRO_INCOMPATIBLE_READ_TYPE
        DELTA_NOT_NULL_COLUMN_NOT_FOUND_IN_STRUCT DELTA_COLUMN_STRUCT_TYPE_MISMATCH
        DELTA_GENERATED_COLUMNS_DATA_TYPE_MISMATCH DELTA_MERGE_UNRESOLVED_EXPRESSION
        PARQUET_COLUMN_DATA_TYPE_MISMATCH FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH
        INCOMPATIBLE_VIEW_SCHEMA_CHANGE DELTA_MISSING_SET_COLUMN
    """),
    **_rows(E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS, """
        PATH_NOT_FOUND DELTA_FILE_NOT_FOUND DELTA_FILE_NOT_FOUND_DETAILED FAILED_READ_FILE.FILE_NOT_EXIST
        CLOUD_FILE_SOURCE_FILE_NOT_FOUND DELTA_PATH_DOES_NOT_EXIST
    """),
    **_rows(E.PERMISSION_DENIED, """
        INSUFFICIENT_PERMISSIONS INSUFFICIENT_PRIVILEGES PERMISSION_DENIED UNAUTHORIZED_ACCESS
    """),
    **_rows(E.DATABRICKS_RESOURCE_EXHAUSTED, "UNABLE_TO_ACQUIRE_MEMORY SPARK_OUT_OF_MEMORY DRIVER_OUT_OF_MEMORY"),
    **_rows(E.DATABRICKS_LIBRARY_INSTALLATION_ERROR, "DATA_SOURCE_NOT_FOUND CANNOT_LOAD_FUNCTION_CLASS"),
    **_rows(E.CONFIGURATION_ERROR, """
        UC_NOT_ENABLED SQL_CONF_NOT_FOUND CANNOT_MODIFY_CONFIG DELTA_INVALID_FORMAT INVALID_PARAMETER_VALUE
        NO_SUCH_CATALOG_EXCEPTION UNBOUND_SQL_PARAMETER
    """),
    **_rows(E.DATABRICKS_JOB_EXECUTION_ERROR, """
        TABLE_OR_VIEW_NOT_FOUND PARSE_SYNTAX_ERROR UNRESOLVED_ROUTINE SCHEMA_NOT_FOUND CATALOG_NOT_FOUND
        DELTA_TABLE_NOT_FOUND DELTA_MISSING_DELTA_TABLE DELTA_CONCURRENT_APPEND DELTA_CONCURRENT_DELETE_READ
        DELTA_CONCURRENT_DELETE_DELETE DELTA_CONCURRENT_TRANSACTION DELTA_CONCURRENT_WRITE
        DELTA_METADATA_CHANGED DELTA_PROTOCOL_CHANGED WRONG_NUM_ARGS ROUTINE_NOT_FOUND
        TABLE_OR_VIEW_ALREADY_EXISTS AMBIGUOUS_REFERENCE INVALID_IDENTIFIER UNSUPPORTED_FEATURE
        FAILED_EXECUTE_UDF PYTHON_EXCEPTION NOT_A_PARTITIONED_TABLE INVALID_ARRAY_INDEX
        INVALID_ARRAY_INDEX_IN_ELEMENT_AT UNRESOLVED_ALIAS_IN_AGGREGATION MISSING_AGGREGATION VIEW_NOT_FOUND
        DELTA_TABLE_NOT_FOUND_IN_CATALOG
    """),
}

SQLSTATE_EXACT: dict[str, ErrorType] = {
    # Why: SQLSTATEs whose class is too broad (42 holds syntax, missing objects, columns and access alike).
    **_rows(E.PERMISSION_DENIED, "42501"),
    **_rows(E.SCHEMA_MISMATCH, "42703 42S22 42K09 42802 42804 42846 42S21 42711 42P18"),
    **_rows(E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS, "42K03"),
    **_rows(E.GATEWAY_TIMEOUT, "HY008 HYT00 57014"),
    **_rows(E.HTTP_CONNECTION_FAILED, "HYT01"),
}

SQLSTATE_CLASSES: dict[str, ErrorType] = {
    # Why: the ISO/ANSI SQLSTATE class (first two characters) says what kind of rule failed.
    "08": E.HTTP_CONNECTION_FAILED,  # connection exception
    "0A": E.DATABRICKS_JOB_EXECUTION_ERROR,  # feature not supported by the statement
    "21": E.DATA_QUALITY_ERROR,  # cardinality violation
    "22": E.DATA_QUALITY_ERROR,  # data exception
    "23": E.DATA_QUALITY_ERROR,  # integrity constraint violation
    "28": E.AUTHENTICATION_ERROR,  # invalid authorization specification
    "38": E.DATABRICKS_JOB_EXECUTION_ERROR,  # external routine (UDF) exception
    "39": E.DATABRICKS_JOB_EXECUTION_ERROR,
    "3D": E.DATABRICKS_JOB_EXECUTION_ERROR,  # invalid catalog name
    "3F": E.DATABRICKS_JOB_EXECUTION_ERROR,  # invalid schema name
    "40": E.DATABRICKS_JOB_EXECUTION_ERROR,  # transaction rollback (serialization, Delta conflicts)
    "42": E.DATABRICKS_JOB_EXECUTION_ERROR,  # syntax error or access rule violation
    "44": E.DATA_QUALITY_ERROR,  # WITH CHECK OPTION violation
    "53": E.DATABRICKS_RESOURCE_EXHAUSTED,  # insufficient resources
    "54": E.DATABRICKS_RESOURCE_EXHAUSTED,  # program limit exceeded
    "57": E.INTERNAL_SERVER_ERROR,  # operator intervention
    "51": E.CONFIGURATION_ERROR,  # invalid application state (e.g. DB2 package not bound)
    "58": E.INTERNAL_SERVER_ERROR,  # system error
    "XX": E.INTERNAL_SERVER_ERROR,  # internal error
    "0L": E.PERMISSION_DENIED,  # invalid grantor
    "0P": E.PERMISSION_DENIED,  # invalid role specification
}

# ── Azure Data Factory ───────────────────────────────────────────────────────

ADF_ACTIVITY_CODES: dict[str, ErrorType] = {
    # Why: the numbered activity codes of the ADF troubleshooting guide; wrappers (2200 copy, 2108 web call,
    # 3202/3204 Databricks, 3608/4121-4125 remote call failed) only decide when nothing inside says more.
    **_rows(E.CONFIGURATION_ERROR, """
        2103 2104 2105 2106 2110 2111 2112 2113 3201 3203 3602 3603 3604 3605 3606 3607 3609 3611 3612 4101 4110
        4111 4112 4113 4114 4115 4116 4117 4118 4119 4120 2001 2002 2003 2102 2107
    """),
    **_rows(E.AUTHENTICATION_ERROR, "3200 2403 2709"),
    **_rows(E.HTTP_CONNECTION_FAILED, "2128 3208"),
    **_rows(E.CONFIGURATION_ERROR, """
        2331 2340 2341 2343 2348 2352 2353 2354 2355 2356 2358 2359 2360 2362 2501 2502 2504 2505 2508 2509 2510
        2707 3610 4123 4124
    """),
    **_rows(E.AUTHENTICATION_ERROR, "2357 4121"),
    **_rows(E.PERMISSION_DENIED, "2704 2705"),
    **_rows(E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS, "2351 2507"),
    **_rows(E.INTERNAL_SERVER_ERROR, "2301 2303 4125"),
    # 3202 covers both "exceeding rate limit" and "is not authorized to access cluster" in the guide.
    # One code, several documented causes (3202: rate limit or not authorized; 2709: wrong tenant or job queue
    # full; 2711: ACL or missing file; 2300/2342/2345/2350: submit, connect or read failed) → the text decides.
    **_rows(_U, """
        2200 2011 2108 3202 3608 4122 4126 2000 2010 2709 2711 2703 2300 2302 2342 2345 2346 2347 2350 2361 2500
    """),
}
ADF_WRAPPER_CODES = frozenset({"3204"})
"""3204 ("job execution failed") says user code failed, but only when nothing inside names a cause."""

ADF_NAMED_CODES: dict[str, ErrorType] = {
    # Why: connector, copy and runtime codes of the ADF connector troubleshooting guides; *OperationFailed,
    # *FailedToConnect and *CallFailed wrap an inner cause and are listed in ADF_NAMED_WRAPPERS instead.
    **_rows(E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS, """
        UserErrorSourceBlobNotExists UserErrorFileNotFound UserErrorSourceFileNotExists SftpPathNotFound
        UserErrorPathNotFound FileShareFileNotFound
    """),
    **_rows(E.SCHEMA_MISMATCH, """
        SqlInvalidColumnName SqlAutoCreateTableTypeMapFailed SqlCreateTableFailedUnsupportedType
        UserErrorSchemaMappingCannotInferSinkColumnType UserErrorInvalidColumnMappingColumnNotFound
        UserErrorInvalidColumnMappingColumnCountMismatch UserErrorInvalidColumnName
        DelimitedTextMoreColumnsThanDefined DelimitedTextColumnNameNotAllowNull DelimitedTextTooLargeColumnCount
        ParquetColumnNotFound ParquetNotSupportedType ParquetMissedDecimalPrecisionScale
        ParquetInvalidDecimalPrecisionScale ParquetUnsupportedInterpretation OrcNotSupportedType
        UserErrorColumnNameNotAllowNull UserErrorInvalidColumnMappingColumnTypeMismatch
    """),
    **_rows(E.DATA_QUALITY_ERROR, """
        SqlBulkCopyInvalidColumnLength SqlDataTypeNotSupported TypeConversionFailure
        UserErrorTypeConversionFailure ParquetInvalidDataFormat ParquetBridgeInvalidData ParquetInvalidFile
        UserErrorInvalidDataValue DataConsistencyValidationNotSupportedForNonDirectBinaryCopy
        DelimitedTextBadDataDetected
    """),
    **_rows(E.CONFIGURATION_ERROR, """
        JreNotFound UserErrorJniException SqlInvalidDbStoredProcedure SqlInvalidDbQueryString
        SqlServerInvalidLinkedServiceCredentialMissing SqlParallelFailedToDetectPartitionColumn
        DelimitedTextIncorrectRowDelimiter DelimitedTextInvalidSettings
        ParquetUnsupportFileLevelCompressionOption AdlsGen2InvalidUrl AdlsGen2InvalidFolderPath
        AzureBlobInvalidBlockSize AzureBlobCredentialMissing AzureBlobInvalidEndpoint InvalidTemplate
        InputWidgetNotDefined UserErrorInvalidIntegrationRuntimeReference UserErrorIntegrationRuntimeNotFound
        UserErrorMissingPropertyInPayload UserErrorInvalidValueInPayload
        UserErrorUnsupportedHierarchicalComplexValue UserErrorInvalidFolderPath
        UserErrorSqlDWCopyCommandError UserErrorUnsupportedCompressionCodec AzureTableDuplicateColumnsFromSource
    """),
    **_rows(E.AUTHENTICATION_ERROR, """
        SqlUnauthorizedAccess SftpInvalidSftpCredential SftpAuthenticationFailure UserErrorInvalidCredential
        AdlsGen2UnauthorizedError UserErrorAadAuthenticationFailed
    """),
    **_rows(E.PERMISSION_DENIED, "AdlsGen2ForbiddenError SqlDeniedPublicAccess UserErrorAccessDenied"),
    **_rows(E.GATEWAY_TIMEOUT, """
        SqlBatchWriteTimeout UserErrorReadHttpFileTimeout AdlsGen2TimeoutError AzureBlobDataReadTimeout
        SqlBatchWriteTransactionFailed
    """),
    **_rows(E.HTTP_CONNECTION_FAILED, "SqlOpenConnectionTimeout SqlConnectionIsClosed UserErrorHttpConnectionFailed"),
    **_rows(E.INTERNAL_SERVER_ERROR, "AzureBlobServiceNotReturnExpectedDataLength"),
    # Further rows from the connector troubleshooting guide (Dynamics, ORC/Parquet, XML, SFTP, SharePoint).
    **_rows(E.SCHEMA_MISMATCH, """
        ParquetDataCountNotMatchColumnCount ParquetDataTypeNotMatchColumnType
        DynamicsMissingTargetForMultiTargetLookupField
    """),
    **_rows(E.DATA_QUALITY_ERROR, "OrcDateTimeExceedLimit XmlInvalid DynamicsInvalidTypeForMultiTargetLookupField"),
    **_rows(E.CONFIGURATION_ERROR, """
        SftpRenameOperationFail XmlSinkNotSupported XmlAttributeColumnNameConflict XmlValueColumnNameConflict
        DynamicsInvalidTargetForMultiTargetLookupField
    """),
    **_rows(E.AUTHENTICATION_ERROR, "SharePointOnlineAuthFailed"),
    **_rows(E.INTERNAL_SERVER_ERROR, "DynamicsCreateServiceClientError"),
    **_rows(E.HTTP_CONNECTION_FAILED, "DynamicsFailedToRequetServer"),
}

ADF_NAMED_WRAPPERS: dict[str, ErrorType] = {
    # Why: these say which connector failed, not why; the type they imply holds only with nothing inside.
    **_rows(E.HTTP_CONNECTION_FAILED, """
        SqlFailedToConnect UserErrorFailedToConnectOdbcSource SftpFailedToConnectToSftpServer
        UserErrorFailedToConnectToSftpServer OracleFailedToConnect
    """),
    **_rows(_U, """
        SqlOperationFailed AzureBlobOperationFailed AdlsGen2OperationFailed AzureFileOperationFailed
        AzureDataLakeStoreOperationFailed OdbcOperationFailed CosmosDbSqlApiOperationFailed
        DynamicsOperationFailed SftpOperationFail FileShareOperationFailed RestSourceCallFailed
        RestSinkCallFailed HttpFileFailedToRead UserErrorUnclassifiedError ParquetJavaInvocationException
        UserErrorOdbcOperationFailed
    """),
    **_rows(E.HTTP_CONNECTION_FAILED, "FtpFailedToConnectToFtpServer"),
    **_rows(_U, """
        OrcJavaInvocationException UserErrorFailedFileOperation UserErrorFailedBlobFSOperation FailedDbOperation
        DB2DriverRunFailed
    """),
}

# ── Azure SQL, Cosmos DB, Storage, Entra ID, HTTP ────────────────────────────

AZURE_SQL_ERRORS: dict[int, ErrorType] = {
    # Why: the SQL Server / Azure SQL error numbers of "Troubleshoot common connectivity errors" and the
    # Database Engine errors list; transient service errors (40613, 40197...) differ from resource governance.
    **{n: E.AUTHENTICATION_ERROR for n in (18456, 18452, 18470, 18486, 18487, 18488, 40532, 33155, 18305)},
    **{n: E.PERMISSION_DENIED for n in (229, 230, 262, 297, 300, 916, 40615, 47073, 40914, 15247, 18461)},
    **{n: E.THROTTLING_ERROR for n in (40501, 10928, 10929, 49918, 49919, 49920, 40549, 40550, 40551, 40552, 40553)},
    **{n: E.INTERNAL_SERVER_ERROR for n in (40613, 40197, 40540, 40143, 40174, 4221, 1205, 615, 926)},
    **{n: E.GATEWAY_TIMEOUT for n in (-2,)},
    **{n: E.HTTP_CONNECTION_FAILED for n in (10053, 10054, 10060, 10061, 11001, 53, 40, 121, 233, 64, 26, -1, 35)},
    **{n: E.CONFIGURATION_ERROR for n in (208, 2812, 4060, 40508, 156, 102)},
    **{n: E.SCHEMA_MISMATCH for n in (207, 213, 206, 4891, 110, 120)},
    **{n: E.DATA_QUALITY_ERROR for n in (515, 2627, 2601, 547, 8152, 2628, 245, 8114, 242, 8115, 241, 517, 8134,
                                         220, 232, 4815, 4863, 295, 8116)},
}

COSMOS_SUBSTATUS: dict[int, ErrorType] = {
    # Why: Cosmos DB sub-status codes refine a status: 3200 is RU throttling, 1002/1007 partition moves,
    # 5300-5302 RBAC denials.
    3200: E.THROTTLING_ERROR,
    3088: E.THROTTLING_ERROR,
    1002: E.INTERNAL_SERVER_ERROR,
    1007: E.INTERNAL_SERVER_ERROR,
    1008: E.INTERNAL_SERVER_ERROR,
    5300: E.PERMISSION_DENIED,
    5301: E.PERMISSION_DENIED,
    5302: E.PERMISSION_DENIED,
}

COSMOS_STATUS: dict[int, ErrorType] = {
    # Why: Cosmos DB status codes; 449 (retry with) and 412 (precondition failed) are concurrency conflicts a
    # retry resolves, closest to a transient service fault.
    449: E.INTERNAL_SERVER_ERROR,
    412: E.INTERNAL_SERVER_ERROR,
    410: E.INTERNAL_SERVER_ERROR,
}

STORAGE_CODES: dict[str, ErrorType] = {
    # Why: Azure Storage REST error codes (common, blob, Data Lake); the code is explicit where the status is not.
    **_rows(E.AUTHENTICATION_ERROR, """
        AuthenticationFailed InvalidAuthenticationInfo NoAuthenticationInformation ExpiredAuthenticationToken
        InvalidAuthenticationToken
    """),
    **_rows(E.PERMISSION_DENIED, """
        AuthorizationFailure AuthorizationPermissionMismatch AuthorizationProtocolMismatch
        AuthorizationResourceTypeMismatch AuthorizationServiceMismatch AuthorizationSourceIPMismatch
        InsufficientAccountPermissions KeyBasedAuthenticationNotPermitted AuthorizationFailed
    """),
    **_rows(E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS, """
        BlobNotFound ContainerNotFound PathNotFound FilesystemNotFound ShareNotFound ParentNotFound NoSuchKey
    """),
    **_rows(E.THROTTLING_ERROR, "ServerBusy TooManyRequests RequestRateTooLarge SubscriptionRequestsThrottled"),
    **_rows(E.INTERNAL_SERVER_ERROR, "InternalError"),
    **_rows(E.GATEWAY_TIMEOUT, "OperationTimedOut"),
    **_rows(E.CONFIGURATION_ERROR, """
        InvalidQueryParameterValue InvalidHeaderValue InvalidUri InvalidResourceName InvalidBlobType
        UnsupportedHeader MissingRequiredHeader BlobArchived AccountIsDisabled InvalidParameterValue
        SecretNotFound
    """),
}

AADSTS_CODES: dict[str, ErrorType] = {
    # Why: Entra ID sign-in error codes: the credential or identity failed → authentication; the identity is
    # known but consent, conditional access or tenant policy refuses it → permission; service-side faults apart.
    **_rows(E.AUTHENTICATION_ERROR, """
        7000215 7000222 700016 50034 50126 50076 50079 50053 50055 50057 50173 70002 70008 700024 700027 7000112
        7000216 7000218 90002 500011 700082 50012 50144 900023 90014 50056 50058 50072 700025
    """),
    **_rows(E.PERMISSION_DENIED, "65001 50105 53003 53000 53001 50020 90094 50097 530003 50177 500014"),
    **_rows(E.THROTTLING_ERROR, "50196 90055"),
    **_rows(E.INTERNAL_SERVER_ERROR, "90033 50000"),
    **_rows(E.CONFIGURATION_ERROR, "50011 70011 50001"),
}

HTTP_STATUS: dict[int, ErrorType] = {
    # Why: RFC 9110 meanings as docs/TAXONOMY.md reads them; a bare status is weak evidence.
    400: E.CONFIGURATION_ERROR,
    401: E.AUTHENTICATION_ERROR,
    403: E.PERMISSION_DENIED,
    408: E.GATEWAY_TIMEOUT,
    429: E.THROTTLING_ERROR,
    500: E.INTERNAL_SERVER_ERROR,
    502: E.INTERNAL_SERVER_ERROR,
    503: E.INTERNAL_SERVER_ERROR,
    504: E.GATEWAY_TIMEOUT,
}

# ── localized .NET messages (self-hosted integration runtimes on non-English Windows) ──

LOCALIZED: tuple[tuple[ErrorType, str], ...] = (
    # Why: .NET and SqlClient translate their messages into the OS language; these are the translations of
    # the timeout, login, refused/reset connection, access-denied and file-not-found messages.
    (E.GATEWAY_TIMEOUT, r"zeitüberschreitung|timeoutzeitraum|timeout abgelaufen"),
    (E.GATEWAY_TIMEOUT, r"délai d.attente (?:a expiré|s.est écoulé|de l.opération|d.exécution)|le délai d.attente"),
    (E.GATEWAY_TIMEOUT, r"tiempo de espera (?:de (?:la )?(?:operación|ejecución) )?(?:se ha )?agotado"
                        r"|se agotó el tiempo de espera|tiempo de espera"),
    (E.GATEWAY_TIMEOUT, r"tempo limite (?:de execução )?(?:expirado|esgotado)|tempo limite da operação"),
    (E.GATEWAY_TIMEOUT, r"タイムアウト|超时|逾時|逾时|превышено время ожидания|истекло время ожидания"),
    (E.AUTHENTICATION_ERROR, r"anmeldung für (?:den )?benutzer .{0,80}?fehlgeschlagen"
                             r"|fehler bei der anmeldung für (?:den )?benutzer"),
    (E.AUTHENTICATION_ERROR, r"échec de (?:l.ouverture de session|la connexion) (?:de|pour) l.utilisateur"),
    (E.AUTHENTICATION_ERROR, r"error de inicio de sesión (?:del|para el) usuario"),
    (E.AUTHENTICATION_ERROR, r"falha (?:de|no|ao fazer) logon (?:do|para o) usuário"),
    (E.AUTHENTICATION_ERROR, r"ログインできませんでした|ログインに失敗しました|登录失败|登入失敗"
                             r"|ошибка входа пользователя"),
    (E.HTTP_CONNECTION_FAILED, r"verbindung verweigert|zielcomputer die verbindung verweigerte"
                               r"|vom remotehost geschlossen|remotename konnte nicht aufgelöst werden"
                               r"|zugrunde liegende verbindung wurde geschlossen"),
    (E.HTTP_CONNECTION_FAILED, r"échec de la connexion(?! (?:de|pour) l.utilisateur)"
                               r"|connexion existante a dû être fermée|aucune connexion n.a pu être établie"),
    (E.HTTP_CONNECTION_FAILED, r"interrupción de una conexión existente|no se puede establecer una conexión"
                               r"|denegó expresamente"),
    (E.HTTP_CONNECTION_FAILED, r"conexão existente foi forçad|nenhuma conexão pôde ser feita"),
    (E.HTTP_CONNECTION_FAILED, r"リモート ?ホストに強制的に切断|接続できませんでした"
                               r"|远程主机强迫关闭|无法连接|积极拒绝"),
    (E.HTTP_CONNECTION_FAILED, r"keine verbindung mit dem remoteserver|kein geschützter ssl/tls-kanal"
                               r"|la connexion sous-jacente a été fermée|impossible de se connecter au serveur distant"
                               r"|impossible de résoudre le nom distant|canal sécurisé ssl/tls"),
    (E.HTTP_CONNECTION_FAILED, r"no es posible conectar con el servidor remoto|no se puede resolver el nombre remoto"
                               r"|se ha terminado la conexión subyacente|canal seguro ssl/tls"),
    (E.HTTP_CONNECTION_FAILED, r"impossível conectar-se ao servidor remoto|o nome remoto não pôde ser resolvido"
                               r"|a conexão subjacente estava fechada"),
    (E.HTTP_CONNECTION_FAILED, r"リモート ?サーバーに接続できません|リモート名を解決できませんでした|未能解析此远程名称"
                               r"|基础连接已经关闭"),
    (E.PERMISSION_DENIED, r"zugriff .{0,120}?verweigert|zugriff verweigert"),
    (E.PERMISSION_DENIED, r"accès (?:au chemin .{0,160}?)?(?:est )?refusé"),
    (E.PERMISSION_DENIED, r"acceso denegado|se denegó el acceso"),
    (E.PERMISSION_DENIED, r"acesso negado|acesso ao caminho .{0,160}? foi negado"),
    (E.PERMISSION_DENIED, r"アクセスが拒否されました|拒绝访问|访问被拒绝|的访问被拒绝|存取被拒|отказано в доступе"),
    (E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS, r"(?:datei|pfad) .{0,160}?(?:nicht gefunden|konnte nicht gefunden werden)"
                                          r"|konnte nicht gefunden werden"),
    (E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS, r"impossible de trouver (?:le|la) (?:fichier|chemin)"
                                          r"|fichier .{0,100}?introuvable"),
    (E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS, r"no se (?:puede|pudo) encontrar (?:el|la) (?:archivo|ruta)"),
    (E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS, r"não foi possível (?:localizar|encontrar) o arquivo"),
    (E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS, r"(?:ファイル|パス).{0,60}?見つかりません"
                                          r"|找不到(?:指定的)?(?:文件|路径)|找不到文件"),
)

# ── our own type names ───────────────────────────────────────────────────────

VENDOR_SPELLED_TYPES: frozenset[ErrorType] = frozenset({
    # Why: these taxonomy names are spelled exactly as a vendor's code (the ADF copy code, the ARM/HTTP error
    # codes for 500 and 504), so in an error text they are evidence. Every other type name in a text was
    # written by a person or an attacker ("the error type is ThrottlingError"), never by the vendor, and the
    # rules must not read it (rules.mask_type_names).
    E.USER_ERROR_SOURCE_BLOB_NOT_EXISTS, E.GATEWAY_TIMEOUT, E.INTERNAL_SERVER_ERROR,
})
