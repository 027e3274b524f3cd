"""Recurrence: how often one pipeline, job or cluster failed with one error type, and how those incidents ended.

The models of `status.recurrence` and the one sentence Slack, Jira and the
dashboard show for it. The operator computes it (aiops_operator.recurrence)
from the Incidents it watches and from the bounded recurrence record that keeps
the summary of incidents deleted by retention.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final

from pydantic import Field

from aiops_operator.api.base import ApiModel

MAX_OCCURRENCES: Final = 99
"""Bound on re-fires of one run: the name suffix -r<n> stays two digits (names fit label values)."""
RECURRENCE_WINDOW_DAYS: Final = 30
"""How far back status.recurrence counts (the recurrence record keeps this long too)."""
MAX_RECENT: Final = 5
MAX_ACTIONS: Final = 9


class EndedAs(StrEnum):
    """How an earlier incident ended (or stands)."""

    AUTO_HEALED = "AutoHealed"
    """A remediation attempt healed it."""
    ESCALATED = "Escalated"
    """A human had to act (it was escalated; resolved by them since or not)."""
    RESOLVED = "Resolved"
    """Resolved by a human or the alert source without an escalation."""
    OPEN = "Open"
    """Still being analyzed or remediated."""


class PastIncident(ApiModel):
    """One earlier failure of the same target with the same error type."""

    name: str = Field(max_length=253)
    """Incident name (it may since have been deleted by retention)."""
    time: datetime
    """When it failed (the alert's fired time, else when it was received)."""
    ended_as: EndedAs
    """AutoHealed, Escalated, Resolved or Open."""
    action: str | None = Field(default=None, max_length=64)
    """The action that healed it, when AutoHealed."""
    reason: str | None = Field(default=None, max_length=64)
    """The escalation reason, when Escalated."""


class HealedBy(ApiModel):
    """How many earlier incidents one action healed."""

    action: str = Field(max_length=64)
    """Remediation action, e.g. RerunPipeline."""
    count: int = Field(ge=0)
    """Incidents it healed in the window."""


class Recurrence(ApiModel):
    """Earlier failures of this pipeline, job or cluster with this error type, in the last 30 days."""

    window_days: int = Field(default=RECURRENCE_WINDOW_DAYS, ge=1)
    """The look-back window of the counts."""
    count: int = Field(default=0, ge=0)
    """Earlier incidents in the window (this one not counted)."""
    auto_healed: int = Field(default=0, ge=0)
    """Of those, healed by a remediation attempt."""
    escalated: int = Field(default=0, ge=0)
    """Of those, escalated to a human."""
    resolved: int = Field(default=0, ge=0)
    """Of those, resolved by a human or the alert source without an escalation."""
    open: int = Field(default=0, ge=0)
    """Of those, still open."""
    healed_by: list[HealedBy] = Field(default_factory=list, max_length=MAX_ACTIONS)
    """Which actions healed them, most first."""
    recent: list[PastIncident] = Field(default_factory=list, max_length=MAX_RECENT)
    """The newest earlier incidents, newest first."""
    previous: str | None = Field(default=None, max_length=253)
    """The most recent earlier incident: this incident's predecessor."""
    incomplete: bool = False
    """True when the recurrence record had to drop summaries of deleted incidents (the counts are lower bounds)."""
    computed_time: datetime | None = None
    """When it was computed."""


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def recurrence_sentence(recurrence: Recurrence | None, error_type: str) -> str | None:
    """What Slack, Jira and the dashboard say about it; None when this is the first such failure."""
    if recurrence is None or recurrence.count == 0:
        return None
    at_least = "at least the " if recurrence.incomplete else ""
    parts = []
    if recurrence.auto_healed:
        actions = ", ".join(f"{h.action} {h.count}x" for h in recurrence.healed_by)
        parts.append(f"{recurrence.auto_healed} auto-healed ({actions})" if actions else
                     f"{recurrence.auto_healed} auto-healed")
    for count, what in ((recurrence.escalated, "escalated"), (recurrence.resolved, "resolved by hand or the alert"),
                        (recurrence.open, "still open")):
        if count:
            parts.append(f"{count} {what}")
    previous = f"; previous: {recurrence.previous}" if recurrence.previous else ""
    return (f"Recurring: {at_least}{_ordinal(recurrence.count + 1)} {error_type} failure in"
            f" {recurrence.window_days} days ({', '.join(parts)}){previous}.")


def refire_sentence(previous: str | None, occurrence: int) -> str | None:
    """What Slack, Jira and the dashboard say about a re-fire of the same run; None for a first occurrence."""
    if not previous:
        return None
    return f"Re-fired after {previous} was resolved (occurrence {occurrence} of this run)."


def lineage_notes(previous: str | None, occurrence: int, recurrence: Recurrence | None,
                  error_type: str | None) -> list[str]:
    """The re-fire and recurrence sentences of one incident (empty for a first failure): Slack, Jira, dashboard."""
    notes = [refire_sentence(previous, occurrence), recurrence_sentence(recurrence, error_type or "Unknown")]
    return [n for n in notes if n]
