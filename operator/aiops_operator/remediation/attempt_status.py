"""How a RemediationAttempt's status moves (pure): approval, launch, progress, outcome.

Two conditions tell the story in `kubectl describe`: Approved and Completed
(their reasons are in `api.conditions`). `Completed.reason` of a finished
attempt (an `Outcome`) is what the Incident's decision reads to say why it
escalated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aiops_operator.api import (
    Approval,
    ApprovalDecision,
    AttemptPhase,
    Condition,
    ConditionStatus,
    ExternalRun,
    RemediationAttempt,
    RemediationAttemptStatus,
    find_condition,
    set_condition,
)
from aiops_operator.api.base import MAX_CONDITION_MESSAGE_CHARS, MAX_MESSAGE_CHARS
from aiops_operator.api.conditions import ApprovedReason, AttemptCondition, CompletedProgress, Outcome
from aiops_operator.api.labels import approve_command
from aiops_operator.api.sanitize import clean_text

APPROVED = AttemptCondition.APPROVED
COMPLETED = AttemptCondition.COMPLETED
TERMINAL_PHASES = frozenset({AttemptPhase.SUCCEEDED, AttemptPhase.FAILED, AttemptPhase.TIMED_OUT,
                             AttemptPhase.SKIPPED})


_PHASE_OF = {
    Outcome.SUCCEEDED: AttemptPhase.SUCCEEDED,
    Outcome.RUN_FAILED: AttemptPhase.FAILED,
    Outcome.LAUNCH_FAILED: AttemptPhase.FAILED,
    Outcome.TIMED_OUT: AttemptPhase.TIMED_OUT,
    Outcome.DRY_RUN: AttemptPhase.SKIPPED,
    Outcome.OBSERVED: AttemptPhase.SKIPPED,
    Outcome.APPROVAL_DENIED: AttemptPhase.SKIPPED,
    Outcome.APPROVAL_TIMED_OUT: AttemptPhase.SKIPPED,
    Outcome.REMEDIATION_DISABLED: AttemptPhase.SKIPPED,
    Outcome.CANNOT_REMEDIATE: AttemptPhase.SKIPPED,
}


class ProgressState(StrEnum):
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class Progress:
    """What an executor's poll saw."""

    state: ProgressState
    detail: str = ""
    """A sentence: what the external system says (bounded, secrets redacted before it is stored)."""
    transient_error: bool = False
    """The poll itself failed (timeout, 5xx, 429): nothing is known; retry, never count it as failure."""
    external_state: str | None = None
    """The external system's own state word (RUNNING, InProgress, TERMINATED/SUCCESS, ...)."""


def is_terminal(attempt: RemediationAttempt) -> bool:
    return attempt.status.phase in TERMINAL_PHASES


def outcome_of(attempt: RemediationAttempt) -> Outcome | None:
    """How a finished attempt ended (from its Completed condition)."""
    found = find_condition(attempt.status.conditions, COMPLETED)
    if found is None or found.status is not ConditionStatus.TRUE:
        return None
    try:
        return Outcome(found.reason)
    except ValueError:
        return None


def _cond(type_: str, status: ConditionStatus, reason: str, message: str, now: datetime,
          generation: int | None) -> Condition:
    return Condition(type=type_, status=status, reason=reason, message=clean_text(message, MAX_CONDITION_MESSAGE_CHARS),
                     last_transition_time=now, observed_generation=generation)


def awaiting_approval(attempt: RemediationAttempt, deadline: datetime, now: datetime) -> RemediationAttemptStatus:
    s = attempt.status
    gen = attempt.metadata.generation
    command = approve_command(attempt.metadata.name, attempt.metadata.namespace or "default")
    message = f"Waiting for a human: {command} (or =denied) before {deadline.isoformat()}."
    return s.model_copy(update={
        "phase": AttemptPhase.AWAITING_APPROVAL,
        "observed_generation": gen,
        "conditions": set_condition(s.conditions, _cond(APPROVED, ConditionStatus.UNKNOWN,
                                                        ApprovedReason.AWAITING_APPROVAL,
                                                        message, now, gen)),
    })


def approval_recorded(attempt: RemediationAttempt) -> bool:
    """Whether the operator has recorded the attempt's decision (its Approved condition says True or False)."""
    found = find_condition(attempt.status.conditions, APPROVED)
    return found is not None and found.status is not ConditionStatus.UNKNOWN


def with_approval(attempt: RemediationAttempt, approval: Approval, now: datetime) -> RemediationAttemptStatus:
    """The approval recorded; an approved attempt stays where it was until it launches."""
    s = attempt.status
    gen = attempt.metadata.generation
    approved = approval.decision is ApprovalDecision.APPROVED
    message = f"{approval.decision} by {approval.by} via {approval.via}" + (
        f": {approval.reason}" if approval.reason else "")
    cond = _cond(APPROVED, ConditionStatus.TRUE if approved else ConditionStatus.FALSE,
                 ApprovedReason.APPROVED if approved else ApprovedReason.DENIED, message, now, gen)
    return s.model_copy(update={"approval": approval, "observed_generation": gen,
                                "conditions": set_condition(s.conditions, cond)})


def finished(
    attempt: RemediationAttempt, outcome: Outcome, message: str, now: datetime,
    *, would_have_done: str | None = None, base: RemediationAttemptStatus | None = None,
) -> RemediationAttemptStatus:
    """A terminal status: phase from the outcome, completion time, duration, failure reason."""
    s = base or attempt.status
    gen = attempt.metadata.generation
    conditions = set_condition(s.conditions, _cond(COMPLETED, ConditionStatus.TRUE, outcome, message, now, gen))
    if outcome is Outcome.APPROVAL_TIMED_OUT:
        conditions = set_condition(conditions, _cond(APPROVED, ConditionStatus.FALSE, ApprovedReason.APPROVAL_TIMED_OUT,
                                                     message, now, gen))
    start = s.start_time
    return s.model_copy(update={
        "phase": _PHASE_OF[outcome],
        "observed_generation": gen,
        "conditions": conditions,
        "completion_time": now,
        "duration_seconds": max(0, int((now - start).total_seconds())) if start else None,
        "failure_reason": None if outcome is Outcome.SUCCEEDED else clean_text(message, MAX_MESSAGE_CHARS),
        "would_have_done": would_have_done,
    })


def launched(attempt: RemediationAttempt, run: ExternalRun, now: datetime,
             base: RemediationAttemptStatus | None = None) -> RemediationAttemptStatus:
    """Running, with the external run recorded (start time kept when already set)."""
    s = base or attempt.status
    gen = attempt.metadata.generation
    message = f"Launched {run.system} run {run.run_id}." + (f" {run.detail}" if run.detail else "")
    return s.model_copy(update={
        "phase": AttemptPhase.RUNNING,
        "observed_generation": gen,
        "external_run": run,
        "start_time": s.start_time or now,
        "conditions": set_condition(s.conditions, _cond(COMPLETED, ConditionStatus.UNKNOWN,
                                                        CompletedProgress.RUNNING, message,
                                                        now, gen)),
    })


def pending(attempt: RemediationAttempt, reason: str, message: str, now: datetime) -> RemediationAttemptStatus:
    """Still Pending, with why (e.g. WaitingForUpstream, LaunchRetrying) in the Completed condition."""
    s = attempt.status
    gen = attempt.metadata.generation
    return s.model_copy(update={
        "phase": s.phase or AttemptPhase.PENDING,
        "observed_generation": gen,
        "conditions": set_condition(s.conditions, _cond(COMPLETED, ConditionStatus.UNKNOWN, reason, message,
                                                        now, gen)),
    })


def after_progress(attempt: RemediationAttempt, progress: Progress, now: datetime) -> RemediationAttemptStatus | None:
    """The status after a poll, or None when nothing changed (no write needed).

    A transient poll error changes nothing: the attempt's timeout, not the
    error, decides when to give up.
    """
    if progress.transient_error:
        return None
    s = attempt.status
    run = s.external_run
    if progress.state is ProgressState.RUNNING:
        if run is None or (run.state == progress.external_state and run.detail == (progress.detail or run.detail)):
            return None
        updated = run.model_copy(update={"state": progress.external_state,
                                         "detail": clean_text(progress.detail, 1024) or run.detail})
        return s.model_copy(update={"external_run": updated})
    base = s
    if run is not None:
        base = s.model_copy(update={"external_run": run.model_copy(update={
            "state": progress.external_state, "detail": clean_text(progress.detail, 1024) or run.detail})})
    if progress.state is ProgressState.SUCCEEDED:
        return finished(attempt, Outcome.SUCCEEDED, progress.detail or "The external run succeeded.", now, base=base)
    return finished(attempt, Outcome.RUN_FAILED, progress.detail or "The external run failed.", now, base=base)
