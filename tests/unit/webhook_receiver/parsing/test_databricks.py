"""Databricks job notification webhooks, generic and older shapes, over golden payloads."""

from __future__ import annotations

from typing import Any

import pytest
from aiops_operator.api import IncidentSource, RunIdOrigin, incident_name

from tests.unit.webhook_receiver.goldens import NOW, golden
from webhook_receiver.parsing import ParseOptions, Unrecognized, databricks

OPTIONS = ParseOptions()


@pytest.mark.parametrize(
    ("fixture", "source", "run_id", "code", "activity"),
    [
        pytest.param("databricks/generic-on-failure.json", IncidentSource.DATABRICKS_JOB, "912873465501234",
                     "FAILED", None, id="generic-on-failure"),
        pytest.param("databricks/generic-task-failure.json", IncidentSource.DATABRICKS_JOB, "912873465501234",
                     "FAILED", "build_features", id="generic-task-failure-uses-parent-run"),
        pytest.param("databricks/legacy-job-run-failed.json", IncidentSource.DATABRICKS_JOB, "912873465501234",
                     "FAILED", "build_features", id="legacy-job-run-failed"),
        pytest.param("databricks/legacy-cluster-terminated.json", IncidentSource.DATABRICKS_CLUSTER,
                     "0923-164208-meows279_DRIVER_UNRESPONSIVE_1795403444000", "DRIVER_UNRESPONSIVE", None,
                     id="legacy-cluster-terminated"),
        pytest.param("databricks/legacy-library-failed.json", IncidentSource.DATABRICKS_CLUSTER,
                     "0923-164208-meows279_LIBRARY_INSTALLATION_FAILED_1795403520000", "LIBRARY_INSTALLATION_FAILED",
                     "pypi:great-expectations==0.99", id="legacy-library-failed"),
    ],
)
def test_failures_become_incidents(
    fixture: str, source: IncidentSource, run_id: str, code: str, activity: str | None
) -> None:
    (spec,) = databricks.parse(golden(fixture), NOW, OPTIONS).incidents
    assert (spec.source, spec.run_id, spec.error.code, spec.error.activity) == (source, run_id, code, activity)
    assert spec.run_id_origin is RunIdOrigin.ALERT
    assert spec.alert.signal_type == "Webhook"


def test_generic_failure_matches_the_committed_sample() -> None:
    (spec,) = databricks.parse(golden("databricks/generic-task-failure.json"), NOW, OPTIONS).incidents
    assert incident_name(spec.source, spec.run_id, spec.resource.name) == "dbj-nightly-customer-features-688755482a"
    assert spec.resource.id == "684537219483321"
    assert spec.resource.workspace_id == "1234567890123456"
    assert spec.error.message.startswith("[Task: build_features] The spark driver has stopped unexpectedly")


def test_legacy_run_carries_its_url_and_failed_task_message() -> None:
    (spec,) = databricks.parse(golden("databricks/legacy-job-run-failed.json"), NOW, OPTIONS).incidents
    assert spec.resource.name == "nightly-customer-features"
    assert spec.run_url is not None
    assert spec.run_url.endswith("/run/912873465501234")
    assert "pandas==9.9.9" in spec.error.message
    assert spec.resource.workspace_url == "https://adb-1234567890123456.7.azuredatabricks.net"


@pytest.mark.parametrize(
    "fixture",
    [
        pytest.param("databricks/generic-on-success.json", id="generic-success"),
        pytest.param("databricks/generic-on-start.json", id="generic-start"),
        pytest.param("databricks/generic-on-duration-warning-threshold-exceeded.json", id="duration-warning"),
        pytest.param("databricks/legacy-job-run-succeeded.json", id="legacy-succeeded"),
        pytest.param("databricks/legacy-cluster-terminated-inactivity.json", id="cluster-inactivity-benign"),
    ],
)
def test_success_start_and_benign_events_are_acknowledged_and_ignored(fixture: str) -> None:
    parsed = databricks.parse(golden(fixture), NOW, OPTIONS)
    assert parsed.incidents == []
    assert parsed.resolved == []
    assert parsed.ignored


def test_no_run_id_gets_a_fingerprint() -> None:
    (spec,) = databricks.parse(golden("databricks/generic-no-run-id.json"), NOW, OPTIONS).incidents
    assert spec.run_id_origin is RunIdOrigin.FINGERPRINT
    assert spec.resource.name == "hourly-ingest"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="empty"),
        pytest.param({"event_type": "repo.push"}, id="unknown-event-type"),
        pytest.param({"event": "something.happened.maybe"}, id="unknown-legacy-verb"),
        pytest.param({"run": {"run_id": 1}}, id="no-event"),
        pytest.param({"event_type": ["jobs.on_failure"]}, id="event-type-list"),
    ],
)
def test_unrecognisable_payloads(payload: Any) -> None:
    with pytest.raises(Unrecognized, match="Databricks"):
        databricks.parse(payload, NOW, OPTIONS)


@pytest.mark.parametrize(
    "run",
    [
        pytest.param({"run_id": {"deep": [1, 2]}}, id="run-id-object"),
        pytest.param({"run_id": True}, id="run-id-bool"),
        pytest.param("not-an-object", id="run-string"),
        pytest.param({"run_id": "9" * 5000}, id="run-id-huge"),
    ],
)
def test_wrong_types_in_failures_still_make_a_valid_spec(run: Any) -> None:
    payload = {"event_type": "jobs.on_failure", "job": {"job_id": 1, "name": "x" * 10_000}, "run": run}
    (spec,) = databricks.parse(payload, NOW, OPTIONS).incidents
    assert 1 <= len(spec.run_id) <= 256
    assert len(spec.resource.name) <= 260
