"""Slack's and Jira's documented rate limits, on by default, so the operator meets them before production does.

Each limit is a token bucket: `burst` requests at once, refilled at
`per_minute`. A request finding its bucket empty is answered 429 with the
whole seconds until a token is back in Retry-After, and does not consume a
token, so a client that retries early is told to wait again (as Slack and
Jira do). The bucket a request counts against is its *limit key*, recorded in
the call log with the Retry-After it was given, so a test can check that no
later request on that key came before its Retry-After had elapsed
(`early_retries`).

Scopes follow the vendors' documentation:
- Slack (https://docs.slack.dev/apis/web-api/rate-limits): limits apply per
  method per workspace per app, in tiers (Tier 1 1+/min, Tier 2 20+/min,
  Tier 3 50+/min, Tier 4 100+/min); `chat.postMessage` is special: about one
  message per second per channel with short bursts allowed, thread replies
  included (a reply is a postMessage with `thread_ts`).
- Jira Cloud (developer.atlassian.com/cloud/jira/platform/rate-limiting):
  a burst limit per endpoint and HTTP method (`RateLimit-Reason:
  jira-burst-based`) and a write limit per issue (`jira-per-issue-on-write`);
  429s carry Retry-After (seconds) and X-RateLimit-Reset. Atlassian does not
  publish the numbers, so the defaults below are round figures to tune.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Limit(_Model):
    """A token bucket: `burst` requests at once, refilled at `per_minute`."""

    per_minute: float = Field(gt=0)
    burst: int = Field(ge=1)


def _tiers() -> dict[int, Limit]:
    return {1: Limit(per_minute=1, burst=2), 2: Limit(per_minute=20, burst=20),
            3: Limit(per_minute=50, burst=50), 4: Limit(per_minute=100, burst=100)}


def _method_tiers() -> dict[str, int]:
    return {"chat.update": 3, "conversations.history": 3, "conversations.replies": 3,
            "conversations.list": 2, "auth.test": 4}


class SlackRateLimits(_Model):
    post_message_per_channel: Limit = Field(default_factory=lambda: Limit(per_minute=60, burst=4))
    """chat.postMessage (thread replies included), per channel: one a second, short bursts."""
    tiers: dict[int, Limit] = Field(default_factory=_tiers)
    """Web API tiers 1-4, each per method per workspace."""
    method_tiers: dict[str, int] = Field(default_factory=_method_tiers)
    """The tier of each method; methods not listed are not limited."""


class JiraRateLimits(_Model):
    per_endpoint: Limit = Field(default_factory=lambda: Limit(per_minute=600, burst=20))
    """jira-burst-based: per REST operation and HTTP method."""
    per_issue_writes: Limit = Field(default_factory=lambda: Limit(per_minute=120, burst=10))
    """jira-per-issue-on-write: comments and transitions of one issue."""


class RateLimits(_Model):
    enabled: bool = True
    """False: no request is ever rate-limited (the sandbox before issue 16)."""
    slack: SlackRateLimits = Field(default_factory=SlackRateLimits)
    jira: JiraRateLimits = Field(default_factory=JiraRateLimits)


@dataclass
class _Bucket:
    limit: Limit
    tokens: float
    updated: float

    def wait(self, now: float) -> float | None:
        """Refill up to now; None when a token is there, else the seconds until one is."""
        rate = self.limit.per_minute / 60.0
        self.tokens = min(float(self.limit.burst), self.tokens + max(0.0, now - self.updated) * rate)
        self.updated = max(self.updated, now)
        return None if self.tokens >= 1.0 else (1.0 - self.tokens) / rate


@dataclass(frozen=True)
class Denial:
    key: str
    """The limit key whose bucket was empty."""
    retry_after: int
    """Whole seconds, as put in the Retry-After header (rounded up: a client never comes back too early)."""
    reason: str
    """What ran out, in the vendor's words where it has them (Jira's RateLimit-Reason)."""


class RateLimiter:
    """The buckets of one sandbox, created on first use; `admit` answers for a request's keys."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._buckets: dict[str, _Bucket] = {}

    def admit(self, keys: Iterable[tuple[str, str, Limit]], now: float) -> Denial | None:
        """None when every (key, reason, limit) has a token (all are taken), else the first denial.

        Buckets are checked before any is drained, so a request refused by one limit costs no token of another."""
        if not self.limits.enabled:
            return None
        wanted = list(keys)
        for key, reason, limit in wanted:
            wait = self._buckets.setdefault(key, _Bucket(limit, float(limit.burst), now)).wait(now)
            if wait is not None:
                return Denial(key, max(1, math.ceil(wait)), reason)
        for key, _, _ in wanted:
            self._buckets[key].tokens -= 1.0
        return None


def slack_keys(limits: SlackRateLimits, method: str, channel_id: str | None) -> list[tuple[str, str, Limit]]:
    """The buckets a Slack Web API call counts against."""
    if method == "chat.postMessage":
        return [(f"slack:chat.postMessage:{channel_id or '?'}", "per-channel", limits.post_message_per_channel)]
    tier = limits.method_tiers.get(method)
    if tier is None or tier not in limits.tiers:
        return []
    return [(f"slack:{method}", f"tier-{tier}", limits.tiers[tier])]


JIRA_ISSUE_WRITES = frozenset({"addComment", "doTransition"})


def jira_keys(limits: JiraRateLimits, op: str, method: str, issue: str | None) -> list[tuple[str, str, Limit]]:
    """The buckets a Jira REST call counts against."""
    keys = [(f"jira:{op}:{method}", "jira-burst-based", limits.per_endpoint)]
    if op in JIRA_ISSUE_WRITES and issue:
        keys.append((f"jira:issue:{issue.upper()}", "jira-per-issue-on-write", limits.per_issue_writes))
    return keys


@dataclass(frozen=True)
class EarlyRetry:
    refused: Mapping[str, Any]
    """The call answered 429 (from the call log)."""
    early: Mapping[str, Any]
    """A later call on the same limit key that came before the Retry-After had elapsed."""

    @property
    def seconds_early(self) -> float:
        return float(self.refused["time"]) + float(self.refused["retry_after"]) - float(self.early["time"])


def early_retries(calls: Iterable[Mapping[str, Any]], slack_seconds: float = 0.0) -> list[EarlyRetry]:
    """Every call on a limit key made before the Retry-After of an earlier 429 on that key had elapsed.

    `calls` are call-log entries (dicts as served by GET /_sandbox/calls). `slack_seconds` forgives that
    much (clock granularity); the default forgives nothing."""
    by_key: dict[str, list[Mapping[str, Any]]] = {}
    for call in sorted(calls, key=lambda c: (float(c["time"]), int(c["seq"]))):
        for key in call.get("limit_keys") or []:
            by_key.setdefault(str(key), []).append(call)
    found: list[EarlyRetry] = []
    for key, series in by_key.items():
        for i, refused in enumerate(series):
            if refused.get("status") != 429 or refused.get("retry_after") is None:
                continue
            if refused.get("limit_key") not in (None, key):
                continue  # refused by another of its limits: this key told the client nothing
            until = float(refused["time"]) + float(refused["retry_after"]) - slack_seconds
            found += [EarlyRetry(refused, later) for later in series[i + 1:] if float(later["time"]) < until]
    return found
