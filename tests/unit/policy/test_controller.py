"""The policy controller's status from a raw policy body, and invalid policies never used for matching."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from aiops_operator.api import RuleStats
from aiops_operator.policy.cache import PolicyCache
from aiops_operator.policy.controller import PolicyController, merge_stats, status_for

from tests.support.apiserver import FakeApiServer

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def body(rules: list[dict[str, Any]], name: str = "p", generation: int = 3) -> dict[str, Any]:
    return {"apiVersion": "aiops-rca.io/v1alpha1", "kind": "RemediationPolicy",
            "metadata": {"name": name, "namespace": "ns", "generation": generation,
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"rules": rules}}


VALID = [{"name": "gw", "errorType": "GatewayTimeout", "action": "RerunPipeline"}]
MISSING_PARAM = [{"name": "up", "errorType": "UserErrorSourceBlobNotExists", "action": "CheckUpstreamThenRerun"}]
UNPARSABLE = [{"name": "Bad Name", "errorType": "GatewayTimeout", "action": "RerunPipeline"}]


@pytest.mark.parametrize(("rules", "ready", "stalled", "field"), [
    pytest.param(VALID, "True", None, None, id="valid"),
    pytest.param(MISSING_PARAM, "False", "True", "spec.rules[0].parameters", id="missing-parameter"),
    pytest.param(UNPARSABLE, "False", "True", "spec.rules[0].name", id="schema-level"),
])
def test_status_for(rules: list[dict[str, Any]], ready: str, stalled: str | None, field: str | None) -> None:
    status, valid = status_for(body(rules), NOW)
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Ready"]["status"] == ready
    assert status["observedGeneration"] == 3
    assert valid is (ready == "True")
    if stalled is None:
        assert "Stalled" not in conditions
    else:
        assert conditions["Stalled"]["reason"] == "InvalidSpec"
        assert field is not None
        assert field in conditions["Ready"]["message"]


def test_stats_merge_across_pages() -> None:
    counts: dict[str, dict[str, RuleStats]] = {}
    merge_stats(counts, "p", [RuleStats(name="gw", matched=2, attempted=1)])
    merge_stats(counts, "p", [RuleStats(name="gw", matched=1, attempted=1, succeeded=1)])
    assert counts["p"]["gw"] == RuleStats(name="gw", matched=3, attempted=2, succeeded=1)


class FakeKube:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    async def list_all(self, *_: Any, **__: Any) -> tuple[list[dict[str, Any]], str]:
        return self.items, "1"


def test_invalid_policies_are_never_used_for_matching() -> None:
    kube = FakeKube([body(VALID, "good"), body(MISSING_PARAM, "broken"), body(UNPARSABLE, "unparsable")])
    cache = PolicyCache(kube, lambda: 0.0)  # type: ignore[arg-type]
    policies = asyncio.run(cache.get("ns"))
    assert [p.metadata.name for p in policies] == ["good"]


def _attempt(n: int, started: str) -> dict[str, Any]:
    return {"apiVersion": "aiops-rca.io/v1alpha1", "kind": "RemediationAttempt",
            "metadata": {"name": f"inc-{n}-1", "namespace": "ns", "labels": {"aiops-rca.io/target-hash": "t1"}},
            "spec": {"incidentRef": f"inc-{n}", "attempt": 1, "action": "RerunPipeline", "policy": "p", "rule": "gw",
                     "notBeforeTime": started, "idempotencyKey": f"k{n}"},
            "status": {"phase": "Succeeded", "startTime": started}}


async def test_recount_writes_the_circuit_breaker_and_a_reset_clears_it() -> None:
    api = FakeApiServer()
    policy = body(VALID)
    policy["spec"]["budgets"] = {"perTarget": {"maxLaunches": 2, "windowSeconds": 3600}}
    api.objects[("remediationpolicies", "ns", "p")] = policy
    for n, started in ((1, "2026-11-23T06:30:00Z"), (2, "2026-11-23T06:40:00Z")):
        api.objects[("remediationattempts", "ns", f"inc-{n}-1")] = _attempt(n, started)
    controller = PolicyController(api.client(), lambda: NOW)
    await controller.refresh_stats("ns")
    conditions = {c["type"]: c for c in api.objects[("remediationpolicies", "ns", "p")]["status"]["conditions"]}
    assert conditions["BudgetExhausted"]["status"] == "True"
    assert "next launch is allowed after 2026-11-23T07:30:00Z" in conditions["BudgetExhausted"]["message"]
    assert controller._due["ns"] == datetime(2026, 11, 23, 7, 30, tzinfo=UTC)

    api.objects[("remediationpolicies", "ns", "p")]["metadata"]["annotations"] = {
        "aiops-rca.io/budget-reset": "2026-11-23T06:50:00Z"}
    await controller.refresh_stats("ns")
    conditions = {c["type"]: c for c in api.objects[("remediationpolicies", "ns", "p")]["status"]["conditions"]}
    assert conditions["BudgetExhausted"]["status"] == "False"
    assert conditions["BudgetExhausted"]["reason"] == "WithinBudget"
