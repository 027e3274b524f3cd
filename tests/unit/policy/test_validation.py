from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from aiops_operator.api import (
    AttemptPhase,
    Backoff,
    ConditionStatus,
    ErrorType,
    FreezeWindowSpec,
    IncidentSource,
    PolicySelector,
    RemediationAction,
    RemediationPolicy,
    RemediationSummary,
    RunMode,
    find_condition,
)
from aiops_operator.api.conditions import Outcome
from aiops_operator.policy.validation import (
    policy_conditions,
    policy_status,
    rule_stats,
    validate_policy,
    validate_policy_body,
)

from tests.support.builders import at, attempt, params, policy, remediable, rule

REPO = Path(__file__).resolve().parents[3]
ADF_ONLY = PolicySelector(sources=[IncidentSource.AZURE_DATA_FACTORY])


@pytest.mark.parametrize(
    ("pol", "expected"),
    [
        pytest.param(policy(), [], id="valid"),
        pytest.param(policy(rule(backoff=Backoff(seconds=[1], initial_seconds=5))),
                     ["spec.rules[0].backoff: seconds and initialSeconds/factor are mutually exclusive"],
                     id="backoff-exclusive"),
        pytest.param(policy(rule(backoff=Backoff(factor=2))),
                     ["spec.rules[0].backoff.factor: factor needs initialSeconds"], id="factor-alone"),
        pytest.param(policy(rule(backoff=Backoff(initial_seconds=60, max_seconds=10))),
                     ["spec.rules[0].backoff.maxSeconds: maxSeconds is smaller than initialSeconds"],
                     id="max-lt-initial"),
        pytest.param(policy(rule(backoff=Backoff(seconds=[5, -1]))),
                     ["spec.rules[0].backoff.seconds[1]: must not be negative, got -1"], id="negative-wait"),
        pytest.param(policy(rule(backoff=Backoff(seconds=[1, 2, 3, 4, 5, 6]), max_attempts=2)), [],
                     id="longer-backoff-list-is-fine"),
        pytest.param(policy(rule(), rule(name="gateway-timeout", error_type=ErrorType.THROTTLING_ERROR)),
                     ["spec.rules[1].name: duplicate rule name 'gateway-timeout' (also spec.rules[0])"],
                     id="duplicate-name"),
        pytest.param(policy(rule(), rule(name="other")),
                     ["spec.rules[1].errorType: GatewayTimeout already has a rule (spec.rules[0]); only the first"
                      " would ever apply"], id="duplicate-error-type"),
        pytest.param(policy(rule(action=RemediationAction.RESTART_CLUSTER), selector=ADF_ONLY),
                     ["spec.rules[0].action: RestartCluster cannot act on incidents from AzureDataFactory (the"
                      " sources spec.selector allows)"], id="cluster-action-adf-only"),
        pytest.param(policy(rule(action=RemediationAction.CALL_PLAYBOOK, parameters=params(url="https://x.example/p")),
                            selector=ADF_ONLY), [], id="playbook-fits-any-source"),
        pytest.param(policy(rule(action=RemediationAction.CHECK_UPSTREAM_THEN_RERUN)),
                     ["spec.rules[0].parameters: CheckUpstreamThenRerun needs parameter 'upstreamPipeline'"],
                     id="upstream-missing"),
        pytest.param(policy(rule(action=RemediationAction.CALL_PLAYBOOK)),
                     ["spec.rules[0].parameters: CallPlaybook needs parameter 'url'"], id="url-missing"),
        pytest.param(policy(rule(action=RemediationAction.CALL_PLAYBOOK, parameters=params(url="ftp://x"))),
                     ["spec.rules[0].parameters[0].value: url must be an http:// or https:// URL"], id="url-bad"),
        pytest.param(policy(rule(action=RemediationAction.RESIZE_CLUSTER, parameters=params(scalePercent="lots"))),
                     ["spec.rules[0].parameters[0].value: scalePercent must be a positive integer, got 'lots'"],
                     id="scale-not-int"),
        pytest.param(policy(rule(parameters=params(upstreamPipeline="x"))),
                     ["spec.rules[0].parameters[0].name: RerunPipeline has no parameter 'upstreamPipeline' (known:"
                      " recovery, startActivity)"], id="unknown-parameter"),
        pytest.param(policy(rule(parameters=params(recovery="true") + params(recovery="false"))),
                     ["spec.rules[0].parameters[1].name: duplicate parameter 'recovery'"], id="duplicate-parameter"),
        pytest.param(policy(selector=PolicySelector(name_patterns=["sales_*", "[abc", ""])),
                     ["spec.selector.namePatterns[1]: unclosed '[' in '[abc' (it would match a literal '[')",
                      "spec.selector.namePatterns[2]: empty pattern matches nothing"], id="bad-patterns"),
    ],
)
def test_validate_policy(pol: RemediationPolicy, expected: list[str]) -> None:
    assert [str(p) for p in validate_policy(pol.spec)] == expected


def test_default_sample_policy_is_valid() -> None:
    body = yaml.safe_load((REPO / "crds/samples/policy-default.yaml").read_text())
    parsed, problems = validate_policy_body(body)
    assert parsed is not None
    assert problems == []


def test_unparseable_body_names_the_field() -> None:
    body: dict[str, Any] = {"metadata": {"name": "p"}, "spec": {"rules": [
        {"name": "r", "errorType": "GatewayTimeout", "action": "Reboot"}]}}
    parsed, problems = validate_policy_body(body)
    assert parsed is None
    assert [p.field for p in problems] == ["spec.rules[0].action"]


def test_invalid_policy_is_stalled_with_a_message_naming_the_field() -> None:
    pol = policy(rule(action=RemediationAction.CALL_PLAYBOOK))
    status = policy_status(pol, validate_policy(pol.spec), at(0))
    ready = find_condition(status.conditions, "Ready")
    stalled = find_condition(status.conditions, "Stalled")
    assert ready is not None
    assert stalled is not None
    assert (ready.status, ready.reason) == (ConditionStatus.FALSE, "InvalidSpec")
    assert (stalled.status, stalled.reason) == (ConditionStatus.TRUE, "InvalidSpec")
    assert "spec.rules[0].parameters" in ready.message
    assert status.observed_generation == 3
    assert ready.observed_generation == 3


def test_fixed_policy_becomes_ready_and_drops_stalled() -> None:
    pol = policy(rule(action=RemediationAction.CALL_PLAYBOOK))
    bad = policy_conditions([], validate_policy(pol.spec), 3, at(0))
    good = policy_conditions(bad, [], 4, at(60))
    assert [c.type for c in good] == ["Ready"]
    assert good[0].status is ConditionStatus.TRUE
    assert good[0].last_transition_time == at(60)
    assert policy_conditions(good, [], 4, at(120))[0].last_transition_time == at(60)


def test_condition_message_is_bounded() -> None:
    many = policy(*[rule(name=f"r{i}", action=RemediationAction.CALL_PLAYBOOK, error_type=e)
                    for i, e in enumerate(list(ErrorType)[:15])])
    conditions = policy_conditions([], validate_policy(many.spec), 1, at(0))
    assert all(len(c.message) <= 1024 for c in conditions)


def test_rule_stats_are_counted_from_objects() -> None:
    pol = policy(rule(), rule(name="throttling", error_type=ErrorType.THROTTLING_ERROR))
    matched = remediable()
    matched.status.remediation = RemediationSummary(policy="default", rule="gateway-timeout")
    other = remediable()
    other.status.remediation = RemediationSummary(policy="another", rule="gateway-timeout")
    attempts = [
        attempt(1, outcome=Outcome.RUN_FAILED),
        attempt(2, outcome=Outcome.SUCCEEDED),
        attempt(3, AttemptPhase.RUNNING),
        attempt(4, outcome=Outcome.DRY_RUN),
        attempt(5, AttemptPhase.AWAITING_APPROVAL),
    ]
    stats = rule_stats(pol, [matched, other], attempts)
    assert [(s.name, s.matched, s.attempted, s.succeeded) for s in stats] == [
        ("gateway-timeout", 1, 3, 1), ("throttling", 0, 0, 0)]
    status = policy_status(pol, [], at(0), stats)
    assert status.rules == stats
    assert [s.name for s in policy_status(pol, [], at(0)).rules] == ["gateway-timeout", "throttling"]


def _window(**overrides: Any) -> FreezeWindowSpec:
    values: dict[str, Any] = {"name": "month-end", "rrule": "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=18",
                              "duration_seconds": 86400, "time_zone": "Europe/Berlin"}
    values.update(overrides)
    return FreezeWindowSpec(**values)


@pytest.mark.parametrize(("windows", "expected"), [
    pytest.param([_window()], [], id="valid"),
    pytest.param([_window(rrule="FREQ=FORTNIGHTLY")], ["spec.freezeWindows[0]: freeze window month-end: invalid RRULE"],
                 id="bad-rrule"),
    pytest.param([_window(time_zone="Mars/Olympus")],
                 ["spec.freezeWindows[0]: freeze window month-end: unknown time zone 'Mars/Olympus'"], id="bad-zone"),
    pytest.param([_window(mode=RunMode.AUTO)],
                 ["spec.freezeWindows[0]: freeze window month-end: mode must be Review or Observe"], id="auto-window"),
    pytest.param([_window(), _window(rrule="FREQ=WEEKLY;BYDAY=FR")],
                 ["spec.freezeWindows[1].name: duplicate freeze window name 'month-end'"], id="duplicate-name"),
])
def test_freeze_windows_are_validated(windows: list[FreezeWindowSpec], expected: list[str]) -> None:
    problems = [str(p) for p in validate_policy(policy(freeze_windows=windows).spec)]
    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start)


def test_a_bad_window_makes_the_policy_stalled() -> None:
    pol = policy(freeze_windows=[_window(time_zone="Nowhere/Else")])
    status = policy_status(pol, validate_policy(pol.spec), at(0))
    stalled = find_condition(status.conditions, "Stalled")
    assert stalled is not None
    assert stalled.reason == "InvalidSpec"
    assert "unknown time zone 'Nowhere/Else'" in stalled.message


def test_records_count_as_would_have_launched() -> None:
    observed = rule(dry_run=True)
    pol = policy(observed)
    attempts = [
        attempt(1, the_rule=observed, outcome=Outcome.OBSERVED),
        attempt(2, the_rule=observed, outcome=Outcome.OBSERVED),
        attempt(3, AttemptPhase.PENDING, the_rule=observed),
    ]
    recorded = [a.model_copy(update={"status": a.status.model_copy(update={"would_have_done": "re-run ingest"})})
                if a.status.phase is AttemptPhase.SKIPPED else a for a in attempts]
    stats = rule_stats(pol, [], recorded)
    assert [(s.attempted, s.would_have_launched) for s in stats] == [(0, 2)]
