from __future__ import annotations

import pytest
from aiops_operator.api import ErrorType, RemediationPolicy
from aiops_operator.policy.matching import covers, find_rule, select_policy

from tests.support.builders import incident, policy

SPEC = incident(name="pl_copy_sales_daily").spec


@pytest.mark.parametrize(("pol", "covered"), [
    pytest.param(policy(), True, id="empty-selector-covers-all"),
    pytest.param(policy(sources=["AzureDataFactory"]), True, id="source-listed"),
    pytest.param(policy(sources=["DatabricksJob"]), False, id="other-source"),
    pytest.param(policy(patterns=["pl_copy_*"]), True, id="pattern"),
    pytest.param(policy(patterns=["nightly-*", "*_daily"]), True, id="any-pattern"),
    pytest.param(policy(patterns=["PL_COPY_*"]), False, id="patterns-are-case-sensitive"),
    pytest.param(policy(sources=["AzureDataFactory"], patterns=["ingest_*"]), False, id="both-must-hold"),
    pytest.param(policy(enabled=False), False, id="disabled"),
])
def test_covers(pol: RemediationPolicy, covered: bool) -> None:
    assert covers(pol, SPEC) is covered


@pytest.mark.parametrize(("policies", "winner"), [
    pytest.param([], None, id="none"),
    pytest.param([policy(name="a", priority=1), policy(name="b", priority=5)], "b", id="highest-priority"),
    pytest.param([policy(name="a", created="2026-02-01T00:00:00Z"),
                  policy(name="b", created="2026-01-01T00:00:00Z")], "b", id="then-oldest"),
    pytest.param([policy(name="b"), policy(name="a")], "a", id="then-name"),
    pytest.param([policy(name="a", priority=9, sources=["DatabricksJob"]), policy(name="b")], "b",
                 id="non-covering-ignored"),
])
def test_select_policy(policies: list[RemediationPolicy], winner: str | None) -> None:
    chosen = select_policy(policies, SPEC)
    assert (chosen.metadata.name if chosen else None) == winner


def test_find_rule() -> None:
    pol = policy()
    rule = find_rule(pol, ErrorType.GATEWAY_TIMEOUT)
    assert rule is not None
    assert rule.name == "gateway-timeout"
    assert find_rule(pol, ErrorType.SCHEMA_MISMATCH) is None
