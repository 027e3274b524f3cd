from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiops_operator.api import (
    ConditionStatus,
    CorrelationRole,
    DependencyRef,
    GroupMember,
    GroupStatus,
    IncidentPhase,
    IncidentSource,
    IncidentStatus,
    PolicyRule,
    RemediationAction,
    RootRef,
    find_condition,
)
from aiops_operator.api.conditions import (
    CorrelatedReason,
    GroupReason,
    IncidentCondition,
    NotifiedReason,
    RemediatedReason,
    condition,
)
from aiops_operator.api.labels import STORM_ROOT_LABEL
from aiops_operator.correlation import membership
from aiops_operator.correlation.membership import GroupObservation, Peer
from aiops_operator.correlation.rules import Correlation

from tests.support.builders import FIRED, NOW, analysis, incident

ROOT = "dbj-nb-transform-81523"
ME = "adf-x-1"


def peer(name: str, phase: IncidentPhase | None = IncidentPhase.REMEDIATING, *, seconds: int = 0,
         storm_root: bool = False, canary: str | None = None, attempts: int = 0) -> Peer:
    return Peer(name=name, source=IncidentSource.AZURE_DATA_FACTORY, target=name, received_time=FIRED
                + timedelta(seconds=seconds), phase=phase, root=None if storm_root else ROOT, canary=canary,
                storm_root=storm_root, attempts_made=attempts)


def cond(type_: str, status: ConditionStatus, reason: str) -> Any:
    return condition(type_, status, reason, "m", NOW, 1)


def member_status(*conditions: Any, reason: GroupReason = GroupReason.DATABRICKS_RUN, attempts: int = 0,
                  phase: IncidentPhase = IncidentPhase.REMEDIATING) -> IncidentStatus:
    return IncidentStatus(
        phase=phase, analysis=analysis(),
        correlation=GroupStatus(role=CorrelationRole.MEMBER, root=RootRef(name=ROOT, reason=reason.value)),
        conditions=[cond(IncidentCondition.CORRELATED, ConditionStatus.TRUE, reason), *conditions],
        remediation={"attemptsMade": attempts, "maxAttempts": 2} if attempts else None,
    )


def root_status(phase: IncidentPhase, count: int, resolved: int = 0, escalated: int = 0) -> IncidentStatus:
    return IncidentStatus(phase=phase, correlation=GroupStatus(
        role=CorrelationRole.ROOT, member_count=count, members_resolved=resolved, members_escalated=escalated,
        members=[GroupMember(name=f"m{i}", source=IncidentSource.AZURE_DATA_FACTORY, target=f"pl_{i}")
                 for i in range(min(count, 12))]))


# --- released: members never remediate while their root is open ------------------------------


@pytest.mark.parametrize(("observed", "expected"), [
    pytest.param(GroupObservation(), False, id="root-not-known-yet-waits"),
    pytest.param(GroupObservation(root=peer(ROOT, IncidentPhase.REMEDIATING)), False, id="root-open-waits"),
    pytest.param(GroupObservation(root=peer(ROOT, IncidentPhase.ESCALATED)), False,
                 id="root-escalated-waits-for-a-human"),
    pytest.param(GroupObservation(root=peer(ROOT, IncidentPhase.RESOLVED)), True, id="root-healed-releases"),
    pytest.param(GroupObservation(root_missing=True), True, id="root-deleted-releases"),
    pytest.param(GroupObservation(root=peer(ROOT, IncidentPhase.REMEDIATING, storm_root=True, canary=ME)), True,
                 id="storm-canary-probes-at-once"),
    pytest.param(GroupObservation(root=peer(ROOT, IncidentPhase.REMEDIATING, storm_root=True, canary="other")),
                 False, id="storm-non-canary-waits"),
    pytest.param(GroupObservation(root=peer(ROOT, IncidentPhase.RESOLVED), member_concurrency=2, siblings=(
        peer("a", seconds=-2), peer("b", seconds=-1), peer(ME))), False, id="healed-but-not-its-turn"),
    pytest.param(GroupObservation(root=peer(ROOT, IncidentPhase.RESOLVED), member_concurrency=2, siblings=(
        peer("a", IncidentPhase.RESOLVED, seconds=-2), peer("b", seconds=-1), peer(ME))), True,
        id="finished-member-passes-its-slot"),
    pytest.param(GroupObservation(root=peer(ROOT, IncidentPhase.RESOLVED), member_concurrency=2, siblings=(
        peer("a", IncidentPhase.ESCALATED, seconds=-2), peer("b", seconds=-1), peer(ME), peer("z", seconds=5))),
        True, id="escalated-member-passes-its-slot-later-arrivals-do-not-count"),
])
def test_released(observed: GroupObservation, expected: bool) -> None:
    assert membership.released(member_status(), ME, observed) is expected


def test_a_storm_member_waits_while_its_root_is_not_created_yet() -> None:
    status = member_status(reason=GroupReason.STORM)
    assert membership.released(status, ME, GroupObservation(root_missing=True)) is False


def test_not_a_member_is_always_released() -> None:
    assert membership.released(IncidentStatus(), ME, GroupObservation()) is True


def test_in_turn_bounds_how_many_remediate_at_once() -> None:
    siblings = tuple(peer(f"m{i:02}", seconds=i) for i in range(30))
    assert sum(membership.in_turn(p.name, siblings, 7) for p in siblings) == 7


# --- quiet: one Slack message and one Jira issue per root --------------------------------------


@pytest.mark.parametrize(("status", "expected"), [
    pytest.param(IncidentStatus(), False, id="alone-notifies"),
    pytest.param(member_status(), True, id="member-is-told-through-its-root"),
    pytest.param(root_status(IncidentPhase.REMEDIATING, 3), False, id="root-notifies"),
    pytest.param(member_status(cond(IncidentCondition.ESCALATED, ConditionStatus.TRUE, "AttemptsExhausted"),
                               attempts=1, phase=IncidentPhase.ESCALATED), False,
                 id="member-whose-own-rerun-failed-is-an-incident-of-its-own"),
    pytest.param(member_status(cond(IncidentCondition.ESCALATED, ConditionStatus.TRUE, "NotRemediable"),
                               phase=IncidentPhase.ESCALATED), True,
                 id="member-escalated-without-own-attempt-stays-quiet"),
])
def test_quiet(status: IncidentStatus, expected: bool) -> None:
    assert membership.quiet(status) is expected


# --- settle_group ------------------------------------------------------------------------------


def analyzed(**status: Any) -> Any:
    conds = [{"type": "Analyzed", "status": "True", "reason": "AnalysisSucceeded", "message": "m",
              "lastTransitionTime": NOW.isoformat()}]
    return incident(analysis=analysis().model_dump(mode="json", by_alias=True), conditions=conds, **status)


@pytest.mark.parametrize(("found", "correlated", "role"), [
    pytest.param(None, (ConditionStatus.FALSE, CorrelatedReason.NOT_CORRELATED), None, id="alone"),
    pytest.param(Correlation(GroupReason.DATABRICKS_RUN, None, "waiting", wait_until=NOW + timedelta(seconds=9)),
                 (ConditionStatus.UNKNOWN, CorrelatedReason.WAITING_FOR_ROOT), None, id="waits-for-its-root"),
    pytest.param(Correlation(GroupReason.CHILD_PIPELINE, ROOT, "child failed"),
                 (ConditionStatus.TRUE, GroupReason.CHILD_PIPELINE), CorrelationRole.MEMBER, id="joins-its-root"),
])
def test_settle_group_folds_what_correlation_found(found: Correlation | None, correlated: tuple[Any, Any],
                                                   role: CorrelationRole | None) -> None:
    inc = analyzed()
    status = membership.settle_group(inc, inc.status, GroupObservation(found=found), NOW, 1)
    got = find_condition(status.conditions, IncidentCondition.CORRELATED)
    assert got is not None
    assert (got.status, got.reason) == correlated
    assert (status.correlation.role if status.correlation else None) is role


def test_a_joined_member_waits_for_its_root_and_is_released_once_it_healed() -> None:
    inc = analyzed()
    joined = membership.settle_group(inc, inc.status, GroupObservation(
        found=Correlation(GroupReason.DATABRICKS_RUN, ROOT, "run failed"), root=peer(ROOT)), NOW, 1)
    assert membership.awaiting_root(joined)
    assert membership.waits_for_group(joined)
    assert not membership.holding(inc, joined, GroupObservation())
    # The root healed: the member's AwaitingRoot stays until the hand-off replaces it; released() says go.
    assert membership.released(joined, ME, GroupObservation(root=peer(ROOT, IncidentPhase.RESOLVED)))


def test_a_root_lists_and_counts_its_members_bounded() -> None:
    inc = analyzed()
    members = tuple(peer(f"m{i:03}", IncidentPhase.RESOLVED if i < 3 else IncidentPhase.ANALYZING, seconds=i)
                    for i in range(80))
    status = membership.settle_group(inc, inc.status, GroupObservation(members=members), NOW, 1)
    group = status.correlation
    assert group is not None
    assert group.role is CorrelationRole.ROOT
    assert group.member_count == 80
    assert len(group.members) == 50
    assert group.members_resolved == 3
    correlated = find_condition(status.conditions, IncidentCondition.CORRELATED)
    assert correlated is not None
    assert correlated.reason == CorrelatedReason.GROUP_ROOT


def storm_root(**status: Any) -> Any:
    inc = analyzed(**status)
    inc.metadata.labels[STORM_ROOT_LABEL] = "true"
    inc.spec.resource.name, inc.spec.resource.id = "shir-01", "IntegrationRuntime"
    return inc


@pytest.mark.parametrize(("canary_phase", "remediated", "resolved"), [
    pytest.param(IncidentPhase.REMEDIATING, RemediatedReason.AWAITING_DEPENDENCY, False, id="canary-probing"),
    pytest.param(IncidentPhase.RESOLVED, RemediatedReason.DEPENDENCY_RECOVERED, True, id="canary-healed"),
    pytest.param(IncidentPhase.ESCALATED, RemediatedReason.DEPENDENCY_NOT_RECOVERED, False, id="canary-failed"),
])
def test_a_storm_root_follows_its_canary(canary_phase: IncidentPhase, remediated: str, resolved: bool) -> None:
    inc = storm_root()
    members = (peer("first", canary_phase, seconds=-5), peer("second", IncidentPhase.REMEDIATING))
    status = membership.settle_group(inc, inc.status, GroupObservation(members=members), NOW, 1)
    assert status.correlation is not None
    assert status.correlation.canary == "first"  # the first by arrival probes the dependency
    assert status.correlation.dependency is not None
    assert status.correlation.dependency.name == "shir-01"
    got = find_condition(status.conditions, IncidentCondition.REMEDIATED)
    assert got is not None
    assert got.reason == remediated
    assert (status.resolution is not None) is resolved


def test_a_storm_root_without_members_holds_its_notifications() -> None:
    inc = storm_root()
    assert membership.holding(inc, inc.status, GroupObservation())
    assert not membership.holding(inc, inc.status, GroupObservation(members=(peer("a"),)))


def test_disabled_correlation_stands_alone() -> None:
    inc = analyzed()
    status = membership.settle_group(inc, inc.status, GroupObservation(enabled=False), NOW, 1)
    got = find_condition(status.conditions, IncidentCondition.CORRELATED)
    assert got is not None
    assert (got.status, got.reason) == (ConditionStatus.FALSE, CorrelatedReason.NOT_CORRELATED)


def test_notified_via_root_names_the_root() -> None:
    status = membership.notified_via_root(member_status(), NOW, 1)
    got = find_condition(status.conditions, IncidentCondition.NOTIFIED)
    assert got is not None
    assert got.reason == NotifiedReason.NOTIFIED_VIA_ROOT
    assert ROOT in got.message


# --- the root's notifications: one post, one reply per group state -----------------------------


@pytest.mark.parametrize(("status", "state", "jira", "replies"), [
    pytest.param(IncidentStatus(phase=IncidentPhase.REMEDIATING), None, None, [], id="no-group-open"),
    pytest.param(IncidentStatus(phase=IncidentPhase.RESOLVED), None, "Resolved", [], id="no-group-resolved"),
    pytest.param(root_status(IncidentPhase.REMEDIATING, 3), "Waiting", "Open|group:Waiting", ["group-formed"],
                 id="root-open"),
    pytest.param(root_status(IncidentPhase.RESOLVED, 3, resolved=1), "Released", "Resolved|group:Released",
                 ["group-formed", "group-released"], id="root-healed-members-rerunning"),
    pytest.param(root_status(IncidentPhase.RESOLVED, 3, resolved=2, escalated=1), "Settled",
                 "Resolved|group:Settled", ["group-formed", "group-released", "group-settled"], id="all-done"),
    pytest.param(root_status(IncidentPhase.ESCALATED, 3), "Waiting", "Escalated|group:Waiting", ["group-formed"],
                 id="root-escalated"),
])
def test_group_state_views_and_replies(status: IncidentStatus, state: str | None, jira: str | None,
                                       replies: list[str]) -> None:
    assert membership.group_state(status) == state
    assert membership.jira_view(status) == jira
    assert [k for k, _ in membership.group_replies(status)] == replies
    assert [k for k, _ in membership.group_comments(status)] == replies
    assert len(jira or "") <= 32  # notifications.jiraUpdatedPhase's bound


@pytest.mark.parametrize(("n", "bucket"), [
    pytest.param(0, 0, id="none"), pytest.param(1, 1, id="one"), pytest.param(4, 2, id="four"),
    pytest.param(5, 5, id="five"), pytest.param(499, 200, id="storm"), pytest.param(10**6, 10000, id="huge"),
])
def test_count_bucket(n: int, bucket: int) -> None:
    assert membership.count_bucket(n) == bucket


def test_slack_view_changes_per_bucket_not_per_member() -> None:
    views = {membership.group_view(root_status(IncidentPhase.REMEDIATING, n)) for n in range(20, 50)}
    assert views == {"|group:Waiting/20"}


def test_members_summary_is_bounded_and_counts_the_rest() -> None:
    summary = membership.members_summary(root_status(IncidentPhase.REMEDIATING, 40, resolved=4))
    assert summary is not None
    assert summary.startswith("40 affected run(s): 4 healed")
    assert summary.splitlines()[-1] == "... and 30 more"
    assert membership.members_summary(IncidentStatus()) is None


def test_the_root_jira_comment_lists_the_affected_runs() -> None:
    key, text = membership.group_comments(root_status(IncidentPhase.REMEDIATING, 2))[0]
    assert key == "group-formed"
    assert not text.startswith(":")  # Slack emoji codes stay in Slack
    assert "pl_0 (AzureDataFactory)" in text


# --- member_rule: a cluster's members never act on the cluster ----------------------------------


@pytest.mark.parametrize(("reason", "action", "expected"), [
    pytest.param(GroupReason.CLUSTER_TERMINATED, RemediationAction.RESTART_CLUSTER, RemediationAction.REPAIR_RUN,
                 id="cluster-member-repairs-instead-of-restarting"),
    pytest.param(GroupReason.CLUSTER_TERMINATED, RemediationAction.RUN_JOB_NOW, RemediationAction.RUN_JOB_NOW,
                 id="cluster-member-reruns-per-policy"),
    pytest.param(GroupReason.STORM, RemediationAction.RESTART_CLUSTER, RemediationAction.RESTART_CLUSTER,
                 id="other-groups-keep-their-rule"),
])
def test_member_rule(reason: GroupReason, action: RemediationAction, expected: RemediationAction) -> None:
    rule = PolicyRule.model_validate({"name": "r", "errorType": "ClusterUnexpectedTermination",
                                      "action": action.value, "maxAttempts": 1})
    got = membership.member_rule(member_status(reason=reason), rule)
    assert got is not None
    assert got.action is expected


# --- storm roots --------------------------------------------------------------------------------


def test_storm_hold_waits_for_a_storm_then_goes_alone() -> None:
    from aiops_operator.correlation.references import Dependency, DependencyKind, References
    from aiops_operator.correlation.rules import Facts, Settings

    subject = Facts(ME, IncidentSource.AZURE_DATA_FACTORY, "r", FIRED, References(
        dependencies={Dependency(DependencyKind.INTEGRATION_RUNTIME, "shir-01")}), error_type="GatewayTimeout")
    hold = timedelta(seconds=10)
    held = membership.decide(subject, [], Settings(), hold, FIRED + timedelta(seconds=3))
    assert held is not None
    assert (held.root, held.wait_until) == (None, FIRED + hold)
    assert membership.decide(subject, [], Settings(), hold, FIRED + hold) is None


@pytest.mark.parametrize(("analyzed_after", "now_after", "held_until_after"), [
    pytest.param(None, 3, 10, id="not-analyzed-yet-counts-from-arrival"),
    pytest.param(1, 3, 11, id="analyzed-at-once-holds-about-from-arrival"),
    pytest.param(30, 31, 40, id="analyzed-after-a-backlog-still-holds-for-its-peers"),
    pytest.param(30, 40, None, id="the-hold-after-a-backlog-ends-too"),
])
def test_the_storm_hold_counts_from_the_analysis_when_it_came_later(
    analyzed_after: int | None, now_after: int, held_until_after: int | None,
) -> None:
    """Peers are only seen as a storm once analyzed (one error type): an incident analyzed long after its
    arrival, with its peers analyzed in the same moment, must still wait for theirs to be indexed."""
    from aiops_operator.correlation.references import Dependency, DependencyKind, References
    from aiops_operator.correlation.rules import Facts, Settings

    subject = Facts(ME, IncidentSource.AZURE_DATA_FACTORY, "r", FIRED, References(
        dependencies={Dependency(DependencyKind.INTEGRATION_RUNTIME, "shir-01")}), error_type="GatewayTimeout",
        analyzed_time=None if analyzed_after is None else FIRED + timedelta(seconds=analyzed_after))
    held = membership.decide(subject, [], Settings(), timedelta(seconds=10), FIRED + timedelta(seconds=now_after))
    if held_until_after is None:
        assert held is None
    else:
        assert held is not None
        assert (held.root, held.wait_until) == (None, FIRED + timedelta(seconds=held_until_after))


def test_facts_carry_when_the_error_type_became_known() -> None:
    analyzed = analysis().model_copy(update={"analyzed_time": NOW})
    assert membership.facts_of(incident(analysis=analyzed.model_dump(mode="json", by_alias=True))).analyzed_time \
        == NOW
    assert membership.facts_of(incident()).analyzed_time is None


def test_a_storm_member_creates_its_root_under_the_deterministic_name() -> None:
    status = member_status(reason=GroupReason.STORM)
    assert status.correlation is not None
    status.correlation.dependency = DependencyRef(kind="IntegrationRuntime", name="shir-01")
    assert membership.wants_storm_root(status, GroupObservation(root_missing=True))
    assert not membership.wants_storm_root(status, GroupObservation(root=peer(ROOT)))
    inc = incident(**status.model_dump(mode="json", by_alias=True, exclude_none=True))
    body = membership.storm_root_body(inc, "ns")
    assert body["metadata"]["name"] == ROOT
    assert body["metadata"]["labels"][STORM_ROOT_LABEL] == "true"
    assert body["spec"]["resource"] == {"kind": "Other", "name": "shir-01", "id": "IntegrationRuntime"}


def test_an_activity_runs_own_pipeline_run_is_no_child_run() -> None:
    child = "6b1c1d6e-7a0f-4f3e-9d2b-0c5e8a1b2c3d"
    inc = incident(enrichment={"references": {"childPipelineRuns": ["run-1", child]}})
    assert membership.facts_of(inc).references.child_pipeline_runs == {child}
