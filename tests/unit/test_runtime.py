"""The Runtime's gate: a standby records what its watches show and acts on nothing; a new leader
reconciles everything it knows; the fence refuses writes and launches of a replica that does not lead."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import pytest
from aiops_operator.api import Analysis
from aiops_operator.api.base import API_VERSION
from aiops_operator.incident.reconcile import Integrations
from aiops_operator.kube import KubeConfig
from aiops_operator.kube.lease import NotLeader
from aiops_operator.leadership import LeaseRecord, stepped_down, succeeded
from aiops_operator.runtime import FencedExecutors, Runtime
from aiops_operator.settings import OperatorSettings

from tests.support.builders import analysis, incident


class RulesOnly:
    async def analyze(self, request: Any) -> Analysis:
        raise AssertionError("a standby analyzes nothing")


class Recorder:
    """Stands in for the Reconciler: records what it is asked to reconcile."""

    def __init__(self) -> None:
        self.reconciled: list[str] = []
        self.observed: list[str] = []
        self.integrations = Integrations(analyzer=RulesOnly())

    async def reconcile(self, body: Mapping[str, Any]) -> float | None:
        self.reconciled.append(str(body["metadata"]["name"]))
        return None

    async def reconcile_by_name(self, namespace: str, name: str, uid: str) -> float | None:
        self.reconciled.append(name)
        return None

    def observe(self, body: Mapping[str, Any]) -> None:
        self.observed.append(str(body["metadata"]["name"]))

    def forget(self, uid: str) -> None:
        pass


def body(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ops", "uid": f"uid-{name}", "resourceVersion": "5"}}


@pytest.fixture
async def runtime() -> Runtime:
    settings = OperatorSettings(metrics_port=0, leader_election=True, pod_name="op-test")
    rt = Runtime(settings, KubeConfig(server="http://kube.test"), integrations=Integrations(analyzer=RulesOnly()),
                 watched_namespaces=["ops"])
    rt.reconciler = Recorder()  # type: ignore[assignment]
    return rt


async def test_a_standby_records_incidents_and_reconciles_none(runtime: Runtime) -> None:
    assert runtime.elector is not None
    assert runtime.elector.identity.startswith("op-test_")
    assert runtime.elector.lock.describe() == "ops/aiops-rca-operator"
    assert not runtime.acting()
    await runtime.on_incident_event("ADDED", body("a"))
    await runtime.on_incident_event("MODIFIED", body("b"))
    runtime.on_attempt_event("MODIFIED", {"metadata": {"name": "a-1", "namespace": "ops", "resourceVersion": "9",
                                                       "ownerReferences": [{"kind": "Incident", "uid": "uid-a",
                                                                            "name": "a"}]}})
    assert runtime.reconciler.reconciled == []  # type: ignore[attr-defined]
    assert runtime.reconciler.observed == ["a", "b"]  # type: ignore[attr-defined]
    assert not runtime._timers
    with pytest.raises(NotLeader):
        runtime._fence("PATCH", "/apis/aiops-rca.io/v1alpha1/namespaces/ops/incidents/a/status")
    await runtime.close()


async def test_a_standby_keeps_the_group_index_so_a_new_leader_groups_over_every_incident() -> None:
    """Taking over, the new leader's reconciles run at once; each must see all the storm's incidents, not
    only those already read back by another reconcile, or it decides it stands alone."""
    settings = OperatorSettings(metrics_port=0, leader_election=True, pod_name="op-test")
    rt = Runtime(settings, KubeConfig(server="http://kube.test"), integrations=Integrations(analyzer=RulesOnly()),
                 watched_namespaces=["ops"])
    names = [f"adf-storm-{i}" for i in range(3)]
    for name in names:
        inc = incident(object_name=name, namespace="ops", uid=f"uid-{name}", analysis=analysis().model_dump(
            mode="json", by_alias=True))
        await rt.on_incident_event("ADDED", {**inc.model_dump(mode="json", by_alias=True, exclude_none=True),
                                             "apiVersion": API_VERSION, "kind": "Incident"})
    assert not rt.acting()
    assert [name for name in names if rt.reconciler.groups.peer("ops", name) is not None] == names
    assert len(list(rt.reconciler.groups.facts("ops", names[0]))) == 2
    await rt.close()


async def test_a_new_leader_reconciles_everything_it_knows(runtime: Runtime) -> None:
    for name in ("a", "b", "c"):
        await runtime.on_incident_event("ADDED", body(name))
    await runtime.on_incident_event("DELETED", body("c"))
    assert runtime.elector is not None
    # As the elector leaves it after a successful acquire, just before it calls back.
    runtime.elector._candidate = succeeded(runtime.elector.candidate, LeaseRecord(holder=runtime.elector.identity),
                                           time.monotonic())
    assert runtime.acting()
    runtime._started_leading()
    assert set(runtime._timers) == {"uid-a", "uid-b"}
    runtime.elector._candidate = stepped_down(runtime.elector.candidate, None, time.monotonic())
    runtime._stopped_leading()
    assert not runtime._timers
    runtime._schedule("uid-a", "ops", "a", 5.0)  # a reconcile ending after leadership was lost
    assert not runtime._timers
    await runtime.close()


def test_a_launch_is_refused_behind_the_fence() -> None:
    launched: list[str] = []

    class Executors:
        def launch(self, incident: Any, attempt: Any) -> Any:
            launched.append("launch")

        def poll(self, incident: Any, attempt: Any) -> Any:
            return "polled"

    def shut() -> None:
        raise NotLeader("not the leader")

    fenced = FencedExecutors(Executors(), shut)
    with pytest.raises(NotLeader):
        fenced.launch(None, None)  # type: ignore[arg-type]
    assert launched == []
    assert fenced.poll(None, None) == "polled"  # type: ignore[arg-type,comparison-overlap]


async def test_a_leader_behind_its_fence_defers_work_instead_of_dropping_it(runtime: Runtime) -> None:
    """A renewal is late (a starved event loop): the replica still holds the Lease but may not act. What
    arrives meanwhile waits one retry period rather than being lost until the next watch event."""
    assert runtime.elector is not None
    timing = runtime.elector.timing
    late = time.monotonic() - timing.renew_deadline - 0.5  # renewed longer ago than the renew deadline
    runtime.elector._candidate = succeeded(runtime.elector.candidate, LeaseRecord(holder=runtime.elector.identity),
                                           late)
    assert runtime.holding()
    assert not runtime.acting()
    await runtime.on_incident_event("ADDED", body("a"))
    assert runtime.reconciler.reconciled == []  # type: ignore[attr-defined]
    timer = runtime._timers["uid-a"]
    assert timer.when() - asyncio.get_running_loop().time() == pytest.approx(timing.retry_period, abs=0.2)
    await runtime.close()
