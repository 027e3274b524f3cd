from __future__ import annotations

import json

import pytest
from aiops_operator.correlation.references import MAX_VALUES, Dependency, DependencyKind, RunRef, references

HOST = "adb-4567890123456789.12.azuredatabricks.net"
# An ADF DatabricksNotebook activity's output (the run page of the run it started).
NOTEBOOK_OUTPUT = {
    "runId": "81523", "runPageUrl": f"https://{HOST}/?o=4567890123456789#job/11/run/81523",
    "effectiveIntegrationRuntime": "AutoResolveIntegrationRuntime (West Europe)", "executionDuration": 212,
}
# An Execute Pipeline activity's output (the child run it started).
EXECUTE_PIPELINE_OUTPUT = {"pipelineName": "pl_child_load", "pipelineRunId": "6B1C1D6E-7A0F-4F3E-9D2B-0C5E8A1B2C3D"}


def test_databricks_run_from_an_adf_notebook_activity_output() -> None:
    found = references(NOTEBOOK_OUTPUT)
    assert found.databricks_runs == {RunRef("81523", HOST)}
    assert Dependency(DependencyKind.DATABRICKS_WORKSPACE, "adb-4567890123456789.12") in found.dependencies
    # The Azure-managed runtime is shared by everything: it is no dependency worth grouping on.
    assert not any(d.kind is DependencyKind.INTEGRATION_RUNTIME for d in found.dependencies)


@pytest.mark.parametrize(("text", "run"), [
    pytest.param(f"Run failed. Check the run page https://{HOST}/jobs/11/runs/81523?o=1 for details", "81523",
                 id="new-ui-url"),
    pytest.param(f"runPageUrl: https://{HOST}/#job/7/run/99", "99", id="old-ui-url"),
    pytest.param("see https://dbc-a1b2c3d4-e5f6.cloud.databricks.com/?o=1#job/3/run/42", "42", id="aws-host"),
])
def test_databricks_run_page_urls_in_text(text: str, run: str) -> None:
    assert {r.run_id for r in references(text).databricks_runs} == {run}


def test_child_pipeline_run_from_execute_pipeline_output_even_json_encoded() -> None:
    assert references(EXECUTE_PIPELINE_OUTPUT).child_pipeline_runs == {"6b1c1d6e-7a0f-4f3e-9d2b-0c5e8a1b2c3d"}
    encoded = json.dumps(EXECUTE_PIPELINE_OUTPUT)
    assert references({"output": json.loads(encoded)}).child_pipeline_runs


def test_cluster_of_a_job_run() -> None:
    run = {"run_id": 55, "cluster_instance": {"cluster_id": "0923-164208-meows279", "spark_context_id": "1"},
           "tasks": [{"task_key": "t", "existing_cluster_id": "0101-010101-abcdefgh"}]}
    assert references(run).clusters == {"0923-164208-meows279", "0101-010101-abcdefgh"}


@pytest.mark.parametrize(("text", "dependency"), [
    pytest.param("ErrorCode=UserErrorFailedToConnectOdbcSource,'Type=Microsoft.DataTransfer.Common.Shared."
                 "HybridDeliveryException,Message=The integration runtime 'SHIR-Prod-01' is offline",
                 Dependency(DependencyKind.INTEGRATION_RUNTIME, "shir-prod-01"), id="ir-quoted"),
    pytest.param("Self-hosted Integration Runtime: SHIR-Prod-01 has no available node",
                 Dependency(DependencyKind.INTEGRATION_RUNTIME, "shir-prod-01"), id="ir-colon"),
    pytest.param("Failed to connect to linked service 'LS_AzureSql_Sales'",
                 Dependency(DependencyKind.LINKED_SERVICE, "ls_azuresql_sales"), id="linked-service"),
    pytest.param("ErrorCode=AdlsGen2OperationFailed,Message=ADLS Gen2 operation failed for: Operation returned an"
                 " invalid status code 'Forbidden'. Account: 'stcontosoraw'. FileSystem: 'raw'. "
                 "https://stcontosoraw.dfs.core.windows.net/raw/sales",
                 Dependency(DependencyKind.STORAGE_ACCOUNT, "stcontosoraw"), id="storage-dfs"),
    pytest.param("Cannot connect to SQL Database: 'sql-contoso-prod.database.windows.net', Database: 'sales'",
                 Dependency(DependencyKind.SQL_SERVER, "sql-contoso-prod"), id="sql-server"),
    pytest.param("Operation returned 403 from https://kv-data-prod.vault.azure.net/secrets/sql-password",
                 Dependency(DependencyKind.KEY_VAULT, "kv-data-prod"), id="key-vault"),
    pytest.param({"cluster": {"instance_pool_id": "0101-120000-brick1-pool-ABCD"}},
                 Dependency(DependencyKind.INSTANCE_POOL, "0101-120000-brick1-pool-abcd"), id="pool"),
])
def test_shared_dependencies(text: object, dependency: Dependency) -> None:
    assert dependency in references(text).dependencies


def test_words_after_integration_runtime_are_not_names() -> None:
    found = references("The integration runtime is offline. The linked service was not found.")
    assert found.dependencies == set()


def test_nothing_named_nothing_found() -> None:
    found = references("NullPointerException at line 12", {"a": [1, 2, None, True]}, 42)
    assert (found.databricks_runs, found.child_pipeline_runs, found.clusters, found.dependencies) == (
        set(), set(), set(), set())


def test_walk_is_bounded() -> None:
    huge = [{"x": i} for i in range(MAX_VALUES * 3)] + [f"https://{HOST}/#job/1/run/7"]
    assert references(huge).databricks_runs == set()  # past the bound: not read at all
