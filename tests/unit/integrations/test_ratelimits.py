"""The shared Retry-After gate: parsing the header, holding a bucket, one request in flight."""

from __future__ import annotations

import asyncio

import pytest
from aiops_operator.integrations.ratelimits import (
    DEFAULT_RETRY_AFTER_SECONDS,
    MAX_RETRY_AFTER_SECONDS,
    RateGate,
    RateLimited,
    retry_after_seconds,
)

from tests.support.clock import ManualClock


@pytest.mark.parametrize(("headers", "seconds"), [
    pytest.param({"Retry-After": "3"}, 3.0, id="delay-seconds"),
    pytest.param({"retry-after": "1"}, 1.0, id="any-case"),
    pytest.param({"Retry-After": "Thu, 01 Jan 1970 00:01:40 GMT"}, 40.0, id="http-date"),
    pytest.param({"Retry-After": "soon"}, DEFAULT_RETRY_AFTER_SECONDS, id="garbage"),
    pytest.param({}, DEFAULT_RETRY_AFTER_SECONDS, id="missing"),
    pytest.param(None, DEFAULT_RETRY_AFTER_SECONDS, id="no-headers"),
    pytest.param({"Retry-After": "-4"}, 0.0, id="negative"),
    pytest.param({"Retry-After": "86400"}, MAX_RETRY_AFTER_SECONDS, id="bounded"),
])
def test_retry_after_seconds(headers: dict[str, str] | None, seconds: float) -> None:
    assert retry_after_seconds(headers, now=lambda: 60.0) == seconds


async def test_a_refused_bucket_stays_closed_until_its_retry_after_and_only_that_bucket() -> None:
    clock = ManualClock(100.0)
    gate = RateGate(clock)
    gate.refuse("chat.postMessage:alerts", 2.0)
    with pytest.raises(RateLimited) as held:
        async with gate.slot("chat.postMessage:alerts", "chat.postMessage"):
            pytest.fail("sent while the bucket was closed")
    assert held.value.retry_after == pytest.approx(2.0)
    async with gate.slot("chat.postMessage:other", "chat.postMessage"):
        pass
    clock.now += 1.5
    with pytest.raises(RateLimited) as still:
        gate.check("chat.postMessage:alerts", "chat.postMessage")
    assert still.value.retry_after == pytest.approx(0.5)
    clock.now += 0.5
    async with gate.slot("chat.postMessage:alerts", "chat.postMessage"):
        pass


async def test_a_request_queued_behind_a_429_is_not_sent() -> None:
    gate = RateGate(ManualClock(100.0))
    sent: list[str] = []
    first_in = asyncio.Event()

    async def first() -> None:
        async with gate.slot("k", "x"):
            first_in.set()
            await asyncio.sleep(0)
            sent.append("first")
            gate.refuse("k", 1.0)  # its answer was a 429

    async def second() -> None:
        await first_in.wait()
        async with gate.slot("k", "x"):
            sent.append("second")

    results = await asyncio.gather(first(), second(), return_exceptions=True)
    assert sent == ["first"]
    assert isinstance(results[1], RateLimited)


def test_a_later_shorter_retry_after_does_not_reopen_the_bucket() -> None:
    clock = ManualClock(100.0)
    gate = RateGate(clock)
    gate.refuse("k", 10.0)
    gate.refuse("k", 1.0)
    clock.now += 5
    with pytest.raises(RateLimited):
        gate.check("k", "x")
