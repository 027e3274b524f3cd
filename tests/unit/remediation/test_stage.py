"""The remediation stage's loop (`Remediator.step`) against the in-memory API server: create, launch once,
monitor, resolve; a write from a stale copy is a conflict that is refolded on the next call."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiops_operator.api import (
    AttemptPhase,
    ConditionStatus,
    ExternalRun,
    ExternalSystem,
    Incident,
    IncidentPhase,
    RemediationAttempt,
    RemediationPolicy,
    RemediationSummary,
    find_condition,
)
from aiops_operator.api.conditions import (
    AnalyzedReason,
    IncidentCondition,
    NotifiedReason,
    RemediatedReason,
    condition,
)
from aiops_operator.remediation.attempt_status import Progress, ProgressState
from aiops_operator.remediation.executors.base import CannotRemediate
from aiops_operator.remediation.stage import Remediator

from tests.support.apiserver import FakeApiServer
from tests.support.builders import Settings, at, policy, remediable, rule

ATTEMPT = "adf-ingest-sales-0123456789-1"


class Executors:
    """A fake executor port: counts launches, answers polls with what the test sets."""

    def __init__(self) -> None:
        self.launches: list[str] = []
        self.progress = Progress(ProgressState.RUNNING, external_state="InProgress")
        self.refuse: Exception | None = None

    def launch(self, incident: Incident, attempt: RemediationAttempt) -> ExternalRun:
        self.launches.append(attempt.metadata.name)
        if self.refuse is not None:
            raise self.refuse
        return ExternalRun(system=ExternalSystem.AZURE_DATA_FACTORY, run_id="run-2", state="InProgress")

    def poll(self, incident: Incident, attempt: RemediationAttempt) -> Progress:
        return self.progress


class Policies:
    async def get(self, namespace: str) -> tuple[RemediationPolicy, ...]:
        return (policy(rule(backoff={"seconds": [10]})),)


@pytest.fixture
def api() -> FakeApiServer:
    return FakeApiServer()


@pytest.fixture
def executors() -> Executors:
    return Executors()


@pytest.fixture
def stage(api: FakeApiServer, executors: Executors) -> Iterator[Remediator]:
    remediator = Remediator(api.client(), executors, Settings(), Policies())
    yield remediator
    remediator.close()


def handed_off() -> Incident:
    inc = remediable(phase=IncidentPhase.REMEDIATING)
    inc.status.conditions = [
        condition(IncidentCondition.ANALYZED, ConditionStatus.TRUE, AnalyzedReason.ANALYSIS_SUCCEEDED, "ok", at(0), 1),
        condition(IncidentCondition.NOTIFIED, ConditionStatus.TRUE, NotifiedReason.NOTIFICATIONS_SKIPPED, "-",
                  at(0), 1),
        condition(IncidentCondition.REMEDIATED, ConditionStatus.UNKNOWN, RemediatedReason.AWAITING_REMEDIATION,
                  "handed off", at(0), 1),
    ]
    inc.status.remediation = RemediationSummary(policy="default", rule="gateway-timeout", action="RerunPipeline",
                                                max_attempts=3)
    return inc


def moved(inc: Incident, status: object) -> Incident:
    return inc.model_copy(update={"status": status})


def remediated(inc: Incident) -> tuple[str, str]:
    found = find_condition(inc.status.conditions, "Remediated")
    assert found is not None
    return found.status.value, found.reason


async def test_create_launch_once_monitor_and_resolve(api: FakeApiServer, executors: Executors,
                                                      stage: Remediator) -> None:
    inc = handed_off()
    first = await stage.step(inc, at(60))
    inc = moved(inc, first.status)
    assert ("remediationattempts", "ns", ATTEMPT) in api.objects
    assert executors.launches == [ATTEMPT]
    assert inc.status.phase is IncidentPhase.MONITORING
    assert remediated(inc) == ("Unknown", "AttemptRunning")
    assert first.requeue_after is not None

    again = await stage.step(inc, at(61))  # polled a second ago: nothing to do but wait
    assert executors.launches == [ATTEMPT]
    assert again.requeue_after is not None
    assert again.requeue_after > 0

    executors.progress = Progress(ProgressState.SUCCEEDED, "Pipeline run succeeded.", external_state="Succeeded")
    done = await stage.step(moved(inc, again.status), at(200))
    assert done.status.phase is IncidentPhase.RESOLVED
    assert remediated(moved(inc, done.status)) == ("True", "AutoHealed")
    assert done.requeue_after is None
    assert executors.launches == [ATTEMPT]  # never a second launch
    assert api.objects[("remediationattempts", "ns", ATTEMPT)]["status"]["phase"] == "Succeeded"


async def test_a_write_from_a_stale_copy_conflicts_and_the_next_call_refolds(
    api: FakeApiServer, executors: Executors, stage: Remediator,
) -> None:
    inc = handed_off()
    inc = moved(inc, (await stage.step(inc, at(60))).status)
    # Someone else writes the attempt (a callback, a human): the stage's cached copy is now stale.
    stored = api.objects[("remediationattempts", "ns", ATTEMPT)]
    stored["metadata"]["annotations"] = {"note": "touched"}
    api.revision += 1
    stored["metadata"]["resourceVersion"] = str(api.revision)

    executors.progress = Progress(ProgressState.SUCCEEDED, "Pipeline run succeeded.", external_state="Succeeded")
    conflicted = await stage.step(inc, at(200))
    assert conflicted.status.phase is IncidentPhase.MONITORING  # nothing recorded from the stale copy
    assert conflicted.requeue_after == pytest.approx(0.5)
    assert api.conflicts == 1
    assert stored["status"]["phase"] == "Running"

    refolded = await stage.step(moved(inc, conflicted.status), at(201))
    assert refolded.status.phase is IncidentPhase.RESOLVED
    assert stored["status"]["phase"] == "Succeeded"
    assert stored["metadata"]["annotations"] == {"note": "touched"}  # the other writer's change survives
    assert executors.launches == [ATTEMPT]


async def test_an_existing_attempt_is_adopted_not_created_twice(api: FakeApiServer, executors: Executors,
                                                                 stage: Remediator) -> None:
    inc = handed_off()
    await stage.step(inc, at(60))
    # A restarted operator: a fresh stage and the incident as it was before the first status write.
    other = Remediator(api.client(), executors, Settings(), Policies())
    try:
        result = await other.step(inc, at(61))
    finally:
        other.close()
    assert [k for k in api.objects if k[0] == "remediationattempts"] == [("remediationattempts", "ns", ATTEMPT)]
    assert executors.launches == [ATTEMPT]  # the adopted attempt records its run: not launched again
    assert result.status.phase is IncidentPhase.MONITORING


async def test_a_launch_missing_its_configuration_escalates_at_once_and_counts_no_failed_attempt(
    api: FakeApiServer, executors: Executors, stage: Remediator,
) -> None:
    executors.refuse = CannotRemediate("No Databricks workspace: set DATABRICKS_HOST or send the workspace URL")
    inc = handed_off()
    first = await stage.step(inc, at(60))
    inc = moved(inc, first.status)
    stored = api.objects[("remediationattempts", "ns", ATTEMPT)]
    assert stored["status"]["phase"] == "Skipped"  # not a failed try
    if inc.status.phase is not IncidentPhase.ESCALATED:  # the escalation may take the next step
        inc = moved(inc, (await stage.step(inc, at(61))).status)
    assert inc.status.phase is IncidentPhase.ESCALATED
    assert remediated(inc) == ("False", "CannotRemediate")
    assert "DATABRICKS_HOST" in (inc.status.escalation_reason or "")
    assert executors.launches == [ATTEMPT]  # one try, no retry after a backoff
    assert ("remediationattempts", "ns", ATTEMPT[:-1] + "2") not in api.objects


async def test_what_a_step_records_after_a_launch_is_not_older_than_the_launch(
    api: FakeApiServer, executors: Executors,
) -> None:
    """The reconcile reads the clock before its own API calls, so the `now` a step gets can be seconds old.

    A run that fails at once is seen Failed in the same step as its launch; were its completion stamped with
    that old `now`, the next attempt's not-before (completion + backoff) could fall before the run's start,
    and the next launch would take that run for its own (ADF has no idempotency token: the executors match
    runs started after the attempt's not-before). Found by the chaos test: attempt 2 recorded attempt 1's run.
    """
    wall = {"now": at(75)}  # the step is handed at(60): 15 s older than the wall clock, more than the backoff
    stage = Remediator(api.client(), executors, Settings(), Policies(), clock=lambda: wall["now"])
    launched_at = []

    def launch(incident: Incident, attempt: RemediationAttempt) -> ExternalRun:
        launched_at.append(wall["now"])
        wall["now"] += timedelta(seconds=2)  # the launch itself takes time
        return ExternalRun(system=ExternalSystem.AZURE_DATA_FACTORY, run_id="run-2", state="Queued")

    executors.launch = launch  # type: ignore[method-assign]
    executors.progress = Progress(ProgressState.FAILED, "Pipeline run failed.", external_state="Failed")
    try:
        first = await stage.step(handed_off(), at(60))
    finally:
        stage.close()
    stored = RemediationAttempt.from_object(api.objects[("remediationattempts", "ns", ATTEMPT)])
    assert stored.status.phase is AttemptPhase.FAILED
    assert stored.status.completion_time is not None
    assert stored.status.completion_time >= launched_at[0]
    summary = first.status.remediation
    assert summary is not None
    assert summary.next_attempt_time is not None
    assert summary.next_attempt_time >= launched_at[0] + timedelta(seconds=10)  # the policy's backoff
    assert first.requeue_after == pytest.approx(10, abs=0.01)  # counted from the wall clock, not from at(60)


class SlowPolls(Executors):
    """Polls that take `seconds` on the stage's monotonic clock, as an SDK sleeping out a 429's Retry-After
    between its own retries does, and then fail transiently."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.clock = 1000.0
        self.polls = 0

    def poll(self, incident: Incident, attempt: RemediationAttempt) -> Progress:
        self.polls += 1
        self.clock += self.seconds
        return Progress(ProgressState.RUNNING, "ADF getPipelineRun: HttpResponseError: 429", transient_error=True)


async def test_the_next_poll_counts_from_when_a_slow_poll_returned_not_from_when_it_began(api: FakeApiServer) -> None:
    slow = SlowPolls(seconds=2.5)  # longer than the poll interval below
    stage = Remediator(api.client(), slow, Settings(remediation_poll_seconds=1.0), Policies(),
                       monotonic=lambda: slow.clock)
    try:
        inc = handed_off()
        inc = moved(inc, (await stage.step(inc, at(60))).status)  # created and launched
        inc = moved(inc, (await stage.step(inc, at(61))).status)  # polled: 2.5 s in the SDK, then a 429
        assert slow.polls == 1
        # 1.2 s after the poll began but before it returned + 1 s: polling now would follow the last 429 at once.
        early = await stage.step(inc, at(62.2))
        assert slow.polls == 1
        assert early.requeue_after is not None
        assert 0 < early.requeue_after <= 2.3  # looks again no later than when the poll is due
        await stage.step(moved(inc, early.status), at(64.6))
        assert slow.polls == 2
    finally:
        stage.close()
