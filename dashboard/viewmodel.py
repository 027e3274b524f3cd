"""What the dashboard shows, computed from the objects the API server returns. Pure: no I/O.

Objects are parsed leniently into small frozen records rather than validated
with the API models: a dashboard must keep showing an incident whose status a
newer operator wrote with a value this version does not know yet, and the
records keep only what is displayed, so 5,000 incidents fit in a few MiB.

The browser mirrors `matches`, `sort_key` and `grouped` in static/js/model.js
for instant filtering; this module is the reference (CSV export, audit view,
overview figures) and is table-tested.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiops_operator.api import (
    AttemptPhase,
    CorrelationRole,
    IncidentPhase,
    Priority,
    Recurrence,
    ResolvedBy,
    Severity,
    SlaState,
    labels,
    sla,
)
from aiops_operator.api.recurrence import lineage_notes

PHASES: tuple[str, ...] = tuple(p.value for p in IncidentPhase)
OPEN = "Open"
"""Pseudo-phase for filters: every incident not Resolved (what on-call looks at first)."""
PRIORITY_RANK = {p.value: i for i, p in enumerate(Priority)}
SEVERITY_RANK = {s.value: i for i, s in enumerate(Severity)}
UNRANKED = 99

BADGE_AUTO_HEALING = "Auto-healing"
BADGE_AUTO_REMEDIATED = "Auto-remediated"
BADGE_AWAITING_APPROVAL = "Awaiting approval"
BADGE_ESCALATED = "Escalated"

ROLE_ROOT = CorrelationRole.ROOT.value
ROLE_MEMBER = CorrelationRole.MEMBER.value

CHART_BUCKETS = 24
CHART_BUCKET_SECONDS = 3600
CHART_TOP_ERROR_TYPES = 6
OTHER = "Other"


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _time(value: Any) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@dataclass(frozen=True, slots=True)
class HistoryItem:
    time: float | None
    action: str
    message: str
    actor: str


@dataclass(frozen=True, slots=True)
class MemberItem:
    """One member as its root lists it (status.correlation.members, bounded by the operator)."""

    name: str
    source: str = ""
    target: str = ""
    phase: str = ""


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """The displayed facts of one Incident."""

    namespace: str
    name: str
    resource_version: str = ""
    created: float | None = None
    source: str = ""
    resource_kind: str = ""
    pipeline: str = ""
    location: str = ""
    run_id: str = ""
    run_url: str = ""
    error_code: str = ""
    error_message: str = ""
    activity: str = ""
    received: float | None = None
    fired: float | None = None
    phase: str = IncidentPhase.ANALYZING.value
    error_type: str = ""
    severity: str = ""
    priority: str = ""
    confidence: str = ""
    root_cause: str = ""
    recommendations: tuple[str, ...] = ()
    affected_entity: str = ""
    provider: str = ""
    model: str = ""
    auto_heal_possible: bool = False
    sla_seconds: int | None = None
    sla_deadline: float | None = None
    sla_state: str = ""
    team: str = ""
    owner: str = ""
    cost_center: str = ""
    slack_channel: str = ""
    slack_link: str = ""
    jira_key: str = ""
    jira_url: str = ""
    jira_status: str = ""
    policy: str = ""
    rule: str = ""
    action: str = ""
    attempts_made: int = 0
    max_attempts: int = 0
    next_attempt: float | None = None
    escalation_reason: str = ""
    resolved: float | None = None
    mttr_seconds: int | None = None
    resolved_by: str = ""
    resolved_actor: str = ""
    history: tuple[HistoryItem, ...] = ()
    previous_incident: str = ""
    recurrences: int = 0
    lineage: tuple[str, ...] = ()
    """The re-fire and recurrence sentences (api.recurrence.lineage_notes), as Slack and Jira show them."""
    role: str = ""
    """Root, Member or empty (not in a group)."""
    root: str = ""
    """Members: the root incident's name (same namespace)."""
    root_reason: str = ""
    root_message: str = ""
    member_count: int = 0
    members: tuple[MemberItem, ...] = ()
    dependency: str = ""
    """Storm roots: the shared dependency, as "<kind> <name>"."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def root_key(self) -> tuple[str, str] | None:
        """Members: the key of their root; None for roots and ungrouped incidents."""
        return (self.namespace, self.root) if self.role == ROLE_MEMBER and self.root else None

    @property
    def started(self) -> float | None:
        """When the failure was first known: the alert's fired time, else received, else created."""
        return self.fired or self.received or self.created


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """The displayed facts of one RemediationAttempt."""

    namespace: str
    name: str
    incident: str
    resource_version: str = ""
    attempt: int = 0
    action: str = ""
    parameters: tuple[tuple[str, str], ...] = ()
    dry_run: bool = False
    approval_required: bool = False
    not_before: float | None = None
    created: float | None = None
    phase: str = AttemptPhase.PENDING.value
    approval_decision: str = ""
    approval_by: str = ""
    approval_via: str = ""
    approval_time: float | None = None
    approval_reason: str = ""
    run_system: str = ""
    run_id: str = ""
    run_url: str = ""
    run_state: str = ""
    run_detail: str = ""
    start: float | None = None
    completion: float | None = None
    duration_seconds: int | None = None
    failure_reason: str = ""
    would_have_done: str = ""

    @property
    def incident_key(self) -> tuple[str, str]:
        return (self.namespace, self.incident)


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    namespace: str
    name: str
    enabled: bool = True
    ready: str = ""
    rules: int = 0


def _owner_incident(meta: Mapping[str, Any]) -> str:
    for ref in _list(meta.get("ownerReferences")):
        ref = _dict(ref)
        if ref.get("kind") == "Incident":
            return _str(ref.get("name"))
    return ""


def _group_fields(meta: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    """The incident's place in a group: status.correlation, else the labels the operator sets first
    (a member is labelled with its root before, or without, its status saying so)."""
    group, marks = _dict(status.get("correlation")), _dict(meta.get("labels"))
    root, dep = _dict(group.get("root")), _dict(group.get("dependency"))
    role = _str(group.get("role"))
    root_name = _str(root.get("name")) or _str(marks.get(labels.ROOT_LABEL))
    if not role:
        role = ROLE_MEMBER if root_name else ROLE_ROOT if marks.get(labels.STORM_ROOT_LABEL) == "true" else ""
    members = tuple(
        MemberItem(name=_str(m.get("name")), source=_str(m.get("source")), target=_str(m.get("target")),
                   phase=_str(m.get("phase")))
        for m in map(_dict, _list(group.get("members"))) if _str(m.get("name"))
    )
    return {
        "role": role,
        "root": root_name if role == ROLE_MEMBER else "",
        "root_reason": _str(root.get("reason")),
        "root_message": _str(root.get("message")),
        "member_count": max(_int(group.get("memberCount")) or 0, len(members)),
        "members": members,
        "dependency": " ".join(p for p in (_str(dep.get("kind")), _str(dep.get("name"))) if p),
    }


def parse_incident(obj: Mapping[str, Any]) -> IncidentRecord:
    meta, spec, status = _dict(obj.get("metadata")), _dict(obj.get("spec")), _dict(obj.get("status"))
    resource, alert, error = _dict(spec.get("resource")), _dict(spec.get("alert")), _dict(spec.get("error"))
    analysis, sla, owner = _dict(status.get("analysis")), _dict(status.get("sla")), _dict(status.get("ownership"))
    remediation, notifications = _dict(status.get("remediation")), _dict(status.get("notifications"))
    slack, jira, resolution = _dict(notifications.get("slack")), _dict(notifications.get("jira")), _dict(
        status.get("resolution")
    )
    enrichment = _dict(status.get("enrichment"))
    history = tuple(
        HistoryItem(
            time=_time(h.get("time")),
            action=_str(h.get("action")),
            message=_str(h.get("message")),
            actor=_str(h.get("actor")),
        )
        for h in map(_dict, _list(status.get("history")))
    )
    recurrence = _recurrence(status.get("recurrence"))
    previous = _str(spec.get("previousIncidentRef"))
    lineage = tuple(lineage_notes(previous or None, _int(spec.get("occurrence")) or 1, recurrence,
                                  _str(analysis.get("errorType")) or None))
    return IncidentRecord(
        namespace=_str(meta.get("namespace")),
        name=_str(meta.get("name")),
        resource_version=_str(meta.get("resourceVersion")),
        created=_time(meta.get("creationTimestamp")),
        source=_str(spec.get("source")),
        resource_kind=_str(resource.get("kind")),
        pipeline=_str(resource.get("name")),
        location=_str(resource.get("factory")) or _str(resource.get("workspaceUrl")),
        run_id=_str(spec.get("runId")),
        run_url=_str(spec.get("runUrl")),
        error_code=_str(enrichment.get("errorCode")) or _str(error.get("code")),
        error_message=_str(enrichment.get("errorMessage")) or _str(error.get("message")),
        activity=_str(enrichment.get("activity")) or _str(error.get("activity")),
        received=_time(spec.get("receivedTime")),
        fired=_time(alert.get("firedTime")),
        phase=_str(status.get("phase")) or IncidentPhase.ANALYZING.value,
        error_type=_str(analysis.get("errorType")),
        severity=_str(analysis.get("severity")),
        priority=_str(analysis.get("priority")),
        confidence=_str(analysis.get("confidence")),
        root_cause=_str(analysis.get("rootCause")),
        recommendations=tuple(r for r in _list(analysis.get("recommendations")) if isinstance(r, str)),
        affected_entity=_str(analysis.get("affectedEntity")),
        provider=_str(analysis.get("provider")),
        model=_str(analysis.get("model")),
        auto_heal_possible=analysis.get("autoHealPossible") is True,
        sla_seconds=_int(sla.get("seconds")),
        sla_deadline=_time(sla.get("deadlineTime")),
        sla_state=_str(sla.get("state")),
        team=_str(owner.get("team")),
        owner=_str(owner.get("owner")),
        cost_center=_str(owner.get("costCenter")),
        slack_channel=_str(owner.get("slackChannel")) or _str(slack.get("channel")),
        slack_link=_str(slack.get("permalink")),
        jira_key=_str(jira.get("key")),
        jira_url=_str(jira.get("url")),
        jira_status=_str(jira.get("status")),
        policy=_str(remediation.get("policy")),
        rule=_str(remediation.get("rule")),
        action=_str(remediation.get("action")),
        attempts_made=_int(remediation.get("attemptsMade")) or 0,
        max_attempts=_int(remediation.get("maxAttempts")) or 0,
        next_attempt=_time(remediation.get("nextAttemptTime")),
        escalation_reason=_str(status.get("escalationReason")),
        resolved=_time(resolution.get("resolvedTime")),
        mttr_seconds=_int(resolution.get("mttrSeconds")),
        resolved_by=_str(resolution.get("resolvedBy")),
        resolved_actor=_str(resolution.get("actor")),
        history=history,
        previous_incident=previous,
        recurrences=recurrence.count if recurrence else 0,
        lineage=lineage,
        **_group_fields(meta, status),
    )


def _recurrence(value: Any) -> Recurrence | None:
    """status.recurrence, or None when absent or not what the operator writes (the view never fails on it)."""
    if not isinstance(value, Mapping):
        return None
    try:
        return Recurrence.model_validate(value)
    except ValueError:
        return None


def parse_attempt(obj: Mapping[str, Any]) -> AttemptRecord:
    meta, spec, status = _dict(obj.get("metadata")), _dict(obj.get("spec")), _dict(obj.get("status"))
    approval, run = _dict(status.get("approval")), _dict(status.get("externalRun"))
    params = tuple(
        (_str(p.get("name")), _str(p.get("value"))) for p in map(_dict, _list(spec.get("parameters")))
    )
    return AttemptRecord(
        namespace=_str(meta.get("namespace")),
        name=_str(meta.get("name")),
        incident=_str(spec.get("incidentRef")) or _owner_incident(meta),
        resource_version=_str(meta.get("resourceVersion")),
        attempt=_int(spec.get("attempt")) or 0,
        action=_str(spec.get("action")),
        parameters=params,
        dry_run=spec.get("dryRun") is True,
        approval_required=spec.get("approvalRequired") is True,
        not_before=_time(spec.get("notBeforeTime")),
        created=_time(meta.get("creationTimestamp")),
        phase=_str(status.get("phase")) or AttemptPhase.PENDING.value,
        approval_decision=_str(approval.get("decision")),
        approval_by=_str(approval.get("by")),
        approval_via=_str(approval.get("via")),
        approval_time=_time(approval.get("time")),
        approval_reason=_str(approval.get("reason")),
        run_system=_str(run.get("system")),
        run_id=_str(run.get("runId")),
        run_url=_str(run.get("url")),
        run_state=_str(run.get("state")),
        run_detail=_str(run.get("detail")),
        start=_time(status.get("startTime")),
        completion=_time(status.get("completionTime")),
        duration_seconds=_int(status.get("durationSeconds")),
        failure_reason=_str(status.get("failureReason")),
        would_have_done=_str(status.get("wouldHaveDone")),
    )


def parse_policy(obj: Mapping[str, Any]) -> PolicyRecord:
    meta, spec, status = _dict(obj.get("metadata")), _dict(obj.get("spec")), _dict(obj.get("status"))
    ready = next(
        (_str(c.get("status")) for c in map(_dict, _list(status.get("conditions"))) if c.get("type") == "Ready"),
        "",
    )
    return PolicyRecord(
        namespace=_str(meta.get("namespace")),
        name=_str(meta.get("name")),
        enabled=spec.get("enabled") is not False,
        ready=ready,
        rules=len(_list(spec.get("rules"))),
    )


# ---- cards -----------------------------------------------------------------------------------


def awaiting_approval(attempts: Iterable[AttemptRecord]) -> AttemptRecord | None:
    return next((a for a in attempts if a.phase == AttemptPhase.AWAITING_APPROVAL.value), None)


def badges(rec: IncidentRecord, attempts: Sequence[AttemptRecord]) -> list[str]:
    """The status badges of a card, in display order."""
    out: list[str] = []
    waiting = awaiting_approval(attempts) is not None
    if waiting:
        out.append(BADGE_AWAITING_APPROVAL)
    healing_phases = (IncidentPhase.REMEDIATING.value, IncidentPhase.MONITORING.value)
    if rec.phase in healing_phases and not waiting and (rec.attempts_made > 0 or attempts):
        out.append(BADGE_AUTO_HEALING)
    if rec.phase == IncidentPhase.RESOLVED.value and rec.resolved_by == ResolvedBy.AUTO_HEAL.value:
        out.append(BADGE_AUTO_REMEDIATED)
    if rec.phase == IncidentPhase.ESCALATED.value:
        out.append(BADGE_ESCALATED)
    return out


def sla_state(rec: IncidentRecord, now: float) -> str:
    """Met/Breached as recorded; a Pending SLA past its deadline is Breached already."""
    if rec.sla_state in (SlaState.MET.value, SlaState.BREACHED.value):
        return rec.sla_state
    if rec.sla_deadline is None:
        return ""
    deadline = datetime.fromtimestamp(rec.sla_deadline, UTC)
    return sla.state_at(SlaState.PENDING, deadline, datetime.fromtimestamp(now, UTC)).value


def _ms(t: float | None) -> int | None:
    return None if t is None else int(t * 1000)


def incident_row(rec: IncidentRecord, attempts: Sequence[AttemptRecord]) -> dict[str, Any]:
    """The JSON a card is drawn from (and the browser filters and sorts on)."""
    return {
        "key": f"{rec.namespace}/{rec.name}",
        "namespace": rec.namespace,
        "name": rec.name,
        # Changes whenever the incident or one of its attempts does: the detail panel refetches on it.
        "rv": ".".join([rec.resource_version, *sorted(a.resource_version for a in attempts)]),
        "phase": rec.phase,
        "source": rec.source,
        "pipeline": rec.pipeline,
        "resourceKind": rec.resource_kind,
        "errorType": rec.error_type,
        "errorCode": rec.error_code,
        "errorMessage": rec.error_message[:280],
        "severity": rec.severity,
        "priority": rec.priority,
        "rootCause": rec.root_cause,
        "team": rec.team,
        "jiraKey": rec.jira_key,
        "jiraUrl": rec.jira_url,
        "slaDeadline": _ms(rec.sla_deadline),
        "slaState": rec.sla_state,
        "attemptsMade": max(rec.attempts_made, len(attempts)),
        "maxAttempts": rec.max_attempts,
        "badges": badges(rec, attempts),
        "started": _ms(rec.started),
        "resolved": _ms(rec.resolved),
        "mttrSeconds": rec.mttr_seconds,
        "role": rec.role,
        "root": rec.root,
        "rootReason": rec.root_reason,
        "memberCount": rec.member_count,
        "dependency": rec.dependency,
    }


def sort_key(rec: IncidentRecord) -> tuple[int, int, float, str]:
    """Priority (P1 first), then severity (Critical first), then age (oldest first), then name."""
    return (
        PRIORITY_RANK.get(rec.priority, UNRANKED),
        SEVERITY_RANK.get(rec.severity, UNRANKED),
        rec.started if rec.started is not None else math.inf,
        f"{rec.namespace}/{rec.name}",
    )


@dataclass(frozen=True)
class Filter:
    """What the viewer narrowed the list to; empty fields match everything."""

    text: str = ""
    phase: str = ""
    source: str = ""
    error_type: str = ""
    severity: str = ""
    team: str = ""
    namespace: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filter:
        return cls(
            text=query.get("q", ""),
            phase=query.get("phase", ""),
            source=query.get("source", ""),
            error_type=query.get("errorType", ""),
            severity=query.get("severity", ""),
            team=query.get("team", ""),
            namespace=query.get("namespace", ""),
        )


def matches(rec: IncidentRecord, f: Filter) -> bool:
    """Whether the incident is in the filtered view. Text: every word in name, pipeline, root cause or Jira key."""
    exact: list[tuple[str, str]] = [
        (f.phase, rec.phase),
        (f.source, rec.source),
        (f.error_type, rec.error_type),
        (f.severity, rec.severity),
        (f.team, rec.team),
        (f.namespace, rec.namespace),
    ]
    if f.phase == OPEN:
        if rec.phase == IncidentPhase.RESOLVED.value:
            return False
        exact = exact[1:]
    if any(wanted and wanted != actual for wanted, actual in exact):
        return False
    words = f.text.lower().split()
    if not words:
        return True
    haystack = "\n".join((rec.name, rec.pipeline, rec.root_cause, rec.jira_key)).lower()
    return all(w in haystack for w in words)


def view(records: Iterable[IncidentRecord], f: Filter) -> list[IncidentRecord]:
    """The filtered incidents in display order."""
    return sorted((r for r in records if matches(r, f)), key=sort_key)


@dataclass(frozen=True)
class Group:
    """A list entry: an incident and the members of it that are in the same view (none when it is no root)."""

    head: IncidentRecord
    members: tuple[IncidentRecord, ...] = ()


def grouped(records: Sequence[IncidentRecord]) -> list[Group]:
    """`records` (a view, in display order) with each member under its root when the root is in the view too.

    A member whose root is filtered out, or not seen yet, stays an entry of its own (it says whose member it
    is). A group ranks by its most urgent incident, so a P1 member never sinks below P3 incidents because its
    storm root was not analyzed yet; members keep their order within the group."""
    present = {r.key for r in records}
    nested: dict[tuple[str, str], list[IncidentRecord]] = {}
    heads: list[IncidentRecord] = []
    for rec in records:
        root = rec.root_key
        if root is not None and root in present and root != rec.key:
            nested.setdefault(root, []).append(rec)
        else:
            heads.append(rec)
    groups = [Group(h, tuple(sorted(nested.get(h.key, ()), key=sort_key))) for h in heads]
    return sorted(groups, key=lambda g: min([sort_key(g.head), *(sort_key(m) for m in g.members)]))


def in_group_order(records: Sequence[IncidentRecord]) -> list[IncidentRecord]:
    """The view as rows (the CSV export): each root followed by its members."""
    return [rec for g in grouped(records) for rec in (g.head, *g.members)]


# ---- overview --------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Overview:
    total: int = 0
    phases: dict[str, int] = field(default_factory=dict)
    awaiting_approval: int = 0
    auto_remediated: int = 0
    remediation_finished: int = 0
    mttr_p50: float | None = None
    mttr_p90: float | None = None
    sla_met: int = 0
    sla_breached: int = 0
    sla_pending: int = 0
    chart_start: float = 0.0
    by_error_type: dict[str, list[int]] = field(default_factory=dict)
    mttr_trend: list[float | None] = field(default_factory=list)

    @property
    def success_rate(self) -> float | None:
        """Share of incidents that went through remediation and ended healed by it."""
        return self.auto_remediated / self.remediation_finished if self.remediation_finished else None

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "phases": self.phases,
            "awaitingApproval": self.awaiting_approval,
            "autoRemediated": self.auto_remediated,
            "remediationFinished": self.remediation_finished,
            "successRate": self.success_rate,
            "mttrP50": self.mttr_p50,
            "mttrP90": self.mttr_p90,
            "slaMet": self.sla_met,
            "slaBreached": self.sla_breached,
            "slaPending": self.sla_pending,
            "chart": {
                "start": _ms(self.chart_start),
                "bucketSeconds": CHART_BUCKET_SECONDS,
                "byErrorType": self.by_error_type,
                "mttrTrend": self.mttr_trend,
            },
        }


def overview(
    records: Iterable[IncidentRecord],
    awaiting: set[tuple[str, str]],
    now: float,
) -> Overview:
    """Counts by phase, remediation success, MTTR percentiles, SLA, and the last 24 hours as charts.

    `awaiting` holds the keys of incidents with an attempt waiting for approval.
    """
    out = Overview(phases=dict.fromkeys(PHASES, 0))
    start = (math.floor(now / CHART_BUCKET_SECONDS) - CHART_BUCKETS + 1) * CHART_BUCKET_SECONDS
    out.chart_start = start
    per_type: dict[str, list[int]] = {}
    mttr_buckets: list[list[float]] = [[] for _ in range(CHART_BUCKETS)]
    mttrs: list[float] = []
    for rec in records:
        out.total += 1
        out.phases[rec.phase] = out.phases.get(rec.phase, 0) + 1
        if rec.key in awaiting:
            out.awaiting_approval += 1
        terminal = rec.phase in (IncidentPhase.RESOLVED.value, IncidentPhase.ESCALATED.value)
        if terminal and rec.attempts_made > 0:
            out.remediation_finished += 1
            if rec.phase == IncidentPhase.RESOLVED.value and rec.resolved_by == ResolvedBy.AUTO_HEAL.value:
                out.auto_remediated += 1
        state = sla_state(rec, now)
        if state == SlaState.MET.value:
            out.sla_met += 1
        elif state == SlaState.BREACHED.value:
            out.sla_breached += 1
        elif state == SlaState.PENDING.value:
            out.sla_pending += 1
        if rec.phase == IncidentPhase.RESOLVED.value and rec.mttr_seconds is not None:
            mttrs.append(rec.mttr_seconds)
            if rec.resolved is not None and rec.resolved >= start:
                index = min(int((rec.resolved - start) // CHART_BUCKET_SECONDS), CHART_BUCKETS - 1)
                mttr_buckets[index].append(rec.mttr_seconds)
        began = rec.started
        if began is not None and start <= began < start + CHART_BUCKETS * CHART_BUCKET_SECONDS:
            index = int((began - start) // CHART_BUCKET_SECONDS)
            per_type.setdefault(rec.error_type or "Unclassified", [0] * CHART_BUCKETS)[index] += 1
    out.mttr_p50 = percentile(mttrs, 50)
    out.mttr_p90 = percentile(mttrs, 90)
    out.mttr_trend = [percentile(b, 50) for b in mttr_buckets]
    out.by_error_type = _top_series(per_type, CHART_TOP_ERROR_TYPES)
    return out


def _top_series(series: dict[str, list[int]], keep: int) -> dict[str, list[int]]:
    """The `keep` largest series by total; the rest summed into Other."""
    ranked = sorted(series.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    top = dict(ranked[:keep])
    rest = ranked[keep:]
    if rest:
        top[OTHER] = [sum(values) for values in zip(*(v for _, v in rest), strict=True)]
    return top


def policy_summary(policies: Iterable[PolicyRecord]) -> dict[str, Any]:
    """How many RemediationPolicies there are, and which are switched off or not Ready (why nothing heals)."""
    items = sorted(policies, key=lambda p: (p.namespace, p.name))
    return {
        "total": len(items),
        "ready": sum(1 for p in items if p.ready == "True"),
        "disabled": [f"{p.namespace}/{p.name}" for p in items if not p.enabled],
        "notReady": [f"{p.namespace}/{p.name}" for p in items if p.ready == "False"],
    }


# ---- audit trail -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditEntry:
    time: float | None
    namespace: str
    incident: str
    action: str
    message: str
    actor: str

    def to_json(self) -> dict[str, Any]:
        return {
            "time": _ms(self.time),
            "namespace": self.namespace,
            "incident": self.incident,
            "action": self.action,
            "message": self.message,
            "actor": self.actor,
        }


def audit(records: Iterable[IncidentRecord], action: str = "", text: str = "", limit: int = 500) -> list[AuditEntry]:
    """History entries across incidents, newest first, filtered by action and words (incident, message, actor)."""
    words = text.lower().split()
    out: list[AuditEntry] = []
    for rec in records:
        for h in rec.history:
            if action and h.action != action:
                continue
            if words:
                haystack = f"{rec.name}\n{h.action}\n{h.message}\n{h.actor}".lower()
                if not all(w in haystack for w in words):
                    continue
            out.append(AuditEntry(h.time, rec.namespace, rec.name, h.action, h.message, h.actor))
    out.sort(key=lambda e: (-(e.time or 0.0), e.namespace, e.incident, e.action))
    return out[:limit]


def audit_actions(records: Iterable[IncidentRecord]) -> list[str]:
    counts = Counter(h.action for rec in records for h in rec.history)
    return sorted(counts)


# ---- CSV -------------------------------------------------------------------------------------

INCIDENT_CSV_COLUMNS = (
    "namespace", "name", "phase", "source", "pipeline", "errorType", "severity", "priority", "team",
    "owner", "jiraKey", "slaState", "slaDeadline", "attemptsMade", "maxAttempts", "started",
    "resolved", "mttrSeconds", "rootCause", "role", "root",
)  # fmt: skip


def _csv_cell(value: object) -> str:
    """Text for a spreadsheet cell; a leading = + - @ would make Excel run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _iso(t: float | None) -> str:
    return "" if t is None else datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def incidents_csv(records: Iterable[IncidentRecord], now: float) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(INCIDENT_CSV_COLUMNS)
    for r in records:
        row = (
            r.namespace, r.name, r.phase, r.source, r.pipeline, r.error_type, r.severity, r.priority,
            r.team, r.owner, r.jira_key, sla_state(r, now), _iso(r.sla_deadline), r.attempts_made,
            r.max_attempts, _iso(r.started), _iso(r.resolved), r.mttr_seconds, r.root_cause, r.role, r.root,
        )  # fmt: skip
        writer.writerow([_csv_cell(v) for v in row])
    return buf.getvalue()


def audit_csv(entries: Iterable[AuditEntry]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(("time", "namespace", "incident", "action", "message", "actor"))
    for e in entries:
        row = (_iso(e.time), e.namespace, e.incident, e.action, e.message, e.actor)
        writer.writerow([_csv_cell(v) for v in row])
    return buf.getvalue()


# ---- detail ----------------------------------------------------------------------------------


def approve_command(attempt: AttemptRecord) -> str:
    return labels.approve_command(attempt.name, attempt.namespace)


def attempt_json(a: AttemptRecord) -> dict[str, Any]:
    waiting = a.phase == AttemptPhase.AWAITING_APPROVAL.value
    return {
        "name": a.name,
        "attempt": a.attempt,
        "action": a.action,
        "parameters": [{"name": n, "value": v} for n, v in a.parameters],
        "phase": a.phase,
        "dryRun": a.dry_run,
        "approvalRequired": a.approval_required,
        "approval": {
            "decision": a.approval_decision,
            "by": a.approval_by,
            "via": a.approval_via,
            "time": _ms(a.approval_time),
            "reason": a.approval_reason,
        }
        if a.approval_decision
        else None,
        "externalRun": {
            "system": a.run_system,
            "runId": a.run_id,
            "url": a.run_url,
            "state": a.run_state,
            "detail": a.run_detail,
        }
        if a.run_id
        else None,
        "notBefore": _ms(a.not_before),
        "start": _ms(a.start),
        "completion": _ms(a.completion),
        "durationSeconds": a.duration_seconds,
        "failureReason": a.failure_reason,
        "wouldHaveDone": a.would_have_done,
        "approveCommand": approve_command(a) if waiting else None,
    }


def incident_detail(rec: IncidentRecord, attempts: Sequence[AttemptRecord]) -> dict[str, Any]:
    """Everything the detail panel shows; attempts ordered by number."""
    ordered = sorted(attempts, key=lambda a: (a.attempt, a.name))
    return {
        **incident_row(rec, ordered),
        "errorMessage": rec.error_message,
        "activity": rec.activity,
        "location": rec.location,
        "runId": rec.run_id,
        "runUrl": rec.run_url,
        "confidence": rec.confidence,
        "recommendations": list(rec.recommendations),
        "affectedEntity": rec.affected_entity,
        "provider": rec.provider,
        "model": rec.model,
        "autoHealPossible": rec.auto_heal_possible,
        "slaSeconds": rec.sla_seconds,
        "owner": rec.owner,
        "costCenter": rec.cost_center,
        "slackChannel": rec.slack_channel,
        "slackLink": rec.slack_link,
        "jiraStatus": rec.jira_status,
        "policy": rec.policy,
        "rule": rec.rule,
        "action": rec.action,
        "nextAttempt": _ms(rec.next_attempt),
        "escalationReason": rec.escalation_reason,
        "resolvedBy": rec.resolved_by,
        "resolvedActor": rec.resolved_actor,
        "previousIncident": rec.previous_incident,
        "recurrences": rec.recurrences,
        "lineage": list(rec.lineage),
        "history": [
            {"time": _ms(h.time), "action": h.action, "message": h.message, "actor": h.actor} for h in rec.history
        ],
        "attempts": [attempt_json(a) for a in ordered],
        "rootMessage": rec.root_message,
        "members": [{"name": m.name, "source": m.source, "target": m.target, "phase": m.phase} for m in rec.members],
        "membersCommand": members_command(rec) if rec.role == ROLE_ROOT else None,
    }


def members_command(rec: IncidentRecord) -> str:
    """All of a root's members, not only those its status lists."""
    return f"kubectl get incidents -n {rec.namespace} -l {labels.ROOT_LABEL}={rec.name}"

