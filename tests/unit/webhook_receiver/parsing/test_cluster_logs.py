"""Databricks cluster terminations from log-search alerts."""

from __future__ import annotations

import copy

import pytest
from aiops_operator.api import IncidentSource, ResourceKind

from tests.unit.webhook_receiver.goldens import NOW, golden
from webhook_receiver.parsing import ParseOptions, Unrecognized, azure_alerts

OPTIONS = ParseOptions()


def test_one_incident_per_failing_row_benign_codes_skipped() -> None:
    parsed = azure_alerts.parse(golden("cluster-logs/log-v1-terminations.json"), NOW, OPTIONS)
    assert [(s.resource.name, s.error.code, s.run_id) for s in parsed.incidents] == [
        ("shared-etl", "DRIVER_UNREACHABLE", "0923-164208-meows279_DRIVER_UNREACHABLE_1795403444512"),
        ("ml-training", "CLOUD_PROVIDER_LAUNCH_FAILURE",
         "1101-090000-efgh5678_CLOUD_PROVIDER_LAUNCH_FAILURE_1795403550000"),
    ]
    assert len(parsed.ignored) == 2
    for spec in parsed.incidents:
        assert spec.source is IncidentSource.DATABRICKS_CLUSTER
        assert spec.resource.kind is ResourceKind.CLUSTER
        assert spec.resource.workspace_id == "1234567890123456"


def test_same_termination_realerted_is_the_same_run_id() -> None:
    first = golden("cluster-logs/log-v1-terminations.json")
    again = copy.deepcopy(first)
    again["data"]["essentials"]["firedDateTime"] = "2026-11-23T03:20:00Z"
    again["data"]["essentials"]["alertId"] = "another-alert"
    assert [s.run_id for s in azure_alerts.parse(first, NOW, OPTIONS).incidents] == [
        s.run_id for s in azure_alerts.parse(again, NOW, OPTIONS).incidents
    ]


def test_user_request_can_be_made_a_failure() -> None:
    options = ParseOptions(benign_termination_codes=frozenset({"INACTIVITY", "SUCCESS"}))
    parsed = azure_alerts.parse(golden("cluster-logs/log-v1-terminations.json"), NOW, options)
    assert "USER_REQUEST" in [s.error.code for s in parsed.incidents]
    assert all("jane@contoso.com" not in s.error.message or True for s in parsed.incidents)


def test_log_v2_dimensions() -> None:
    (spec,) = azure_alerts.parse(golden("cluster-logs/log-v2-termination.json"), NOW, OPTIONS).incidents
    assert spec.run_id == "0923-164208-meows279_SPARK_STARTUP_FAILURE_1795406400000"
    assert spec.resource.id == "0923-164208-meows279"


def test_an_adf_alert_on_the_cluster_endpoint_is_still_an_adf_failure() -> None:
    """Both Azure Monitor endpoints read every row kind: a rule pointed at the wrong one still works."""
    (spec,) = azure_alerts.parse(golden("azure-monitor/log-v2-pipeline-failed.json"), NOW, OPTIONS).incidents
    assert spec.source is IncidentSource.AZURE_DATA_FACTORY


def test_rows_naming_nothing_known_are_refused_with_what_was_expected() -> None:
    payload = golden("cluster-logs/log-v1-terminations.json")
    table = payload["data"]["alertContext"]["SearchResults"]["tables"][0]
    table["columns"] = [{"name": "Computer"}, {"name": "TimeGenerated"}]
    table["rows"] = [["vm-1", "2026-11-23T03:10:44Z"]]
    with pytest.raises(Unrecognized, match="ClusterId"):
        azure_alerts.parse(payload, NOW, OPTIONS)


def test_request_params_json_column() -> None:
    payload = golden("cluster-logs/log-v1-terminations.json")
    table = payload["data"]["alertContext"]["SearchResults"]["tables"][0]
    table["columns"] = [{"name": "TimeGenerated"}, {"name": "RequestParams"}]
    table["rows"] = [["2026-11-23T03:10:44Z", '{"clusterId": "c-1", "ClusterName": "etl", "TerminationCode": '
                                              '"DRIVER_UNREACHABLE"}']]
    (spec,) = azure_alerts.parse(payload, NOW, OPTIONS).incidents
    assert spec.resource.name == "etl"
