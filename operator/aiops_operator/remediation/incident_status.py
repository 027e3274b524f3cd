"""How remediation shows on the Incident (pure): conditions, summary, audit trail, resolution, human closing.

The remediation stage (`remediation.stage`) applies a `RemediationPlan`
to the outside world; these functions say what the Incident's status reads
afterwards. They are level-based: the audit trail entries for an attempt are
derived from the attempt's own status (created, approval asked/decided,
launched, failed, skipped) and added only when missing, so a stage that
crashed before its status write, or adopted an attempt it created before a
restart, tells the same story once.

| plan | Remediated | Escalated / Resolved | history |
|---|---|---|---|
| Wait, Create-, UpdateAttempt, Launch | Unknown BackingOff / AttemptPending / AwaitingApproval | — | milestones |
| Monitor | Unknown AttemptRunning (phase Monitoring) | — | milestones |
| Resolve | True AutoHealed | Resolved=True AutoHealed | RemediationSucceeded |
| Escalate | False <reason> | Escalated=True <reason> | AttemptsExhausted or Escalated |
| human | False ResolvedInJira / ResolvedByKubectl (if still at work) | Resolved=True same | same |
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from aiops_operator.api import (
    AlertResolution,
    ApprovalDecision,
    AttemptPhase,
    ConditionStatus,
    Incident,
    IncidentPhase,
    IncidentStatus,
    RemediationAttempt,
    Resolution,
    ResolvedBy,
    find_condition,
    set_condition,
)
from aiops_operator.api.conditions import (
    IN_PROGRESS_REASONS,
    IncidentCondition,
    Outcome,
    RemediatedReason,
    condition,
)
from aiops_operator.api.history import (
    ALERT_RESOLUTION_RECORDED,
    ALERT_RESOLVED,
    APPROVAL_REQUIRED,
    APPROVAL_TIMED_OUT,
    ATTEMPT_APPROVED,
    ATTEMPT_CREATED,
    ATTEMPT_DENIED,
    ATTEMPT_FAILED,
    ATTEMPT_LAUNCHED,
    ATTEMPT_SKIPPED,
    ATTEMPTS_EXHAUSTED,
    ESCALATED,
    REMEDIATION_SUCCEEDED,
    RESOLVED_BY_KUBECTL,
    RESOLVED_IN_JIRA,
    record,
)
from aiops_operator.api.labels import RESOLVE_ANNOTATION, RESOLVED_BY_ANNOTATION, approve_command
from aiops_operator.api.phase import TERMINAL_PHASES, derive_phase
from aiops_operator.api.sanitize import clean_text
from aiops_operator.api.sla import sla_start
from aiops_operator.remediation.attempt_status import outcome_of
from aiops_operator.remediation.decision import PlanKind, RemediationPlan


@dataclass(frozen=True)
class StageResult:
    """What one step of the remediation stage hands back to the reconcile."""

    status: IncidentStatus
    """The incident's status after this step (conditions, remediation summary, history)."""
    requeue_after: float | None = None
    """Seconds until the stage wants to look again (backoff, polling), if nothing else happens."""


def _attempt_tag(n: int) -> str:
    return f"Attempt {n}/"


def _has(status: IncidentStatus, action: str, n: int) -> bool:
    tag = _attempt_tag(n)
    return any(h.action == action and h.message.startswith(tag) for h in status.history)


def _once(status: IncidentStatus, action: str, n: int, message: str, when: datetime) -> IncidentStatus:
    if _has(status, action, n):
        return status
    return record(status, action, message, when)


Milestone = tuple[str, str, datetime]
"""(history action, message, when)."""


@dataclass(frozen=True)
class _Seen:
    """What the milestones of one attempt are read from."""

    attempt: RemediationAttempt
    head: str
    """'Attempt n/N (<name>)', the start of every message (the audit trail finds them by it)."""
    outcome: Outcome | None
    now: datetime

    @property
    def ended(self) -> datetime:
        return self.attempt.status.completion_time or self.now

    @property
    def created(self) -> datetime:
        return self.attempt.metadata.creation_timestamp or self.now


def _created(seen: _Seen) -> Milestone | None:
    spec = seen.attempt.spec
    return (ATTEMPT_CREATED,
            f"{seen.head} created: {spec.action} under rule {spec.rule} of RemediationPolicy {spec.policy},"
            f" not before {spec.not_before_time.isoformat()}" + (" (dry run)." if spec.dry_run else "."), seen.created)


def _approval_asked(seen: _Seen) -> Milestone | None:
    spec, st = seen.attempt.spec, seen.attempt.status
    asked = st.phase is AttemptPhase.AWAITING_APPROVAL or st.approval is not None \
        or seen.outcome is Outcome.APPROVAL_TIMED_OUT
    if not spec.approval_required or not asked:
        return None
    meta = seen.attempt.metadata
    command = approve_command(meta.name, meta.namespace or "default")
    return APPROVAL_REQUIRED, f"{seen.head} ({spec.action}) needs approval: {command} (or =denied).", seen.created


def _approval_decided(seen: _Seen) -> Milestone | None:
    a = seen.attempt.status.approval
    if a is None:
        return None
    approved = a.decision is ApprovalDecision.APPROVED
    why = f": {a.reason}" if a.reason else ""
    return (ATTEMPT_APPROVED if approved else ATTEMPT_DENIED,
            f"{seen.head} {'approved' if approved else 'denied'} by {a.by} via {a.via} at {a.time.isoformat()}{why}.",
            a.time)


def _approval_timed_out(seen: _Seen) -> Milestone | None:
    if seen.outcome is not Outcome.APPROVAL_TIMED_OUT:
        return None
    return APPROVAL_TIMED_OUT, f"{seen.head}: {seen.attempt.status.failure_reason or 'no approval in time'}", seen.ended


def _launched(seen: _Seen) -> Milestone | None:
    st = seen.attempt.status
    run = st.external_run
    if run is None:
        return None
    detail = f" {run.detail}" if run.detail else ""
    return ATTEMPT_LAUNCHED, f"{seen.head} launched: {run.system} run {run.run_id}.{detail}", st.start_time or seen.now


def _failed(seen: _Seen) -> Milestone | None:
    st = seen.attempt.status
    if st.phase not in (AttemptPhase.FAILED, AttemptPhase.TIMED_OUT):
        return None
    word = "timed out" if st.phase is AttemptPhase.TIMED_OUT else "failed"
    return ATTEMPT_FAILED, f"{seen.head} {word}: {st.failure_reason or 'no reason given'}", seen.ended


def _skipped(seen: _Seen) -> Milestone | None:
    st = seen.attempt.status
    # A skip for want of approval is told by the approval milestones.
    if st.phase is not AttemptPhase.SKIPPED or seen.outcome in (Outcome.APPROVAL_TIMED_OUT, Outcome.APPROVAL_DENIED):
        return None
    what = f" Would have: {st.would_have_done}" if st.would_have_done else ""
    return ATTEMPT_SKIPPED, f"{seen.head} skipped: {st.failure_reason or seen.outcome or 'skipped'}.{what}", seen.ended


_MILESTONES = (_created, _approval_asked, _approval_decided, _approval_timed_out, _launched, _failed, _skipped)
"""The milestones of an attempt, in the order they happen."""


def attempt_milestones(attempt: RemediationAttempt, max_attempts: int, now: datetime) -> list[Milestone]:
    """(action, message, time) of what has happened to the attempt so far, in order."""
    n = attempt.spec.attempt
    seen = _Seen(attempt, f"{_attempt_tag(n)}{max(max_attempts, n)} ({attempt.metadata.name})",
                 outcome_of(attempt), now)
    return [m for m in (milestone(seen) for milestone in _MILESTONES) if m is not None]


def record_attempt(status: IncidentStatus, attempt: RemediationAttempt, max_attempts: int,
                   now: datetime) -> IncidentStatus:
    """The attempt's milestones added to the audit trail, each once."""
    for action, message, when in attempt_milestones(attempt, max_attempts, now):
        status = _once(status, action, attempt.spec.attempt, message, when)
    return status


def _set(status: IncidentStatus, type_: str, value: ConditionStatus, reason: str, message: str, now: datetime,
         gen: int | None) -> IncidentStatus:
    cond = condition(type_, value, reason, message, now, gen)
    return status.model_copy(update={"conditions": set_condition(status.conditions, cond)})


def _rephase(status: IncidentStatus) -> IncidentStatus:
    return status.model_copy(update={"phase": derive_phase(status.conditions)})


def mttr_seconds(incident: Incident, resolved: datetime) -> int:
    """From the first alert (fired, else received) to resolution."""
    return max(0, int((resolved - sla_start(incident.spec)).total_seconds()))


def apply_plan(
    incident: Incident, status: IncidentStatus, plan: RemediationPlan, attempt: RemediationAttempt | None,
    now: datetime,
) -> IncidentStatus:
    """The Incident's status once `plan` is applied (and `attempt` is its newest attempt as now known)."""
    gen = incident.metadata.generation
    if plan.summary is not None:
        status = status.model_copy(update={"remediation": plan.summary})
    max_attempts = status.remediation.max_attempts if status.remediation else 0
    if attempt is not None:
        status = record_attempt(status, attempt, max_attempts, now)
    if plan.kind is PlanKind.NOTHING:
        return status
    if plan.kind is PlanKind.RESOLVE:
        run = attempt.status.external_run if attempt is not None else None
        n = attempt.spec.attempt if attempt is not None else 0
        resolution = Resolution(
            resolved_time=now, mttr_seconds=mttr_seconds(incident, now), resolved_by=ResolvedBy.AUTO_HEAL,
            attempt=attempt.metadata.name if attempt is not None else None, run_id=run.run_id if run else None,
        )
        status = status.model_copy(update={"resolution": resolution, "escalation_reason": None})
        status = _set(status, IncidentCondition.REMEDIATED, ConditionStatus.TRUE, RemediatedReason.AUTO_HEALED,
                      plan.message, now, gen)
        status = _set(status, IncidentCondition.RESOLVED, ConditionStatus.TRUE, RemediatedReason.AUTO_HEALED,
                      plan.message, now, gen)
        ran = f", run {run.run_id}" if run else ""
        status = record(status, REMEDIATION_SUCCEEDED,
                        f"{_attempt_tag(n)}{max_attempts} healed the failure{ran}; MTTR"
                        f" {resolution.mttr_seconds} s.", now)
        return _rephase(status)
    if plan.kind is PlanKind.ESCALATE:
        reason = str(plan.reason)
        status = status.model_copy(update={"escalation_reason": clean_text(plan.message, 4096)})
        status = _set(status, IncidentCondition.REMEDIATED, ConditionStatus.FALSE, reason, plan.message, now, gen)
        status = _set(status, IncidentCondition.ESCALATED, ConditionStatus.TRUE, reason, plan.message, now, gen)
        action = ATTEMPTS_EXHAUSTED if plan.reason is RemediatedReason.ATTEMPTS_EXHAUSTED else ESCALATED
        status = record(status, action, f"{reason}: {plan.message}", now)
        return _rephase(status)
    # In progress: Remediated=Unknown with the step's reason (AttemptRunning means phase Monitoring).
    progress: str = plan.reason
    if plan.reason not in IN_PROGRESS_REASONS:
        previous = find_condition(status.conditions, IncidentCondition.REMEDIATED)
        progress = previous.reason if previous is not None and previous.reason in IN_PROGRESS_REASONS \
            else RemediatedReason.ATTEMPT_PENDING
    status = _set(status, IncidentCondition.REMEDIATED, ConditionStatus.UNKNOWN, progress, plan.message, now, gen)
    return _rephase(status)


def alert_resolution(incident: Incident, mode: AlertResolution, now: datetime) -> IncidentStatus | None:
    """A Resolved alert that does not resolve the incident, recorded once in the history; else None.

    Recorded when the policy says Record, or (Resolve) while an attempt's external run is in flight:
    the alert confirms what the run is doing, and the run's outcome decides."""
    status = incident.status
    signals = status.signals
    if signals is None or signals.alert_resolved_time is None or mode is AlertResolution.IGNORE:
        return None
    if status.phase in TERMINAL_PHASES and status.phase is not IncidentPhase.ESCALATED:
        return None
    if mode is AlertResolution.RESOLVE and status.phase is not IncidentPhase.MONITORING:
        return None
    if any(h.action == ALERT_RESOLUTION_RECORDED for h in status.history):
        return None
    when = f"{signals.alert_resolved_time:%Y-%m-%dT%H:%M:%SZ}"
    message = (f"The alert source reported the condition resolved at {when}, while the remediation's run is in"
               " flight: recorded as confirmation." if mode is AlertResolution.RESOLVE else
               f"The alert source reported the condition resolved at {when} (policy alertResolution: Record).")
    return record(status, ALERT_RESOLUTION_RECORDED, message, now)


def human_resolution(
    incident: Incident, now: datetime, done_statuses: Iterable[str], kubectl_actor: str | None = None,
    alert: AlertResolution = AlertResolution.IGNORE,
) -> IncidentStatus | None:
    """The status once a human closed the incident (Jira moved to Done, or the kubectl annotation), or the
    alert source resolved it (`alert` Resolve, no run in flight); else None.

    `kubectl_actor`: who set the annotation, when the caller could tell (field manager); the
    `aiops-rca.io/resolved-by` annotation, a claim, wins when present.
    """
    status = incident.status
    if status.phase is IncidentPhase.RESOLVED or status.resolution is not None:
        return None
    done = {s.strip().lower() for s in done_statuses}
    signals = status.signals
    annotations = incident.metadata.annotations
    if signals is not None and signals.jira_status and signals.jira_status.strip().lower() in done:
        by, reason, action = ResolvedBy.JIRA, RemediatedReason.RESOLVED_IN_JIRA, RESOLVED_IN_JIRA
        actor = clean_text(signals.jira_actor or "", 256) or None
        when = signals.jira_status_time or now
        note = None
        message = f"Jira issue moved to {signals.jira_status} by {actor or 'an unknown user'}."
    elif RESOLVE_ANNOTATION in annotations:
        by, reason, action = ResolvedBy.KUBECTL, RemediatedReason.RESOLVED_BY_KUBECTL, RESOLVED_BY_KUBECTL
        claimed = clean_text(annotations.get(RESOLVED_BY_ANNOTATION) or "", 200).strip()
        actor = claimed or kubectl_actor or "kubectl"
        when = now
        note = clean_text(annotations.get(RESOLVE_ANNOTATION) or "", 1024).strip() or None
        message = f"Resolved with kubectl by {actor}" + (f": {note}" if note else ".")
    elif (signals is not None and signals.alert_resolved_time is not None and alert is AlertResolution.RESOLVE
          and status.phase is not IncidentPhase.MONITORING):
        by, reason, action = ResolvedBy.ALERT, RemediatedReason.ALERT_RESOLVED, ALERT_RESOLVED
        actor, note, when = None, None, signals.alert_resolved_time
        message = f"The alert source reported the condition resolved at {when:%Y-%m-%dT%H:%M:%SZ}."
    else:
        return None
    gen = incident.metadata.generation
    when = min(when, now)
    resolution = Resolution(resolved_time=when, mttr_seconds=mttr_seconds(incident, when), resolved_by=by,
                            actor=actor, note=note)
    status = status.model_copy(update={"resolution": resolution})
    status = _set(status, IncidentCondition.RESOLVED, ConditionStatus.TRUE, reason, message, now, gen)
    remediated = find_condition(status.conditions, IncidentCondition.REMEDIATED)
    if remediated is not None and remediated.status is ConditionStatus.UNKNOWN:
        status = _set(status, IncidentCondition.REMEDIATED, ConditionStatus.FALSE, reason, message, now, gen)
    escalated = find_condition(status.conditions, IncidentCondition.ESCALATED)
    if escalated is not None and escalated.status is ConditionStatus.TRUE:
        status = _set(status, IncidentCondition.ESCALATED, ConditionStatus.FALSE, reason, message, now, gen)
    status = record(status, action, message + f" MTTR {resolution.mttr_seconds} s.", now)
    return _rephase(status)


# --- what humans are told in Slack (pure text; the reconcile posts it once per key) -------------


def success_banner(status: IncidentStatus) -> str | None:
    """':white_check_mark: Auto-healed on attempt n/N ...' for an auto-healed incident; else None."""
    res = status.resolution
    if res is None or res.resolved_by is not ResolvedBy.AUTO_HEAL:
        return None
    rem = status.remediation
    attempt = f" on attempt {rem.attempts_made}/{rem.max_attempts}" if rem and rem.attempts_made else ""
    run = f", new run {res.run_id}" if res.run_id else ""
    sla = f", SLA {status.sla.state.value}" if status.sla else ""
    return f":white_check_mark: Auto-healed{attempt}{run}. MTTR {_duration(res.mttr_seconds)}{sla}."


def resolution_note(status: IncidentStatus) -> str:
    """The thread reply / Jira comment when the incident is resolved."""
    banner = success_banner(status)
    if banner is not None:
        rem = status.remediation
        how = f" ({rem.action} under policy {rem.policy}, rule {rem.rule})" if rem and rem.action else ""
        return banner + how
    res = status.resolution
    if res is None:
        return "Incident resolved."
    sla = f", SLA {status.sla.state.value}" if status.sla else ""
    who = f" by {res.actor}" if res.actor else ""
    note = f": {res.note}" if res.note else ""
    return (f":white_check_mark: Resolved{who} ({res.resolved_by.value}){note}."
            f" MTTR {_duration(res.mttr_seconds)}{sla}.")


def retry_replies(status: IncidentStatus) -> list[tuple[str, str]]:
    """(key, text) of the 'Retry n/N' thread replies due: one per failed attempt that has a successor.

    Still listed once the incident has ended: a reply the incident outran (Slack held it back with a 429
    while the next attempt failed too) is posted late rather than never; only the pending time is left out."""
    if status.remediation is None:
        return []
    ended = status.phase in TERMINAL_PHASES
    rem = status.remediation
    out: list[tuple[str, str]] = []
    for entry in status.history:
        if entry.action != ATTEMPT_FAILED or not entry.message.startswith("Attempt "):
            continue
        try:
            n = int(entry.message.split(" ", 2)[1].split("/", 1)[0])
        except (IndexError, ValueError):
            continue
        if n >= rem.max_attempts:
            continue
        pending = not ended and rem.next_attempt_time and rem.attempts_made == n
        when = f" at {rem.next_attempt_time.isoformat()}" if pending and rem.next_attempt_time else ""
        out.append((f"retry-{n + 1}",
                    f":repeat: Retry {n + 1}/{rem.max_attempts}{when}: {clean_text(entry.message, 600)}"))
    return out


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
