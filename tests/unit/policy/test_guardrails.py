from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiops_operator.api import RunMode
from aiops_operator.policy.guardrails import (
    Budget,
    FreezeWindow,
    budget_verdict,
    first_exhausted,
    open_window,
    strictest,
    validate_window,
)

MONTH_END = FreezeWindow("month-end-close", "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=18;BYMINUTE=0",
                         timedelta(hours=30), "Europe/Berlin", RunMode.REVIEW)
FRIDAY_DEPLOYS = FreezeWindow("friday-deploys", "FREQ=WEEKLY;BYDAY=FR;BYHOUR=14", timedelta(hours=4),
                              "America/New_York", RunMode.OBSERVE)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("modes", "expected"), [
    pytest.param((), RunMode.AUTO, id="none-is-auto"),
    pytest.param((RunMode.AUTO, None), RunMode.AUTO, id="auto"),
    pytest.param((RunMode.AUTO, RunMode.REVIEW), RunMode.REVIEW, id="review-beats-auto"),
    pytest.param((RunMode.REVIEW, RunMode.OBSERVE, RunMode.AUTO), RunMode.OBSERVE, id="observe-strictest"),
])
def test_strictest(modes: tuple[RunMode | None, ...], expected: RunMode) -> None:
    assert strictest(*modes) is expected


@pytest.mark.parametrize(("now", "expected"), [
    # 30 Nov 2026 18:00 Berlin (CET, UTC+1) = 17:00 UTC; open 30 h, until 1 Dec 23:00 UTC.
    pytest.param(utc(2026, 11, 30, 16, 59), None, id="a-minute-before"),
    pytest.param(utc(2026, 11, 30, 17, 0), "month-end-close", id="opens-on-the-hour-local"),
    pytest.param(utc(2026, 12, 1, 22, 59), "month-end-close", id="still-open-next-day"),
    pytest.param(utc(2026, 12, 1, 23, 0), None, id="closed-after-duration"),
    # 31 Jul 2026 18:00 Berlin (CEST, UTC+2) = 16:00 UTC: the zone's DST is honoured.
    pytest.param(utc(2026, 7, 31, 16, 0), "month-end-close", id="summer-time"),
    pytest.param(utc(2026, 7, 31, 15, 59), None, id="summer-time-before"),
    # Friday 4 Dec 2026 14:00 New York (EST, UTC-5) = 19:00 UTC.
    pytest.param(utc(2026, 12, 4, 19, 30), "friday-deploys", id="weekly-window"),
    pytest.param(utc(2026, 12, 5, 19, 30), None, id="saturday"),
])
def test_open_window(now: datetime, expected: str | None) -> None:
    found = open_window([MONTH_END, FRIDAY_DEPLOYS], now)
    assert (found[0].name if found else None) == expected


def test_overlapping_windows_take_the_strictest_and_say_when_it_closes() -> None:
    always_review = FreezeWindow("daily", "FREQ=DAILY;BYHOUR=0", timedelta(hours=23, minutes=59), "UTC")
    found = open_window([always_review, FRIDAY_DEPLOYS], utc(2026, 12, 4, 19, 30))
    assert found is not None
    assert found[0] is FRIDAY_DEPLOYS
    assert found[1] == utc(2026, 12, 4, 23, 0)


@pytest.mark.parametrize(("window", "problem"), [
    pytest.param(MONTH_END, None, id="valid"),
    pytest.param(FreezeWindow("z", "FREQ=DAILY", timedelta(hours=1), "Mars/Olympus"), "unknown time zone", id="zone"),
    pytest.param(FreezeWindow("r", "FREQ=SOMETIMES", timedelta(hours=1), "UTC"), "invalid RRULE", id="rrule"),
    pytest.param(FreezeWindow("d", "FREQ=DAILY", timedelta(0), "UTC"), "duration", id="no-duration"),
    pytest.param(FreezeWindow("m", "FREQ=DAILY", timedelta(hours=1), "UTC", RunMode.AUTO), "Review or Observe",
                 id="auto-is-no-freeze"),
])
def test_validate_window(window: FreezeWindow, problem: str | None) -> None:
    found = validate_window(window)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_invalid_windows_never_open() -> None:
    broken = FreezeWindow("r", "FREQ=SOMETIMES", timedelta(hours=1), "UTC")
    assert open_window([broken], utc(2026, 12, 4, 19, 30)) is None


NOW = utc(2026, 12, 6, 12, 0)
HOUR = Budget(max_launches=3, window=timedelta(hours=1))


@pytest.mark.parametrize(("launch_minutes_ago", "reset_minutes_ago", "used", "reopens_in"), [
    pytest.param([], None, 0, None, id="unused"),
    pytest.param([5, 10], None, 2, None, id="two-of-three"),
    pytest.param([5, 10, 50], None, 3, 10, id="exhausted-reopens-when-oldest-leaves"),
    pytest.param([5, 10, 50, 70, 90], None, 3, 10, id="older-launches-left-the-window"),
    pytest.param([1, 2, 3, 4], None, 4, 57, id="over-budget-waits-for-enough-to-leave"),
    pytest.param([5, 10, 50], 30, 2, None, id="reset-forgives-earlier-launches"),
    pytest.param([60], None, 0, None, id="exactly-one-window-ago-is-out"),
])
def test_budget_verdict(launch_minutes_ago: list[int], reset_minutes_ago: int | None, used: int,
                        reopens_in: int | None) -> None:
    launches = [NOW - timedelta(minutes=m) for m in launch_minutes_ago]
    reset = NOW - timedelta(minutes=reset_minutes_ago) if reset_minutes_ago is not None else None
    verdict = budget_verdict("target", launches, HOUR, NOW, reset)
    assert verdict.used == used
    assert verdict.exhausted is (used >= 3)
    assert verdict.reopens_time == (NOW + timedelta(minutes=reopens_in) if reopens_in is not None else None)


def test_zero_budget_is_always_exhausted_and_never_reopens() -> None:
    verdict = budget_verdict("policy", [], Budget(0, timedelta(hours=1)), NOW)
    assert verdict.exhausted
    assert verdict.reopens_time is None
    assert first_exhausted([budget_verdict("target", [NOW], Budget(1, timedelta(hours=1)), NOW), verdict]) is verdict


def test_first_exhausted_is_the_one_closed_longest() -> None:
    short = budget_verdict("target", [NOW - timedelta(minutes=50)], Budget(1, timedelta(hours=1)), NOW)
    long = budget_verdict("policy", [NOW - timedelta(minutes=5)], Budget(1, timedelta(hours=1)), NOW)
    assert first_exhausted([short, long]) is long
    assert first_exhausted([budget_verdict("target", [], HOUR, NOW)]) is None
    assert "1 of 1 launches per policy" in long.message
