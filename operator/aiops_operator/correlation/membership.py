"""An incident's place in its group, as pure decisions over what the reconcile observed (issue 16).

`rules.correlate()` says which root an incident belongs to. This module turns that into the
Incident's status and into what the rest of the lifecycle does with it:

- **Deciding once.** While the Correlated condition is missing or Unknown (WaitingForRoot) the
  incident holds its hand-off to remediation and its notifications; once True (a member, reason
  the rule) or False (NotCorrelated) it is decided and not revisited. An incident naming a shared
  dependency also holds for `stormHoldSeconds`, so a storm's first failures do not post alone.
- **Members wait.** A member's Remediated condition reads AwaitingRoot until it is *released*:
  its root is Resolved (or gone), or it is the canary of a storm root. Then the ordinary
  hand-off runs (policy, rule, attempt `<member>-1`: one re-run each, exactly once by name), at most
  `memberConcurrency` members of one root at a time, in order of arrival (`in_turn`).
- **Members are quiet.** A member posts no Slack message and creates no Jira issue (Notified
  reason NotifiedViaRoot); the root's message lists them. A member whose own remediation after
  release escalates is an incident of its own again and notifies like any other.
- **Storm roots.** A storm's root is an Incident the operator creates under a deterministic name
  (`rules.storm_root_name`); it stands for the shared dependency and has no re-run of its own.
  Its *canary*, the first member by arrival, is released at once; its remediation probes the
  dependency. The canary healed: the dependency is back, the storm root is Resolved
  (DependencyRecovered) and the other members are released. The canary escalated: the storm root
  escalates (DependencyNotRecovered) and the members wait for a human to resolve the root.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiops_operator.api import (
    Analysis,
    ConditionStatus,
    Confidence,
    CorrelationRole,
    CorrelationSettings,
    DependencyRef,
    ErrorType,
    FailureReferences,
    GroupMember,
    GroupStatus,
    Incident,
    IncidentPhase,
    IncidentSource,
    IncidentStatus,
    Ownership,
    PolicyRule,
    Priority,
    RemediationAction,
    Resolution,
    ResolvedBy,
    RootRef,
    Severity,
    find_condition,
    is_true,
    set_condition,
)
from aiops_operator.api.base import API_VERSION
from aiops_operator.api.conditions import (
    GROUP_WAIT_REASONS,
    CorrelatedReason,
    GroupReason,
    IncidentCondition,
    NotifiedReason,
    RemediatedReason,
    condition,
)
from aiops_operator.api.history import record
from aiops_operator.api.incident import MAX_GROUP_MEMBERS_LISTED
from aiops_operator.api.labels import ROOT_LABEL, SOURCE_LABEL, STORM_ROOT_LABEL
from aiops_operator.api.phase import TERMINAL_PHASES
from aiops_operator.api.sla import sla_start
from aiops_operator.correlation.references import Dependency, DependencyKind, References, RunRef, references
from aiops_operator.correlation.rules import Correlation, Facts, Settings, correlate

CORRELATED = "Correlated"
"""History action (and Event reason) when an incident joins a group."""
GROUP_ROOT_CREATED = "GroupRootCreated"
"""History action on a storm root: the operator created it."""
DEPENDENCY_RECOVERED = "DependencyRecovered"
DEPENDENCY_NOT_RECOVERED = "DependencyNotRecovered"
WAIT_POLL_SECONDS = 2.0
"""While waiting for a root, look again this often (the root's arrival does not wake the waiter)."""
STORM_ROOT_ERROR_TYPE_LIMIT = 128


@dataclass(frozen=True)
class Peer:
    """What the group index knows of another incident."""

    name: str
    source: IncidentSource
    target: str
    received_time: datetime
    phase: IncidentPhase | None = None
    root: str | None = None
    """The root it belongs to, if a member."""
    canary: str | None = None
    """A storm root's canary."""
    storm_root: bool = False
    attempts_made: int = 0
    ownership: Ownership | None = None


@dataclass(frozen=True)
class GroupObservation:
    """What the reconcile saw of the incident's group before deciding."""

    enabled: bool = True
    """Correlation enabled for the incident (its policy's spec.correlation.enabled)."""
    found: Correlation | None = None
    """For an undecided incident: what `decide()` says now."""
    root: Peer | None = None
    """A member's root as indexed; None when not (yet) known."""
    root_missing: bool = False
    """The member's root does not exist (read and not found)."""
    members: tuple[Peer, ...] = ()
    """The incident's own members (those naming it as their root), any order."""
    siblings: tuple[Peer, ...] = ()
    """A member's fellow members of its root (itself included when indexed), any order."""
    member_concurrency: int = 10
    """At most this many members of one healed root remediate at once (the policy's memberConcurrency)."""


# --- facts and settings ------------------------------------------------------------------


def settings_of(spec: CorrelationSettings | None) -> tuple[Settings, timedelta]:
    """The rules' settings and the storm hold from a policy's spec.correlation (defaults without one)."""
    spec = spec or CorrelationSettings()
    return Settings(
        wait_for_root=timedelta(seconds=spec.wait_for_root_seconds),
        cluster_window=timedelta(seconds=spec.cluster_window_seconds),
        storm_threshold=spec.storm_threshold,
        storm_window=timedelta(seconds=spec.storm_window_seconds),
    ), timedelta(seconds=spec.storm_hold_seconds)


def recorded_references(refs: FailureReferences | None) -> References:
    found = References()
    if refs is None:
        return found
    found.databricks_runs.update(RunRef(r) for r in refs.databricks_runs)
    found.child_pipeline_runs.update(r.lower() for r in refs.child_pipeline_runs)
    found.clusters.update(refs.clusters)
    for dep in refs.dependencies:
        try:
            found.dependencies.add(Dependency(DependencyKind(dep.kind), dep.name.lower()))
        except ValueError:
            continue
    return found


def to_recorded(found: References, limit: int = 20) -> FailureReferences:
    """References as the Enrichment records them (bounded, sorted so a re-enrichment writes the same)."""
    return FailureReferences(
        databricks_runs=sorted({r.run_id for r in found.databricks_runs})[:limit],
        child_pipeline_runs=sorted(found.child_pipeline_runs)[:limit],
        clusters=sorted(found.clusters)[:limit],
        dependencies=[DependencyRef(kind=d.kind.value, name=d.name[:260]) for d in sorted(found.dependencies)][:limit],
    )


def facts_of(incident: Incident) -> Facts:
    """What correlation needs of an incident: its identity, what its texts and enrichment name, its root."""
    spec, status = incident.spec, incident.status
    enrichment = status.enrichment
    texts: list[Any] = [spec.error.message, spec.run_url or ""]
    if enrichment is not None:
        texts.append(enrichment.error_message or "")
    found = references(*texts)
    recorded = recorded_references(enrichment.references if enrichment else None)
    found.databricks_runs |= recorded.databricks_runs
    found.child_pipeline_runs |= recorded.child_pipeline_runs
    found.clusters |= recorded.clusters
    found.dependencies |= recorded.dependencies
    if spec.source is IncidentSource.DATABRICKS_JOB:
        found.databricks_runs.clear()  # a job's own run page names itself, not a run it started
    # An activity run's pipelineRunId is the run it belongs to; only a child's differs.
    found.child_pipeline_runs.discard(spec.run_id.lower())
    analysis = status.analysis
    return Facts(
        name=incident.metadata.name,
        source=spec.source,
        run_id=spec.run_id,
        received_time=spec.received_time,
        references=found,
        resource_id=spec.resource.id,
        error_type=analysis.error_type.value if analysis else None,
        analyzed_time=analysis.analyzed_time if analysis else None,
        # A storm root stands for its dependency: it never joins or counts towards a group itself.
        open=status.phase not in (IncidentPhase.RESOLVED, IncidentPhase.ESCALATED) and not is_storm_root(incident),
        root=root_of(incident),
    )


def root_of(incident: Incident) -> str | None:
    group = incident.status.correlation
    if group is not None and group.role is CorrelationRole.MEMBER and group.root is not None:
        return group.root.name
    return incident.metadata.labels.get(ROOT_LABEL) or None


def is_storm_root(incident: Incident) -> bool:
    return incident.metadata.labels.get(STORM_ROOT_LABEL) == "true"


def peer_of(incident: Incident) -> Peer:
    status = incident.status
    group = status.correlation
    return Peer(
        name=incident.metadata.name, source=incident.spec.source, target=incident.spec.resource.name,
        received_time=incident.spec.received_time, phase=status.phase, root=root_of(incident),
        canary=group.canary if group is not None else None, storm_root=is_storm_root(incident),
        attempts_made=status.remediation.attempts_made if status.remediation else 0, ownership=status.ownership,
    )


def decide(subject: Facts, others: Sequence[Facts], settings: Settings, hold: timedelta,
           now: datetime) -> Correlation | None:
    """`rules.correlate()`, plus the storm hold: an incident naming a shared dependency that is not (yet)
    part of a storm waits `hold` for one to form, from its arrival or, when later, from its analysis.

    A storm is only seen among analyzed peers (one error type). An incident analyzed after its hold would
    have ended (a backlog: a burst larger than the operator analyzes within the hold, a restart after an
    outage) is analyzed together with its peers, none of whose analyses is indexed yet; counted from
    arrival it would go on alone at once, and so would the first `stormThreshold - 1` of the storm."""
    found = correlate(subject, others, settings, now)
    if found is not None or subject.error_type is None or not subject.references.dependencies:
        return found
    until = max(subject.received_time, subject.analyzed_time or subject.received_time) + hold
    if now >= until:
        return None
    return Correlation(GroupReason.STORM, None, f"Holding up to {int(hold.total_seconds())} s for a storm of"
                       f" {subject.error_type} failures behind a shared dependency.", wait_until=until)


# --- the status ------------------------------------------------------------------------


def _set(status: IncidentStatus, type_: str, value: ConditionStatus, reason: str, message: str, now: datetime,
         gen: int | None) -> IncidentStatus:
    cond = condition(type_, value, reason, message, now, gen)
    previous = find_condition(status.conditions, type_)
    if previous is not None and (previous.status, previous.reason, previous.message) == (value, reason,
                                                                                         cond.message):
        return status
    return status.model_copy(update={"conditions": set_condition(status.conditions, cond)})


def decided(status: IncidentStatus) -> bool:
    """Whether the incident's place is settled (a member, or on its own); roots are also decided."""
    found = find_condition(status.conditions, IncidentCondition.CORRELATED)
    return found is not None and found.status is not ConditionStatus.UNKNOWN


def is_member(status: IncidentStatus) -> bool:
    return status.correlation is not None and status.correlation.role is CorrelationRole.MEMBER


def released(status: IncidentStatus, name: str, observed: GroupObservation) -> bool:
    """A member may remediate: it is its storm root's canary, or its root is Resolved (or gone) and it is
    among the first `member_concurrency` unfinished members by arrival (its turn)."""
    if not is_member(status):
        return True
    root = observed.root
    if root is not None and root.storm_root and root.canary == name:
        return True
    if observed.root_missing:
        # A storm's root not created yet (the member creates it next) is no healed root; any other is gone.
        group = status.correlation
        if group is not None and group.root is not None and group.root.reason == GroupReason.STORM.value:
            return False
    elif root is None or root.phase is not IncidentPhase.RESOLVED:
        return False
    return in_turn(name, observed.siblings, observed.member_concurrency)


def in_turn(name: str, siblings: Sequence[Peer], concurrency: int) -> bool:
    """Whether `name` is among the first `concurrency` unfinished members by (arrival, name). The order is
    the same for every member and a finished member's slot passes to the next, so at most `concurrency`
    remediate at once without counting anything in flight. Not indexed yet: its turn (nothing to rank by)."""
    me = next((p for p in siblings if p.name == name), None)
    if me is None:
        return True
    ahead = sum(1 for p in siblings if p.phase not in TERMINAL_PHASES and p.name != name
                and (p.received_time, p.name) < (me.received_time, me.name))
    return ahead < concurrency


def quiet(status: IncidentStatus) -> bool:
    """Whether the incident's notifications are its root's: a member, unless its own remediation (after
    release) escalated it, or a storm root without members yet (nothing to tell)."""
    if status.correlation is not None and status.correlation.role is CorrelationRole.ROOT:
        return False
    if not is_member(status):
        return False
    own_attempts = status.remediation.attempts_made if status.remediation else 0
    return not (is_true(status.conditions, IncidentCondition.ESCALATED) and own_attempts > 0)


def holding(incident: Incident, status: IncidentStatus, observed: GroupObservation) -> bool:
    """Whether the hand-off and notifications wait: the incident's place is not decided yet, or it is a
    storm root whose members are not indexed yet."""
    if is_storm_root(incident):
        return not observed.members and status.correlation is None
    return observed.enabled and not decided(status)


def settle_group(incident: Incident, status: IncidentStatus, observed: GroupObservation, now: datetime,
                 gen: int | None) -> IncidentStatus:
    """The Correlated condition and status.correlation from what was observed (no I/O)."""
    if not observed.enabled and not decided(status) and not is_storm_root(incident):
        return _set(status, IncidentCondition.CORRELATED, ConditionStatus.FALSE, CorrelatedReason.NOT_CORRELATED,
                    "Correlation is disabled by the policy.", now, gen)
    if not decided(status) and not is_storm_root(incident):
        status = _fold_found(status, observed.found, now, gen)
    if observed.members and not is_member(status):
        status = _fold_members(incident, status, observed.members, now, gen)
    if is_member(status) and find_condition(status.conditions, IncidentCondition.ANALYZED) is not None:
        status = _member_waits(incident, status, observed, now, gen)
    if is_storm_root(incident):
        status = _settle_storm_root(incident, status, observed, now, gen)
    return status


def _fold_found(status: IncidentStatus, found: Correlation | None, now: datetime, gen: int | None) -> IncidentStatus:
    if found is None:
        return _set(status, IncidentCondition.CORRELATED, ConditionStatus.FALSE, CorrelatedReason.NOT_CORRELATED,
                    "No open incident shares this failure's cause: it stands alone.", now, gen)
    if found.root is None:
        return _set(status, IncidentCondition.CORRELATED, ConditionStatus.UNKNOWN,
                    CorrelatedReason.WAITING_FOR_ROOT, found.message, now, gen)
    group = GroupStatus(role=CorrelationRole.MEMBER,
                        root=RootRef(name=found.root, reason=found.reason.value, message=found.message[:1024]),
                        dependency=DependencyRef(kind=found.dependency.kind.value, name=found.dependency.name)
                        if found.dependency else None)
    status = status.model_copy(update={"correlation": group})
    status = _set(status, IncidentCondition.CORRELATED, ConditionStatus.TRUE, found.reason, found.message, now, gen)
    return record(status, CORRELATED, f"Grouped under {found.root} ({found.reason.value}): {found.message}", now)


def _fold_members(incident: Incident, status: IncidentStatus, members: tuple[Peer, ...], now: datetime,
                  gen: int | None) -> IncidentStatus:
    ordered = sorted(members, key=lambda p: p.name)
    previous = status.correlation
    canary = previous.canary if previous is not None else None
    if is_storm_root(incident) and (canary is None or canary not in {p.name for p in members}):
        canary = min(members, key=lambda p: (p.received_time, p.name)).name
    dependency = previous.dependency if previous is not None else None
    if dependency is None and is_storm_root(incident):
        dependency = DependencyRef(kind=incident.spec.resource.id or "", name=incident.spec.resource.name)
    group = GroupStatus(
        role=CorrelationRole.ROOT,
        members=[GroupMember(name=p.name, source=p.source, target=p.target[:260], phase=p.phase)
                 for p in ordered[:MAX_GROUP_MEMBERS_LISTED]],
        member_count=len(members),
        dependency=dependency,
        canary=canary,
        members_resolved=sum(p.phase is IncidentPhase.RESOLVED for p in members),
        members_escalated=sum(p.phase is IncidentPhase.ESCALATED for p in members),
        members_remediating=sum(p.phase in (IncidentPhase.REMEDIATING, IncidentPhase.MONITORING)
                                and p.attempts_made > 0 for p in members),
    )
    first = previous is None or previous.role is not CorrelationRole.ROOT
    status = status.model_copy(update={"correlation": group})
    status = _set(status, IncidentCondition.CORRELATED, ConditionStatus.TRUE, CorrelatedReason.GROUP_ROOT,
                  f"The root of {len(members)} related failure(s).", now, gen)
    if first:
        status = record(status, CORRELATED, f"Became the root of a group: {ordered[0].name} failed of the same"
                        " cause.", now)
    return status


def _member_waits(incident: Incident, status: IncidentStatus, observed: GroupObservation, now: datetime,
                  gen: int | None) -> IncidentStatus:
    remediated = find_condition(status.conditions, IncidentCondition.REMEDIATED)
    if remediated is not None and remediated.reason != RemediatedReason.AWAITING_ROOT:
        return status  # released earlier (or a human closed it): the ordinary lifecycle owns it
    if released(status, incident.metadata.name, observed):
        return status  # the hand-off runs now (analyzing._settle_analyzed)
    root = status.correlation.root.name if status.correlation and status.correlation.root else "its root"
    return _set(status, IncidentCondition.REMEDIATED, ConditionStatus.UNKNOWN, RemediatedReason.AWAITING_ROOT,
                f"Waiting for {root}: members are re-run or repaired once their root heals.", now, gen)


def waits_for_group(status: IncidentStatus) -> bool:
    """Remediated says AwaitingRoot or AwaitingDependency: the remediation stage leaves the incident alone."""
    remediated = find_condition(status.conditions, IncidentCondition.REMEDIATED)
    return remediated is not None and remediated.reason in GROUP_WAIT_REASONS


def awaiting_root(status: IncidentStatus) -> bool:
    remediated = find_condition(status.conditions, IncidentCondition.REMEDIATED)
    return remediated is not None and remediated.reason == RemediatedReason.AWAITING_ROOT


def notified_via_root(status: IncidentStatus, now: datetime, gen: int | None) -> IncidentStatus:
    root = status.correlation.root.name if status.correlation and status.correlation.root else "the root"
    return _set(status, IncidentCondition.NOTIFIED, ConditionStatus.TRUE, NotifiedReason.NOTIFIED_VIA_ROOT,
                f"Told through {root}'s Slack message and Jira issue.", now, gen)


def _settle_storm_root(incident: Incident, status: IncidentStatus, observed: GroupObservation, now: datetime,
                       gen: int | None) -> IncidentStatus:
    if status.analysis is None or status.phase is IncidentPhase.RESOLVED or status.resolution is not None:
        return status
    group = status.correlation
    canary = next((p for p in observed.members if group is not None and p.name == group.canary), None)
    dependency = f"{incident.spec.resource.id} {incident.spec.resource.name}"
    remediated = find_condition(status.conditions, IncidentCondition.REMEDIATED)
    if canary is not None and canary.phase is IncidentPhase.RESOLVED:
        message = f"{canary.name}'s remediation healed it: {dependency} is back."
        resolution = Resolution(resolved_time=now, resolved_by=ResolvedBy.AUTO_HEAL,
                                mttr_seconds=max(0, int((now - sla_start(incident.spec)).total_seconds())))
        status = status.model_copy(update={"resolution": resolution, "escalation_reason": None})
        for type_ in (IncidentCondition.REMEDIATED, IncidentCondition.RESOLVED):
            status = _set(status, type_, ConditionStatus.TRUE, RemediatedReason.DEPENDENCY_RECOVERED, message, now,
                          gen)
        return record(status, DEPENDENCY_RECOVERED, f"{message} MTTR {resolution.mttr_seconds} s; the other"
                      " members are re-run per policy.", now)
    if canary is not None and canary.phase is IncidentPhase.ESCALATED and not is_true(
            status.conditions, IncidentCondition.ESCALATED):
        message = (f"{canary.name}'s remediation did not heal it: {dependency} still fails. Fix it, then resolve"
                   f" {incident.metadata.name}; its members are re-run then.")
        status = status.model_copy(update={"escalation_reason": message})
        status = _set(status, IncidentCondition.REMEDIATED, ConditionStatus.FALSE,
                      RemediatedReason.DEPENDENCY_NOT_RECOVERED, message, now, gen)
        status = _set(status, IncidentCondition.ESCALATED, ConditionStatus.TRUE,
                      RemediatedReason.DEPENDENCY_NOT_RECOVERED, message, now, gen)
        return record(status, DEPENDENCY_NOT_RECOVERED, message, now)
    if remediated is None:
        name = group.canary if group is not None and group.canary else "its first member"
        status = _set(status, IncidentCondition.REMEDIATED, ConditionStatus.UNKNOWN,
                      RemediatedReason.AWAITING_DEPENDENCY,
                      f"Waiting for {dependency}: {name} is re-run per policy to probe it.", now, gen)
    return status


# --- notifications of a root -------------------------------------------------------------

_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


def count_bucket(n: int) -> int:
    """The largest of 1, 2, 5, 10, 20, 50, ... not above `n` (0 for 0): the root's message is edited when the
    member count reaches the next bucket, not once per member."""
    return max((b for b in _BUCKETS if b <= n), default=0)


def group_state(status: IncidentStatus) -> str | None:
    """Waiting (the root is open), Released (healed; members re-running) or Settled (every member done);
    None when the incident is not a root with members."""
    group = status.correlation
    if group is None or group.role is not CorrelationRole.ROOT or group.member_count == 0:
        return None
    if status.phase is not IncidentPhase.RESOLVED:
        return "Waiting"
    if group.members_resolved + group.members_escalated >= group.member_count:
        return "Settled"
    return "Released"


def group_view(status: IncidentStatus) -> str:
    """Suffix of the Slack view: changes with the group state and the member-count bucket."""
    state = group_state(status)
    if state is None or status.correlation is None:
        return ""
    return f"|group:{state}/{count_bucket(status.correlation.member_count)}"


def jira_view(status: IncidentStatus) -> str | None:
    """What the root's Jira issue was last brought up to date with: the terminal phase, qualified by the
    group state, so the issue gets one comment per change of the group (never one per member); None while
    there is nothing to tell (open, no group)."""
    phase = status.phase or IncidentPhase.ANALYZING
    state = group_state(status)
    if phase not in TERMINAL_PHASES and state is None:
        return None
    base = phase.value if phase in TERMINAL_PHASES else "Open"
    return base + (f"|group:{state}" if state else "")


def group_replies(status: IncidentStatus) -> list[tuple[str, str]]:
    """Thread replies of a root, one per group state reached (each posted once, by key)."""
    state = group_state(status)
    group = status.correlation
    if state is None or group is None:
        return []
    replies = [("group-formed", f":link: {group.member_count} related failure(s) grouped under this incident;"
                " they wait for it and are re-run once it heals.")]
    if state in ("Released", "Settled"):
        replies.append(("group-released", f":arrows_counterclockwise: Root healed: its {group.member_count}"
                        " member(s) are re-run or repaired per policy."))
    if state == "Settled":
        replies.append(("group-settled", f":white_check_mark: Group settled: {group.members_resolved} of"
                        f" {group.member_count} member(s) healed, {group.members_escalated} need a human."))
    return replies


def group_comments(status: IncidentStatus) -> list[tuple[str, str]]:
    """Comments on a root's Jira issue, one per group state reached (each once, by marker), with the
    affected runs listed: the members have no issues of their own."""
    summary = members_summary(status)
    return [(key, text.split(" ", 1)[1] + ("\n" + summary if summary else ""))
            for key, text in group_replies(status)]


def members_summary(status: IncidentStatus, limit: int = 10) -> str | None:
    """One line per affected run (the first `limit`), for the root's Slack message and Jira issue."""
    group = status.correlation
    if group is None or group.role is not CorrelationRole.ROOT or group.member_count == 0:
        return None
    lines = [f"{m.target} ({m.source.value}): {m.phase.value if m.phase else 'Analyzing'}"
             for m in group.members[:limit]]
    more = group.member_count - len(lines)
    if more > 0:
        lines.append(f"... and {more} more")
    head = (f"{group.member_count} affected run(s): {group.members_resolved} healed,"
            f" {group.members_escalated} need a human, the others wait for this root.")
    return head + "\n" + "\n".join(lines)


# --- storm roots --------------------------------------------------------------------------


def wants_storm_root(status: IncidentStatus, observed: GroupObservation) -> bool:
    """A storm member whose root does not exist yet: create it (its name is deterministic; 409 joins)."""
    group = status.correlation
    return (is_member(status) and group is not None and group.root is not None
            and group.root.reason == GroupReason.STORM.value and group.dependency is not None
            and observed.root is None and observed.root_missing)


def storm_root_body(member: Incident, namespace: str) -> dict[str, Any]:
    """The Incident a storm's member creates for its root (create; 409 = it exists: joined)."""
    group = member.status.correlation
    assert group is not None, "a storm member records its group"
    assert group.root is not None, "a storm member names its root"
    assert group.dependency is not None, "a storm member names its dependency"
    error_type = (member.status.analysis.error_type.value if member.status.analysis else "UnknownError")
    dep = group.dependency
    return {
        "apiVersion": API_VERSION,
        "kind": "Incident",
        "metadata": {"name": group.root.name, "namespace": namespace,
                     "labels": {STORM_ROOT_LABEL: "true", SOURCE_LABEL: IncidentSource.GENERIC.value}},
        "spec": {
            "source": IncidentSource.GENERIC.value,
            "resource": {"kind": "Other", "name": dep.name[:260], "id": dep.kind},
            "runId": group.root.name,
            "error": {"code": error_type[:STORM_ROOT_ERROR_TYPE_LIMIT],
                      "message": f"Storm: {error_type} failures behind {dep.kind} {dep.name}."},
            "alert": {"rule": "aiops-rca correlation (storm)"},
            "receivedTime": member.spec.received_time.isoformat(),
        },
    }


def storm_analysis(incident: Incident, now: datetime) -> Analysis:
    """A storm root's analysis: its members' error type, the shared dependency as the cause (no LLM)."""
    code = incident.spec.error.code or ""
    try:
        error_type = ErrorType(code)
    except ValueError:
        error_type = ErrorType.UNKNOWN_ERROR
    dependency = f"{incident.spec.resource.id} {incident.spec.resource.name}"
    return Analysis(
        root_cause=f"Many {error_type.value} failures name {dependency}: it is failing or unreachable.",
        error_type=error_type, severity=Severity.HIGH, priority=Priority.P2, confidence=Confidence.HIGH,
        affected_entity=dependency[:512],
        recommendations=[f"Check {dependency} (health, credentials, network, quotas).",
                         f"Its members are re-run per policy once it heals; resolve {incident.metadata.name} by"
                         " hand if the dependency came back without the canary's re-run."],
        auto_heal_possible=False, provider="Correlation", analyzed_time=now,
    )


def storm_ownership(observed: GroupObservation) -> Ownership | None:
    """A storm root is routed like its first member (the one whose policy formed it)."""
    routed = sorted((p for p in observed.members if p.ownership is not None),
                    key=lambda p: (p.received_time, p.name))
    return routed[0].ownership if routed else None


_CLUSTER_ACTIONS = frozenset({RemediationAction.START_CLUSTER, RemediationAction.RESTART_CLUSTER,
                              RemediationAction.RESIZE_CLUSTER, RemediationAction.REINSTALL_LIBRARY})


def member_rule(status: IncidentStatus, rule: PolicyRule | None) -> PolicyRule | None:
    """The rule a member remediates by: a job run grouped under its terminated cluster never acts on the
    cluster itself (the root did), its run is repaired instead."""
    group = status.correlation
    if (rule is None or group is None or group.root is None
            or group.root.reason != GroupReason.CLUSTER_TERMINATED.value or rule.action not in _CLUSTER_ACTIONS):
        return rule
    return rule.model_copy(update={"action": RemediationAction.REPAIR_RUN, "parameters": []})


def wait_requeue(status: IncidentStatus, found: Correlation | None, now: datetime) -> float | None:
    """Seconds until a waiting incident looks again."""
    if decided(status) or found is None or found.wait_until is None:
        return None
    return max(0.1, min(WAIT_POLL_SECONDS, (found.wait_until - now).total_seconds() + 0.05))
