"""Slack and Jira say when an incident is a re-fire and how often its failure recurred."""

from __future__ import annotations

import json
from datetime import timedelta

from aiops_operator.api import EndedAs, Incident
from aiops_operator.incident import analyzing
from aiops_operator.integrations.jira import build_description
from aiops_operator.integrations.slack import build_message
from aiops_operator.recurrence.summary import Entry, History, summarize

from tests.support.builders import FIRED, NOW, analysis, incident

SENTENCE = ("Recurring: 3rd GatewayTimeout failure in 30 days (1 auto-healed (RerunPipeline 1x), 1 escalated);"
            " previous: adf-x-0-r2.")


def recurring() -> Incident:
    inc = incident()
    status = analyzing.fold_analysis(inc.status, analysis(), NOW)
    history = History((Entry("u0", "adf-x-0", FIRED - timedelta(days=2), EndedAs.ESCALATED, None, "Denied"),
                       Entry("u1", "adf-x-0-r2", FIRED - timedelta(days=1), EndedAs.AUTO_HEALED, "RerunPipeline")))
    status = status.model_copy(update={"recurrence": summarize(history, "uid-1", FIRED, NOW)})
    spec = inc.spec.model_copy(update={"occurrence": 3, "previous_incident_ref": "adf-x-0-r2"})
    return inc.model_copy(update={"spec": spec, "status": status})


def test_slack_shows_the_refire_and_the_recurrence() -> None:
    _, blocks = build_message(recurring())
    history = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b
               and b["text"]["text"].startswith("*History:*")]
    assert history == ["*History:* Re-fired after adf-x-0-r2 was resolved (occurrence 3 of this run). " + SENTENCE]


def test_jira_shows_the_refire_and_the_recurrence() -> None:
    text = json.dumps(build_description(recurring()))
    assert '"text": "History"' in text
    assert SENTENCE in text
    assert "Re-fired after adf-x-0-r2 was resolved" in text


def test_a_first_failure_says_nothing_about_history() -> None:
    inc = incident()
    inc = inc.model_copy(update={"status": analyzing.fold_analysis(inc.status, analysis(), NOW)})
    assert "History" not in json.dumps(build_message(inc)[1])
    assert "History" not in json.dumps(build_description(inc))
