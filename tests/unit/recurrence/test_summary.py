"""status.recurrence and the RecurringFailure limit: pure, time passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiops_operator.api import EndedAs, RecurrenceLimit, ResolvedBy
from aiops_operator.api.recurrence import lineage_notes, recurrence_sentence
from aiops_operator.recurrence.summary import Entry, History, ended_as, limit_reached, recurrence_limit, summarize

from tests.support.builders import FIRED, NOW, incident, policy

AT = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def entry(n: int, days_before: float, ended: EndedAs = EndedAs.AUTO_HEALED, action: str | None = "RerunPipeline",
          reason: str | None = None) -> Entry:
    return Entry(f"uid-{n}", f"adf-pl-{n}", AT - timedelta(days=days_before), ended,
                 action if ended is EndedAs.AUTO_HEALED else None, reason)


def test_counts_how_earlier_incidents_ended_newest_first_without_itself_or_older_than_30_days() -> None:
    history = History((
        entry(1, 1), entry(2, 3, EndedAs.ESCALATED, reason="AttemptsExhausted"), entry(3, 5, action="RepairRun"),
        entry(4, 6), entry(5, 29.9, EndedAs.RESOLVED), entry(6, 0.1, EndedAs.OPEN), entry(7, 31),
        Entry("me", "adf-pl-me", AT, EndedAs.OPEN), entry(1, 1),  # itself, and a uid seen twice
    ))
    recurrence = summarize(history, "me", AT, NOW)
    assert (recurrence.count, recurrence.auto_healed, recurrence.escalated, recurrence.resolved, recurrence.open) == (
        6, 3, 1, 1, 1)
    assert [(h.action, h.count) for h in recurrence.healed_by] == [("RerunPipeline", 2), ("RepairRun", 1)]
    assert [r.name for r in recurrence.recent] == ["adf-pl-6", "adf-pl-1", "adf-pl-2", "adf-pl-3", "adf-pl-4"]
    assert recurrence.recent[2].reason == "AttemptsExhausted"
    assert recurrence.previous == "adf-pl-6"
    assert recurrence.computed_time == NOW


def test_a_later_failure_is_not_a_recurrence_of_an_earlier_one() -> None:
    assert summarize(History((entry(1, -1),)), "me", AT, NOW).count == 0


@pytest.mark.parametrize(("days_before", "limit", "reached"), [
    pytest.param([1, 2, 3], RecurrenceLimit(escalate_after=3), True, id="third-recurrence-escalates-the-fourth"),
    pytest.param([1, 2], RecurrenceLimit(escalate_after=3), False, id="two-is-under-three"),
    pytest.param([1, 2, 8], RecurrenceLimit(escalate_after=3), False, id="one-outside-the-7-days"),
    pytest.param([1, 2, 8], RecurrenceLimit(escalate_after=3, window_seconds=9 * 86400), True, id="wider-window"),
    pytest.param([0.5], RecurrenceLimit(escalate_after=1, window_seconds=3600), False, id="12h-ago-outside-1h"),
    pytest.param([1, 2, 3], None, False, id="no-limit"),
])
def test_limit_reached(days_before: list[float], limit: RecurrenceLimit | None, reached: bool) -> None:
    history = History(tuple(entry(i, d) for i, d in enumerate(days_before)))
    why = limit_reached(limit, history, "me", AT, "GatewayTimeout")
    assert (why is not None) == reached
    if why is not None:
        assert f"{len(days_before)} times" in why
        assert "adf-pl-0" in why  # the latest one, named


def test_the_rule_limit_wins_over_the_policy_limit() -> None:
    rules = [{"name": "gw", "errorType": "GatewayTimeout", "action": "RerunPipeline", "maxAttempts": 3,
              "recurrence": {"escalateAfter": 5}}, {"name": "th", "errorType": "ThrottlingError",
                                                    "action": "RerunPipeline", "maxAttempts": 3}]
    pol = policy(rules=rules)
    pol = pol.model_copy(update={"spec": pol.spec.model_copy(update={"recurrence": RecurrenceLimit(escalate_after=2)})})
    limits = {r.name: recurrence_limit(pol, r) for r in pol.spec.rules}
    assert {n: lim.escalate_after if lim else None for n, lim in limits.items()} == {"gw": 5, "th": 2}


@pytest.mark.parametrize(("status", "expected"), [
    pytest.param({"resolution": {"resolvedTime": NOW.isoformat(), "resolvedBy": ResolvedBy.AUTO_HEAL.value,
                                 "mttrSeconds": 60},
                  "remediation": {"policy": "p", "rule": "r", "action": "RerunPipeline", "maxAttempts": 3}},
                 (EndedAs.AUTO_HEALED, "RerunPipeline", None), id="auto-healed"),
    pytest.param({"conditions": [{"type": "Escalated", "status": "True", "reason": "AttemptsExhausted",
                                  "message": "m", "lastTransitionTime": NOW.isoformat()}],
                  "resolution": {"resolvedTime": NOW.isoformat(), "resolvedBy": "Jira", "mttrSeconds": 60}},
                 (EndedAs.ESCALATED, None, "AttemptsExhausted"), id="escalated-still"),
    pytest.param({"conditions": [
        {"type": "Remediated", "status": "False", "reason": "CannotRemediate", "message": "m",
         "lastTransitionTime": NOW.isoformat()},
        {"type": "Escalated", "status": "False", "reason": "AlertResolved", "message": "m",
         "lastTransitionTime": NOW.isoformat()}],
                  "resolution": {"resolvedTime": NOW.isoformat(), "resolvedBy": "Alert", "mttrSeconds": 60}},
                 (EndedAs.ESCALATED, None, "CannotRemediate"), id="escalated-then-resolved-keeps-the-why"),
    pytest.param({"resolution": {"resolvedTime": NOW.isoformat(), "resolvedBy": "Alert", "mttrSeconds": 60}},
                 (EndedAs.RESOLVED, None, None), id="alert-resolved"),
    pytest.param({}, (EndedAs.OPEN, None, None), id="open"),
])
def test_how_an_incident_ended(status: dict[str, Any], expected: tuple[EndedAs, str | None, str | None]) -> None:
    assert ended_as(incident(**status)) == expected


def test_the_sentence_slack_jira_and_the_dashboard_show() -> None:
    history = History((entry(1, 1), entry(2, 2), entry(3, 3, EndedAs.ESCALATED)), incomplete=True)
    recurrence = summarize(history, "me", AT, NOW)
    assert recurrence_sentence(recurrence, "GatewayTimeout") == (
        "Recurring: at least the 4th GatewayTimeout failure in 30 days (2 auto-healed (RerunPipeline 2x),"
        " 1 escalated); previous: adf-pl-1.")
    assert recurrence_sentence(summarize(History(), "me", AT, NOW), "GatewayTimeout") is None
    assert lineage_notes("adf-pl-1", 2, None, None) == [
        "Re-fired after adf-pl-1 was resolved (occurrence 2 of this run)."]
    assert lineage_notes(None, 1, None, "GatewayTimeout") == []
    assert FIRED < NOW  # the builders' incident failed before NOW: what summarize() counts back from
