"""slack-sdk against the sandbox: one message per incident, edited in place, thread replies."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.testing import RunningSandbox


def test_post_update_and_thread(sandbox: RunningSandbox, slack: WebClient) -> None:
    posted = slack.chat_postMessage(channel="#aiops-alerts", text="Incident: ingest_sales failed",
                                    blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*failed*"}}])
    channel, ts = posted["channel"], posted["ts"]
    assert channel.startswith("C")
    assert posted["message"]["text"] == "Incident: ingest_sales failed"
    for phase in ("Analyzing", "Remediating", "Resolved"):
        updated = slack.chat_update(channel=channel, ts=ts, text=f"Incident: ingest_sales {phase}")
        assert updated["ts"] == ts
    reply = slack.chat_postMessage(channel=channel, thread_ts=ts, text="Attempt 1 succeeded")
    assert reply["message"]["thread_ts"] == ts

    history = slack.conversations_history(channel=channel)["messages"]
    assert len(history) == 1
    assert history[0]["reply_count"] == 1
    assert "edited" in history[0]
    thread = slack.conversations_replies(channel=channel, ts=ts)["messages"]
    assert [m["text"] for m in thread] == ["Incident: ingest_sales Resolved", "Attempt 1 succeeded"]

    view = sandbox.control.slack_channel("aiops-alerts")
    assert len(view["messages"]) == 1
    message = view["messages"][0]
    assert message["edit_count"] == 3
    assert next(e["text"] for e in message["edits"]) == "Incident: ingest_sales failed"
    assert [r["text"] for r in message["replies"]] == ["Attempt 1 succeeded"]
    assert len(sandbox.control.calls(service="slack", op="chat.update")) == 3


def test_message_metadata_is_returned_only_with_include_all_metadata(sandbox: RunningSandbox,
                                                                     slack: WebClient) -> None:
    metadata = {"event_type": "aiops_rca_incident", "event_payload": {"incident_uid": "u-1"}}
    posted = slack.chat_postMessage(channel="#aiops-alerts", text="Incident", metadata=metadata)
    channel, ts = posted["channel"], posted["ts"]
    slack.chat_postMessage(channel=channel, thread_ts=ts, text="reply",
                           metadata={"event_type": "aiops_rca_incident", "event_payload": {"key": "k"}})

    assert "metadata" not in slack.conversations_history(channel=channel)["messages"][0]
    history = slack.conversations_history(channel=channel, include_all_metadata=True)["messages"]
    assert history[0]["metadata"] == metadata
    thread = slack.conversations_replies(channel=channel, ts=ts, include_all_metadata=True)["messages"]
    assert [m["metadata"]["event_payload"] for m in thread] == [{"incident_uid": "u-1"}, {"key": "k"}]


def test_errors_are_slack_shaped(sandbox: RunningSandbox, slack: WebClient) -> None:
    sandbox.control.load({"slack": {"channels": ["aiops-alerts"]}})
    with pytest.raises(SlackApiError) as missing:
        slack.chat_postMessage(channel="#nope", text="hi")
    assert missing.value.response["error"] == "channel_not_found"

    sandbox.control.add_fault(service="slack", op="chat.postMessage", kind="status", status=429, retry_after=2,
                              times=1)
    with pytest.raises(SlackApiError) as limited:
        slack.chat_postMessage(channel="#aiops-alerts", text="hi")
    assert limited.value.response.status_code == 429
    assert limited.value.response["error"] == "ratelimited"
    assert limited.value.response.headers["Retry-After"] == "2"
    assert slack.chat_postMessage(channel="#aiops-alerts", text="hi")["ok"]

    with pytest.raises(SlackApiError) as bad_auth:
        WebClient(token="xoxb-wrong", base_url=sandbox.endpoints.slack_api_url).auth_test()
    assert bad_auth.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as no_message:
        slack.chat_update(channel="aiops-alerts", ts="1.000000", text="x")
    assert no_message.value.response["error"] == "message_not_found"


def test_rate_limits_are_on_by_default_and_slack_sdk_sees_them_as_slack_sends_them(
    sandbox: RunningSandbox, slack: WebClient,
) -> None:
    answers: list[SlackApiError] = []
    for i in range(8):
        try:
            slack.chat_postMessage(channel="#storm", text=f"message {i}")
        except SlackApiError as exc:
            answers.append(exc)
    assert answers, "eight posts within a second to one channel were all accepted"
    refused = answers[0].response
    assert refused.status_code == 429
    assert refused.data == {"ok": False, "error": "ratelimited"}
    assert int(refused.headers["Retry-After"]) >= 1
    logged = [c for c in sandbox.control.calls(service="slack", op="chat.postMessage") if c["status"] == 429]
    assert len(logged) == len(answers)
    assert {c["limit_key"] for c in logged} == {"slack:chat.postMessage:storm"}
    assert all(c["retry_after"] >= 1 for c in logged)
