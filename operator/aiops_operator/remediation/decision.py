"""The remediation decision: given what is true now, what should happen next (pure).

`decide()` reads the Incident, the policy and rule that govern it (chosen by
`policy_matching`), the Incident's RemediationAttempts and the clock, and
returns one `RemediationPlan`. It does no I/O; the reconcile loop applies the
plan and calls `decide()` again on the next event or at `plan.requeue_time`.
Because it is level-based, a restarted operator reaches the same plan from
the same objects: attempt names are deterministic, so "create attempt n"
after a crash is a 409 that the loop adopts.

Applying a plan (the reconcile loop's side):

| kind | the loop does | then |
|---|---|---|
| Nothing | nothing | — |
| Wait | nothing (status.remediation from `plan.summary`) | decide again at `requeue_time` |
| CreateAttempt | create `attempt_body(incident, plan.attempt_spec)`; 409 → adopt | decide again now |
| UpdateAttempt | write `plan.attempt_status` to attempt `plan.attempt_name` | decide again now (or at `requeue_time`) |
| Launch | `executor.launch()`; write `attempt_status.launched(...)` | decide again now |
| Monitor | `executor.poll()`; write `attempt_status.after_progress(...)` if not None | decide again at `requeue_time` |
| Resolve | Incident resolved by auto-heal (MTTR, SLA, Slack, Jira) | — |
| Escalate | Incident escalated with `plan.reason` and `plan.message` | — |

`plan.reason` is the reason for the Incident's Remediated / Escalated
conditions, an `api.conditions.RemediatedReason` (BackingOff, AwaitingApproval
and AttemptRunning while in progress).

The fleet guardrails (`policy.guardrails`) act on two plans, so the stage
gathers their inputs only when they matter: `guard()` takes a CreateAttempt
plan and the launch times the budgets count (listed from the attempts) and
escalates with BudgetExhausted, or turns the attempt into a record (Observe:
dryRun, ends Skipped with reason Observed) or an approval request (Review);
`throttle()` takes a Launch plan and the number of attempts running now and
waits instead of launching over REMEDIATION_MAX_RUNNING.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from aiops_operator.api import (
    Analysis,
    Approval,
    ApprovalChannel,
    ApprovalDecision,
    AttemptPhase,
    Incident,
    IncidentPhase,
    PolicyRule,
    RemediationAttempt,
    RemediationAttemptSpec,
    RemediationAttemptStatus,
    RemediationPolicy,
    RemediationSummary,
    RunMode,
    attempt_name,
)
from aiops_operator.api.actions import describe
from aiops_operator.api.conditions import SKIPPED_OUTCOMES, Outcome, RemediatedReason
from aiops_operator.api.labels import budget_reset_command
from aiops_operator.policy.guardrails import (
    BudgetVerdict,
    budget,
    budget_verdict,
    effective_mode,
    first_exhausted,
)
from aiops_operator.remediation import attempt_status
from aiops_operator.remediation.attempts import attempt_spec
from aiops_operator.remediation.backoff import wait_before
from aiops_operator.remediation.eligibility import ineligible


class DecisionSettings(Protocol):
    """What decide() reads from settings (RemediationSettings satisfies it)."""

    @property
    def auto_remediation_enabled(self) -> bool: ...

    @property
    def remediation_poll_seconds(self) -> float: ...


class PlanKind(StrEnum):
    NOTHING = "Nothing"
    WAIT = "Wait"
    CREATE_ATTEMPT = "CreateAttempt"
    UPDATE_ATTEMPT = "UpdateAttempt"
    LAUNCH = "Launch"
    MONITOR = "Monitor"
    RESOLVE = "Resolve"
    ESCALATE = "Escalate"


@dataclass(frozen=True)
class RemediationPlan:
    """What to do next; see the module docstring for how each kind is applied."""

    kind: PlanKind
    reason: RemediatedReason
    """The reason for the Incident's Remediated (and Escalated / Resolved) condition."""
    message: str
    attempt_name: str | None = None
    """The attempt the plan is about (to create, update, launch or poll; or the one that ended it)."""
    attempt_spec: RemediationAttemptSpec | None = None
    """CreateAttempt: the spec of the attempt to create."""
    attempt_status: RemediationAttemptStatus | None = None
    """UpdateAttempt: the status to write."""
    requeue_time: datetime | None = None
    """When to decide again even if nothing changes (Wait, Monitor, awaiting approval)."""
    summary: RemediationSummary | None = None
    """What the Incident's status.remediation should say; None leaves it alone."""


def decide(
    incident: Incident,
    policy: RemediationPolicy | None,
    rule: PolicyRule | None,
    attempts: list[RemediationAttempt],
    settings: DecisionSettings,
    now: datetime,
    *,
    observed_approval: Approval | None = None,
) -> RemediationPlan:
    """The next step of remediating `incident`.

    `policy` / `rule`: from `policy_matching.select_policy` and `find_rule`
    for the analysis' error type (None when nothing matches). `attempts`: the
    Incident's RemediationAttempts in any order. `observed_approval`:
    `approval.observe_approval(raw body of the newest attempt, now)` when
    that attempt awaits approval (None otherwise). A decision the receiver
    recorded from a Slack click is read from the attempt's `status.approval`
    (via Slack): it is first recorded (Approved condition), then acted on.
    """
    phase = incident.status.phase
    if phase in (IncidentPhase.RESOLVED, IncidentPhase.ESCALATED):
        return RemediationPlan(PlanKind.NOTHING, RemediatedReason.FINISHED, f"The incident is {phase}.")
    analysis = incident.status.analysis
    if analysis is None:
        return RemediationPlan(PlanKind.NOTHING, RemediatedReason.AWAITING_ANALYSIS, "No analysis yet.")
    ordered = sorted(attempts, key=lambda a: a.spec.attempt)
    latest = ordered[-1] if ordered else None
    summary = _summary(policy, rule, ordered)

    if latest is not None and not attempt_status.is_terminal(latest):
        return _current(incident, policy, latest, settings, now, observed_approval, summary)

    if latest is not None:
        ended = _finished(incident, rule, latest, summary)
        if ended is not None:
            return ended
    return _next_attempt(incident, analysis, policy, rule, latest, settings, now, summary)


def _finished(
    incident: Incident, rule: PolicyRule | None, latest: RemediationAttempt, summary: RemediationSummary | None,
) -> RemediationPlan | None:
    """The newest attempt has finished: resolve, escalate, or None when another attempt may follow."""
    name = latest.metadata.name or attempt_name(incident.metadata.name, latest.spec.attempt)
    if latest.status.phase is AttemptPhase.SUCCEEDED:
        run = latest.status.external_run
        ran = f" ({run.system} run {run.run_id})" if run else ""
        return RemediationPlan(PlanKind.RESOLVE, RemediatedReason.AUTO_HEALED,
                               f"Attempt {latest.spec.attempt}{ran} healed the failure.",
                               attempt_name=name, summary=summary)
    if latest.status.phase is AttemptPhase.SKIPPED:
        outcome = attempt_status.outcome_of(latest)
        # A skipped attempt's outcome is the reason the incident escalates with (api.conditions).
        if outcome is None:
            reason = RemediatedReason.DRY_RUN
        elif outcome in SKIPPED_OUTCOMES:
            reason = RemediatedReason(outcome.value)
        else:
            reason = RemediatedReason.REMEDIATION_DISABLED
        message = latest.status.failure_reason or f"Attempt {latest.spec.attempt} was skipped."
        if latest.status.would_have_done and reason is not RemediatedReason.OBSERVED:
            message = f"Dry run: {latest.status.would_have_done} A human must act."
        return RemediationPlan(PlanKind.ESCALATE, reason, message, attempt_name=name, summary=summary)
    # Failed or TimedOut: the next attempt, if any is left.
    allowed = rule.max_attempts if rule is not None else latest.spec.attempt
    if latest.spec.attempt >= allowed:
        why = latest.status.failure_reason or str(latest.status.phase)
        return RemediationPlan(
            PlanKind.ESCALATE, RemediatedReason.ATTEMPTS_EXHAUSTED,
            f"All {allowed} attempts failed; the last one: {why}", attempt_name=name, summary=summary,
        )
    return None


def _next_attempt(
    incident: Incident, analysis: Analysis, policy: RemediationPolicy | None, rule: PolicyRule | None,
    latest: RemediationAttempt | None, settings: DecisionSettings, now: datetime, summary: RemediationSummary | None,
) -> RemediationPlan:
    """No attempt is under way: escalate if none may start, else wait out the backoff or create the next."""
    blocked = ineligible(analysis, incident, policy, rule, settings.auto_remediation_enabled)
    if blocked is not None:
        reason, message = blocked
        return RemediationPlan(PlanKind.ESCALATE, reason, message, summary=summary)
    assert rule is not None  # ineligible checked both
    assert policy is not None
    n = latest.spec.attempt + 1 if latest is not None else 1
    not_before = _base_time(incident, latest) + wait_before(rule.backoff, n)
    if now < not_before:
        waiting = _with_next(summary, not_before)
        return RemediationPlan(
            PlanKind.WAIT, RemediatedReason.BACKING_OFF,
            f"Attempt {n}/{rule.max_attempts} ({rule.action}) starts at {not_before.isoformat()}.",
            requeue_time=not_before, summary=waiting,
        )
    spec = attempt_spec(incident, policy.metadata.name, rule, n, not_before)
    name = attempt_name(incident.metadata.name, n)
    created = (summary or RemediationSummary()).model_copy(update={
        "attempts_made": n, "current_attempt": name, "next_attempt_time": None})
    return RemediationPlan(
        PlanKind.CREATE_ATTEMPT, RemediatedReason.ATTEMPT_PENDING,
        f"Creating attempt {n}/{rule.max_attempts}: {rule.action} (rule {rule.name}).",
        attempt_name=name, attempt_spec=spec, summary=created,
    )


@dataclass(frozen=True)
class _Moving:
    """The unfinished attempt a plan is about: its name and the summary every plan for it carries."""

    name: str
    summary: RemediationSummary

    def update(self, new: RemediationAttemptStatus, reason: RemediatedReason, message: str,
               requeue: datetime | None = None) -> RemediationPlan:
        return RemediationPlan(PlanKind.UPDATE_ATTEMPT, reason, message, attempt_name=self.name,
                               attempt_status=new, requeue_time=requeue, summary=self.summary)

    def plan(self, kind: PlanKind, reason: RemediatedReason, message: str, requeue: datetime) -> RemediationPlan:
        return RemediationPlan(kind, reason, message, attempt_name=self.name, requeue_time=requeue,
                               summary=self.summary)


def _current(
    incident: Incident,
    policy: RemediationPolicy | None,
    attempt: RemediationAttempt,
    settings: DecisionSettings,
    now: datetime,
    observed: Approval | None,
    summary: RemediationSummary | None,
) -> RemediationPlan:
    """The newest attempt has not finished: move it along."""
    spec, status = attempt.spec, attempt.status
    name = attempt.metadata.name or attempt_name(incident.metadata.name, spec.attempt)
    moving = _Moving(name, (summary or RemediationSummary()).model_copy(update={
        "current_attempt": name, "attempts_made": max(spec.attempt, summary.attempts_made if summary else 0),
        "next_attempt_time": None}))
    if status.phase is AttemptPhase.RUNNING:
        return _running(attempt, settings, now, moving)

    # Pending or AwaitingApproval: nothing launched yet, so switches still apply.
    if not settings.auto_remediation_enabled or policy is None or not policy.spec.enabled:
        why = ("automatic remediation is switched off" if not settings.auto_remediation_enabled
               else "its RemediationPolicy is gone or disabled")
        message = f"Attempt {spec.attempt} was not launched: {why}."
        return moving.update(attempt_status.finished(attempt, Outcome.REMEDIATION_DISABLED, message, now),
                             RemediatedReason.REMEDIATION_DISABLED, message)
    if spec.dry_run:
        would = describe(spec.action, spec.parameters, incident.spec.resource.name)
        if spec.guardrail:
            message = f"Observed ({spec.guardrail}): nothing was launched. Would have: {would} A human must act."
            outcome, reason = Outcome.OBSERVED, RemediatedReason.OBSERVED
        else:
            message = f"Dry run: nothing was done. Would have: {would}"
            outcome, reason = Outcome.DRY_RUN, RemediatedReason.DRY_RUN
        return moving.update(attempt_status.finished(attempt, outcome, message, now, would_have_done=would),
                             reason, message)
    if spec.approval_required:
        waiting = _approval_step(attempt, now, observed, moving)
        if waiting is not None:
            return waiting
    if now < spec.not_before_time:
        return moving.plan(PlanKind.WAIT, RemediatedReason.BACKING_OFF,
                           f"Attempt {spec.attempt} starts at {spec.not_before_time.isoformat()}.",
                           spec.not_before_time)
    launch_deadline = spec.not_before_time + timedelta(seconds=spec.timeout_seconds)
    if now >= launch_deadline:
        message = f"Could not launch within {spec.timeout_seconds} s."
        return moving.update(attempt_status.finished(attempt, Outcome.TIMED_OUT, message, now),
                             RemediatedReason.ATTEMPT_PENDING, message)
    return moving.plan(PlanKind.LAUNCH, RemediatedReason.ATTEMPT_PENDING,
                       f"Launching attempt {spec.attempt}: {spec.action}.", launch_deadline)


def _running(attempt: RemediationAttempt, settings: DecisionSettings, now: datetime,
             moving: _Moving) -> RemediationPlan:
    """The external run is in flight: poll it until its timeout."""
    spec, status = attempt.spec, attempt.status
    start = status.start_time or spec.not_before_time
    deadline = start + timedelta(seconds=spec.timeout_seconds)
    if now >= deadline:
        message = f"No result within {spec.timeout_seconds} s (timeout)."
        return moving.update(attempt_status.finished(attempt, Outcome.TIMED_OUT, message, now),
                             RemediatedReason.ATTEMPT_RUNNING, message)
    requeue = min(now + timedelta(seconds=settings.remediation_poll_seconds), deadline)
    run = status.external_run
    on = f" ({run.system} run {run.run_id})" if run else ""
    return moving.plan(PlanKind.MONITOR, RemediatedReason.ATTEMPT_RUNNING, f"Attempt {spec.attempt}{on} is running.",
                       requeue)


def _approval_step(attempt: RemediationAttempt, now: datetime, observed: Approval | None,
                   moving: _Moving) -> RemediationPlan | None:
    """An attempt that needs approval: record a decision, ask or wait for one; None once approved."""
    spec, status = attempt.spec, attempt.status
    approval = status.approval
    if approval is not None and approval.via is ApprovalChannel.SLACK and not attempt_status.approval_recorded(
            attempt):
        # The receiver wrote status.approval from a verified Slack click: the operator records the
        # Approved condition (and the Incident's history) before acting on it.
        return moving.update(attempt_status.with_approval(attempt, approval, now), RemediatedReason.AWAITING_APPROVAL,
                             f"{approval.decision} by {approval.by} via Slack.")
    if approval is None and observed is not None:
        return moving.update(attempt_status.with_approval(attempt, observed, now), RemediatedReason.AWAITING_APPROVAL,
                             f"{observed.decision} by {observed.by}.")
    if approval is None:
        waiting_since = max(attempt.metadata.creation_timestamp or spec.not_before_time, spec.not_before_time)
        deadline = waiting_since + timedelta(seconds=spec.approval_timeout_seconds)
        if now >= deadline:
            message = f"No approval within {spec.approval_timeout_seconds} s."
            return moving.update(attempt_status.finished(attempt, Outcome.APPROVAL_TIMED_OUT, message, now),
                                 RemediatedReason.APPROVAL_TIMED_OUT, message)
        message = f"Attempt {spec.attempt} ({spec.action}) waits for approval until {deadline.isoformat()}."
        if spec.guardrail:
            message += f" Approval is needed because {spec.guardrail}."
        if status.phase is not AttemptPhase.AWAITING_APPROVAL:
            return moving.update(attempt_status.awaiting_approval(attempt, deadline, now),
                                 RemediatedReason.AWAITING_APPROVAL, message, requeue=deadline)
        return moving.plan(PlanKind.WAIT, RemediatedReason.AWAITING_APPROVAL, message, deadline)
    if approval.decision is ApprovalDecision.DENIED:
        message = f"Denied by {approval.by}" + (f": {approval.reason}" if approval.reason else ".")
        return moving.update(attempt_status.finished(attempt, Outcome.APPROVAL_DENIED, message, now),
                             RemediatedReason.APPROVAL_DENIED, message)
    return None


@dataclass(frozen=True)
class Launches:
    """Launch times the budgets count, from the RemediationAttempts (`guardrails.launch_time`)."""

    target: tuple[datetime, ...] = ()
    """Of attempts for the same pipeline, job or cluster, under any policy of the namespace."""
    policy: tuple[datetime, ...] = ()
    """Of attempts under this policy."""
    reset_time: datetime | None = None
    """The policy's aiops-rca.io/budget-reset annotation: earlier launches no longer count."""


def budget_verdicts(policy: RemediationPolicy, launches: Launches, now: datetime) -> list[BudgetVerdict]:
    """How much of each of the policy's budgets is used at `now`."""
    verdicts = []
    budgets = policy.spec.budgets
    if budgets.per_target is not None:
        verdicts.append(budget_verdict("target", launches.target, budget(budgets.per_target), now,
                                       launches.reset_time))
    if budgets.per_policy is not None:
        verdicts.append(budget_verdict("policy", launches.policy, budget(budgets.per_policy), now,
                                       launches.reset_time))
    return verdicts


def guard(plan: RemediationPlan, incident: Incident, policy: RemediationPolicy | None, rule: PolicyRule | None,
          launches: Launches, now: datetime) -> RemediationPlan:
    """A CreateAttempt plan under the policy's run modes, freeze windows and budgets (other plans unchanged).

    Observe: the attempt is created as a record (dryRun, with the guardrail named) and spends no budget.
    Otherwise an exhausted budget escalates with BudgetExhausted before any attempt exists; Review makes
    the attempt wait for approval."""
    spec = plan.attempt_spec
    if plan.kind is not PlanKind.CREATE_ATTEMPT or spec is None or policy is None or rule is None:
        return plan
    mode = effective_mode(policy.spec, rule, now)
    if mode.mode is RunMode.OBSERVE:
        if spec.dry_run:
            return plan
        return _with_spec(plan, spec.model_copy(update={"dry_run": True, "guardrail": mode.why}),
                          f" Observe only: {mode.why}.")
    exhausted = first_exhausted(budget_verdicts(policy, launches, now))
    if exhausted is not None:
        summary = plan.summary.model_copy(update={
            "attempts_made": spec.attempt - 1, "next_attempt_time": None,
            "current_attempt": attempt_name(incident.metadata.name, spec.attempt - 1) if spec.attempt > 1 else None,
        }) if plan.summary else None
        return RemediationPlan(
            PlanKind.ESCALATE, RemediatedReason.BUDGET_EXHAUSTED,
            f"Not launched: the launch budget of policy {policy.metadata.name} is used up: {exhausted.message}"
            f" Reset by hand: {budget_reset_command(policy.metadata.name, policy.metadata.namespace or 'default')}",
            summary=summary,
        )
    if mode.mode is RunMode.REVIEW and not spec.approval_required:
        return _with_spec(plan, spec.model_copy(update={"approval_required": True, "guardrail": mode.why}),
                          f" Needs approval: {mode.why}.")
    return plan


def _with_spec(plan: RemediationPlan, spec: RemediationAttemptSpec, note: str) -> RemediationPlan:
    return RemediationPlan(plan.kind, plan.reason, plan.message + note, attempt_name=plan.attempt_name,
                           attempt_spec=spec, summary=plan.summary)


THROTTLE_SECONDS = 15.0
"""How soon an attempt held back by REMEDIATION_MAX_RUNNING looks again."""


def throttle(plan: RemediationPlan, running: int, max_running: int, now: datetime) -> RemediationPlan:
    """A Launch plan waits (BackingOff) while `running` attempts are in flight and the cap is reached."""
    if plan.kind is not PlanKind.LAUNCH or running < max_running:
        return plan
    requeue = now + timedelta(seconds=THROTTLE_SECONDS)
    if plan.requeue_time is not None:
        requeue = min(requeue, plan.requeue_time)
    return RemediationPlan(
        PlanKind.WAIT, RemediatedReason.BACKING_OFF,
        f"Waiting to launch: {running} attempts are running, the cap is {max_running} (REMEDIATION_MAX_RUNNING).",
        attempt_name=plan.attempt_name, requeue_time=requeue, summary=plan.summary,
    )


def _base_time(incident: Incident, latest: RemediationAttempt | None) -> datetime:
    """What the backoff counts from: the previous attempt's end, or the analysis for attempt 1."""
    if latest is not None:
        return latest.status.completion_time or latest.spec.not_before_time
    analysis = incident.status.analysis
    if analysis is not None and analysis.analyzed_time is not None:
        return analysis.analyzed_time
    return incident.spec.received_time


def _summary(
    policy: RemediationPolicy | None, rule: PolicyRule | None, ordered: list[RemediationAttempt],
) -> RemediationSummary | None:
    if policy is None and not ordered:
        return None
    latest = ordered[-1] if ordered else None
    return RemediationSummary(
        policy=policy.metadata.name if policy else (latest.spec.policy if latest else None),
        rule=rule.name if rule else (latest.spec.rule if latest else None),
        action=str(rule.action) if rule else (str(latest.spec.action) if latest else None),
        attempts_made=latest.spec.attempt if latest else 0,
        max_attempts=rule.max_attempts if rule else 0,
        current_attempt=latest.metadata.name or None if latest else None,
    )


def _with_next(summary: RemediationSummary | None, when: datetime) -> RemediationSummary:
    return (summary or RemediationSummary()).model_copy(update={"next_attempt_time": when})
