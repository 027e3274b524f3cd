"""The remediation stage's guardrails against the in-memory API server: budgets counted from the attempts
(also when two reconciles race for the last launch), Observe, a freeze window, the running cap."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiops_operator.api import (
    Budgets,
    FreezeWindowSpec,
    Incident,
    IncidentPhase,
    LaunchBudget,
    ObjectMeta,
    RemediationPolicy,
    RunMode,
)
from aiops_operator.kube import HttpRequest, HttpResponse
from aiops_operator.remediation.stage import Remediator, RemediatorConfig

from tests.support.apiserver import FakeApiServer
from tests.support.builders import Settings, at, policy, rule
from tests.unit.remediation.test_stage import Executors, handed_off, remediated

ALWAYS_OPEN = FreezeWindowSpec(name="month-end", rrule="FREQ=DAILY;BYHOUR=0;BYMINUTE=0;BYSECOND=0",
                               duration_seconds=86400, time_zone="UTC", mode=RunMode.REVIEW)


class YieldingApiServer(FakeApiServer):
    """Answers after giving the event loop away, as a real round trip does, so concurrent steps interleave."""

    async def send(self, request: HttpRequest) -> HttpResponse:
        await asyncio.sleep(0)
        return self.handle(request)


class Policies:
    def __init__(self, pol: RemediationPolicy) -> None:
        self.pol = pol

    async def get(self, namespace: str) -> tuple[RemediationPolicy, ...]:
        return (self.pol,)


def make_stage(api: FakeApiServer, executors: Executors, pol: RemediationPolicy,
               max_running: int = 20) -> Remediator:
    return Remediator(api.client(), executors, Settings(), Policies(pol),
                      config=RemediatorConfig(max_running=max_running))


def nth(n: int) -> Incident:
    """The n-th incident of the same pipeline (another run of it)."""
    inc = handed_off()
    return inc.model_copy(update={"metadata": ObjectMeta(name=f"adf-ingest-sales-{n:010d}", namespace="ns",
                                                          uid=f"uid-{n}")})


@pytest.fixture
def api() -> FakeApiServer:
    return YieldingApiServer()


@pytest.fixture
def executors() -> Executors:
    return Executors()


BUDGETED = policy(rule(backoff={"seconds": [10]}),
                  budgets=Budgets(per_target=LaunchBudget(max_launches=2, window_seconds=3600)))


@pytest.fixture
def budgeted(api: FakeApiServer, executors: Executors) -> Iterator[Remediator]:
    stage = make_stage(api, executors, BUDGETED)
    yield stage
    stage.close()


async def test_the_third_launch_of_a_target_in_the_window_escalates(api: FakeApiServer, executors: Executors,
                                                                    budgeted: Remediator) -> None:
    for n in (1, 2):
        result = await budgeted.step(nth(n), at(60 + n))
        assert result.status.phase is IncidentPhase.MONITORING
    third = await budgeted.step(nth(3), at(70))
    assert third.status.phase is IncidentPhase.ESCALATED
    assert remediated(nth(3).model_copy(update={"status": third.status})) == ("False", "BudgetExhausted")
    assert len(executors.launches) == 2
    assert ("remediationattempts", "ns", "adf-ingest-sales-0000000003-1") not in api.objects
    message = next(c.message for c in third.status.conditions if c.type == "Escalated")
    assert "2 of 2 launches per target" in message
    assert "next launch is allowed after 2024-05-01T13:01:01Z" in message


async def test_a_restarted_stage_counts_the_same_launches(api: FakeApiServer, executors: Executors,
                                                          budgeted: Remediator) -> None:
    for n in (1, 2):
        await budgeted.step(nth(n), at(60 + n))
    fresh = make_stage(api, executors, BUDGETED)
    try:
        third = await fresh.step(nth(3), at(70))
    finally:
        fresh.close()
    assert third.status.phase is IncidentPhase.ESCALATED
    assert len(executors.launches) == 2


async def test_a_crash_between_launch_and_record_adopts_the_attempt_instead_of_counting_it_twice(
        api: FakeApiServer, executors: Executors, budgeted: Remediator) -> None:
    await budgeted.step(nth(1), at(61))
    # Incident 2's attempt launched, then the operator died before the Incident recorded it: its status
    # still says no attempt was made, so the next step plans attempt 1 again.
    launched = await budgeted.step(nth(2), at(62))
    assert launched.status.phase is IncidentPhase.MONITORING
    again = await budgeted.step(nth(2), at(63))
    assert again.status.phase is IncidentPhase.MONITORING
    assert len(executors.launches) == 2


async def test_two_reconciles_racing_for_the_last_launch_launch_once(api: FakeApiServer, executors: Executors,
                                                                     budgeted: Remediator) -> None:
    await budgeted.step(nth(1), at(61))
    second, third = await asyncio.gather(budgeted.step(nth(2), at(62)), budgeted.step(nth(3), at(62)))
    phases = {second.status.phase, third.status.phase}
    assert phases == {IncidentPhase.MONITORING, IncidentPhase.ESCALATED}
    assert len(executors.launches) == 2


async def test_observe_launches_nothing_and_records_what_would_have_run(api: FakeApiServer,
                                                                        executors: Executors) -> None:
    stage = make_stage(api, executors, policy(rule(backoff={"seconds": [10]}), mode=RunMode.OBSERVE))
    try:
        result = await stage.step(nth(1), at(60))
    finally:
        stage.close()
    assert executors.launches == []
    assert result.status.phase is IncidentPhase.ESCALATED
    assert remediated(nth(1).model_copy(update={"status": result.status})) == ("False", "Observed")
    recorded = api.objects[("remediationattempts", "ns", "adf-ingest-sales-0000000001-1")]
    assert recorded["status"]["phase"] == "Skipped"
    assert recorded["status"]["wouldHaveDone"]
    assert recorded["spec"]["guardrail"] == "the policy runs in mode Observe"


async def test_a_freeze_window_turns_the_launch_into_an_approval_request(api: FakeApiServer,
                                                                         executors: Executors) -> None:
    stage = make_stage(api, executors, policy(rule(backoff={"seconds": [10]}), freeze_windows=[ALWAYS_OPEN]))
    try:
        result = await stage.step(nth(1), at(60))
    finally:
        stage.close()
    assert executors.launches == []
    assert remediated(nth(1).model_copy(update={"status": result.status})) == ("Unknown", "AwaitingApproval")
    attempt = api.objects[("remediationattempts", "ns", "adf-ingest-sales-0000000001-1")]
    assert attempt["spec"]["approvalRequired"] is True
    assert attempt["status"]["phase"] == "AwaitingApproval"
    message = next(c.message for c in result.status.conditions if c.type == "Remediated")
    assert "freeze window month-end is open until" in message


async def test_over_the_running_cap_an_attempt_waits(api: FakeApiServer, executors: Executors) -> None:
    stage = make_stage(api, executors, policy(rule(backoff={"seconds": [10]})), max_running=1)
    try:
        first = await stage.step(nth(1), at(60))
        second = await stage.step(nth(2), at(61))
    finally:
        stage.close()
    assert first.status.phase is IncidentPhase.MONITORING
    assert executors.launches == ["adf-ingest-sales-0000000001-1"]
    assert remediated(nth(2).model_copy(update={"status": second.status})) == ("Unknown", "BackingOff")
    message = next(c.message for c in second.status.conditions if c.type == "Remediated")
    assert "the cap is 1" in message
    assert second.requeue_after == 15
