"""What the reconcile needs from the outside world, as Protocols: production code and test fakes both fit.

The remediation phase (issue 7) plugs in through `RemediationStage`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from aiops_operator.analysis.request import AnalysisRequest
from aiops_operator.api import Analysis, Incident, JiraRef, SlackRef
from aiops_operator.recurrence.summary import History
from aiops_operator.remediation.incident_status import StageResult


class Analyzer(Protocol):
    async def analyze(self, request: AnalysisRequest) -> Analysis:
        """Root-cause analysis; never raises for a bad LLM answer (it falls back to rules)."""
        ...


class SlackPort(Protocol):
    async def post_incident(self, incident: Incident, channel: str) -> tuple[SlackRef, bool]:
        """The incident's message: found by metadata or posted now; (ref, posted_now)."""
        ...

    async def update_incident(self, incident: Incident) -> None:
        """Edit the message in place to show the incident's current state."""
        ...

    async def reply_once(self, incident: Incident, key: str, text: str) -> bool:
        """Reply in the message's thread unless the reply `key` is there; whether it posted now."""
        ...


class JiraPort(Protocol):
    async def create_incident_issue(self, incident: Incident, project: str) -> tuple[JiraRef, bool]:
        """The incident's issue: found by label or created now; (ref, created_now)."""
        ...

    async def comment_once(self, incident: Incident, key: str, text: str) -> bool:
        """Comment unless the comment `key` is there; whether it commented now."""
        ...

    async def transition_once(self, incident: Incident, name: str) -> bool:
        """Move the issue by the transition called `name` (or leading to a status of that name),
        unless it already has that status; whether it moved now."""
        ...


class RemediationStage(Protocol):
    """The remediation phase, called by the one reconcile while the phase is Remediating or Monitoring.

    Contract: `step` looks at the incident (level-based), performs at most one
    external side effect, and returns the status that records it. The
    reconcile writes that status before anything else, posts Events for new
    history entries, updates Slack/Jira when the phase changed, and calls
    `step` again until it returns the status unchanged.
    """

    async def step(self, incident: Incident, now: datetime) -> StageResult: ...


class RecurrenceSource(Protocol):
    """Earlier incidents of an analyzed incident's target and error type (`recurrence.lookup.Recurrences`)."""

    async def history(self, incident: Incident) -> History | None: ...
