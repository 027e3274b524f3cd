"""The reconcile loop against the in-memory API server: one analysis, one status write fenced by its
resourceVersion, and a conflict with another writer refolded instead of repeated or lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiops_operator.analysis.request import AnalysisRequest
from aiops_operator.api import Analysis, EndedAs, Incident, IncidentPhase, SlackRef
from aiops_operator.events import EventRecorder
from aiops_operator.incident.analyzing import AnalyzingConfig
from aiops_operator.incident.ports import RecurrenceSource
from aiops_operator.incident.reconcile import Integrations, Reconciler
from aiops_operator.integrations.slack import SlackRateLimited
from aiops_operator.ownership import OwnershipDefaults
from aiops_operator.policy.cache import PolicyCache
from aiops_operator.recurrence.summary import Entry, History

from tests.support.apiserver import FakeApiServer
from tests.support.builders import NOW, analysis, incident

KEY = ("incidents", "ns", "adf-x-1")


class Analyzer:
    """Answers with a fixed analysis; `during` runs while the analysis is "in flight"."""

    def __init__(self, during: Callable[[], None] = lambda: None) -> None:
        self.requests: list[AnalysisRequest] = []
        self.during = during

    async def analyze(self, request: AnalysisRequest) -> Analysis:
        self.requests.append(request)
        self.during()
        return analysis()


def stored(api: FakeApiServer) -> dict[str, Any]:
    return api.objects[KEY]


def reconciler(api: FakeApiServer, analyzer: Analyzer, recurrence: RecurrenceSource | None = None) -> Reconciler:
    kube = api.client()
    clock: Callable[[], datetime] = lambda: NOW  # noqa: E731
    return Reconciler(kube, Integrations(analyzer=analyzer), config=AnalyzingConfig(),
                      policies=PolicyCache(kube, lambda: 0.0), events=EventRecorder(kube), clock=clock,
                      recurrence=recurrence)


def seed(api: FakeApiServer) -> dict[str, Any]:
    body = incident().to_wire()
    api.objects[KEY] = body
    return body


async def test_one_analysis_one_fenced_write_and_nothing_more_on_a_replay() -> None:
    api = FakeApiServer()
    body = seed(api)
    analyzer = Analyzer()
    loop = reconciler(api, analyzer)
    await loop.reconcile(body)
    written = Incident.from_object(stored(api))
    assert len(analyzer.requests) == 1
    assert api.conflicts == 0
    assert written.status.analysis is not None
    assert written.status.phase is IncidentPhase.ESCALATED  # no policy: a human is needed
    patches = [c for c in api.calls if c[0] == "PATCH" and c[1].endswith("/status")]
    # The same event again (a replay of the watch): level-based, nothing is done twice.
    await loop.reconcile(stored(api))
    assert len(analyzer.requests) == 1
    assert [c for c in api.calls if c[0] == "PATCH" and c[1].endswith("/status")] == patches


async def test_a_conflicting_writer_is_refolded_not_overwritten_and_the_analysis_not_repeated() -> None:
    api = FakeApiServer()
    body = seed(api)

    def another_writer() -> None:  # e.g. the receiver recording a Jira status while we analyze
        obj = stored(api)
        obj["status"]["signals"] = {"jiraStatus": "In Progress"}
        api.revision += 1
        obj["metadata"]["resourceVersion"] = str(api.revision)

    analyzer = Analyzer(during=another_writer)
    await reconciler(api, analyzer).reconcile(body)
    written = Incident.from_object(stored(api))
    assert len(analyzer.requests) == 1  # the outcome was folded into the fresh copy, not asked again
    assert written.status.analysis is not None
    assert written.status.signals is not None
    assert written.status.signals.jira_status == "In Progress"  # the other writer's change survives
    assert api.conflicts == 1  # the first write conflicted; the refold was written


class Histories:
    """A recurrence source with one earlier incident; counts the lookups."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def history(self, inc: Incident) -> History | None:
        self.asked.append(inc.metadata.name)
        if inc.status.analysis is None:
            return None
        return History((Entry("u0", "adf-x-0", NOW - timedelta(days=1), EndedAs.AUTO_HEALED, "RerunPipeline"),))


async def test_the_recurrence_is_recorded_with_the_analysis_and_the_error_type_labelled() -> None:
    api = FakeApiServer()
    body = seed(api)
    histories = Histories()
    loop = reconciler(api, Analyzer(), recurrence=histories)
    await loop.reconcile(body)
    written = Incident.from_object(stored(api))
    assert written.status.recurrence is not None
    assert (written.status.recurrence.count, written.status.recurrence.previous) == (1, "adf-x-0")
    assert written.metadata.labels["aiops-rca.io/error-type"] == "GatewayTimeout"
    asked = len(histories.asked)
    await loop.reconcile(stored(api))  # recorded: not looked up again
    assert len(histories.asked) == asked


async def test_an_incident_settled_before_recurrence_existed_is_not_rewritten() -> None:
    api = FakeApiServer()
    body = seed(api)
    await reconciler(api, Analyzer()).reconcile(body)  # settled without a recurrence source
    assert Incident.from_object(stored(api)).status.recurrence is None
    writes = len([c for c in api.calls if c[0] == "PATCH"])
    histories = Histories()
    await reconciler(api, Analyzer(), recurrence=histories).reconcile(stored(api))
    assert histories.asked == []
    assert len([c for c in api.calls if c[0] == "PATCH"]) == writes


class RateLimitedSlack:
    """Slack that answers 429 (Retry-After `wait`) `refusals` times, then posts."""

    def __init__(self, refusals: int, wait: float) -> None:
        self.refusals = refusals
        self.wait = wait
        self.posted: list[str] = []
        self.tries = 0

    async def post_incident(self, incident: Incident, channel: str) -> tuple[SlackRef, bool]:
        self.tries += 1
        if self.refusals:
            self.refusals -= 1
            raise SlackRateLimited("chat.postMessage", self.wait)
        self.posted.append(channel)
        return SlackRef(channel="C1", ts="1.000001"), True

    async def update_incident(self, incident: Incident) -> None:
        return None

    async def reply_once(self, incident: Incident, key: str, text: str) -> bool:
        return False


async def test_a_rate_limited_post_comes_back_after_its_retry_after_writes_nothing_and_posts_once() -> None:
    api = FakeApiServer()
    body = seed(api)
    now = [NOW]
    slack = RateLimitedSlack(refusals=1, wait=7.0)
    kube = api.client()
    loop = Reconciler(kube, Integrations(analyzer=Analyzer(), slack=slack),
                      config=AnalyzingConfig(ownership=OwnershipDefaults(slack_channel="alerts")),
                      policies=PolicyCache(kube, lambda: 0.0), events=EventRecorder(kube), clock=lambda: now[0])
    requeue = await loop.reconcile(body)
    first = Incident.from_object(stored(api))
    assert slack.posted == []
    assert requeue == pytest.approx(7.0)  # Retry-After, not the failure backoff (5 s, doubling)
    assert "NotificationFailed" not in [h.action for h in first.status.history]
    assert first.status.notifications is None or first.status.notifications.slack is None  # still due

    now[0] = NOW + timedelta(seconds=3)  # a watch event before Retry-After elapsed: Slack is not asked
    await loop.reconcile_by_name("ns", "adf-x-1", first.metadata.uid or "")
    assert slack.tries == 1
    now[0] = NOW + timedelta(seconds=7)
    await loop.reconcile_by_name("ns", "adf-x-1", first.metadata.uid or "")
    written = Incident.from_object(stored(api))
    assert slack.posted == ["alerts"]
    assert written.status.notifications is not None
    assert written.status.notifications.slack == SlackRef(channel="C1", ts="1.000001")
