"""The sandbox's Slack and Jira rate limits: who gets a 429, what it looks like, and the early-retry check."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox.app import build_app
from sandbox.clock import ManualClock
from sandbox.ratelimits import Limit, RateLimiter, RateLimits, early_retries
from sandbox.scenario import parse_scenario
from sandbox.world import Credentials, World

SLACK = {"Authorization": f"Bearer {Credentials().slack_bot_token}"}
_basic = base64.b64encode(f"{Credentials().jira_user}:{Credentials().jira_api_token}".encode()).decode()
JIRA = {"Authorization": f"Basic {_basic}"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def world(clock: ManualClock) -> World:
    return World(parse_scenario({}), clock=clock)


@pytest.fixture
def http(world: World) -> Iterator[TestClient]:
    with TestClient(build_app(world)) as client:
        yield client


def post(http: TestClient, channel: str, **extra: Any) -> Any:
    return http.post("/slack/api/chat.postMessage", headers=SLACK, json={"channel": channel, "text": "hi", **extra})


def test_post_message_allows_a_short_burst_per_channel_then_answers_429_like_slack(
    http: TestClient, clock: ManualClock,
) -> None:
    answers = [post(http, "alerts") for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json() == {"ok": False, "error": "ratelimited"}
    assert refused.headers["Retry-After"] == "1"
    assert post(http, "other").status_code == 200  # another channel has its own bucket
    clock.advance(1.0)
    assert post(http, "alerts").status_code == 200


def test_thread_replies_count_against_the_channels_post_message_limit(http: TestClient) -> None:
    parent = post(http, "alerts").json()
    replies = [post(http, parent["channel"], thread_ts=parent["ts"]).status_code for _ in range(4)]
    assert replies == [200, 200, 200, 429]  # the channel's name and its id are one bucket


def test_chat_update_is_tier_3_per_workspace(http: TestClient, clock: ManualClock) -> None:
    message = post(http, "alerts").json()
    body = {"channel": message["channel"], "ts": message["ts"], "text": "edited"}
    codes = [http.post("/slack/api/chat.update", headers=SLACK, json=body).status_code for _ in range(51)]
    assert codes.count(200) == 50
    assert codes[-1] == 429
    clock.advance(1.2)  # 50 a minute: one token back after 1.2 s
    assert http.post("/slack/api/chat.update", headers=SLACK, json=body).status_code == 200


def test_the_call_log_records_the_bucket_and_the_retry_after(http: TestClient, world: World) -> None:
    for _ in range(5):
        post(http, "alerts")
    calls = world.plumbing.calls.query("slack", "chat.postMessage")
    assert all(c.limit_keys == [calls[0].limit_keys[0]] for c in calls)
    assert calls[0].limit_keys == ["slack:chat.postMessage:alerts"]
    assert (calls[-1].status, calls[-1].limit_key, calls[-1].retry_after) == (429, calls[0].limit_keys[0], 1)
    assert (calls[0].limit_key, calls[0].retry_after) == (None, None)


def test_jira_limits_writes_per_issue_with_its_headers(http: TestClient) -> None:
    created = http.post("/jira/rest/api/3/issue", headers=JIRA, json={"fields": {
        "project": {"key": "OPS"}, "summary": "s", "issuetype": {"name": "Task"}}})
    key = created.json()["key"]
    answers = [http.post(f"/jira/rest/api/2/issue/{key}/comment", headers=JIRA, json={"body": f"c{i}"})
               for i in range(11)]
    assert [a.status_code for a in answers].count(201) == 10
    refused = answers[-1]
    assert refused.status_code == 429
    assert refused.headers["RateLimit-Reason"] == "jira-per-issue-on-write"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["X-RateLimit-Reset"].endswith("Z")
    assert refused.json()["errorMessages"] == ["Rate limit exceeded."]
    assert http.get(f"/jira/rest/api/2/issue/{key}/comment", headers=JIRA).status_code == 200  # reads: no


def test_disabled_limits_never_refuse(clock: ManualClock) -> None:
    world = World(parse_scenario({"rate_limits": {"enabled": False}}), clock=clock)
    with TestClient(build_app(world)) as http:
        assert {post(http, "alerts").status_code for _ in range(30)} == {200}


def test_a_fragment_naming_rate_limits_replaces_them_and_one_that_does_not_keeps_them(world: World) -> None:
    world.apply(parse_scenario({"slack": {"channels": ["x"]}}))
    assert world.plumbing.limiter.limits.enabled
    world.apply(parse_scenario({"rate_limits": {"slack": {"post_message_per_channel":
                                                          {"per_minute": 6, "burst": 1}}}}))
    assert world.plumbing.limiter.limits.slack.post_message_per_channel.burst == 1
    world.reset()
    assert world.plumbing.limiter.limits.slack.post_message_per_channel.burst == 4


def test_a_refused_request_costs_no_token_of_its_other_limits() -> None:
    limiter = RateLimiter(RateLimits())
    tight, loose = Limit(per_minute=60, burst=1), Limit(per_minute=60, burst=2)
    assert limiter.admit([("a", "r", tight), ("b", "r", loose)], 0.0) is None
    denial = limiter.admit([("a", "r", tight), ("b", "r", loose)], 0.1)
    assert denial is not None
    assert (denial.key, denial.retry_after) == ("a", 1)
    assert limiter.admit([("b", "r", loose)], 0.1) is None  # b still had its second token


def _call(seq: int, time: float, key: str = "k", status: int = 200, retry_after: int | None = None,
          limit_key: str | None = None) -> dict[str, Any]:
    return {"seq": seq, "time": time, "status": status, "retry_after": retry_after, "limit_keys": [key],
            "limit_key": limit_key}


@pytest.mark.parametrize(("calls", "early"), [
    pytest.param([_call(1, 0.0, status=429, retry_after=2), _call(2, 2.0)], [], id="waited-exactly"),
    pytest.param([_call(1, 0.0, status=429, retry_after=2), _call(2, 1.5)], [2], id="came-back-early"),
    pytest.param([_call(1, 0.0, status=429, retry_after=2), _call(2, 1.0, key="other")], [], id="other-key"),
    pytest.param([_call(1, 0.0, status=429, retry_after=2), _call(2, 0.5, status=429, retry_after=2),
                  _call(3, 2.4)], [2, 3], id="early-retry-told-again-then-early-again"),
    pytest.param([_call(1, 0.0, status=429, retry_after=5, limit_key="elsewhere"), _call(2, 1.0)], [],
                 id="refused-by-another-limit"),
    pytest.param([_call(1, 0.0, status=500), _call(2, 0.1)], [], id="not-a-rate-limit"),
])
def test_early_retries_finds_every_call_before_its_retry_after(calls: list[dict[str, Any]], early: list[int]) -> None:
    assert [e.early["seq"] for e in early_retries(calls)] == early
