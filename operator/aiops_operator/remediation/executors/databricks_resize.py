"""Cluster resize arithmetic (pure): +50 % by default, within limits, the rest of the config kept."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_SCALE_PERCENT = 50
DEFAULT_MAX_WORKERS = 100
"""Ceiling when the rule gives no `maxWorkers`: a runaway resize must stop somewhere."""


@dataclass(frozen=True)
class ClusterSize:
    """Fixed size (`num_workers`) or autoscale range (`min_workers`..`max_workers`)."""

    num_workers: int | None = None
    min_workers: int | None = None
    max_workers: int | None = None

    @property
    def autoscale(self) -> bool:
        return self.max_workers is not None

    def describe(self) -> str:
        if self.autoscale:
            return f"autoscale {self.min_workers}-{self.max_workers} workers"
        return f"{self.num_workers} workers"


class ResizeNotPossible(ValueError):
    """The cluster is already at its limit (or has no size to scale)."""


def _grow(value: int, percent: int) -> int:
    return max(value + 1, math.ceil(value * (100 + percent) / 100))


def target_size(current: ClusterSize, scale_percent: int = DEFAULT_SCALE_PERCENT,
                max_workers: int = DEFAULT_MAX_WORKERS) -> ClusterSize:
    """The size after scaling up by `scale_percent` (at least one worker more), capped at `max_workers`.

    A fixed-size cluster grows its worker count; an autoscaling one grows its
    maximum and keeps its minimum (raised to stay ≤ the new maximum).
    """
    if scale_percent < 1:
        raise ValueError(f"scalePercent must be positive, got {scale_percent}")
    if current.autoscale:
        assert current.max_workers is not None
        new_max = min(_grow(current.max_workers, scale_percent), max_workers)
        if new_max <= current.max_workers:
            raise ResizeNotPossible(f"autoscale maximum {current.max_workers} is already at the limit {max_workers}")
        new_min = min(current.min_workers or 0, new_max)
        return ClusterSize(min_workers=new_min, max_workers=new_max)
    if current.num_workers is None:
        raise ResizeNotPossible("the cluster reports neither num_workers nor autoscale")
    if current.num_workers == 0:
        raise ResizeNotPossible("single-node cluster (0 workers): resizing would change its kind")
    new = min(_grow(current.num_workers, scale_percent), max_workers)
    if new <= current.num_workers:
        raise ResizeNotPossible(f"{current.num_workers} workers is already at the limit {max_workers}")
    return ClusterSize(num_workers=new)


def size_of(cluster: Mapping[str, Any]) -> ClusterSize:
    """The size of a cluster as clusters/get returns it."""
    autoscale = cluster.get("autoscale")
    if isinstance(autoscale, Mapping) and autoscale.get("max_workers") is not None:
        low, high = int(autoscale.get("min_workers") or 0), int(autoscale["max_workers"])
        return ClusterSize(min_workers=low, max_workers=high)
    workers = cluster.get("num_workers")
    return ClusterSize(num_workers=int(workers) if workers is not None else None)


EDITABLE_FIELDS = (
    "cluster_name", "spark_version", "spark_conf", "node_type_id", "driver_node_type_id", "custom_tags",
    "spark_env_vars", "autotermination_minutes", "enable_elastic_disk", "enable_local_disk_encryption",
    "instance_pool_id", "driver_instance_pool_id", "policy_id", "init_scripts", "cluster_log_conf",
    "ssh_public_keys", "azure_attributes", "aws_attributes", "gcp_attributes", "data_security_mode",
    "single_user_name", "runtime_engine", "docker_image", "workload_type", "kind", "is_single_node",
    "use_ml_runtime", "apply_policy_default_values",
)
"""clusters/edit replaces the whole definition: every field clusters/get returns that edit accepts."""


def edited_definition(cluster: Mapping[str, Any], target: ClusterSize) -> dict[str, Any]:
    """The clusters/edit body: the cluster's own definition with only its size changed."""
    body: dict[str, Any] = {k: cluster[k] for k in EDITABLE_FIELDS if cluster.get(k) is not None}
    body["cluster_id"] = cluster["cluster_id"]
    if target.autoscale:
        body["autoscale"] = {"min_workers": target.min_workers or 0, "max_workers": target.max_workers}
    else:
        body["num_workers"] = target.num_workers
    return body
