"""Slack and Jira state: channel resolution, edits kept, JQL subset."""

from __future__ import annotations

import pytest

from sandbox.endpoint import ApiError
from sandbox.jira import JiraState, adf_to_text, parse_jql, text_to_adf
from sandbox.scenario import parse_scenario
from sandbox.slack import SlackState


def test_listed_channels_are_the_only_channels() -> None:
    state = SlackState(parse_scenario({"slack": {"channels": ["alerts"]}}))
    channel, _ = state.post("#alerts", "hi", None, None, None, None, 1.0)
    assert state.channel(channel.id) is channel
    with pytest.raises(ApiError) as missing:
        state.post("#other", "hi", None, None, None, None, 1.0)
    assert missing.value.code == "channel_not_found"


def test_edits_keep_history_and_timestamps_increase() -> None:
    state = SlackState(parse_scenario({}))
    channel, first = state.post("alerts", "v1", None, None, None, None, 5.0)
    _, second = state.post("alerts", "other", None, None, None, None, 5.0)
    assert float(second.ts) > float(first.ts)
    state.update(channel.id, first.ts, "v2", None, None, 6.0)
    assert first.text == "v2"
    assert [e["text"] for e in first.edits] == ["v1"]


def test_jql_subset() -> None:
    clauses, order = parse_jql('project = OPS AND status in ("To Do", Done) ORDER BY updated ASC')
    assert clauses == [("project", "=", ["OPS"]), ("status", "in", ["To Do", "Done"])]
    assert order == ("updated", False)
    with pytest.raises(ApiError):
        parse_jql("project = A OR project = B")


def test_issue_flow_and_adf_round_trip() -> None:
    state = JiraState(parse_scenario({}))
    issue = state.create({"project": {"key": "OPS"}, "summary": "s", "issuetype": {"name": "Task"},
                          "description": text_to_adf("line one\nline two")}, 1.0)
    state.transition(issue.key, "31", 2.0)
    assert [i.key for i in state.search("status = Done")] == ["OPS-1"]
    assert adf_to_text(issue.fields["description"]) == "line one\nline two"
    with pytest.raises(ApiError):
        state.transition(issue.key, "99", 3.0)
