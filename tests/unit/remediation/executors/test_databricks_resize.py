from __future__ import annotations

import pytest
from aiops_operator.remediation.executors.databricks_resize import (
    ClusterSize,
    ResizeNotPossible,
    edited_definition,
    size_of,
    target_size,
)


@pytest.mark.parametrize(
    ("current", "percent", "cap", "target"),
    [
        pytest.param(ClusterSize(num_workers=4), 50, 100, ClusterSize(num_workers=6), id="fixed-plus-50"),
        pytest.param(ClusterSize(num_workers=3), 50, 100, ClusterSize(num_workers=5), id="rounds-up"),
        pytest.param(ClusterSize(num_workers=1), 10, 100, ClusterSize(num_workers=2), id="at-least-one-more"),
        pytest.param(ClusterSize(num_workers=8), 50, 10, ClusterSize(num_workers=10), id="capped"),
        pytest.param(ClusterSize(num_workers=4), 100, 100, ClusterSize(num_workers=8), id="custom-percent"),
        pytest.param(ClusterSize(min_workers=2, max_workers=8), 50, 100, ClusterSize(min_workers=2, max_workers=12),
                     id="autoscale-grows-max"),
        pytest.param(ClusterSize(min_workers=2, max_workers=8), 50, 10, ClusterSize(min_workers=2, max_workers=10),
                     id="autoscale-capped"),
    ],
)
def test_target_size(current: ClusterSize, percent: int, cap: int, target: ClusterSize) -> None:
    assert target_size(current, percent, cap) == target


@pytest.mark.parametrize(
    "current",
    [
        pytest.param(ClusterSize(num_workers=10), id="fixed-at-cap"),
        pytest.param(ClusterSize(min_workers=1, max_workers=10), id="autoscale-at-cap"),
        pytest.param(ClusterSize(num_workers=0), id="single-node"),
        pytest.param(ClusterSize(), id="no-size"),
    ],
)
def test_resize_not_possible(current: ClusterSize) -> None:
    with pytest.raises(ResizeNotPossible):
        target_size(current, 50, 10)


def test_size_of_wire() -> None:
    assert size_of({"num_workers": 4}) == ClusterSize(num_workers=4)
    assert size_of({"num_workers": 2, "autoscale": {"min_workers": 2, "max_workers": 6}}) == ClusterSize(
        min_workers=2, max_workers=6)


def test_edited_definition_preserves_everything_but_the_size() -> None:
    cluster = {
        "cluster_id": "c1", "cluster_name": "etl", "spark_version": "15.4.x-scala2.12", "node_type_id": "DS3",
        "spark_conf": {"spark.x": "1"}, "custom_tags": {"team": "data"}, "autotermination_minutes": 60,
        "num_workers": 4, "state": "TERMINATED", "cluster_memory_mb": 1, "default_tags": {"Vendor": "Databricks"},
    }
    body = edited_definition(cluster, ClusterSize(num_workers=6))
    assert body == {
        "cluster_id": "c1", "cluster_name": "etl", "spark_version": "15.4.x-scala2.12", "node_type_id": "DS3",
        "spark_conf": {"spark.x": "1"}, "custom_tags": {"team": "data"}, "autotermination_minutes": 60,
        "num_workers": 6,
    }
    auto = edited_definition({**cluster, "autoscale": {"min_workers": 1, "max_workers": 4}},
                             ClusterSize(min_workers=1, max_workers=6))
    assert auto["autoscale"] == {"min_workers": 1, "max_workers": 6}
    assert "num_workers" not in auto
