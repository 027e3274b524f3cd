from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from aiops_operator.api import IncidentSource
from aiops_operator.correlation.references import Dependency, DependencyKind, References, RunRef
from aiops_operator.correlation.rules import (
    Correlation,
    Facts,
    GroupReason,
    Settings,
    correlate,
    storm_root_name,
)

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SETTINGS = Settings(wait_for_root=timedelta(seconds=60), storm_threshold=3)
CHILD_RUN = "6b1c1d6e-7a0f-4f3e-9d2b-0c5e8a1b2c3d"
SHIR = Dependency(DependencyKind.INTEGRATION_RUNTIME, "shir-prod-01")

ADF_NOTEBOOK = Facts("adf-pl-features-1", IncidentSource.AZURE_DATA_FACTORY, "a1", T0,
                     References(databricks_runs={RunRef("81523", "adb-1.1.azuredatabricks.net")}))
DBX_RUN = Facts("dbj-features-81523", IncidentSource.DATABRICKS_JOB, "81523", T0 + timedelta(seconds=5))
PARENT = Facts("adf-pl-parent-1", IncidentSource.AZURE_DATA_FACTORY, "p1", T0,
               References(child_pipeline_runs={CHILD_RUN}))
CHILD = Facts("adf-pl-child-1", IncidentSource.AZURE_DATA_FACTORY, CHILD_RUN.upper(), T0 - timedelta(seconds=3))
CLUSTER = Facts("dbc-shared-etl-x", IncidentSource.DATABRICKS_CLUSTER, "fp-1", T0, resource_id="0923-164208-meows279")
JOB_ON_CLUSTER = Facts("dbj-nightly-55", IncidentSource.DATABRICKS_JOB, "55", T0 + timedelta(minutes=2),
                       References(clusters={"0923-164208-meows279"}))


def storm_member(i: int, seconds: int = 0, error_type: str = "HttpConnectionFailed", root: str | None = None) -> Facts:
    return Facts(f"adf-pl-{i}", IncidentSource.AZURE_DATA_FACTORY, f"r{i}", T0 + timedelta(seconds=seconds),
                 References(dependencies={SHIR}), error_type=error_type, root=root)


def reason_root(found: Correlation | None) -> tuple[GroupReason | None, str | None]:
    return (found.reason, found.root) if found else (None, None)


@pytest.mark.parametrize(("subject", "others", "now", "expected"), [
    pytest.param(ADF_NOTEBOOK, [DBX_RUN], T0 + timedelta(seconds=6), (GroupReason.DATABRICKS_RUN, DBX_RUN.name),
                 id="adf-joins-its-databricks-run"),
    pytest.param(ADF_NOTEBOOK, [], T0 + timedelta(seconds=10), (GroupReason.DATABRICKS_RUN, None),
                 id="adf-first-waits-for-the-run"),
    pytest.param(ADF_NOTEBOOK, [], T0 + timedelta(seconds=60), (None, None), id="run-never-came-goes-alone"),
    pytest.param(DBX_RUN, [ADF_NOTEBOOK], T0 + timedelta(seconds=6), (None, None), id="databricks-run-is-the-root"),
    pytest.param(ADF_NOTEBOOK, [replace(DBX_RUN, open=False)], T0 + timedelta(seconds=90), (None, None),
                 id="resolved-run-is-no-root"),
    pytest.param(PARENT, [CHILD], T0, (GroupReason.CHILD_PIPELINE, CHILD.name), id="parent-joins-child"),
    pytest.param(CHILD, [PARENT], T0, (None, None), id="child-is-the-root"),
    pytest.param(PARENT, [], T0 + timedelta(seconds=1), (GroupReason.CHILD_PIPELINE, None), id="parent-waits"),
    pytest.param(JOB_ON_CLUSTER, [CLUSTER], T0, (GroupReason.CLUSTER_TERMINATED, CLUSTER.name),
                 id="job-on-terminated-cluster"),
    pytest.param(replace(JOB_ON_CLUSTER, received_time=T0 + timedelta(hours=2)), [CLUSTER], T0, (None, None),
                 id="cluster-window-passed"),
    pytest.param(CLUSTER, [JOB_ON_CLUSTER], T0, (None, None), id="cluster-is-the-root"),
    pytest.param(replace(JOB_ON_CLUSTER, error_type="ClusterUnexpectedTermination"), [], T0 + timedelta(minutes=2),
                 (GroupReason.CLUSTER_TERMINATED, None), id="job-first-waits-for-its-cluster"),
    pytest.param(replace(JOB_ON_CLUSTER, error_type="ClusterUnexpectedTermination"), [], T0 + timedelta(minutes=3),
                 (None, None), id="cluster-never-came-job-goes-alone"),
    pytest.param(replace(JOB_ON_CLUSTER, error_type="SchemaMismatch"), [], T0 + timedelta(minutes=2), (None, None),
                 id="job-failing-in-its-code-does-not-wait"),
])
def test_correlate_rules(subject: Facts, others: list[Facts], now: datetime,
                         expected: tuple[GroupReason | None, str | None]) -> None:
    assert reason_root(correlate(subject, others, SETTINGS, now)) == expected


def test_waiting_says_until_when() -> None:
    found = correlate(ADF_NOTEBOOK, [], SETTINGS, T0 + timedelta(seconds=10))
    assert found is not None
    assert found.wait_until == T0 + timedelta(seconds=60)


def test_no_chains_the_roots_root_is_taken() -> None:
    dbx_in_cluster_group = replace(DBX_RUN, root=CLUSTER.name)
    found = correlate(ADF_NOTEBOOK, [dbx_in_cluster_group, CLUSTER], SETTINGS, T0)
    assert reason_root(found) == (GroupReason.DATABRICKS_RUN, CLUSTER.name)


def test_storm_below_threshold_is_no_storm() -> None:
    assert correlate(storm_member(1), [storm_member(2, 5)], SETTINGS, T0) is None


def test_storm_at_threshold_names_one_deterministic_root_for_every_member() -> None:
    members = [storm_member(i, i * 10) for i in range(3)]
    found_all = [correlate(m, [o for o in members if o is not m], SETTINGS, T0) for m in members]
    roots = {f.root for f in found_all if f is not None}
    assert len(found_all) == 3
    assert roots == {storm_root_name("HttpConnectionFailed", SHIR, T0)}
    found = correlate(members[0], members[1:], SETTINGS, T0)
    assert found is not None
    assert found.create_root
    assert found.dependency == SHIR
    assert "3 HttpConnectionFailed failures behind IntegrationRuntime shir-prod-01" in found.message


def test_storm_root_name_does_not_depend_on_which_peers_are_analyzed_yet() -> None:
    """Two incidents forming the storm at once, each before the other's analysis is known; one sees the storm's
    first failure (a minute earlier) analyzed, the other not yet: both name the same root."""
    first = storm_member(0, -30)
    a, b, c, d = (storm_member(i, 30 + i) for i in range(1, 5))
    found_a = correlate(a, [first, b, c, replace(d, error_type=None)], SETTINGS, T0 + timedelta(minutes=1))
    found_d = correlate(d, [replace(first, error_type=None), replace(a, error_type=None), b, c], SETTINGS,
                        T0 + timedelta(minutes=1))
    assert found_a is not None
    assert found_d is not None
    assert found_a.root == found_d.root == storm_root_name("HttpConnectionFailed", SHIR, T0 - timedelta(minutes=1))
    other_type = replace(storm_member(5, -90), error_type="AuthenticationError")
    found = correlate(a, [other_type, b, c], SETTINGS, T0)
    assert found is not None
    assert found.root == storm_root_name("HttpConnectionFailed", SHIR, T0)  # another failure is no first of it


def test_storm_joins_an_existing_root() -> None:
    root = storm_root_name("HttpConnectionFailed", SHIR, T0)
    late = storm_member(9, 300)
    found = correlate(late, [storm_member(i, i, root=root) for i in range(3)], SETTINGS, T0)
    assert found is not None
    assert found.root == root
    assert not found.create_root


def test_the_tail_of_a_storm_joins_its_root_after_the_members_finished() -> None:
    """The root healed and its members were re-run and resolved; more failures of the cause arrive within the
    window, at once: they join the storm's root, not a second storm of their own (nor stand alone)."""
    root = storm_root_name("HttpConnectionFailed", SHIR, T0)
    finished = [replace(storm_member(i, i, root=root), open=False) for i in range(5)]
    tail = [storm_member(10 + i, 120 + i) for i in range(3)]
    for late in tail:
        found = correlate(late, [*finished, *(t for t in tail if t is not late)], SETTINGS, T0)
        assert found is not None
        assert (found.root, found.create_root) == (root, False)
    alone = correlate(tail[0], finished, SETTINGS, T0)
    assert alone is not None
    assert alone.root == root  # one straggler too
    long_after = correlate(storm_member(20, 3600), finished, SETTINGS, T0)
    assert long_after is None  # outside the window: the storm is over


@pytest.mark.parametrize("other", [
    pytest.param(lambda i: storm_member(i, i, error_type="AuthenticationError"), id="other-error-type"),
    pytest.param(lambda i: storm_member(i, 3600 + i), id="outside-window"),
    pytest.param(lambda i: replace(storm_member(i, i), references=References()), id="no-shared-dependency"),
])
def test_storm_needs_type_dependency_and_window(other: Callable[[int], Facts]) -> None:
    assert correlate(storm_member(0), [other(i) for i in range(1, 5)], SETTINGS, T0) is None


def test_storm_root_names_are_valid_kubernetes_names() -> None:
    name = storm_root_name("X", Dependency(DependencyKind.LINKED_SERVICE, "LS_Azure.Sql/Sales!" * 5), T0)
    assert len(name) <= 63
    assert name == name.lower()
    assert all(c.isalnum() or c == "-" for c in name)
