"""Scenario parsing: defaults, typos rejected, the documented example is valid."""

from __future__ import annotations

import re

import pytest

from sandbox.scenario import SCENARIO_REFERENCE, ScenarioError, parse_scenario, parse_scenario_text


def test_empty_text_is_the_empty_scenario() -> None:
    scenario = parse_scenario_text("")
    assert scenario.adf.pipelines == {}
    assert scenario.faults == []


def test_typos_are_rejected_with_the_field_name() -> None:
    with pytest.raises(ScenarioError, match="pipelnes"):
        parse_scenario({"adf": {"pipelnes": {}}})


@pytest.mark.parametrize("text", [
    pytest.param("- a\n- b\n", id="not-a-mapping"),
    pytest.param("adf: [", id="bad-yaml"),
])
def test_malformed_text(text: str) -> None:
    with pytest.raises(ScenarioError):
        parse_scenario_text(text)


def test_llm_only_fault_kinds_are_checked() -> None:
    with pytest.raises(ScenarioError, match="llm only"):
        parse_scenario({"faults": [{"service": "slack", "kind": "malformed_json"}]})


def test_the_documented_example_parses() -> None:
    example = SCENARIO_REFERENCE.split("\n\n  fault kinds")[0].split("\n", 2)[2]
    example = re.sub(r"#.*", "", example)
    scenario = parse_scenario_text(example)
    assert scenario.databricks.jobs[123].tasks == ["ingest", "transform"]
    assert scenario.databricks.clusters["0101-120000-abcd"].start_outcomes == ["TERMINATED", "RUNNING"]
    assert len(scenario.faults) == 9
    assert scenario.faults[-2].kind == "obedient"
    assert scenario.faults[-1].probability == 0.1
    assert scenario.rate_limits.enabled
    assert scenario.rate_limits.slack.method_tiers["chat.update"] == 3
    assert scenario.rate_limits.jira.per_issue_writes.burst == 10


@pytest.mark.parametrize("probability", [pytest.param(0.1, id="ten-percent"), pytest.param(0.3, id="thirty-percent")])
def test_a_probable_fault_hits_about_that_share_of_requests_reproducibly(probability: float) -> None:
    from sandbox.faults import FaultBook
    from sandbox.scenario import Fault

    def hits() -> list[bool]:
        book = FaultBook()
        book.add(Fault(service="adf", kind="status", status=503, probability=probability))
        return [book.take("adf", "createRun") is not None for _ in range(2000)]

    first = hits()
    assert abs(sum(first) / len(first) - probability) < 0.04
    assert hits() == first  # seeded: the same run sees the same faults
