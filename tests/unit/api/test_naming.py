from __future__ import annotations

import re

import pytest
from aiops_operator.api import IncidentSource, attempt_name, idempotency_key, incident_name
from aiops_operator.api.naming import MAX_INCIDENT_NAME

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@pytest.mark.parametrize(
    ("source", "run_id", "resource", "prefix"),
    [
        pytest.param(IncidentSource.AZURE_DATA_FACTORY, "run-1", "PL_Copy Sales", "adf-pl-copy-sales-",
                     id="adf"),
        pytest.param(IncidentSource.DATABRICKS_JOB, "123", "nightly.etl", "dbj-nightly-etl-", id="job"),
        pytest.param(IncidentSource.DATABRICKS_CLUSTER, "c_X_1", "", "dbc-", id="no-name"),
        pytest.param(IncidentSource.GENERIC, "x", "ÜñïçødÉ 🚀", "gen-", id="unicode"),
        pytest.param(IncidentSource.AZURE_DATA_FACTORY, "r", "a" * 300, "adf-aaaa", id="long"),
    ],
)
def test_incident_name_is_a_readable_dns_label(
    source: IncidentSource, run_id: str, resource: str, prefix: str
) -> None:
    name = incident_name(source, run_id, resource)
    assert name.startswith(prefix)
    assert DNS_LABEL.match(name), name
    assert len(name) <= MAX_INCIDENT_NAME
    assert len(attempt_name(name, 20)) <= 63


def test_same_failure_same_name_whatever_the_resource_says() -> None:
    a = incident_name(IncidentSource.AZURE_DATA_FACTORY, "run-1", "pipeline")
    assert a == incident_name(IncidentSource.AZURE_DATA_FACTORY, "run-1", "pipeline")
    # Only the slug changes with the resource name; the identity hash does not.
    b = incident_name(IncidentSource.AZURE_DATA_FACTORY, "run-1", "renamed")
    assert a.rsplit("-", 1)[1] == b.rsplit("-", 1)[1]


def test_different_source_or_run_gives_a_different_name() -> None:
    names = {
        incident_name(IncidentSource.AZURE_DATA_FACTORY, "run-1", "p"),
        incident_name(IncidentSource.AZURE_DATA_FACTORY, "run-2", "p"),
        incident_name(IncidentSource.DATABRICKS_JOB, "run-1", "p"),
    }
    assert len(names) == 3


def test_idempotency_key_is_stable_and_bounded() -> None:
    key = idempotency_key("uid-1", 2)
    assert key == idempotency_key("uid-1", 2)
    assert key != idempotency_key("uid-1", 3)
    assert len(key) <= 64
