"""The election's decisions (client-go's tryAcquireOrRenew, renew deadline, release), time injected."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from aiops_operator.leadership import (
    Candidate,
    ElectionTiming,
    LeaseRecord,
    Verdict,
    expired,
    failed,
    may_act,
    next_record,
    observe,
    release_record,
    stepped_down,
    succeeded,
)

T = ElectionTiming()  # 15 / 10 / 2
WALL = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
EARLIER = WALL - timedelta(minutes=5)
ME = "op-a_1"
OTHER = "op-b_2"


def held_by(holder: str, transitions: int = 3, duration: int = 15) -> LeaseRecord:
    return LeaseRecord(holder=holder, lease_duration_seconds=duration, acquire_time=EARLIER, renew_time=EARLIER,
                       transitions=transitions)


def leader(renewed_at: float = 100.0) -> Candidate:
    return Candidate(ME, observed=held_by(ME), observed_time=renewed_at, renewed_at=renewed_at)


def standby(seen: LeaseRecord | None, seen_at: float = 100.0) -> Candidate:
    return Candidate(ME, observed=seen, observed_time=seen_at)


@pytest.mark.parametrize(("candidate", "current", "mono", "verdict", "holder", "transitions", "acquired"), [
    pytest.param(Candidate(ME), None, 0.0, Verdict.CREATE, ME, 0, WALL, id="no-lease-create-it"),
    pytest.param(standby(held_by(OTHER)), held_by(OTHER), 114.9, Verdict.WAIT, None, None, None,
                 id="held-by-another-not-expired-wait"),
    pytest.param(standby(held_by(OTHER)), held_by(OTHER), 115.0, Verdict.WRITE, ME, 4, WALL,
                 id="held-by-another-unchanged-for-its-duration-take-over"),
    pytest.param(standby(None), held_by(OTHER), 500.0, Verdict.WAIT, None, None, None,
                 id="first-sight-of-a-holder-starts-the-clock-however-old-its-renew-time"),
    pytest.param(standby(held_by(OTHER, duration=1)), replace(held_by(OTHER), holder=""), 100.5, Verdict.WRITE, ME,
                 4, WALL, id="released-lease-taken-at-once"),
    pytest.param(leader(), held_by(ME), 102.0, Verdict.WRITE, ME, 3, EARLIER,
                 id="renew-keeps-acquire-time-and-transitions"),
    pytest.param(standby(held_by(OTHER, duration=30)), held_by(OTHER, duration=30), 120.0, Verdict.WAIT, None, None,
                 None, id="the-lease-s-own-duration-counts-not-ours"),
])
def test_next_record(candidate: Candidate, current: LeaseRecord | None, mono: float, verdict: Verdict,
                     holder: str | None, transitions: int | None, acquired: datetime | None) -> None:
    turn = next_record(candidate, current, mono, WALL, T)
    assert turn.verdict is verdict
    if verdict is Verdict.WAIT:
        assert turn.record is None
        return
    assert turn.record is not None
    assert turn.record.holder == holder
    assert turn.record.transitions == transitions
    assert turn.record.acquire_time == acquired
    assert turn.record.renew_time == WALL
    assert turn.record.lease_duration_seconds == 15


def test_a_renewal_seen_restarts_the_standby_s_clock() -> None:
    seen = standby(held_by(OTHER), seen_at=100.0)
    renewed = replace(held_by(OTHER), renew_time=WALL)
    turn = next_record(seen, renewed, 114.0, WALL, T)
    assert turn.verdict is Verdict.WAIT
    assert turn.candidate.observed_time == 114.0
    # Unchanged since then: 15 s of the standby's own clock from the moment it saw the renewal.
    assert next_record(turn.candidate, renewed, 128.9, WALL, T).verdict is Verdict.WAIT
    assert next_record(turn.candidate, renewed, 129.0, WALL, T).verdict is Verdict.WRITE


def test_observe_keeps_the_time_of_an_unchanged_record() -> None:
    seen = standby(held_by(OTHER), seen_at=100.0)
    assert observe(seen, held_by(OTHER), 110.0).observed_time == 100.0
    assert not expired(seen, 114.9)
    assert expired(seen, 115.0)


@pytest.mark.parametrize(("candidate", "mono", "leading_after"), [
    pytest.param(leader(100.0), 105.0, True, id="leader-within-renew-deadline-keeps-leading"),
    pytest.param(leader(100.0), 110.0, False, id="leader-past-renew-deadline-lost"),
    pytest.param(replace(leader(100.0), observed=held_by(OTHER)), 101.0, False, id="leader-sees-another-holder-lost"),
    pytest.param(standby(held_by(OTHER)), 200.0, False, id="standby-stays-standby"),
])
def test_failed(candidate: Candidate, mono: float, leading_after: bool) -> None:
    assert failed(candidate, mono, T).leading is leading_after


def test_lost_on_conflict_when_another_won_the_same_read() -> None:
    """Two standbys read the same expired lease; the API server accepts one write, the other conflicts."""
    a = standby(held_by("op-old"), seen_at=0.0)
    b = Candidate(OTHER, observed=held_by("op-old"), observed_time=0.0)
    turn_a = next_record(a, held_by("op-old"), 20.0, WALL, T)
    turn_b = next_record(b, held_by("op-old"), 20.0, WALL, T)
    assert turn_a.verdict is turn_b.verdict is Verdict.WRITE
    assert turn_b.record is not None
    won = succeeded(turn_b.candidate, turn_b.record, 20.0)
    lost = failed(turn_a.candidate, 20.1, T)  # its write was a 409
    assert won.leading
    assert not lost.leading
    # Next try, the loser reads the winner's record: held, fresh, so it waits.
    assert next_record(lost, turn_b.record, 22.0, WALL, T).verdict is Verdict.WAIT


@pytest.mark.parametrize(("mono", "acts"), [
    pytest.param(100.0, True, id="just-renewed"),
    pytest.param(109.9, True, id="renew-deadline-not-reached"),
    pytest.param(110.0, False, id="at-the-renew-deadline-5s-before-others-may-take-over"),
    pytest.param(114.9, False, id="lease-still-valid-but-inside-the-margin"),
])
def test_renew_deadline_fences_the_leader(mono: float, acts: bool) -> None:
    assert may_act(leader(100.0), mono, T) is acts
    assert not may_act(standby(held_by(OTHER)), mono, T)


def test_the_fence_shuts_before_any_standby_can_take_over() -> None:
    """For every moment: if a standby (which saw the renewal no earlier than it was sent) may take over, the
    old leader no longer acts."""
    sent = 100.0
    old = succeeded(Candidate(ME), held_by(ME), sent)
    for seen_after in (0.0, 0.01, 1.0):
        other = Candidate(OTHER, observed=held_by(ME), observed_time=sent + seen_after)
        for tenth in range(0, 300):
            now = sent + tenth / 10
            takes_over = next_record(other, held_by(ME), now, WALL, T).verdict is Verdict.WRITE
            assert not (takes_over and may_act(old, now, T)), now


def test_release_frees_the_lease_for_the_next_try() -> None:
    record = release_record(leader(), WALL)
    assert record == LeaseRecord(holder="", lease_duration_seconds=1, acquire_time=WALL, renew_time=WALL,
                                 transitions=3)
    stopped = stepped_down(leader(), record, 101.0)
    assert not stopped.leading
    assert not may_act(stopped, 101.0, T)
    other = Candidate(OTHER, observed=held_by(ME), observed_time=100.0)
    assert next_record(other, record, 101.0, WALL, T).verdict is Verdict.WRITE


def test_a_standby_has_nothing_to_release() -> None:
    assert release_record(standby(held_by(OTHER)), WALL) is None


@pytest.mark.parametrize(("timing", "problem"), [
    pytest.param(ElectionTiming(), None, id="client-go-defaults"),
    pytest.param(ElectionTiming(10, 10, 2), "longer than the renew deadline", id="deadline-equals-duration"),
    pytest.param(ElectionTiming(15, 2, 2), "1.2 x the retry period", id="deadline-within-one-retry"),
])
def test_timing_problems(timing: ElectionTiming, problem: str | None) -> None:
    problems = timing.problems()
    if problem is None:
        assert problems == []
        assert timing.margin == 5.0
    else:
        assert any(problem in p for p in problems), problems
