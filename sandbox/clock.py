"""Time as a parameter: run and cluster state machines read it instead of sleeping.

Every state transition in the sandbox is computed lazily from "now" when a
client looks, so the production clock is the wall clock and unit tests pass a
`ManualClock` they advance by hand.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to (unit tests, deterministic demos)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


def iso(ts: float) -> str:
    """RFC 3339 with seven fractional digits and `Z`, the way ADF writes its timestamps."""
    moment = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def parse_iso(text: str) -> float:
    """Seconds since the epoch from an RFC 3339 timestamp (any fractional precision, `Z` or offset)."""
    value = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    # Python accepts at most six fractional digits; .NET writes seven.
    if "." in value:
        head, rest = value.split(".", 1)
        digits = "".join(c for c in rest if c.isdigit())
        tail = rest[len(digits):]
        value = f"{head}.{digits[:6].ljust(6, '0')}{tail}"
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def millis(ts: float) -> int:
    """Epoch milliseconds, the unit Databricks uses for every timestamp."""
    return round(ts * 1000)
