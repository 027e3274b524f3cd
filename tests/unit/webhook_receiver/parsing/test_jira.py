"""Jira issue_updated webhooks: the status change and what it means."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.webhook_receiver.goldens import NOW, golden
from webhook_receiver.parsing import Unrecognized, jira
from webhook_receiver.parsing.jira import JiraMeaning


@pytest.mark.parametrize(
    ("fixture", "status", "meaning"),
    [
        pytest.param("jira/issue-updated-done.json", "Done", JiraMeaning.RESOLVED, id="done"),
        pytest.param("jira/issue-updated-in-progress.json", "In Progress", JiraMeaning.ACKNOWLEDGED, id="in-progress"),
    ],
)
def test_status_changes(fixture: str, status: str, meaning: JiraMeaning) -> None:
    change = jira.parse(golden(fixture), NOW)
    assert change is not None
    assert (change.key, change.signals.jira_status, change.meaning) == ("DATA-123", status, meaning)
    assert change.signals.jira_actor == "Jane Doe"
    assert change.signals.jira_status_time is not None
    assert change.signals.jira_status_time.year == 2026


@pytest.mark.parametrize(
    "fixture",
    [
        pytest.param("jira/issue-updated-assignee.json", id="not-a-status-change"),
        pytest.param("jira/issue-created.json", id="created-event"),
    ],
)
def test_other_updates_are_ignored(fixture: str) -> None:
    assert jira.parse(golden(fixture), NOW) is None


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="empty"),
        pytest.param({"webhookEvent": "jira:issue_updated", "issue": {"key": "not a key"}}, id="bad-key"),
        pytest.param({"webhookEvent": "jira:issue_updated", "issue": []}, id="issue-list"),
    ],
)
def test_unrecognisable(payload: Any) -> None:
    with pytest.raises(Unrecognized, match="Jira"):
        jira.parse(payload, NOW)
