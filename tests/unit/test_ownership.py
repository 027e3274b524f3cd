from __future__ import annotations

import pytest
from aiops_operator.api import Ownership, OwnershipOrigin, RemediationPolicy
from aiops_operator.ownership import OwnershipDefaults, resolve_ownership
from aiops_operator.settings import KeywordOwnershipRule

from tests.support.builders import incident, policy

DEFAULTS = OwnershipDefaults(
    team="platform", owner="oncall", cost_center="CC-1", slack_channel="#incidents", jira_project="OPS",
    keyword_rules=(KeywordOwnershipRule(keywords=["SALES"], team="sales-data", slack_channel="#sales"),
                   KeywordOwnershipRule(keywords=["copy"], team="copy-team")),
)


@pytest.mark.parametrize(("name", "pol", "expected"), [
    pytest.param("pl_copy_sales_daily", policy(routing={"team": "data", "slackChannel": "#data"}),
                 Ownership(team="data", owner="oncall", cost_center="CC-1", slack_channel="#data",
                           jira_project="OPS", origin=OwnershipOrigin.POLICY), id="policy-routing-with-defaults"),
    pytest.param("pl_copy_sales_daily", policy(routing={"jiraProject": "DAT"}),
                 Ownership(team="platform", owner="oncall", cost_center="CC-1", slack_channel="#incidents",
                           jira_project="DAT", origin=OwnershipOrigin.POLICY), id="policy-without-team"),
    pytest.param("pl_copy_sales_daily", policy(),
                 Ownership(team="sales-data", owner="oncall", cost_center="CC-1", slack_channel="#sales",
                           jira_project="OPS", origin=OwnershipOrigin.KEYWORD_RULE),
                 id="policy-without-routing-then-first-keyword-rule"),
    pytest.param("pl_copy_inventory", None,
                 Ownership(team="copy-team", owner="oncall", cost_center="CC-1", slack_channel="#incidents",
                           jira_project="OPS", origin=OwnershipOrigin.KEYWORD_RULE), id="second-keyword-rule"),
    pytest.param("ingest_hr", None,
                 Ownership(team="platform", owner="oncall", cost_center="CC-1", slack_channel="#incidents",
                           jira_project="OPS", origin=OwnershipOrigin.DEFAULT), id="defaults"),
])
def test_resolve_ownership(name: str, pol: RemediationPolicy | None, expected: Ownership) -> None:
    assert resolve_ownership(incident(name=name).spec, pol, DEFAULTS) == expected
