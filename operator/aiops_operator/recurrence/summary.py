"""What one incident's status.recurrence says, and the policy's recurrence limit (pure; time passed in).

An `Entry` is one incident reduced to what recurrence needs: when it failed,
how it ended. Entries come from the Incidents the operator watches
(`recurrence.index`) and from the recurrence record, which keeps the entries of
incidents that retention deleted (`recurrence.record`); the same incident in
both counts once (by uid).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiops_operator.api import (
    Condition,
    ConditionStatus,
    EndedAs,
    HealedBy,
    Incident,
    PastIncident,
    PolicyRule,
    Recurrence,
    RecurrenceLimit,
    RemediationPolicy,
    ResolvedBy,
    find_condition,
)
from aiops_operator.api.conditions import IncidentCondition
from aiops_operator.api.recurrence import MAX_ACTIONS, MAX_RECENT, RECURRENCE_WINDOW_DAYS

WINDOW = timedelta(days=RECURRENCE_WINDOW_DAYS)


@dataclass(frozen=True)
class Entry:
    """One incident, as recurrence counts it."""

    uid: str
    name: str
    time: datetime
    ended_as: EndedAs
    action: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class History:
    """The entries of one target and error type (the incident itself may be among them), and whether the record
    dropped some."""

    entries: tuple[Entry, ...] = ()
    incomplete: bool = False


def failed_time(incident: Incident) -> datetime:
    """When the incident's failure happened: the alert's fired time, else when the receiver took it."""
    return incident.spec.alert.fired_time or incident.spec.received_time


def ended_as(incident: Incident) -> tuple[EndedAs, str | None, str | None]:
    """(how it ended, the healing action, the escalation reason)."""
    status = incident.status
    escalated = find_condition(status.conditions, IncidentCondition.ESCALATED)
    resolution = status.resolution
    if resolution is not None and resolution.resolved_by is ResolvedBy.AUTO_HEAL:
        return EndedAs.AUTO_HEALED, status.remediation.action if status.remediation else None, None
    if escalated is not None:
        return EndedAs.ESCALATED, None, _escalation_reason(status.conditions, escalated)
    if resolution is not None:
        return EndedAs.RESOLVED, None, None
    return EndedAs.OPEN, None, None


def _escalation_reason(conditions: list[Condition], escalated: Condition) -> str:
    """Why it was escalated: a resolution since turns Escalated False with its own reason; the escalation's
    reason stays on the Remediated condition (False), which the resolution leaves alone."""
    if escalated.status is ConditionStatus.TRUE:
        return escalated.reason
    remediated = find_condition(conditions, IncidentCondition.REMEDIATED)
    if remediated is not None and remediated.status is ConditionStatus.FALSE:
        return remediated.reason
    return escalated.reason


def entry_of(incident: Incident) -> Entry:
    outcome, action, reason = ended_as(incident)
    meta = incident.metadata
    return Entry(meta.uid or meta.name, meta.name, failed_time(incident), outcome, action, reason)


def earlier(history: History, uid: str, at: datetime, window: timedelta) -> list[Entry]:
    """Entries of other incidents that failed within `window` before `at`, newest first, each uid once."""
    seen: dict[str, Entry] = {}
    for entry in history.entries:
        if entry.uid != uid and at - window <= entry.time <= at:
            seen.setdefault(entry.uid, entry)
    return sorted(seen.values(), key=lambda e: (e.time, e.name), reverse=True)


def summarize(history: History, uid: str, at: datetime, now: datetime) -> Recurrence:
    """status.recurrence of the incident `uid` that failed at `at`: the last 30 days before it."""
    past = earlier(history, uid, at, WINDOW)
    counts = Counter(e.ended_as for e in past)
    healed = Counter(e.action for e in past if e.ended_as is EndedAs.AUTO_HEALED and e.action)
    return Recurrence(
        window_days=RECURRENCE_WINDOW_DAYS,
        count=len(past),
        auto_healed=counts[EndedAs.AUTO_HEALED],
        escalated=counts[EndedAs.ESCALATED],
        resolved=counts[EndedAs.RESOLVED],
        open=counts[EndedAs.OPEN],
        healed_by=[HealedBy(action=a, count=c) for a, c in sorted(healed.items(), key=lambda i: (-i[1], i[0]))
                   ][:MAX_ACTIONS],
        recent=[PastIncident(name=e.name, time=e.time, ended_as=e.ended_as, action=e.action, reason=e.reason)
                for e in past[:MAX_RECENT]],
        previous=past[0].name if past else None,
        incomplete=history.incomplete,
        computed_time=now,
    )


def recurrence_limit(policy: RemediationPolicy, rule: PolicyRule) -> RecurrenceLimit | None:
    """The rule's recurrence limit, else the policy's."""
    return rule.recurrence or policy.spec.recurrence


def limit_reached(limit: RecurrenceLimit | None, history: History, uid: str, at: datetime,
                  error_type: str) -> str | None:
    """Why the incident escalates instead of being remediated (RecurringFailure), or None."""
    if limit is None:
        return None
    window = timedelta(seconds=limit.window_seconds)
    past = earlier(history, uid, at, window)
    if len(past) < limit.escalate_after:
        return None
    return (f"This target already failed with {error_type} {len(past)} times in the last {_span(window)}"
            f" (limit {limit.escalate_after}; latest {past[0].name}, {past[0].ended_as}): a human should look at"
            " the cause instead of another re-run")


def _span(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day" + ("s" if days != 1 else "")
    hours = seconds / 3600
    return f"{hours:g} hours"


def merge(*sources: Iterable[Entry]) -> tuple[Entry, ...]:
    """Entries of several sources, the first source's entry winning for a uid (the live incident over its record)."""
    seen: dict[str, Entry] = {}
    for source in sources:
        for entry in source:
            seen.setdefault(entry.uid, entry)
    return tuple(seen.values())


def within(entries: Sequence[Entry], now: datetime) -> list[Entry]:
    """The entries still inside the recurrence window at `now`."""
    return [e for e in entries if e.time >= now - WINDOW]
